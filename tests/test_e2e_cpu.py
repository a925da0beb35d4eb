"""verl's real trainer end to end on CPU (`python -m verl.trainer.main_ppo`, no GPU), through the README's launcher.

`examples/tiny_cpu_abc.sh` builds a tiny Qwen3 and a maths set offline, trains 2 steps of ABC-GRPO with a
checkpoint, then resumes for step 3 (recipe `recipes/tiny_cpu_abc.yaml`, rollout `abc_verl.cpu.rollout`, reward
manager `abc_math` in verl's reward loop), on
verl's default trainer: v1 in sync mode, with TransferQueue's controller and storage actors, as every paper
recipe. The legacy trainer (`trainer.use_v1=false`, deprecated by verl but shipped in 0.9.1) has a test of its
own at the end.
The assertions read verl's file logger (one JSONL per launch), the rollouts verl dumps
(`trainer.rollout_data_dir`), the checkpoint folder, and the launcher's output. About 2-4 minutes on 2 cores.
The first tests check the rollout server alone and the recipe, in seconds.

    pytest tests/test_e2e_cpu.py
"""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tiny_launch import launch, read_log, training_steps

from abc_verl.names import (
    BAD_INPUT,
    GRADER_ERROR,
    GRADER_TIMEOUT,
    IS_WEIGHT_MEAN,
    NO_ANSWER,
    RESPONSE_TOKENS,
    RESPONSE_TOKENS_CORRECT,
    RESPONSE_TOKENS_WRONG,
    REWARD_KIND,
    TRUNCATED,
)

ROOT = Path(__file__).resolve().parents[1]
LAUNCHER = ROOT / "examples" / "tiny_cpu_abc.sh"
QUADRANTS = [f"actor/abc/clipfrac_q{i}" for i in range(1, 5)]
EXPERIMENT = "abc_verl/tiny_cpu_abc"


def _server(model_dir: Path, **rollout: object):
    from omegaconf import OmegaConf
    from verl.workers.config import RolloutConfig

    from abc_verl.cpu.rollout import HFServer

    config = RolloutConfig(name="hf", prompt_length=32, response_length=8, **rollout)
    return HFServer(config=config, model_config=OmegaConf.create({"path": str(model_dir)}), replica_rank=0)


def test_hf_rollout_is_registered_in_verls_rollout_registries():
    from verl.workers.rollout.base import get_rollout_class
    from verl.workers.rollout.replica import get_rollout_replica_class

    from abc_verl.cpu.rollout import HFReplica, HFServerAdapter

    assert get_rollout_replica_class("hf") is HFReplica
    assert get_rollout_class("hf", "async") is HFServerAdapter


def test_hf_server_returns_token_ids_and_the_models_log_probs(tiny_model_dir):
    import asyncio

    import torch

    server = _server(tiny_model_dir)
    prompt = [5, 6, 7, 8]
    params = {"temperature": 0.7, "top_p": 1.0, "top_k": -1, "logprobs": True}
    out = asyncio.run(server.generate(prompt_ids=prompt, sampling_params=params, request_id="r"))
    assert 1 <= len(out.token_ids) <= 8 and len(out.log_probs) == len(out.token_ids)
    ids = torch.tensor([prompt + out.token_ids])
    with torch.no_grad():
        logits = server.model(ids).logits[0, len(prompt) - 1 : -1] / 0.7
    expected = torch.log_softmax(logits, -1).gather(-1, torch.tensor(out.token_ids)[:, None]).squeeze(-1)
    assert out.log_probs == pytest.approx(expected.tolist(), abs=1e-4)
    greedy = asyncio.run(server.generate(prompt_ids=prompt, sampling_params={"temperature": 0}, request_id="g"))
    assert greedy.log_probs is None and greedy.stop_reason == "completed"


def test_hf_server_loads_the_trainers_weights(tiny_model_dir):
    import torch

    server = _server(tiny_model_dir)
    state = {k: torch.zeros_like(v) for k, v in server.model.state_dict().items()}
    assert server.update_weights(state, global_steps=4) == len(state)
    assert not any(p.detach().any() for p in server.model.parameters()) and server.global_steps == 4
    with pytest.raises(ValueError, match="missing"):
        server.update_weights(dict(list(state.items())[1:]))


def test_recipe_composes_with_no_unknown_key_and_passes_verls_validation():
    from abc_verl.check.cli import check_validate
    from abc_verl.check.recipes import compose_recipe, find_recipe, unknown_keys

    config = compose_recipe(find_recipe("tiny_cpu_abc"), [])
    assert unknown_keys(config) == []
    check_validate(config)
    assert config.actor_rollout_ref.rollout.name == "hf" and config.trainer.device == "cpu"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Both launches of the launcher; their logs (step -> metrics), rollouts and output."""
    work = tmp_path_factory.mktemp("tiny_cpu_abc")
    output = launch(LAUNCHER, work, f"trainer.rollout_data_dir={work / 'rollouts'}")
    logs = {name: read_log(work / "logs" / f"{name}.jsonl") for name in ("steps_1_2", "step_3")}
    return {"work": work, "logs": logs, "output": output}


def _training_steps(run: dict) -> dict[int, dict]:
    return training_steps(run["logs"])


def test_both_launches_ran_verls_default_v1_trainer(run):
    # TaskRunnerV1 is the v1 trainer's Ray actor: it imports transfer_queue and starts its actors first thing
    assert run["output"].count("(TaskRunnerV1 pid=") > 10 and "(TaskRunner pid=" not in run["output"]
    assert "Legacy trainer" not in run["output"]


def test_first_launch_trains_two_steps_and_the_resumed_one_continues_at_step_3(run):
    assert sorted(s for s, d in run["logs"]["steps_1_2"].items() if "actor/pg_loss" in d) == [1, 2]
    assert sorted(s for s, d in run["logs"]["step_3"].items() if "actor/pg_loss" in d) == [3]


def test_checkpoint_of_step_2_exists_and_was_resumed_from(run):
    root = run["work"] / "checkpoints" / EXPERIMENT
    actor = root / "global_step_2" / "actor"
    for part in ("model", "optim", "extra_state"):
        assert (actor / f"{part}_world_size_1_rank_0.pt").is_file(), part
    assert (actor / "huggingface" / "config.json").is_file()
    # the v1 trainer's message when it loads a checkpoint
    assert f"Resuming from {root / 'global_step_2'}, setting global step to 2" in run["output"]
    assert (root / "latest_checkpointed_iteration.txt").read_text().strip() == "3"  # the resumed run saved too


def test_abc_loss_and_its_quadrant_metrics_at_every_step(run):
    steps = _training_steps(run)
    assert sorted(steps) == [1, 2, 3]
    for step, data in steps.items():
        for key in ("actor/pg_loss", "actor/loss", "actor/grad_norm", "actor/entropy"):
            assert math.isfinite(data[key]), (step, key, data.get(key))
        fractions = [data[q] for q in QUADRANTS]
        assert all(0.0 <= f <= 1.0 for f in fractions), (step, fractions)
        assert sum(fractions) == pytest.approx(data["actor/pg_clipfrac"], abs=1e-6), step
    assert any(data["actor/pg_clipfrac"] > 0 for data in steps.values()), "the ABC loss never clipped"


def test_rollout_is_weights_reach_the_abc_loss(run):
    """The recipe sets algorithm.rollout_correction.rollout_is=token: verl computes truncated IS weights in the
    trainer and hands them to the loss, which logs their mean only when it receives them (not None)."""
    for step, data in _training_steps(run).items():
        seen = data[IS_WEIGHT_MEAN]
        # the HF rollout samples with the trainer's own weights, so the weights are 1 up to float error
        assert seen == pytest.approx(data["rollout_corr/rollout_is_mean"], abs=1e-4), step
        assert seen == pytest.approx(1.0, abs=1e-3), step


def test_rewards_come_from_abc_verls_reward_function(run):
    from abc_verl.rewards.reward import compute_score

    for step, data in _training_steps(run).items():
        rows = [json.loads(line) for line in (run["work"] / "rollouts" / f"{step}.jsonl").read_text().splitlines()]
        assert len(rows) == 16  # 4 prompts x 4 responses (the v1 trainer dumps no reward extra info)
        for row in rows:
            again = compute_score("dapo_math_17k", row["output"], row["gts"], {})
            assert row["score"] == again["score"] == float(again["acc"]), row
        assert data["critic/score/mean"] == pytest.approx(sum(r["score"] for r in rows) / len(rows)), step
    assert any(d["critic/advantages/max"] > 0 for d in _training_steps(run).values()), "no reward spread"
    validation = run["logs"]["steps_1_2"][2]
    # "acc" is a key only abc_verl's compute_score returns (verl's own scorers return a bare score)
    assert any(k.startswith("val-core/dapo_math_17k/acc/") for k in validation), sorted(validation)


def test_reward_manager_diagnostics_reach_verls_file_log_per_validation_source(run):
    """The recipe's reward manager "abc_math" returns its diagnostics as reward extra info; verl's validation logs
    each per data source as val-aux/<source>/<key>/mean@<n> (n = 2 validation samples per prompt). At training
    time verl 0.9.1 logs no reward extra info (abc_verl.rewards.manager says where it stops)."""
    validation = run["logs"]["steps_1_2"][2]
    prefix = "val-aux/dapo_math_17k"
    flags = {key: validation[f"{prefix}/{key}/mean@2"] for key in (NO_ANSWER, TRUNCATED, GRADER_TIMEOUT, BAD_INPUT)}
    assert all(0.0 <= v <= 1.0 for v in flags.values()), flags
    # clean data and integer answers (settled in-thread): no bad input, no grader time-out or error
    assert flags[GRADER_TIMEOUT] == flags[BAD_INPUT] == validation[f"{prefix}/{GRADER_ERROR}/mean@2"] == 0.0
    # a right answer has an answer: the shares of right and of answerless responses add up to at most 1
    assert validation["val-core/dapo_math_17k/acc/mean@2"] + flags[NO_ANSWER] <= 1.0 + 1e-9
    # responses are 1..16 tokens (data.max_response_length); an answerless one at the limit is a truncated one
    assert 1.0 <= validation[f"{prefix}/{RESPONSE_TOKENS}/mean@2"] <= 16.0
    lengths = [
        k
        for k in validation
        if k.startswith((f"{prefix}/{RESPONSE_TOKENS_CORRECT}/mean@", f"{prefix}/{RESPONSE_TOKENS_WRONG}/mean@"))
    ]
    assert lengths and all(1.0 <= validation[k] <= 16.0 for k in lengths), lengths
    assert not [k for k in validation if f"/{REWARD_KIND}/" in k]  # text fields are not metrics


def test_rollout_gets_the_trainers_weights_after_every_step(run):
    for step, data in _training_steps(run).items():
        # the HF rollout's log-probs equal the FSDP actor's: it samples with the weights the actor trained
        assert data["training/rollout_probs_diff_max"] < 1e-4, (step, data["training/rollout_probs_diff_max"])
    for step in (0, 1, 2, 3):
        assert f"hf rollout: replica 0 loaded 25 tensors for step {step}" in run["output"], step


@pytest.mark.parametrize("reward", ["abc_math", "naive"])
def test_legacy_trainer_still_runs_the_abc_loss(run, tmp_path, reward):
    """verl 0.9.1 still ships the legacy trainer (`trainer.use_v1=false`, `main_ppo_v0.py`), whose warning says
    it will be removed; one step of it, with the tiny model and data the launcher built. It is the trainer that
    logs the reward's time per step (timing_s/agent_loop/compute_score/*): once with the recipe's manager
    "abc_math", once with verl's naive manager calling compute_score, same seed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    log = tmp_path / "legacy.jsonl"
    env.update(ABC_VERL_TINY=str(run["work"]), VERL_PLATFORM="cpu", VERL_FILE_LOGGER_PATH=str(log))
    cmd = [sys.executable, "-m", "verl.trainer.main_ppo", "--config-path", str(ROOT / "recipes")]
    cmd += ["--config-name", "tiny_cpu_abc", "trainer.use_v1=false", "trainer.total_training_steps=1"]
    if reward == "naive":
        cmd += ["reward.reward_manager.name=naive", "reward.custom_reward_function.path=pkg://abc_verl.rewards"]
    cmd += ["trainer.save_freq=-1", "trainer.test_freq=-1", f"trainer.default_local_dir={tmp_path / 'ckpt'}"]
    cmd += [f"hydra.run.dir={tmp_path / 'hydra'}"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=400, cwd=tmp_path)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    assert "Legacy trainer `main_ppo_v0.py` is deprecated" in output
    data = read_log(log)[1]
    assert sum(data[q] for q in QUADRANTS) == pytest.approx(data["actor/pg_clipfrac"], abs=1e-6)
    assert data[IS_WEIGHT_MEAN] == pytest.approx(1.0, abs=1e-3)
    assert 0.0 < data["timing_s/agent_loop/compute_score/mean"] < 60.0  # seconds per response, reward worker trip


def test_launcher_ends_with_a_summary_and_keeps_the_current_folder_clean(run):
    work, output = run["work"], run["output"]
    summary = output[output.index("== tiny ABC-GRPO run on verl's trainer: done ==") :]
    assert "launch 1 (fresh start): trained step(s) 1, 2  [steps_1_2.jsonl]" in summary
    assert "launch 2 (resumed from the last checkpoint): trained step(s) 3  [step_3.jsonl]" in summary
    assert "step 3: entropy " in summary and "share of clip events Q1 " in summary
    assert f"{work / 'checkpoints' / EXPERIMENT} (global_step_2, global_step_3)" in summary
    assert f"abc-verl plot --run tiny={work / 'logs'}" in summary
    assert not (work / "outputs").exists()  # Hydra's run folders went under the run's own folder
    assert {p.name for p in (work / "hydra").iterdir()} == {"steps_1_2", "step_3"}
    assert "engine is not available" not in output  # verl's notes on engines it cannot import, silenced

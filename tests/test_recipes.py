"""The shipped recipes: each composes over verl's ppo_trainer and passes verl's validation with no unknown key;
the arms of a model differ only in the loss; every knob of the paper (docs/design.md) has its value."""

import subprocess
import sys

import pytest
from omegaconf import OmegaConf

from abc_verl.check.cli import check_validate
from abc_verl.check.recipes import compose_recipe, find_recipe, recipes_dir, unknown_keys

MODELS = ("qwen3_1.7b", "qwen3_4b")
ARMS = ("abc", "grpo", "grpo_dualclip")
RECIPES = [f"{m}_{a}" for m in MODELS for a in ARMS]
SMOKE = [f"{m}_abc_smoke" for m in MODELS]
LOSS_KEYS = ("actor_rollout_ref.actor.policy_loss", "actor_rollout_ref.actor.clip_ratio")


def flat(config) -> dict[str, object]:
    """Dotted key -> value, interpolations left unresolved (the recipes are compared as written)."""
    out = {}

    def walk(node, prefix):
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value, f"{prefix}{key}.")
            else:
                out[f"{prefix}{key}"] = value

    walk(OmegaConf.to_container(config, resolve=False), "")
    return out


@pytest.fixture(scope="module")
def composed() -> dict[str, object]:
    return {name: compose_recipe(find_recipe(name), []) for name in RECIPES + SMOKE}


def test_every_recipe_is_shipped_and_named():
    assert {p.stem for p in recipes_dir().glob("qwen3_*_*.yaml")} == set(RECIPES + SMOKE)


@pytest.mark.parametrize("name", RECIPES + SMOKE)
def test_recipe_passes_verls_validation_with_no_unknown_key(composed, name):
    assert unknown_keys(composed[name]) == []
    check_validate(composed[name])


@pytest.mark.parametrize("model", MODELS)
def test_arms_of_a_model_differ_only_in_the_loss(composed, model):
    configs = {arm: flat(composed[f"{model}_{arm}"]) for arm in ARMS}
    for arm in ARMS[1:]:
        a, b = configs["abc"], configs[arm]
        differing = {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)}
        assert differing - {"trainer.experiment_name"}, "the arms must differ in the loss"
        assert all(k.startswith(LOSS_KEYS) for k in differing - {"trainer.experiment_name"}), differing


@pytest.mark.parametrize(
    ("model", "prompts", "mini", "prompt_len", "response_len", "save_freq"),
    [("qwen3_1.7b", 512, 128, 2048, 4096, 25), ("qwen3_4b", 256, 64, 1024, 3072, 67)],
)
def test_paper_knobs(composed, model, prompts, mini, prompt_len, response_len, save_freq):
    c = OmegaConf.to_container(composed[f"{model}_abc"], resolve=True)
    actor, rollout, optim = c["actor_rollout_ref"]["actor"], c["actor_rollout_ref"]["rollout"], None
    optim = actor["optim"]
    assert c["actor_rollout_ref"]["model"]["path"] == f"Qwen/Qwen3-{model.split('_')[1].upper()}-Base"
    assert (c["data"]["train_batch_size"], actor["ppo_mini_batch_size"]) == (prompts, mini)  # 4 steps per batch
    assert (c["data"]["max_prompt_length"], c["data"]["max_response_length"]) == (prompt_len, response_len)
    assert c["data"]["train_files"].endswith("train.parquet") and c["data"]["seed"] == 42
    assert (rollout["n"], rollout["temperature"], rollout["top_p"], rollout["name"]) == (8, 1.0, 1.0, "vllm")
    assert (optim["lr"], optim["lr_warmup_steps_ratio"], optim["lr_scheduler_type"]) == (1e-6, 0.1, "cosine")
    assert (optim["weight_decay"], optim["min_lr_ratio"], actor["grad_clip"]) == (0.0, 0.0, 1.0)
    assert (actor["use_kl_loss"], c["algorithm"]["use_kl_in_reward"], actor["entropy_coeff"]) == (False, False, 0)
    assert actor["loss_agg_mode"] == "token-mean" and actor["ppo_epochs"] == 1
    assert c["algorithm"]["adv_estimator"] == "grpo_paper"
    assert c["algorithm"]["rollout_correction"]["rollout_is"] == "token"
    assert c["algorithm"]["rollout_correction"]["rollout_is_threshold"] == 2.0
    # the paper's reward through abc_verl's reward manager, not verl's naive one with a custom function
    assert c["reward"]["reward_manager"]["name"] == "abc_math" and c["reward"]["custom_reward_function"]["path"] is None
    assert (c["trainer"]["total_epochs"], c["trainer"]["save_freq"], c["trainer"]["n_gpus_per_node"]) == (
        5,
        save_freq,
        8,
    )
    assert {"console", "file"} <= set(c["trainer"]["logger"])
    widths = {k: v for k, v in actor["policy_loss"].items() if k.startswith("eps_")}
    assert widths == {"eps_pos_high": 0.2, "eps_pos_low": 0.2, "eps_neg_high": 0.2, "eps_neg_low": 0.2}


@pytest.mark.parametrize(("arm", "clip_c"), [("grpo", 1e9), ("grpo_dualclip", 3.0)])
def test_grpo_arms(composed, arm, clip_c):
    actor = composed[f"qwen3_1.7b_{arm}"].actor_rollout_ref.actor
    assert actor.policy_loss.loss_mode == "vanilla" and actor.clip_ratio_c == clip_c
    assert (actor.clip_ratio_low, actor.clip_ratio_high) == (0.2, 0.2)


def test_main_ppo_with_a_recipe_rejects_a_bad_width_before_ray_starts(tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "verl.trainer.main_ppo",
        "--config-path",
        str(recipes_dir()),
        "--config-name",
        "qwen3_4b_abc",
        "actor_rollout_ref.actor.policy_loss.eps_pos_low=2",
        f"hydra.run.dir={tmp_path}",  # Hydra's run folder, not ./outputs in the clone
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "actor_rollout_ref.actor.policy_loss.eps_pos_low=2.0" in result.stderr + result.stdout
    assert "ray init kwargs" not in result.stdout


@pytest.mark.parametrize("model", MODELS)
def test_smoke_recipe_is_the_abc_recipe_on_one_gpu_at_small_sizes(composed, model):
    smoke, full = flat(composed[f"{model}_abc_smoke"]), flat(composed[f"{model}_abc"])
    differing = {k for k in smoke.keys() | full.keys() if smoke.get(k) != full.get(k)}
    allowed = ("data.train_batch_size", "data.max_response_length", "trainer.", "actor_rollout_ref.actor.ppo_")
    allowed += ("actor_rollout_ref.rollout.log_prob_", "actor_rollout_ref.rollout.gpu_memory_utilization")
    allowed += ("actor_rollout_ref.actor.fsdp_config.param_offload", "actor_rollout_ref.actor.fsdp_config.optimizer_")
    allowed += ("actor_rollout_ref.actor.fsdp_config.offload_policy", "transfer_queue.backend.SimpleStorage.num_data_")
    assert all(k.startswith(allowed) for k in differing), sorted(differing)
    assert (smoke["trainer.n_gpus_per_node"], smoke["trainer.nnodes"], smoke["trainer.total_training_steps"]) == (
        1,
        1,
        4,
    )
    # the loss, the reward, the estimator and the group size are the paper run's
    for key in (
        "actor_rollout_ref.actor.policy_loss.loss_mode",
        "algorithm.adv_estimator",
        "reward.reward_manager.name",
        "actor_rollout_ref.rollout.n",
    ):
        assert smoke[key] == full[key]
    assert smoke["data.train_batch_size"] // smoke["actor_rollout_ref.actor.ppo_mini_batch_size"] == 4


def test_memory_knobs_keep_logits_within_an_80_gb_gpu(composed):
    """bf16 logits are tokens x 151,936 x 2 B; no per-GPU token budget may make them exceed 10 GB."""
    for name, config in composed.items():
        actor, rollout = config.actor_rollout_ref.actor, config.actor_rollout_ref.rollout
        for key, tokens in (
            ("ppo_max_token_len_per_gpu", actor.ppo_max_token_len_per_gpu),
            ("log_prob_max_token_len_per_gpu", rollout.log_prob_max_token_len_per_gpu),
        ):
            assert tokens * 151_936 * 2 <= 10.0e9, (name, key, tokens)
        assert actor.entropy_from_logits_with_chunking, name  # else the entropy adds 2 more logits-sized tensors


def test_attention_falls_back_to_sdpa_where_flash_attn_does_not_import(composed):
    from abc_verl.attention import FLASH, SDPA, flash_attn_error

    c = OmegaConf.to_container(composed["qwen3_1.7b_abc"], resolve=True)
    expected = FLASH if flash_attn_error() is None else SDPA
    assert c["actor_rollout_ref"]["model"]["override_config"]["attn_implementation"] == expected

"""`abc-verl check`: the README's main command passes on every shipped recipe, and each bad input fails with
the key at fault named. Runs the real checks (Hydra, verl validation, a local Ray worker, math-verify,
verl's FSDP2 engine on CPU)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from abc_verl.check.cli import run_checks
from abc_verl.check.recipes import recipes_dir


def check(recipe: str, *overrides: str) -> tuple[bool, dict[str, tuple[str, str]]]:
    lines: list[str] = []
    ok = run_checks(recipe, list(overrides), out=lines.append)
    results = {}
    for line in lines:
        status, _, rest = line.partition(" ")
        if status in ("PASS", "FAIL", "SKIP"):
            name, detail = rest.strip()[:12].strip(), rest.strip()[12:].strip()
            results[name] = (status, detail)
    return ok, results


def test_cli_default_recipe_passes_and_prints_the_training_steps():
    result = subprocess.run(
        [sys.executable, "-m", "abc_verl.cli", "check"], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("compose", "keys", "validate", "plugin", "plugin (ray)", "trainer", "reward", "train"):
        assert f"PASS {name:<12}" in result.stdout
    for name in ("rollout", "cuda", "ray cpus"):  # only a GPU node can tell
        assert f"SKIP {name:<12}" in result.stdout
    assert "SKIP data" in result.stdout or "PASS data" in result.stdout
    assert "qwen3_1.7b_abc.yaml" in result.stdout
    assert result.stdout.count("grad_norm") == 3 and "q4=" in result.stdout


@pytest.mark.parametrize(
    "recipe",
    [
        "qwen3_1.7b_grpo",
        "qwen3_1.7b_grpo_dualclip",
        "qwen3_4b_abc",
        "qwen3_4b_grpo",
        "qwen3_4b_grpo_dualclip",
        "qwen3_1.7b_abc_smoke",
        "qwen3_4b_abc_smoke",
    ],
)
def test_every_other_recipe_passes(recipe):
    """The CLI test above covers qwen3_1.7b_abc; together every shipped recipe passes the check."""
    ok, results = check(recipe)
    assert ok, results
    assert results["train"][0] == "PASS"


def test_data_files_are_checked_when_present(tmp_path, tiny_model_dir):
    """Eval sets from the packaged files and a training set from the small hub-schema fixture."""
    from abc_verl.data.prepare import main as prepare_data

    fixture = Path(__file__).parent / "fixtures" / "data" / "dapo_sample.jsonl"  # the hub dataset's schema
    assert prepare_data(["--out-dir", str(tmp_path), "--train-file", str(fixture)]) == 0
    ok, results = check(
        "qwen3_1.7b_abc",
        f"data.train_files={tmp_path}/train.parquet",
        f"data.val_files=[{tmp_path}/aime24.parquet,{tmp_path}/amc23.parquet]",
        f"actor_rollout_ref.model.path={tiny_model_dir}",
    )
    assert ok, results
    status, detail = results["data"]
    assert status == "PASS" and "aime24.parquet 30 rows" in detail and "amc23.parquet 40 rows" in detail
    assert "first prompt rendered: '<|im_start|>user\\nPlease reason step by step" in detail
    assert "train.parquet" in results["reward"][1]


def test_a_too_short_prompt_limit_is_caught_in_the_data(tmp_path, tiny_model_dir):
    from abc_verl.data.prepare import main as prepare_data

    assert prepare_data(["--out-dir", str(tmp_path), "--only", "eval", "--benchmarks", "aime24"]) == 0
    ok, results = check(
        "qwen3_1.7b_abc",
        f"data.train_files={tmp_path}/aime24.parquet",
        f"data.val_files=[{tmp_path}/aime24.parquet]",
        f"actor_rollout_ref.model.path={tiny_model_dir}",
        "data.max_prompt_length=16",
    )
    assert not ok and results["data"][0] == "FAIL" and "data.max_prompt_length 16" in results["data"][1]


@pytest.mark.parametrize(
    ("overrides", "stage", "named"),
    [
        (["trainer.save_freqq=3"], "compose", "trainer.save_freqq: unknown key (did you mean trainer.save_freq?)"),
        # the recipe sets the width already: Hydra refuses the `+`, the check says to drop it
        (
            ["+actor_rollout_ref.actor.policy_loss.eps_neg_high=0.3"],
            "compose",
            "actor_rollout_ref.actor.policy_loss.eps_neg_high is set by the recipe already: write "
            "actor_rollout_ref.actor.policy_loss.eps_neg_high=0.3 (no leading '+')",
        ),
        (["+trainer.save_freqq=3"], "keys", "trainer.save_freqq: unknown key (did you mean trainer.save_freq?)"),
        (
            ["actor_rollout_ref.actor.policy_loss.eps_neg_low=0"],
            "validate",
            "actor_rollout_ref.actor.policy_loss.eps_neg_low=0",
        ),
        (
            ["actor_rollout_ref.actor.policy_loss.loss_mode=abd"],
            "validate",
            "actor_rollout_ref.actor.policy_loss.loss_mode='abd'",
        ),
    ],
)
def test_bad_input_fails_naming_the_key(overrides, stage, named):
    ok, results = check("qwen3_1.7b_abc", *overrides)
    assert not ok
    assert results[stage][0] == "FAIL" and named in results[stage][1], results


def test_unknown_loss_mode_fails_in_the_plugin_check():
    ok, results = check("qwen3_1.7b_grpo", "actor_rollout_ref.actor.policy_loss.loss_mode=abd")
    assert not ok and results["plugin"][0] == "FAIL"
    assert "actor_rollout_ref.actor.policy_loss.loss_mode='abd'" in results["plugin"][1]


def test_misspelled_reward_manager_fails_naming_the_registered_ones():
    ok, results = check("qwen3_1.7b_abc", "reward.reward_manager.name=abc_mat")
    assert not ok and results["reward"][0] == "FAIL"
    detail = results["reward"][1]
    assert "reward.reward_manager.name='abc_mat'" in detail
    assert "registered reward managers: " in detail and "abc_math" in detail and "naive" in detail


def test_custom_function_beside_the_manager_fails_naming_both_keys():
    ok, results = check("qwen3_1.7b_abc", "reward.custom_reward_function.path=pkg://abc_verl.rewards")
    assert not ok and results["reward"][0] == "FAIL"
    assert "reward.custom_reward_function.path" in results["reward"][1] and "abc_math" in results["reward"][1]


def test_custom_function_route_still_passes_with_verls_naive_manager():
    ok, results = check(
        "qwen3_1.7b_grpo",
        "reward.reward_manager.name=naive",
        "reward.custom_reward_function.path=pkg://abc_verl.rewards",
    )
    assert results["reward"][0] == "PASS" and "NaiveRewardManager" in results["reward"][1], results["reward"]


def test_missing_reward_module_fails_naming_the_key():
    ok, results = check(
        "qwen3_1.7b_grpo",
        "reward.reward_manager.name=naive",
        "reward.custom_reward_function.path=pkg://abc_verl.rewardz",
    )
    assert not ok and results["reward"][0] == "FAIL"
    assert "reward.custom_reward_function" in results["reward"][1] and "rewardz" in results["reward"][1]


def test_typo_inside_a_recipe_file_is_caught(tmp_path):
    recipes = shutil.copytree(recipes_dir(), tmp_path / "recipes")
    path = recipes / "qwen3_1.7b.yaml"
    path.write_text(path.read_text().replace("  max_response_length: 4096", "  max_respones_length: 4096"))
    ok, results = check(str(recipes / "qwen3_1.7b_abc.yaml"))
    assert not ok and results["keys"][0] == "FAIL"
    assert "data.max_respones_length: unknown key (did you mean data.max_response_length?)" in results["keys"][1]


def test_unknown_recipe_lists_the_shipped_ones():
    ok, results = check("qwen3_8b_abc")
    assert not ok and "qwen3_1.7b_abc" in results["compose"][1] and "tiny_cpu_abc" in results["compose"][1]
    assert "paper_common" not in results["compose"][1]  # a base, not a recipe to launch


def test_a_key_the_recipe_lacks_is_told_to_take_a_plus():
    """The GRPO recipe turned into ABC on the command line: the widths are new keys there."""
    target = "actor_rollout_ref.actor.policy_loss._target_=abc_verl.config.ABCPolicyLossConfig"
    ok, results = check(
        "qwen3_1.7b_grpo",
        target,
        "actor_rollout_ref.actor.policy_loss.loss_mode=abc",
        "actor_rollout_ref.actor.policy_loss.eps_neg_high=0.3",
    )
    assert not ok and results["compose"] == (
        "FAIL",
        "actor_rollout_ref.actor.policy_loss.eps_neg_high is not set by this recipe: write "
        "+actor_rollout_ref.actor.policy_loss.eps_neg_high=0.3 to add it",
    )


def test_missing_data_names_the_folder_prepare_data_writes_by_default(monkeypatch, tmp_path):
    from abc_verl.data.prepare import build_parser

    monkeypatch.setenv("ABC_VERL_DATA", str(tmp_path / "nowhere"))
    ok, results = check("qwen3_1.7b_abc")
    assert results["data"] == (
        "SKIP",
        f"no data files yet (e.g. {tmp_path}/nowhere/train.parquet): run `abc-verl prepare-data --out-dir "
        f"{tmp_path}/nowhere`",
    )
    assert build_parser().parse_args([]).out_dir == tmp_path / "nowhere"  # the same folder without --out-dir

"""The ABC widths as verl config: Hydra composition over verl's ppo_trainer, verl's own driver-side check
(`validate_config`, which runs before Ray starts), and `python -m verl.trainer.main_ppo` itself."""

import importlib.resources
import math
import subprocess
import sys

import pytest
from hydra import compose, initialize_config_dir
from verl.trainer.ppo.utils import need_critic, need_reference_policy
from verl.utils.config import omega_conf_to_dataclass, validate_config

from abc_verl.check.cli import _cause_of_type
from abc_verl.config import ABCConfigError, ABCPolicyLossConfig

PL = "actor_rollout_ref.actor.policy_loss"
ABC = [f"{PL}._target_=abc_verl.config.ABCPolicyLossConfig", f"{PL}.loss_mode=abc"]
BASE = [  # a GRPO-style run (no critic) with the micro-batch sizes verl requires
    "algorithm.adv_estimator=grpo_paper",
    "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=1",
    "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=1",
]


def driver_check(overrides: list[str]):
    """Compose as main_ppo does and run verl's driver-side validation; return the actor dataclass."""
    config_dir = str(importlib.resources.files("verl") / "trainer" / "config")
    with initialize_config_dir(config_dir=config_dir, version_base=None):
        config = compose("ppo_trainer", overrides=overrides + BASE)
    validate_config(config, use_reference_policy=need_reference_policy(config), use_critic=need_critic(config))
    return omega_conf_to_dataclass(config.actor_rollout_ref.actor)


def test_widths_reach_the_actor_config_built_by_verl():
    actor = driver_check(ABC + [f"+{PL}.eps_pos_high=0.28", f"+{PL}.eps_neg_high=inf", f"+{PL}.eps_pos_low=1"])
    assert isinstance(actor.policy_loss, ABCPolicyLossConfig)
    assert (actor.policy_loss.eps_pos_high, actor.policy_loss.eps_pos_low) == (0.28, 1)
    assert (actor.policy_loss.eps_neg_high, actor.policy_loss.eps_neg_low) == (math.inf, 0.2)  # default 0.2


def test_loss_mode_abc_alone_composes_with_verl_defaults():
    actor = driver_check([f"{PL}.loss_mode=abc"])
    assert actor.policy_loss.loss_mode == "abc" and (actor.clip_ratio_low, actor.clip_ratio_high) == (0.2, 0.2)


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("eps_pos_high", "-0.1", "eps_pos_high=-0.1"),
        ("eps_pos_high", "0", "eps_pos_high=0.0"),
        ("eps_neg_high", "nan", "eps_neg_high=nan"),
        ("eps_pos_low", "1.5", "eps_pos_low=1.5"),
        ("eps_neg_low", "inf", "eps_neg_low=inf"),
        ("eps_neg_low", "abc", "eps_neg_low=.abc."),
    ],
)
def test_bad_width_fails_in_the_driver_check_naming_key_and_value(key, value, shown):
    with pytest.raises(Exception, match=rf"{PL}\.{shown}"):
        driver_check(ABC + [f"+{PL}.{key}={value}"])


def test_bad_width_raises_the_typed_error_that_hydra_wraps():
    """What `abc-verl check` relies on: Hydra's wrapper keeps our ABCConfigError in its cause chain."""
    with pytest.raises(Exception) as raised:
        driver_check(ABC + [f"+{PL}.eps_pos_low=1.5"])
    ours = _cause_of_type(raised.value, ABCConfigError)
    assert (
        not isinstance(raised.value, ABCConfigError)
        and str(ours) == f"{PL}.eps_pos_low=1.5: must be a number in (0, 1]"
    )


def test_abc_config_with_another_loss_mode_is_rejected():
    with pytest.raises(Exception, match=rf"{PL}\.loss_mode='vanilla'"):
        driver_check([f"{PL}._target_=abc_verl.config.ABCPolicyLossConfig"])  # loss_mode stays vanilla


def test_unknown_width_key_is_rejected():
    with pytest.raises(Exception, match="eps_pos_hgih"):
        driver_check(ABC + [f"+{PL}.eps_pos_hgih=0.3"])


def test_main_ppo_rejects_a_bad_width_before_ray_starts(tmp_path):
    cmd = [sys.executable, "-m", "verl.trainer.main_ppo", *ABC, f"+{PL}.eps_neg_low=-0.1", *BASE]
    cmd.append(f"hydra.run.dir={tmp_path}")  # Hydra's run folder, not ./outputs in the clone
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert f"{PL}.eps_neg_low=-0.1" in result.stderr + result.stdout
    assert "ray init kwargs" not in result.stdout  # verl prints this just before ray.init()

"""Config fuzzing. 240 seeded cases, each one wrong (or borderline) value for one ABC key or
one key the launch pre-flight reads. Each must be rejected by `abc-verl check`'s fast stages with the key
named, or accepted with a value the trainer can use; no stage may raise.

    pytest tests/test_config_fuzz.py -q          # ~2 min on 2 cores (marked `faults`)

Real checks, no mocks: the tiny CPU recipe composed by Hydra over verl's ppo_trainer, the key check, verl's
own `validate_config`, the plugin lookup and the launch checks; `only=` leaves out the stages that start Ray
or the FSDP engine. 200 cases set the value on the composed config (`check_config`, as `run_checks` runs it
after composing; composing costs a second per case), parsed by Hydra's own override grammar; 40 go through
the whole `run_checks` as command-line overrides, with values Hydra's grammar or interpolation refuses.
"Usable" is judged here, apart from the check's code: the widths through verl's `omega_conf_to_dataclass`
(the object the actor builds), the others by the rules in VALID.
"""

import copy
import math
import random
from typing import Any

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf, open_dict
from transformers import AttentionInterface

from abc_verl.check import launch
from abc_verl.check.cli import check_config, run_checks
from abc_verl.check.recipes import compose_recipe, find_recipe

pytestmark = pytest.mark.faults
RECIPE = "tiny_cpu_abc"
FAST = ["validate", "plugin", *(name for name, _ in launch.CHECKS)]  # not "plugin (ray)", data, reward, train
LOSS = "actor_rollout_ref.actor.policy_loss"
ATTN = "actor_rollout_ref.model.override_config.attn_implementation"


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and not math.isnan(v)


def _count(v: Any, low: int = 1) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= low


# what a value the check accepted must be, for the trainer to run with it (tiny recipe: 1 CPU slot, 4 CPUs)
VALID = {
    f"{LOSS}.eps_pos_high": lambda v: _number(v) and v > 0,
    f"{LOSS}.eps_neg_high": lambda v: _number(v) and v > 0,
    f"{LOSS}.eps_pos_low": lambda v: _number(v) and 0 < v <= 1,
    f"{LOSS}.eps_neg_low": lambda v: _number(v) and 0 < v <= 1,
    f"{LOSS}.loss_mode": lambda v: v == "abc",
    f"{LOSS}._target_": lambda v: v == "abc_verl.config.ABCPolicyLossConfig",
    "algorithm.adv_estimator": lambda v: v in ("grpo_paper", "grpo", "gae", "rloo", "reinforce_plus_plus"),
    "ray_kwargs.ray_init.num_cpus": lambda v: v is None or _count(v, 4),
    "transfer_queue.backend.SimpleStorage.num_data_storage_units": lambda v: _count(v) and v <= 14,
    "trainer.use_v1": lambda v: isinstance(v, bool),
    "trainer.v1.trainer_mode": lambda v: v in ("sync", "async"),
    "trainer.nnodes": lambda v: _count(v),
    "trainer.n_gpus_per_node": lambda v: _count(v),
    "trainer.device": lambda v: v in ("cpu", "cuda", "npu"),
    "actor_rollout_ref.rollout.name": lambda v: v in ("hf", "vllm", "sglang", "trtllm"),  # verl's, and ours
    ATTN: lambda v: v == "eager" or v in AttentionInterface._global_mapping,  # transformers' own registry
}

GENERIC = [
    "null", "true", "false", "0", "-1", "1", "3", "64", "0.5", "1.0", "-0.5", "1e-9", "1e30", "nan", "inf",
    "-inf", "abc", "'abc'", "''", "' '", "'0.2'", "'true'", "'16'", "[]", "[1,2]", "[a,b]", "{}", "{a:1}",
    "${trainer.nnodes}", "${no.such.key}", "'éè✓'", "99999999999999999999", "0x1F", "1_000", "+1", "[", "{a:",
    "'unterminated", "a=b", "${oc.env:NO_SUCH_VAR_16}",
]  # fmt: skip
NEAR = {
    "eps": ["0.2", "1", "1.0000001", "0.999", "2", ".inf", "1e-6", "0.0", "-1e-6", "'0.2'", "true"],
    "loss_mode": ["abc", "vanilla", "ABC", "gpg", "dual_clip", "'abc '"],
    "_target_": [
        "abc_verl.config.ABCPolicyLossConfig",
        "verl.workers.config.PolicyLossConfig",
        "abc_verl.config.Nope",
        "nope",
        "os.getcwd",
        "builtins.dict",
        "abc_verl.objective.ABCBounds",
        "abc_verl.config",
    ],  # fmt: skip
    "adv_estimator": ["grpo_paper", "grpo", "gae", "nope", "rloo", "GRPO"],
    "num_cpus": ["4", "3", "16", "1000", "0", "-4", "4.0", "4.5", "'4'"],
    "num_data_storage_units": ["1", "2", "0", "-1", "12", "13", "2.0", "'2'"],
    "use_v1": ["true", "false", "yes", "1", "0", "'false'"],
    "trainer_mode": ["sync", "async", "fully_async", "nope", "SYNC"],
    "nnodes": ["1", "2", "0", "-1", "1.5", "'2'"],
    "n_gpus_per_node": ["1", "2", "0", "-1", "1.5", "'2'"],
    "device": ["cpu", "cuda", "npu", "tpu", "nope", "CPU"],
    "name": ["hf", "vllm", "sglang", "trtllm", "naive", "nope", "HF"],
    "attn_implementation": ["sdpa", "eager", "flash_attention_2", "flash_attention_3", "flex_attention", "nope"],
}


def cases(n: int, seed: int, generic: list[str]) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    keys = sorted(VALID)
    out = []
    for _ in range(n):
        key = rng.choice(keys)
        leaf = key.rsplit(".", 1)[1]
        near = NEAR["eps" if leaf.startswith("eps_") else leaf]
        out.append((key, rng.choice(near if rng.random() < 0.5 else generic)))
    return out


HYDRA_ONLY = {"[", "{a:", "'unterminated", "a=b", "${trainer.nnodes}", "${no.such.key}", "${oc.env:NO_SUCH_VAR_16}"}


def judge(key: str, override: str, ok: bool, lines: list[str], config) -> str | None:
    """None when the case holds: rejected with the key named in every FAIL line, or accepted and usable."""
    fails = [line for line in lines if line.startswith("FAIL ")]
    if not ok:
        missing = [line for line in fails if key not in line]
        return f"{override}: FAIL without the key: {missing}" if missing or not fails else None
    got = OmegaConf.select(config, key, default=None)
    if key.startswith(LOSS + ".eps_"):
        from verl.utils.config import omega_conf_to_dataclass

        got = getattr(omega_conf_to_dataclass(config.actor_rollout_ref.actor.policy_loss), key.rsplit(".")[-1])
    return None if VALID[key](got) else f"{override}: accepted, but {key}={got!r} ({type(got).__name__})"


@pytest.fixture(scope="module")
def base():
    return compose_recipe(find_recipe(RECIPE), [])


def test_200_fuzzed_values_are_rejected_naming_the_key_or_accepted_and_usable(base):
    parser = OverridesParser.create()
    problems, rejected = [], 0
    for key, value in cases(200, 16, [v for v in GENERIC if v not in HYDRA_ONLY]):
        override = f"{key}={value}"
        config = copy.deepcopy(base)
        with open_dict(config):
            OmegaConf.update(config, key, parser.parse_override(override).value(), force_add=True)
        lines: list[str] = []
        try:
            ok = check_config(config, lines.append, only=FAST)
        except Exception as e:  # the finding is the escape itself
            problems.append(f"{override}: check_config raised {type(e).__name__}: {e}")
            continue
        rejected += not ok
        problems.append(judge(key, override, ok, lines, config))
    problems = [p for p in problems if p]
    assert problems == [], f"{len(problems)} of 200:\n" + "\n".join(problems)
    assert 60 < rejected < 190  # the seed gives both outcomes in number


def test_40_fuzzed_command_line_overrides_through_hydra(base):
    problems, rejected = [], 0
    generic = GENERIC + sorted(HYDRA_ONLY) * 3  # mostly what only Hydra sees
    for key, value in cases(40, 17, generic):
        prefix = "" if OmegaConf.select(base, key, default="<absent>") != "<absent>" else "+"
        override = f"{prefix}{key}={value}"
        lines: list[str] = []
        try:
            ok = run_checks(RECIPE, [override], out=lines.append, only=FAST)
        except Exception as e:
            problems.append(f"{override}: run_checks raised {type(e).__name__}: {e}")
            continue
        rejected += not ok
        config = compose_recipe(find_recipe(RECIPE), [override]) if ok else None
        problems.append(judge(key, override, ok, lines, config))
    problems = [p for p in problems if p]
    assert problems == [], f"{len(problems)} of 40:\n" + "\n".join(problems)
    assert 10 < rejected < 40

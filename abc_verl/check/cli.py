"""`abc-verl check`: pre-flight check of a training recipe on a machine without GPU, in under two minutes.

    abc-verl check                                         # the 1.7B ABC recipe
    abc-verl check qwen3_4b_grpo trainer.nnodes=2          # any recipe (name or .yaml path), any Hydra overrides
    abc-verl check qwen3_4b_abc_smoke --gpu-memory 24      # the memory estimate for GPUs of 24 GiB

It composes the config exactly as `python -m verl.trainer.main_ppo --config-path ... --config-name ...` would,
then checks, printing one PASS / FAIL / SKIP line each and exiting 1 on any FAIL (the message names the key):
  compose     Hydra composition of the recipe and overrides over verl's ppo_trainer
  keys        every key is one verl (or the policy-loss class named by `_target_`) knows: catches typos;
              the launch keys (trainer.nnodes, ray_kwargs.ray_init.num_cpus, ...) have usable types and ranges
  validate    verl's own driver-side config validation (builds the actor config: bad widths fail here)
  plugin      the loss mode and advantage estimator are registered, here and inside a real local Ray worker
  memory      the estimated peak per GPU of each phase (abc_verl.check.memory; --gpu-memory GIB, default the
              visible GPU's, else 80): a phase over the GPU fails, naming the knob to turn and its new value
  trainer, rollout, attention, cuda, gpu arch, shm, compiler, model, disk, host memory, ray cpus
              what the launch will use (abc_verl.check.launch, .host): the trainer class verl picks, the rollout
              backend at verl's pinned version, flash-attn or sdpa, torch's CUDA build on this driver, bf16 on
              the GPUs, /dev/shm, Triton's compiler, the model, disk for checkpoints, host memory for offloads,
              and enough Ray CPUs for the trainer's own actors (SKIP where only a GPU node can tell)
  data        train / val parquet files, when present: schema, rows, a prompt through the chat template
  reward      the reward manager (abc_math: built as verl's reward workers build it) or custom reward function
              loads as verl loads it and scores gold answers 1.0, a wrong one 0.0; an unknown manager name fails
              here, naming the registered ones
  train       3 optimizer steps of the recipe's loss through verl's FSDP2 engine on a tiny random Qwen3 (CPU)
"""

import argparse
import contextlib
import io
import os
import re
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Collection
from typing import Any

from abc_verl.check import launch as check_launch
from abc_verl.check.errors import CheckFailed, Skip
from abc_verl.check.memory import check_memory
from abc_verl.check.recipes import compose_recipe, explain_override_error, find_recipe, unknown_keys
from abc_verl.names import CLIPFRAC, PG_CLIPFRAC, QUADRANTS, REWARD_KIND, REWARD_MANAGER

DEFAULT_RECIPE = "qwen3_1.7b_abc"
LOSS_KEY = "actor_rollout_ref.actor.policy_loss.loss_mode"
ADV_KEY = "algorithm.adv_estimator"
REWARD_KEY = "reward.custom_reward_function"
MANAGER_KEY = "reward.reward_manager.name"
WRONG = "So it is $\\boxed{-987654321}$."


def check_validate(config: Any) -> str:
    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import validate_config

    from abc_verl.config import ABCConfigError  # imports verl: only once main() has chosen the platform

    problem = None
    try:
        validate_config(config, use_reference_policy=need_reference_policy(config), use_critic=need_critic(config))
    except Exception as e:
        ours = _cause_of_type(e, ABCConfigError)
        if ours is not None:  # our config class's own message, naming the key at fault
            problem = str(ours)
        else:  # Hydra's InstantiationException names the section and class, not the `_target_` key
            text = " ".join(str(e).split())
            where = re.search(r"Error in call to target '([^']+)'.*full_key: (\S+)", text)
            if where is None:
                raise
            problem = f"{where.group(2)}._target_={where.group(1)!r} could not be built: {e.__cause__ or text}"
    if problem:
        raise CheckFailed(problem)
    return "verl's validate_config passed"


def _cause_of_type(error: BaseException, kind: type[BaseException]) -> BaseException | None:
    """The first exception of type `kind` in `error`'s cause / context chain (Hydra wraps what a config raised)."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, kind):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def check_plugin(config: Any) -> str:
    from verl.trainer.ppo.core_algos import get_adv_estimator_fn, get_policy_loss_fn

    loss_mode = config.actor_rollout_ref.actor.policy_loss.loss_mode
    adv = config.algorithm.adv_estimator
    _registered(get_policy_loss_fn, loss_mode, LOSS_KEY)
    if adv not in ("gae", "grpo"):  # verl special-cases these two; any other goes through the registry
        _registered(get_adv_estimator_fn, adv, ADV_KEY)
    return f"{LOSS_KEY}={loss_mode!r} and {ADV_KEY}={adv!r} registered in the driver"


def _registered(getter: Callable, name: str, key: str) -> None:
    try:
        getter(name)
    except ValueError as e:
        raise CheckFailed(f"{key}={name!r}: {e}") from None


def check_ray_worker(config: Any) -> str:
    """Start a local Ray cluster with the runtime env main_ppo uses and look the names up in a worker."""
    import ray
    from omegaconf import OmegaConf
    from verl.trainer.constants_ppo import get_ppo_ray_runtime_env

    loss_mode = config.actor_rollout_ref.actor.policy_loss.loss_mode
    adv = config.algorithm.adv_estimator

    @ray.remote(num_cpus=0)
    def lookup(loss_mode: str, adv: str) -> tuple[str, str]:
        import verl  # noqa: F401  # a fresh process: only verl's plugin discovery registers abc_verl
        from verl.trainer.ppo.core_algos import get_adv_estimator_fn, get_policy_loss_fn

        loss = get_policy_loss_fn(loss_mode).__module__
        est = "built-in" if adv in ("gae", "grpo") else get_adv_estimator_fn(adv).__module__
        return loss, est

    runtime_env = OmegaConf.to_container(OmegaConf.create(get_ppo_ray_runtime_env(config)))
    # "local": a cluster of its own, never one a `ray start` left on this machine (ray.init would join that)
    ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False, runtime_env=runtime_env)
    try:
        loss_module, adv_module = ray.get(lookup.remote(loss_mode, adv), timeout=120)
    except ray.exceptions.RayTaskError as e:
        raise CheckFailed(f"in a Ray worker, {LOSS_KEY}={loss_mode!r} / {ADV_KEY}={adv!r}: {e.cause}") from None
    finally:
        ray.shutdown()
    return f"in a Ray worker: loss {loss_mode!r} from {loss_module}, estimator {adv!r} from {adv_module}"


def check_data(config: Any) -> str:
    from abc_verl.check.data import check_parquet_files

    return check_parquet_files(config)


def check_reward(config: Any) -> str:
    from verl.experimental.reward_loop.reward_manager.registry import REWARD_MANAGER as REGISTERED
    from verl.trainer.ppo.reward import get_custom_reward_fn, resolve_reward_manager_cls

    from abc_verl.check.data import gold_rows

    name = config.reward.reward_manager.name
    try:
        manager = resolve_reward_manager_cls(config)
    except Exception as e:  # an unknown registered name (ValueError), a module that does not import...
        known = f"; registered reward managers: {', '.join(sorted(REGISTERED))}"
        raise CheckFailed(f"{MANAGER_KEY}={name!r}: {type(e).__name__}: {e}{known}") from None
    try:
        fn = get_custom_reward_fn(config)
    except Exception as e:  # verl raises ImportError, AttributeError, FileNotFoundError...
        raise CheckFailed(f"{REWARD_KEY}: {type(e).__name__}: {e}") from None
    rows, where = gold_rows(config, n=4)
    if name == REWARD_MANAGER and config.reward.reward_manager.source == "register":
        return _check_reward_manager(config, rows, where)
    if fn is None:
        raise CheckFailed(
            f"{REWARD_KEY}.path is not set and {MANAGER_KEY}={name!r}: verl would fall back to its built-in scorers"
        )
    for row in rows:
        gold, source = row["answer"], row["data_source"]
        right = _score(fn(data_source=source, solution_str=f"So it is $\\boxed{{{gold}}}$.", ground_truth=gold))
        wrong = _score(fn(data_source=source, solution_str=WRONG, ground_truth=gold))
        if (right, wrong) != (1.0, 0.0):
            raise CheckFailed(f"{REWARD_KEY}: gold {gold!r} scored {right} (want 1.0), a wrong one {wrong} (want 0.0)")
    return f"{len(rows)} gold answers from {where} score 1.0, wrong ones 0.0 ({manager.__name__})"


def _check_reward_manager(config: Any, rows: list[dict], where: str) -> str:
    """Build the manager as verl's reward workers do and score each gold answer and a wrong one through it."""
    import asyncio

    from verl.trainer.ppo.reward import load_reward_manager

    from abc_verl.check.batch import reward_batch
    from abc_verl.cpu.tiny import build_tokenizer

    tokenizer = build_tokenizer()  # offline: any byte-level tokenizer decodes these answers back exactly

    def encode(text: str) -> list[int]:
        return tokenizer.encode(text, add_special_tokens=False)

    responses = [encode(f"So it is $\\boxed{{{row['answer']}}}$.") for row in rows] + [encode(WRONG)] * len(rows)
    golds = [{"ground_truth": row["answer"]} for row in rows] * 2
    data = reward_batch(responses, golds, [row["data_source"] for row in rows] * 2, tokenizer.pad_token_id)

    async def score_all() -> list[dict]:
        manager = load_reward_manager(config, tokenizer)  # inside the loop: the manager keeps the running loop
        return await asyncio.gather(*(manager.run_single(data[i : i + 1]) for i in range(len(data))))

    try:
        outputs = asyncio.run(score_all())
    except ValueError as e:  # the manager's own configuration errors (timeout_s, a custom function set too)
        raise CheckFailed(f"{MANAGER_KEY}={REWARD_MANAGER!r}: {e}") from None
    for i, row in enumerate(rows):
        right, wrong = outputs[i]["reward_extra_info"], outputs[len(rows) + i]["reward_extra_info"]
        if (right["score"], wrong["score"]) != (1.0, 0.0):
            raise CheckFailed(
                f"{MANAGER_KEY}={REWARD_MANAGER!r}: gold {row['answer']!r} scored {right['score']} (want 1.0; "
                f"{right[REWARD_KIND]} {right['error']}), a wrong one {wrong['score']} (want 0.0)"
            )
    return f"{len(rows)} gold answers from {where} score 1.0, wrong ones 0.0 (reward manager {REWARD_MANAGER!r})"


def _score(result: Any) -> float:
    return float(result["score"] if isinstance(result, dict) else result)


def check_train(config: Any) -> str:
    from verl.utils.config import omega_conf_to_dataclass

    from abc_verl.check import engine as fsdp_engine
    from abc_verl.cpu.tiny import build_tiny_qwen3

    actor = omega_conf_to_dataclass(config.actor_rollout_ref.actor)  # the recipe's loss knobs, as workers see them
    with_is = config.algorithm.rollout_correction.get("rollout_is") is not None
    with tempfile.TemporaryDirectory(prefix="abc_verl_check_") as tmp:
        engine = fsdp_engine.build_engine(build_tiny_qwen3(tmp), micro_batch_size=2)
        batch = fsdp_engine.make_batch(engine, rollout_is_weights=with_is)
        lines = []
        for step in range(3):
            result = fsdp_engine.train_step(engine, batch, actor)
            if not all(map(_finite, (result.loss, result.grad_norm))):
                raise CheckFailed(f"step {step}: loss {result.loss}, grad norm {result.grad_norm} (not finite)")
            quadrants = [result.metrics.get(CLIPFRAC[q]) for q in QUADRANTS]
            clip = (
                " ".join(f"q{i}={q:.3f}" for i, q in enumerate(quadrants, 1))
                if None not in quadrants
                else f"pg_clipfrac={result.metrics[PG_CLIPFRAC]:.3f}"
            )
            lines.append(f"step {step}: loss {result.loss:+.4f} grad_norm {result.grad_norm:.4f} {clip}")
    return "FSDP2 engine, tiny Qwen3, CPU" + ("".join(f"\n        {line}" for line in lines))


def _finite(x: float) -> bool:
    return x == x and abs(x) != float("inf")


CHECKS: list[tuple[str, Callable[[Any], str]]] = [
    ("validate", check_validate),
    ("plugin", check_plugin),
    ("memory", check_memory),
    *check_launch.CHECKS,  # before Ray starts: a bad launch key fails without a Ray cluster
    ("plugin (ray)", check_ray_worker),
    ("data", check_data),
    ("reward", check_reward),
    ("train", check_train),
]


def run_checks(
    recipe: str,
    overrides: list[str],
    out: Callable[[str], None] = print,
    only: Collection[str] | None = None,
    gpu_memory_gib: float | None = None,
) -> bool:
    """Compose the recipe with the overrides, then `check_config`; print a line per stage; True when none failed."""
    start = time.time()
    path = None
    try:
        path = find_recipe(recipe)
        config = compose_recipe(path, overrides)
    except Exception as e:  # Hydra, OmegaConf and our own errors all end the check here
        explained = explain_override_error(e, path, overrides) if path else None
        out(f"FAIL {'compose':<12} {explained or _message(e)}")
        return False
    out(f"PASS {'compose':<12} {path.name} + {len(overrides)} override(s)")
    return check_config(config, out, only, start, gpu_memory_gib)


def check_config(
    config: Any,
    out: Callable[[str], None] = print,
    only: Collection[str] | None = None,
    start: float | None = None,
    gpu_memory_gib: float | None = None,
) -> bool:
    """The stages after composition on a composed config: keys, then those of CHECKS named in `only` (default
    all), one PASS / FAIL / SKIP line each; True when none failed."""
    start = time.time() if start is None else start
    ok = True

    def report(status: str, name: str, detail: str) -> None:
        out(f"{status:<4} {name:<12} {detail}")

    try:
        bad = unknown_keys(config) + check_launch.wrong_values(config)
        if bad:
            raise CheckFailed("; ".join(bad))
        report("PASS", "keys", "every key is known to verl")
    except Exception as e:
        report("FAIL", "keys", _message(e))
        return False

    for name, check in CHECKS:
        if only is not None and name not in only:
            continue
        chatter = io.StringIO()  # verl prints a lot while building things; shown only when a check fails
        try:
            with contextlib.redirect_stdout(chatter):
                detail = check(config, gpu_memory_gib) if check is check_memory else check(config)
            report("PASS", name, detail)
        except Skip as e:
            report("SKIP", name, str(e))
        except Exception as e:
            multiline = isinstance(e, CheckFailed) and "\n" in str(e)  # laid out already (memory)
            report("FAIL", name, str(e) if multiline else _message(e))
            tail = chatter.getvalue().strip().splitlines()[-5:]
            if tail:
                out("        output before the failure:\n" + "\n".join(f"        | {line}" for line in tail))
            ok = False
            if name in ("validate", "plugin"):  # later checks would only repeat the same failure
                break
    out(f"{'all checks passed' if ok else 'FAILED'} in {time.time() - start:.0f} s")
    return ok


def _message(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    cause = e.__cause__ or e.__context__
    if cause is not None and str(cause) and str(cause) not in text:
        text += f" ({type(cause).__name__}: {cause})"
    return " ".join(text.split())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="abc-verl check", description=__doc__.splitlines()[0])
    parser.add_argument("recipe", nargs="?", default=DEFAULT_RECIPE, help=f"name or .yaml path ({DEFAULT_RECIPE})")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, as for verl.trainer.main_ppo")
    parser.add_argument(
        "--gpu-memory",
        type=float,
        metavar="GIB",
        help="memory of each GPU for the estimate (the visible GPU's, else 80)",
    )
    return parser


def main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.gpu_memory is not None and not args.gpu_memory > 0:
        parser.error(f"--gpu-memory {args.gpu_memory:g}: must be the GPU's memory in GiB, > 0")
    if "=" in args.recipe:  # only overrides given: check the default recipe with them
        args.overrides.insert(0, args.recipe)
        args.recipe = DEFAULT_RECIPE
    os.environ.setdefault("VERL_PLATFORM", "cpu")  # before verl is imported: the engine steps run on CPU
    warnings.filterwarnings("ignore", message=".* engine is not available")  # megatron etc.: not used here
    return 0 if run_checks(args.recipe, args.overrides, gpu_memory_gib=args.gpu_memory) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

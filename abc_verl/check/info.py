"""`abc-verl info`: confirm that verl loads the plugin, the way every verl process will.

    abc-verl info        # exit 0 when loss "abc", estimator "grpo_paper", reward manager "abc_math" are registered

It imports verl exactly as `python -m verl.trainer.main_ppo` does (the "verl.plugins" entry point and
VERL_USE_EXTERNAL_MODULES) and reports what is registered. A broken install shows here, not as
"Unsupported loss mode: abc" on a cluster an hour later.
"""

import argparse
import importlib.metadata
import os


def build_parser() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(prog="abc-verl info", description=__doc__.splitlines()[0])


def main(argv: list[str]) -> int:
    build_parser().parse_args(argv)
    import verl
    from verl.experimental.reward_loop.reward_manager.registry import REWARD_MANAGER as REWARD_MANAGER_REGISTRY
    from verl.trainer.ppo.core_algos import ADV_ESTIMATOR_REGISTRY, POLICY_LOSS_REGISTRY

    from abc_verl import __version__
    from abc_verl.names import ADV_ESTIMATOR, LOSS_MODE, REWARD_MANAGER

    eps = [ep.name for ep in importlib.metadata.entry_points(group="verl.plugins")]
    print(f"abc-verl {__version__}, verl {verl.__version__}")
    print(f"verl.plugins entry points: {', '.join(eps) or 'none'}")
    print(f"VERL_USE_EXTERNAL_MODULES={os.getenv('VERL_USE_EXTERNAL_MODULES', '')!r}")
    ok = True
    for kind, registry, name in (
        ("loss mode", POLICY_LOSS_REGISTRY, LOSS_MODE),
        ("adv estimator", ADV_ESTIMATOR_REGISTRY, ADV_ESTIMATOR),
        ("reward manager", REWARD_MANAGER_REGISTRY, REWARD_MANAGER),
    ):
        fn = registry.get(name)
        ours = fn is not None and fn.__module__.startswith("abc_verl.")
        ok &= ours
        where = f"{fn.__module__}.{fn.__qualname__}" if fn else "MISSING"
        print(f"{'PASS' if ours else 'FAIL'} {kind} {name!r}: {where}")
    print(f"loss modes: {', '.join(POLICY_LOSS_REGISTRY)}")
    print(f"adv estimators: {', '.join(ADV_ESTIMATOR_REGISTRY)}")
    print(f"reward managers: {', '.join(REWARD_MANAGER_REGISTRY)}")
    if not ok:
        print(
            "abc_verl is not registered: reinstall with `pip install abc-verl` in this environment, "
            "or set VERL_USE_EXTERNAL_MODULES=abc_verl to see the import error"
        )
    return 0 if ok else 1

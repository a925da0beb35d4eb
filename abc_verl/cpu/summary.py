"""The closing lines of examples/tiny_cpu_abc.sh (and of tiny_cpu_abc_vllm.sh): did it work, what the last step
logged, how far the rollout's log-probs were from the actor's at step 1, where it all went, what to run next.

    python -m abc_verl.cpu.summary DIR [--logs DIR/logs] [--checkpoints DIR/checkpoints/abc_verl/tiny_cpu_abc]
        [--run-dir DIR] [--backend hf]

Reads verl's file logs (one JSONL per launch, in DIR/logs) with `abc-verl plot`'s reader, and the checkpoint
folder verl wrote. Exits 1, saying what is missing, when the run left no training step behind.
"""

import argparse
import math
import sys
from pathlib import Path

from abc_verl.cpu.tiny_run import EVAL_FILE
from abc_verl.dynamics.cli import FINAL_WINDOW
from abc_verl.dynamics.logs import SHARES, LogError, load_run, verl_steps
from abc_verl.names import IS_LOG_RATIO_ABS_MEAN, QUADRANTS

EXPERIMENT = "abc_verl/tiny_cpu_abc"  # trainer.project_name / trainer.experiment_name of the recipe


def launches(log_dir: Path) -> list[tuple[str, list[int]]]:
    """(log file, training steps it logged) per launch, in the order of their first step."""
    out = []
    for path in sorted(log_dir.glob("*.jsonl")):
        try:
            out.append((path.name, sorted(load_run(path.stem, path).series["entropy"])))
        except LogError:
            out.append((path.name, []))
    return sorted(out, key=lambda launch: launch[1][:1] or [float("inf")])


def summary(
    root: Path, log_dir: Path | None = None, ckpt: Path | None = None, run_dir: Path | None = None, backend: str = "hf"
) -> tuple[bool, str]:
    """The closing lines; `run_dir` (default `root`) holds the launch's logs, Hydra folders, eval and plots,
    `backend` is the rollout engine the run used and the one its eval line suggests."""
    run_dir = run_dir or root
    log_dir = log_dir or run_dir / "logs"
    ckpt = ckpt or root / "checkpoints" / EXPERIMENT
    runs = launches(log_dir) if log_dir.is_dir() else []
    if not any(steps for _, steps in runs):
        return False, f"tiny ABC-GRPO run: no training step logged in {log_dir}; see the output above"
    lines = ["", "== tiny ABC-GRPO run on verl's trainer: done =="]
    for i, (name, steps) in enumerate(runs):
        how = "resumed from the last checkpoint" if i else "fresh start"
        lines.append(f"launch {i + 1} ({how}): trained step(s) {', '.join(map(str, steps)) or 'none'}  [{name}]")
    run = load_run("tiny", log_dir)
    last = max(run.series["entropy"])
    value = {key: run.series[key].get(last) for key in ("entropy", "reward", "clipfrac", *SHARES)}
    lines.append(
        f"step {last}: entropy {_fmt(value['entropy'])}, mean reward {_fmt(value['reward'])}, "
        f"clipped tokens {_fmt(value['clipfrac'], pct=True)}; share of clip events "
        + " ".join(f"{q.upper()} {_fmt(value[s], pct=True)}" for q, s in zip(QUADRANTS, SHARES, strict=True))
    )
    lines.append(
        f'  (step {last}\'s own values; `abc-verl plot` prints a "final" entropy averaged over the last '
        f"{FINAL_WINDOW} logged steps and clip-event shares averaged over the steps with clipping, so its numbers "
        "differ)"
    )
    lines += logprob_gap_lines(log_dir / runs[0][0], backend)
    saved = sorted(p.name for p in ckpt.glob("global_step_*")) if ckpt.is_dir() else []
    lines += [
        "written:",
        f"  tiny model and data   {root / 'model'}, {root / 'data' / 'train.parquet'}",
        f"  checkpoints           {ckpt} ({', '.join(saved) or 'none'})",
        f"  verl's metric logs    {log_dir} (one JSONL per launch)",
        f"  Hydra's run folders   {run_dir / 'hydra'}",
        "next:",
        f"  abc-verl eval {ckpt} --out {run_dir / 'eval'} --benchmarks {root / 'data' / EVAL_FILE} --backend {backend}"
        " --n 8 --max-new-tokens 16",
        f"  abc-verl plot --run tiny={log_dir} --eval tiny={run_dir / 'eval'} --out {run_dir / 'plots'}",
        "  abc-verl check qwen3_1.7b_abc_smoke     # then a GPU: examples/qwen3_1.7b_abc_smoke.sh (README)",
    ]
    return True, "\n".join(lines)


def logprob_gap_lines(first_log: Path, backend: str) -> list[str]:
    """Step 1's gap between the rollout engine's log-probs and the actor's recomputed ones, from verl's file log.

    Max from verl's token IS ratio extremes (rollout_corr/rollout_is_max, _min: exact while below the TIS
    threshold), mean from the ABC loss's mean |log w| (names.IS_LOG_RATIO_ABS_MEAN). Nothing when not logged.
    """
    step_1 = verl_steps(first_log).get(1, {})
    high, low = step_1.get("rollout_corr/rollout_is_max"), step_1.get("rollout_corr/rollout_is_min")
    mean = step_1.get(IS_LOG_RATIO_ABS_MEAN)
    if not high or not low or mean is None:
        return []
    largest = max(math.log(high), -math.log(low))
    return [
        f"step 1: {backend} rollout vs the actor's recomputed log-probs, |difference| per response token: "
        f"mean {mean:.2e}, max {largest:.2e}  (what verl's rollout correction weights correct)"
    ]


def _fmt(value: float | None, pct: bool = False) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.1f}%" if pct else f"{value:.3f}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m abc_verl.cpu.summary", description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="the tiny run's folder ($ABC_VERL_TINY)")
    parser.add_argument("--logs", type=Path, help="verl's file logs, one JSONL per launch (ROOT/logs)")
    parser.add_argument("--checkpoints", type=Path, help="the run's checkpoint folder")
    parser.add_argument("--run-dir", type=Path, help="the launch's logs, Hydra folders, eval and plots (ROOT)")
    parser.add_argument("--backend", default="hf", help="the rollout engine the run used (hf, vllm)")
    args = parser.parse_args(argv)
    ok, text = summary(args.root, args.logs, args.checkpoints, args.run_dir, args.backend)
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

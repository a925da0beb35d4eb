"""The closing lines of examples/tiny_cpu_abc.sh: did it work, what the last step logged, where it all went, and
what to run next.

    python -m abc_verl.cpu.summary DIR [--logs DIR/logs] [--checkpoints DIR/checkpoints/abc_verl/tiny_cpu_abc]

Reads verl's file logs (one JSONL per launch, in DIR/logs) with `abc-verl plot`'s reader, and the checkpoint
folder verl wrote. Exits 1, saying what is missing, when the run left no training step behind.
"""

import argparse
import sys
from pathlib import Path

from abc_verl.cpu.tiny_run import EVAL_FILE
from abc_verl.dynamics.cli import FINAL_WINDOW
from abc_verl.dynamics.logs import SHARES, LogError, load_run
from abc_verl.names import QUADRANTS

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


def summary(root: Path, log_dir: Path | None = None, ckpt: Path | None = None) -> tuple[bool, str]:
    log_dir = log_dir or root / "logs"
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
    saved = sorted(p.name for p in ckpt.glob("global_step_*")) if ckpt.is_dir() else []
    lines += [
        "written:",
        f"  tiny model and data   {root / 'model'}, {root / 'data' / 'train.parquet'}",
        f"  checkpoints           {ckpt} ({', '.join(saved) or 'none'})",
        f"  verl's metric logs    {log_dir} (one JSONL per launch)",
        f"  Hydra's run folders   {root / 'hydra'}",
        "next:",
        f"  abc-verl eval {ckpt} --out {root / 'eval'} --benchmarks {root / 'data' / EVAL_FILE} --backend hf"
        " --n 8 --max-new-tokens 16",
        f"  abc-verl plot --run tiny={log_dir} --eval tiny={root / 'eval'} --out {root / 'plots'}",
        "  abc-verl check qwen3_1.7b_abc_smoke     # then a GPU: examples/qwen3_1.7b_abc_smoke.sh (README)",
    ]
    return True, "\n".join(lines)


def _fmt(value: float | None, pct: bool = False) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.1f}%" if pct else f"{value:.3f}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m abc_verl.cpu.summary", description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="the tiny run's folder ($ABC_VERL_TINY)")
    parser.add_argument("--logs", type=Path, help="verl's file logs, one JSONL per launch (ROOT/logs)")
    parser.add_argument("--checkpoints", type=Path, help="the run's checkpoint folder")
    args = parser.parse_args(argv)
    ok, text = summary(args.root, args.logs, args.checkpoints)
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

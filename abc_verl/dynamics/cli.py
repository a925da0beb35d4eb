"""`abc-verl plot`: the paper's training-dynamics figure and summary numbers for your runs, beside the paper's.

    abc-verl plot --run abc=PATH [--run grpo=PATH ...] [--eval abc=EVAL_DIR ...] [--with-paper 1.7b] --out DIR

PATH is a verl `file` logger JSONL (`trainer.logger=[console,file]`; see `abc_verl.dynamics.logs` for where verl
writes it), a TRL `trainer_state.json` (or its output directory) or a curves CSV written by this command.
EVAL_DIR is an `abc-verl eval` output directory (`<checkpoint>/<benchmark>/summary.json`).
Writes, atomically:
  DIR/dynamics.png       panels (a) Avg@k and (b) Pass@k per benchmark over step (when --eval is given), (c) entropy,
                         (d) mean reward, (e) total clip fraction over step, (f) clip-event share per quadrant
  DIR/summary.json       per run: steps, final_entropy / final_reward (mean of the last 10 logged values;
                         final_steps: the first and last step of that window),
                         clip_share {q1..q4} in percent (per-step shares averaged over the steps with any clipping;
                         null without quadrant metrics); entropy_ratio = final entropy of the 1st run / the 2nd
  DIR/curves/<run>.csv   the canonical per-step curves (the format of the shipped paper curves)
Curves are a centred moving mean over --smooth training steps (default 20), raw values drawn faintly.

The shipped paper curves (`paper_curves/qwen3-1.7b-*.csv`) were made from the authors' 1.7B logs with
    abc-verl plot --run qwen3-1.7b-abc-grpo=paper_logs/qwen3-1.7b-abc-grpo.trainer_state.json \\
        --run qwen3-1.7b-grpo=paper_logs/qwen3-1.7b-grpo.trainer_state.json --out paper_out
    cp paper_out/curves/*.csv abc_verl/dynamics/paper_curves/
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import shlex
import sys
from importlib import resources
from pathlib import Path

from abc_verl.dynamics.logs import (
    SHARES,
    LogError,
    Run,
    clip_share,
    load_run,
    read_eval_summaries,
    write_curves_csv,
)
from abc_verl.files import FolderBusy, atomic_write_text, folder_lock, remove_temporaries

FINAL_WINDOW = 10  # "final" = mean of the last 10 logged values, as the paper's end-of-run numbers
DEFAULT_SMOOTH = 20
PAPER_RUNS = {"1.7b": ("qwen3-1.7b-abc-grpo", "qwen3-1.7b-grpo")}  # ABC first: entropy_ratio reads ABC / GRPO
FIGURE = "dynamics.png"


EXAMPLES = """examples:
  abc-verl plot --run tiny=~/abc_verl_tiny/logs --out ~/abc_verl_tiny/plots         # the tiny CPU run's log folder
  abc-verl plot --with-paper 1.7b --out ~/abc_verl_tiny/paper_plots                 # the paper's 1.7B runs alone
  abc-verl plot --run abc=~/logs/abc_verl/qwen3_1.7b_abc --eval abc=~/eval/qwen3_1.7b_abc \\
      --run grpo=~/logs/abc_verl/qwen3_1.7b_grpo --with-paper 1.7b --out ~/plots/qwen3_1.7b
writes DIR/dynamics.png, DIR/summary.json and DIR/curves/<run>.csv; prints each run's final numbers"""


class UsageError(ValueError):
    """Bad command-line input; the message names the argument."""


def _pairs(values: list[str], flag: str) -> list[tuple[str, Path]]:
    pairs = []
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise UsageError(f"{flag} {value!r}: expected NAME=PATH")
        pairs.append((name.strip(), Path(path.strip()).expanduser()))
    return pairs


def paper_runs(size: str) -> list[Run]:
    """The paper's reference runs of one model size, from the curves shipped in the package."""
    key = size.lower().removeprefix("qwen3-")
    if key not in PAPER_RUNS:
        raise UsageError(f"--with-paper {size!r}: unknown size; available: {', '.join(PAPER_RUNS)}")
    folder = resources.files("abc_verl.dynamics") / "paper_curves"
    runs = []
    for stem in PAPER_RUNS[key]:
        with resources.as_file(folder / f"{stem}.csv") as path:
            run = load_run(f"paper-{stem.removeprefix('qwen3-')}", path)
        run.source = f"abc_verl/dynamics/paper_curves/{stem}.csv"
        run.reference = True
        run.evals = _reported(stem, (folder / "reported.csv").read_text(encoding="utf-8"))
        runs.append(run)
    return runs


def _reported(stem: str, text: str) -> dict[str, dict[int, dict[str, float]]]:
    """The paper's reported Avg@64 / Pass@64 of a run's final checkpoint: benchmark -> {step: metrics}."""
    evals: dict[str, dict[int, dict[str, float]]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        if row["run"] == stem:
            metrics = {key: float(row[key]) for key in ("avg@64", "pass@64")}
            evals.setdefault(row["benchmark"], {})[int(row["step"])] = metrics
    return evals


def _mean_last(run: Run, key: str, window: int) -> float | None:
    _, values = run.points(key)
    if not values:
        return None
    if len(values) < window:
        run.notes.append(f"final {key}: only {len(values)} logged values, fewer than {window}")
    tail = values[-window:]
    return sum(tail) / len(tail)


def _last_steps(run: Run, key: str, window: int) -> list[int] | None:
    """[first, last] training step of the values a "final" number averages; None when nothing was logged."""
    steps, _ = run.points(key)
    return [steps[-window:][0], steps[-1]] if steps else None


def summarize(runs: list[Run], window: int = FINAL_WINDOW) -> dict:
    """The summary.json content: per-run numbers and the final-entropy ratio of the first two runs."""
    per_run = {}
    for run in runs:
        logged = set().union(*(run.series[k] for k in ("entropy", "reward", "clipfrac")))
        shares = clip_share(run)
        per_run[run.name] = {
            "source": run.source,
            "format": run.fmt,
            "steps": len(logged),
            "last_step": max(logged, default=None),
            "final_entropy": _mean_last(run, "entropy", window),
            "final_steps": _last_steps(run, "entropy", window),
            "final_reward": _mean_last(run, "reward", window),
            "clip_share": shares,
            "clip_share_steps": len(run.series[SHARES[0]]) if shares else 0,
            "evals": {b: {str(s): m for s, m in sorted(by_step.items())} for b, by_step in sorted(run.evals.items())},
            "notes": run.notes,
        }
    ratio = None
    if len(runs) >= 2:
        first, second = (per_run[r.name]["final_entropy"] for r in runs[:2])
        value = first / second if first is not None and second else None
        ratio = {"numerator": runs[0].name, "denominator": runs[1].name, "value": value}
    return {"final_window": window, "runs": per_run, "entropy_ratio": ratio}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="abc-verl plot",
        description="Training-dynamics figure (entropy, reward, clipping per quadrant, Avg@k / Pass@k) and summary.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--run", action="append", default=[], metavar="NAME=PATH", help="a run's training log")
    parser.add_argument("--eval", action="append", default=[], metavar="NAME=DIR", help="abc-verl eval output of a run")
    parser.add_argument(
        "--with-paper",
        action="append",
        default=[],
        metavar="SIZE",
        help=f"overlay the paper's ABC-GRPO and GRPO runs of this model size ({', '.join(PAPER_RUNS)})",
    )
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="output directory")
    parser.add_argument("--smooth", type=int, default=DEFAULT_SMOOTH, metavar="STEPS", help="moving-mean window")
    return parser


def _load(args: argparse.Namespace) -> list[Run]:
    runs: list[Run] = []
    for name, path in _pairs(args.run, "--run"):
        if any(r.name == name for r in runs):
            raise UsageError(f"--run {name}: run name given twice")
        try:
            runs.append(load_run(name, path))
        except LogError as exc:
            raise UsageError(f"--run {name}: {exc}") from exc
    for size in args.with_paper:
        runs.extend(paper_runs(size))
    files: dict[str, Run] = {}
    for run in runs:  # each run writes curves/<name>.csv: no two runs (a paper run included) may share that file
        other = files.setdefault(_safe(run.name), run)
        if other is not run:
            raise UsageError(f"--run {run.name}: writes the same curves/{_safe(run.name)}.csv as run {other.name!r}")
    by_name = {r.name: r for r in runs}
    for name, path in _pairs(args.eval, "--eval"):
        if name not in by_name:
            raise UsageError(f"--eval {name}: no --run named {name!r}")
        try:
            read_eval_summaries(by_name[name], path)
        except LogError as exc:
            raise UsageError(f"--eval {name}: {exc}") from exc
    return runs


def main(argv: list[str]) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help and on its own errors; callers expect a return code
        return int(exc.code or 0)
    try:
        if not args.run and not args.with_paper:
            raise UsageError("give at least one --run NAME=PATH or --with-paper SIZE")
        if args.smooth < 1:
            raise UsageError(f"--smooth {args.smooth}: must be >= 1 (1 = no smoothing)")
        runs = _load(args)
    except UsageError as exc:
        print(f"abc-verl plot: error: {exc}", file=sys.stderr)
        return 2
    from abc_verl.dynamics.plot import draw  # matplotlib only once the input is known to be good

    summary = summarize(runs) | {"smooth_steps": args.smooth, "figure": FIGURE}
    try:  # a full or read-only disk, or another command writing this folder: files written before stay intact
        with folder_lock(args.out, shlex.join(["abc-verl", "plot", *argv])):
            remove_temporaries(args.out)
            for run in runs:
                for note in run.notes:
                    print(f"abc-verl plot: note: {run.name}: {note}", file=sys.stderr)
                write_curves_csv(run, args.out / "curves" / f"{_safe(run.name)}.csv")
            draw(runs, args.out / FIGURE, smooth=args.smooth)
            atomic_write_text(args.out / "summary.json", json.dumps(summary, indent=2) + "\n")
    except (OSError, FolderBusy) as exc:
        print(f"abc-verl plot: error: {exc}", file=sys.stderr)
        return 1
    _report(summary, args.out)
    return 0


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)


def _report(summary: dict, out: Path) -> None:
    """One line per run; each number names the steps it averages (a run's own last-step values differ)."""
    for name, run in summary["runs"].items():
        share = run["clip_share"]
        q4 = f"{share['q4']:.1f}% (mean over the {run['clip_share_steps']} steps with clipping)" if share else "n/a"
        ent = "n/a"
        if run["final_entropy"] is not None:
            first, last = run["final_steps"]
            ent = f"{run['final_entropy']:.3f} (mean over steps {first}-{last})"
        print(f"{name}: {run['steps']} steps, final entropy {ent}, Q4 share of clip events {q4}")
    ratio = summary["entropy_ratio"]
    if ratio and ratio["value"] is not None:
        window = summary["final_window"]
        print(
            f"final entropy {ratio['numerator']} / {ratio['denominator']}: {ratio['value']:.2f} "
            f"(each a mean of its last {window} logged steps)"
        )
    print(f"wrote {out / FIGURE}, {out / 'summary.json'}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

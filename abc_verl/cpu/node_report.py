"""Where each rank of a multi-node run ran, and how its ABC metrics add up to what verl logged.

    python -m abc_verl.cpu.node_report OUTPUT LOG [--steps N]

OUTPUT is the launch's console output holding the lines of abc_verl.cpu.nodes (ABC_VERL_NODE_LOG=1), LOG verl's
file log of the same launch. Prints one line per rank (node, interpreter, copy of abc_verl) and, per step and
metric, each rank's mean over its loss calls of the step beside the logged value, which verl computes as the mean
over the ranks. Exits 1 when a rank is missing or a logged value is not that mean. Run by
`examples/tiny_cpu_abc_2nodes.sh` at the end.
"""

import argparse
import json
import re
import sys
from pathlib import Path

from abc_verl.cpu.nodes import LOSS_TAG, WORKER_TAG
from abc_verl.names import CLIPFRAC, PG_CLIPFRAC

FIELD = re.compile(r"(\S+)=(\S+)")
METRICS = [PG_CLIPFRAC, *CLIPFRAC.values()]
TOLERANCE = 1e-6


def trace(output: str, tag: str) -> list[dict[str, str]]:
    """The `abc-verl worker:` or `abc-verl loss:` lines of `output`, as {field: value}, in the order printed."""
    return [dict(FIELD.findall(line.split(tag, 1)[1])) for line in output.splitlines() if tag in line]


def logged_steps(path: Path) -> dict[int, dict]:
    """verl's file log: {training step: metrics}, validation-only records left out."""
    steps: dict[int, dict] = {}
    for line in path.read_text().splitlines():
        record = json.loads(line)
        steps.setdefault(record["step"], {}).update(record["data"])
    return {step: data for step, data in steps.items() if "actor/pg_loss" in data}


def rank_means(output: str, steps: list[int]) -> dict[str, dict[int, dict[str, float]]]:
    """{rank: {step: {metric: mean over the rank's loss calls in that step}}}; each step has as many calls per
    rank (the same mini- and micro-batches), so a rank's calls split evenly over the launch's steps in order."""
    calls: dict[str, list[dict[str, str]]] = {}
    for call in trace(output, LOSS_TAG):
        calls.setdefault(call["rank"], []).append(call)
    out: dict[str, dict[int, dict[str, float]]] = {}
    for rank, mine in calls.items():
        if len(mine) % len(steps):
            raise ValueError(f"rank {rank}: {len(mine)} loss calls do not split over {len(steps)} steps")
        per_step = len(mine) // len(steps)
        out[rank] = {}
        for i, step in enumerate(sorted(steps)):
            chunk = mine[i * per_step : (i + 1) * per_step]
            out[rank][step] = {m: sum(float(c[m]) for c in chunk) / per_step for m in METRICS}
    return out


def report(output: str, log: Path) -> tuple[bool, list[str]]:
    """(every logged ABC metric is the mean over the ranks, the lines to print)."""
    workers = {w["rank"]: w for w in trace(output, WORKER_TAG)}
    lines = [f"rank {r}: node {w['node']}, python {w['python']}, abc_verl {w['abc_verl']}" for r, w in workers.items()]
    logged = logged_steps(log)
    if not logged:
        raise ValueError(f"no training step in {log}")
    means = rank_means(output, list(logged))
    ok = len(workers) >= 2 and sorted(means) == sorted(workers)
    for step, data in sorted(logged.items()):
        for metric in METRICS:
            per_rank = [means[r][step][metric] for r in sorted(means)]
            expected = sum(per_rank) / len(per_rank)
            same = abs(data[metric] - expected) <= TOLERANCE
            ok &= same
            ranks = ", ".join(f"rank {r} {v:.4f}" for r, v in zip(sorted(means), per_rank, strict=True))
            verdict = "the mean over the ranks" if same else f"NOT the mean over the ranks ({expected:.4f})"
            lines.append(f"step {step} {metric}: {ranks} -> logged {data[metric]:.4f}, {verdict}")
    return ok, lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m abc_verl.cpu.node_report", description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="the launch's console output (ABC_VERL_NODE_LOG=1)")
    parser.add_argument("log", type=Path, help="verl's file log of the launch (VERL_FILE_LOGGER_PATH)")
    args = parser.parse_args(argv)
    try:
        ok, lines = report(args.output.read_text(errors="replace"), args.log)
    except (OSError, ValueError, KeyError) as err:
        print(f"node report: {err}", file=sys.stderr)
        return 1
    print("\n".join(["", "== ranks, nodes and the ABC metrics verl reduced over them ==", *lines]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

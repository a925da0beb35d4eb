"""Grading throughput of `abc-verl eval score`: samples per second with 1 and 2 grading processes.

    python benchmarks/bench_eval_score.py                       # 100 problems x 64 samples, workers 1 and 2
    python benchmarks/bench_eval_score.py --workers 1 2 4 --repeats 3

Builds the samples file itself: the 100 problems of AIME24, AIME25 and AMC23 (packaged golds), 64 synthetic
responses each (about 1,500 characters of reasoning, then the answer), mixed as real model output is:
35% a boxed integer (right or wrong), 30% a LaTeX form of a number (\\frac{g m}{m}, \\dfrac, g.0 with a random
m, so the checker's verdict cache rarely helps and math-verify graders do the work), 20% no answer at all,
15% two boxed answers. Then it times the whole command (`python -m abc_verl.cli eval score ...`, start-up
included) for each worker count, best of --repeats, checks that every run gives the same summary, prints a
table and writes benchmarks/results/bench_eval_score.json.
"""

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from abc_verl.data.benchmarks import load_benchmark
from abc_verl.evaluation import results
from abc_verl.files import atomic_write_json

FILLER = "Let us reason step by step. We consider the constraints and simplify the expression carefully. "


def make_samples(path: Path, n: int, seed: int = 0) -> int:
    rng = random.Random(seed)
    problems = [p for b in ("aime24", "aime25", "amc23") for p in load_benchmark(b).problems]
    with open(path, "w") as fh:
        for prob in problems:
            gold = int(float(prob.answer))
            responses = [_response(rng, gold) for _ in range(n)]
            fh.write(
                json.dumps(
                    {"id": prob.id + "-" + str(len(prob.question)), "answer": prob.answer, "responses": responses}
                )
                + "\n"
            )
    return len(problems)


def _response(rng: random.Random, gold: int) -> str:
    value = gold if rng.random() < 0.3 else gold + rng.randint(1, 50)
    body = FILLER * rng.randint(10, 20)
    kind = rng.random()
    if kind < 0.35:
        return body + f"Therefore the answer is $\\boxed{{{value}}}$."
    if kind < 0.65:
        m = rng.randint(2, 60)
        form = rng.choice([f"\\frac{{{value * m}}}{{{m}}}", f"\\dfrac{{{value * m}}}{{{m}}}", f"{value}.0"])
        return body + f"So we get $\\boxed{{{form}}}$."
    if kind < 0.85:
        return body + "I could not finish the computation."
    return body + f"First guess $\\boxed{{{value + 1}}}$, but correcting it gives $\\boxed{{{value}}}$."


def time_score(samples: Path, workers: int, out: Path) -> tuple[float, dict]:
    cmd = [sys.executable, "-m", "abc_verl.cli", "eval", "score", "--samples", str(samples)]
    cmd += ["--out", str(out), "--workers", str(workers)]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    summary = results.read_json(out / results.SUMMARY)
    return wall, {k: v for k, v in summary.items() if "@" in k}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        samples = Path(tmp) / "samples.jsonl"
        problems = make_samples(samples, args.n)
        total = problems * args.n
        rows, metrics = [], None
        for workers in args.workers:
            best = float("inf")
            for r in range(args.repeats):
                wall, m = time_score(samples, workers, Path(tmp) / f"out_{workers}_{r}")
                if metrics is not None and m != metrics:
                    raise SystemExit(f"workers={workers} gave other metrics than workers={args.workers[0]}")
                metrics, best = m, min(best, wall)
            rows.append({"workers": workers, "seconds": round(best, 2), "samples_per_s": round(total / best, 1)})
    base = rows[0]["seconds"]
    print(f"eval score on {problems} problems x {args.n} samples = {total} responses ({os.cpu_count()} CPUs)")
    print(f"{'workers':>8} {'seconds':>9} {'samples/s':>10} {'speed-up':>9}")
    for row in rows:
        row["speedup"] = round(base / row["seconds"], 2)
        print(f"{row['workers']:>8} {row['seconds']:>9.2f} {row['samples_per_s']:>10.1f} {row['speedup']:>8.2f}x")
    print(f"avg@{args.n} = {metrics[f'avg@{args.n}']:.1f}, pass@{args.n} = {metrics[f'pass@{args.n}']:.1f}")
    result = {"problems": problems, "n": args.n, "cpus": os.cpu_count(), "python": platform.python_version()}
    result.update(rows=rows, metrics=metrics)
    out = Path(__file__).parent / "results" / "bench_eval_score.json"
    atomic_write_json(out, result)
    print(f"written: {out}")


if __name__ == "__main__":
    main()

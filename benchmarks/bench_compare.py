"""Speed and coverage of `abc-verl compare` on 30 problems x 64 samples x 2 runs, beside verl's own bootstrap.

    python benchmarks/bench_compare.py                  # timing (median of 5) + coverage on 1,000 pairs
    python benchmarks/bench_compare.py --quick          # timing only, 100 coverage pairs

Input: two runs simulated with per-problem success rates like the paper's 4B GRPO and ABC-GRPO on AIME24
(abc_verl.evaluation.simulate), written as `abc-verl eval` result folders. Timed, in this process:
  * `abc-verl compare A B --out DIR` as a whole (read both folders, 10,000 bootstrap replicates of Avg@64 and
    of both Pass@k forms at k = 1, 2, 4, ..., 64, sign-flip p-values, maj@k, per-problem tables, and the four
    files with the figure);
  * the statistics alone (abc_verl.evaluation.stats.compare_metrics);
  * verl's built-in `verl.trainer.ppo.metric_utils.bootstrap_metric`, as verl's validation uses it (per
    problem, resampling that problem's responses), for the mean of each run's 64 verdicts on each of the 30
    problems with 10,000 replicates: one metric, within problems only, where compare does 15 metrics over
    problems and samples.
Coverage: over simulated pairs, the share of 95% intervals of B - A holding the true difference, per metric,
with two runs' problem difficulties equal (jitter 0) or moved by jitter 0.1 (abc_verl.evaluation.simulate).
Prints a table and writes benchmarks/results/bench_compare.json (--out to change).
"""

import argparse
import contextlib
import io
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from abc_verl.evaluation import compare, results
from abc_verl.evaluation.generate import SamplingConfig
from abc_verl.evaluation.simulate import coverage, draw_pair, fit_profile
from abc_verl.evaluation.stats import compare_metrics
from abc_verl.files import atomic_write_json

PROBLEMS, N, DRAWS = 30, 64, 10_000
KS = [1, 2, 4, 8, 16, 32, 64]


def write_run(folder: Path, correct: np.ndarray) -> Path:
    ids = [f"p{i}" for i in range(len(correct))]
    fp = results.fingerprint(SamplingConfig(n=N), "aime24", "0" * 64, len(ids), "{question}")
    verdicts = [{"pred": str(int(c)), "correct": bool(c), "error": ""} for row in correct for c in row]
    rows = results.sample_rows(ids, [["r"] * N for _ in ids], verdicts)
    head = {"checkpoint": folder.name, "run": folder.name, "step": None, "benchmark": "aime24"}
    results.write_pair(folder / "aime24", rows, results.summary_of(head, rows, ids, N, KS, {"fingerprint": fp}))
    return folder


def median_time(fn, repeats: int) -> tuple[float, float]:
    """Median wall and CPU seconds of this process (CPU: what a shared machine's load does not inflate)."""
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return float(np.median(wall)), float(np.median(cpu))


def timings(repeats: int) -> dict:
    from verl.trainer.ppo.metric_utils import bootstrap_metric

    a, b = fit_profile(20.3, 43.3, N), fit_profile(25.9, 66.7, N)
    ca, cb = draw_pair(a, b, PROBLEMS, N, np.random.default_rng(0))
    with tempfile.TemporaryDirectory() as tmp:
        ra, rb = write_run(Path(tmp) / "grpo", ca), write_run(Path(tmp) / "abc", cb)
        argv = [str(ra), str(rb), "--out", str(Path(tmp) / "cmp")]
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            compare.main(argv)  # warm-up: imports matplotlib once, as any first call in a process does
            whole = median_time(lambda: compare.main(argv), repeats)
    rng = np.random.default_rng(0)
    stats_only = median_time(lambda: compare_metrics(ca, cb, KS, [PROBLEMS], DRAWS, rng), repeats)

    def verl_builtin():
        for m in (ca, cb):
            for row in m:
                bootstrap_metric(list(row.astype(float)), N, [np.mean], n_bootstrap=DRAWS, seed=0)

    verl = median_time(verl_builtin, max(1, repeats // 2))
    return {"compare_command_s": whole, "compare_statistics_s": stats_only, "verl_bootstrap_metric_s": verl}


def coverages(pairs: int) -> dict:
    a, b = fit_profile(20.3, 43.3, N), fit_profile(25.9, 66.7, N)
    out = {}
    for jitter in (0.0, 0.1):
        shares = coverage(a, b, pairs, PROBLEMS, N, [1, 8, 64], 1000, seed=0, jitter=jitter)
        out[f"jitter_{jitter}"] = {f"{m}@{k}" if k else m: v for (m, k), v in shares.items()}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="100 coverage pairs instead of 1,000")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "bench_compare.json")
    args = p.parse_args(argv)
    times = timings(args.repeats)
    cover = coverages(100 if args.quick else 1000)
    print(f"30 problems x 64 samples x 2 runs, {DRAWS} bootstrap replicates, median of {args.repeats}")
    print("| what | wall s | CPU s |\n|---|---:|---:|")
    for key, (wall, cpu) in times.items():
        print(f"| {key} | {wall:.3f} | {cpu:.3f} |")
    print("\ncoverage of the 95% interval of B - A (4B GRPO vs ABC-GRPO on AIME24-like problems)")
    for scenario, shares in cover.items():
        print(f"{scenario}: " + ", ".join(f"{m} {v:.1%}" for m, v in shares.items()))
    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__},
        "input": {"problems": PROBLEMS, "n": N, "runs": 2, "bootstrap": DRAWS, "ks": KS},
        "seconds": {key: {"wall": wall, "cpu": cpu} for key, (wall, cpu) in times.items()},
        "coverage_pairs": 100 if args.quick else 1000,
        "coverage": cover,
    }
    atomic_write_json(args.out, report)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Simulated pairs of runs with per-problem success rates like the paper's: coverage and resolution of `compare`.

    python -m abc_verl.evaluation.simulate [--sims 200] [--seed 0]    # the tables of docs/compare.md

A run's profile (its reported Avg@n and Pass@n on a benchmark) becomes a curve of per-problem success rates
over a latent difficulty u in (0, 1): rate(u) = 0 for u < 1 - s (problems the run never solves), else
((u - 1 + s) / s) ** g, with s and g chosen so that the expected Avg@n and Pass@n equal the reported ones. Two
runs share u per problem (the same problem is hard for both), so their rates are paired as in a real comparison.
A simulated benchmark draws P problems' u uniformly and each run's n samples per problem; the true difference
of a metric is its mean over all u (the problem population the benchmark is a sample of), which is what the
interval of abc_verl.evaluation.stats covers.
"""

import argparse
import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from abc_verl.evaluation.stats import compare_metrics

REPORTED = Path(__file__).resolve().parent.parent / "dynamics" / "paper_curves" / "reported.csv"
JITTER = 0.1  # spread of a problem's difficulty between the two runs (see draw_pair)
GRID = (np.arange(20_000) + 0.5) / 20_000  # midpoints of u for expectations over the problem population


@dataclass(frozen=True)
class Profile:
    share: float  # s: share of problems the run can solve at all
    power: float  # g: shape of the rates of those problems (mean rate 1 / (g + 1))

    def rates(self, u: np.ndarray) -> np.ndarray:
        x = np.clip((u - 1 + self.share) / self.share, 0.0, 1.0)
        return np.where(u < 1 - self.share, 0.0, x**self.power)


def fit_profile(avg: float, pass_n: float, n: int) -> Profile:
    """The profile whose expected Avg@n and Pass@n (percent) are `avg` and `pass_n`."""
    if not 0 < avg <= pass_n < 100:
        raise ValueError(f"need 0 < Avg@n <= Pass@n < 100, got {avg}, {pass_n}")

    def expected_pass(g: float) -> float:  # with s = avg (g + 1) / 100, so that the expected Avg@n is avg
        s = min(avg * (g + 1) / 100, 1.0)
        return 100 * s * float(np.mean(1 - (1 - GRID**g) ** n))

    lo, hi = 1e-3, 100 / avg - 1  # at hi, s = 1: every problem solvable
    for _ in range(100):  # expected Pass@n grows with g here: bisection
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if expected_pass(mid) < pass_n else (lo, mid)
    g = (lo + hi) / 2
    return Profile(min(avg * (g + 1) / 100, 1.0), g)


def true_values(profile: Profile, ks: list[int]) -> dict[tuple[str, int | None], float]:
    """Population means (percent) of Avg and of Pass@k (either form: both estimate 1 - (1 - rate)^k)."""
    r = profile.rates(GRID)
    out = {("avg", None): 100 * float(r.mean())}
    for k in ks:
        out[("pass", k)] = out[("unbiased_pass", k)] = 100 * float(np.mean(1 - (1 - r) ** k))
    return out


def draw_pair(a: Profile, b: Profile, problems: int, n: int, rng: np.random.Generator, jitter: float = JITTER):
    """Two (problems, n) 0/1 matrices of runs a and b on the same newly drawn problems."""
    u = rng.random(problems)
    # a problem's difficulty for b: a's, moved a little (a problem hard for one run is mostly hard for the other);
    # reflected at 0 and 1, which keeps the moved value uniform, so b's rates keep their profile
    v = np.abs(u + rng.normal(0.0, jitter, problems)) if jitter else u
    v = np.where(v > 1, 2 - v, v) % 1.0
    ra, rb = a.rates(u), b.rates(v)
    return rng.random((problems, n)) < ra[:, None], rng.random((problems, n)) < rb[:, None]


def coverage(
    a: Profile, b: Profile, pairs: int, problems: int, n: int, ks: list[int], draws: int, seed: int, jitter=JITTER
):
    """Share of simulated pairs whose 95% interval of B - A holds the true difference, per metric."""
    rng = np.random.default_rng(seed)
    ta, tb = true_values(a, ks), true_values(b, ks)
    hits: dict = {}
    for _ in range(pairs):
        ca, cb = draw_pair(a, b, problems, n, rng, jitter)
        for r in compare_metrics(ca, cb, ks, [problems], draws, rng):
            key = (r["metric"], r["k"])
            hits[key] = hits.get(key, 0) + (r["diff_lo"] <= tb[key] - ta[key] <= r["diff_hi"])
    return {key: h / pairs for key, h in hits.items()}


def reported(path: Path = REPORTED) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def resolution(sims: int, seed: int, n: int = 64, draws: int = 2000) -> list[dict]:
    """Per paper comparison (GRPO -> ABC, one model and benchmark): the reported gain, what it is in problems,
    the median minimum detectable difference at that size, and how often the interval excludes 0."""
    rows = reported()
    out = []
    for grpo in (r for r in rows if "abc" not in r["run"]):
        abc = next(
            r
            for r in rows
            if r["run"] == grpo["run"].replace("grpo", "abc-grpo") and r["benchmark"] == grpo["benchmark"]
        )
        problems = {"aime24": 30, "aime25": 30, "amc23": 40}[grpo["benchmark"]]
        a = fit_profile(float(grpo["avg@64"]), float(grpo["pass@64"]), n)
        b = fit_profile(float(abc["avg@64"]), float(abc["pass@64"]), n)
        rng = np.random.default_rng(seed)
        mdd = {"avg": [], "pass": []}
        found = {"avg": 0, "pass": 0}
        for _ in range(sims):
            ca, cb = draw_pair(a, b, problems, n, rng)
            for r in compare_metrics(ca, cb, [n], [problems], draws, rng):
                if r["metric"] in mdd:
                    mdd[r["metric"]].append(r["mdd"])
                    found[r["metric"]] += r["diff_lo"] > 0
        gain_avg = float(abc["avg@64"]) - float(grpo["avg@64"])
        gain_pass = float(abc["pass@64"]) - float(grpo["pass@64"])
        out.append(
            {
                "model": grpo["run"].replace("-grpo", ""),
                "benchmark": grpo["benchmark"],
                "problems": problems,
                "gain_avg": gain_avg,
                "gain_pass": gain_pass,
                "gain_pass_problems": gain_pass * problems / 100,
                "mdd_avg": float(np.median(mdd["avg"])),
                "mdd_pass": float(np.median(mdd["pass"])),
                "found_avg": found["avg"] / sims,
                "found_pass": found["pass"] / sims,
            }
        )
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sims", type=int, default=200, help="simulated pairs per paper comparison (200)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    print(
        "| model | benchmark | problems | reported gain Avg@64 | MDD Avg@64 | found | reported gain Pass@64 "
        "(problems) | MDD Pass@64 | found |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in resolution(args.sims, args.seed):
        print(
            f"| {r['model']} | {r['benchmark']} | {r['problems']} | {r['gain_avg']:+.1f} | {r['mdd_avg']:.1f} | "
            f"{r['found_avg']:.0%} | {r['gain_pass']:+.1f} ({r['gain_pass_problems']:+.0f}) | {r['mdd_pass']:.1f} | "
            f"{r['found_pass']:.0%} |"
        )


if __name__ == "__main__":
    main()

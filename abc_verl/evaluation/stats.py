"""Paired statistics of two runs' verdicts: bootstrap intervals, sign-flip p-values, detectable differences, maj@k.

Pure numpy, no I/O; inputs are 0/1 matrices (problems x samples, in the order drawn) whose rows are matched
problems. Metrics are means over problems in percent; per problem:

    avg             c / n                                   (Avg@n, all n samples)
    pass@k          any of the first k samples correct      (the paper's Pass@k)
    unbiased_pass@k 1 - C(n - c, k) / C(n, k)                (Chen et al. 2021, all n samples)

Interval: a two-stage paired bootstrap. Each replicate draws the problems with replacement (the same draw for both
runs: paired), then, within each drawn problem, each run's n samples with replacement (independently: the runs
sampled independently). Resampling n samples with replacement from a problem with c of n correct gives Binomial(n,
c/n) correct ones, and the position of the first correct one is Geometric(c/n); both are drawn directly, which is
what makes 10,000 replicates cheap. The 95% interval is the 2.5-97.5 percentile range of the replicates' B - A, re-
centred on the observed B - A (pass@k's replicates are biased by the resampling; the spread is what they are used
for), and cut to the possible range ([0, 100] for one run, [-100, 100] for B - A). This interval answers "how
different would these two checkpoints look on another draw of problems like these and of samples": it is wider than
the sampling noise on this fixed set alone. With several benchmarks the problems are drawn within each benchmark
(strata), keeping the mix.

p-value: sign flips of the per-problem differences b_i - a_i (paired permutation test, two-sided): exact over
all 2^m flips of the m non-zero differences when 2^m <= the draw count, else that many random flips,
p = (1 + hits) / (1 + draws). Minimum detectable difference: (z_0.975 + z_0.8) x the bootstrap standard error
of B - A, the true difference that a two-sided 5% test finds 80% of the time.

maj@k: per problem, the most frequent extracted answer among the first k samples (responses without an answer
do not vote); a tie goes to the tied answer that appears first among those k samples; correct when that
answer's first sample was graded correct; no answer at all counts as wrong.
"""

from collections.abc import Sequence
from math import comb

import numpy as np

Z_975, Z_80 = 1.959963984540054, 0.8416212335729143
MDD_FACTOR = Z_975 + Z_80  # 2.80: a 5% two-sided test with 80% power
MAX_EXACT_FLIPS = 16  # 2^16 = 65,536 sign patterns: exact enumeration is cheaper than the random draws


def unbiased_table(n: int, k: int) -> np.ndarray:
    """unbiased pass@k for c = 0..n correct of n (exact integers, one division each)."""
    total = comb(n, k)
    return np.array([1.0 - comb(n - c, k) / total for c in range(n + 1)])


def metric_names(ks: Sequence[int]) -> list[tuple[str, int | None]]:
    """(kind, k) of every metric compared, in table order."""
    return [("avg", None)] + [("pass", k) for k in ks] + [("unbiased_pass", k) for k in ks]


def per_problem(correct: np.ndarray, ks: Sequence[int]) -> dict[tuple[str, int | None], np.ndarray]:
    """Each metric's value on each problem (fractions, not percent)."""
    n, c = correct.shape[1], correct.sum(axis=1)
    first = np.argmax(correct, axis=1) + 1  # 1-based position of the first correct sample
    first = np.where(correct.any(axis=1), first, n + 1)
    out: dict[tuple[str, int | None], np.ndarray] = {("avg", None): c / n}
    for k in ks:
        out[("pass", k)] = (first <= k).astype(float)
        out[("unbiased_pass", k)] = unbiased_table(n, k)[c]
    return out


def problem_draws(strata: Sequence[int], draws: int, rng: np.random.Generator) -> np.ndarray:
    """(draws, problems) indices: each replicate's problems, drawn with replacement within each stratum."""
    parts, start = [], 0
    for size in strata:
        parts.append(rng.integers(start, start + size, size=(draws, size)))
        start += size
    return np.concatenate(parts, axis=1)


def replicates(
    correct: np.ndarray, idx: np.ndarray, ks: Sequence[int], rng: np.random.Generator
) -> dict[tuple[str, int | None], np.ndarray]:
    """Each metric's value (percent) in each bootstrap replicate; samples redrawn within the drawn problems."""
    n = correct.shape[1]
    p = (correct.sum(axis=1) / n)[idx]
    c = rng.binomial(n, p)
    out = {("avg", None): 100.0 * c.mean(axis=1) / n}
    if not ks:
        return out
    solvable = p > 0
    first = np.where(solvable, rng.geometric(np.where(solvable, p, 1.0)), n + 1)
    for k in ks:
        out[("pass", k)] = 100.0 * (first <= k).mean(axis=1)
        out[("unbiased_pass", k)] = 100.0 * unbiased_table(n, k)[c].mean(axis=1)
    return out


def centred_interval(point: float, reps: np.ndarray, bound: float = 100.0, level: float = 0.95) -> tuple[float, float]:
    """The replicates' percentile range re-centred on `point`, cut to [-bound, 100] (a share cannot leave it)."""
    lo, hi = np.quantile(reps - reps.mean(), [(1 - level) / 2, (1 + level) / 2])
    floor = -bound if bound else 0.0  # not -0.0, which prints as such
    return float(max(point + lo, floor)), float(min(point + hi, 100.0))


def sign_flip_p(diffs: np.ndarray, draws: int, rng: np.random.Generator) -> float:
    """Two-sided paired permutation p-value of mean(diffs) by sign flips (module docstring)."""
    nz = diffs[diffs != 0]
    observed = abs(nz.sum())
    tol = 1e-9 * max(1.0, observed)  # sums of the same numbers in another order differ by rounding only
    m = len(nz)
    if m <= MAX_EXACT_FLIPS and 2**m <= max(draws, 1):
        bits = (np.arange(2**m)[:, None] >> np.arange(m)) & 1
        sums = (1 - 2 * bits) @ nz
        return float(np.mean(np.abs(sums) >= observed - tol))
    signs = rng.integers(0, 2, size=(draws, m), dtype=np.int8) * 2 - 1
    hits = int(np.sum(np.abs(signs @ nz) >= observed - tol))
    return (1 + hits) / (1 + draws)


def compare_metrics(
    a: np.ndarray, b: np.ndarray, ks: Sequence[int], strata: Sequence[int], draws: int, rng: np.random.Generator
) -> list[dict]:
    """A, B, B - A with 95% intervals, p-value and minimum detectable difference, for every metric."""
    idx = problem_draws(strata, draws, rng)
    reps_a, reps_b = replicates(a, idx, ks, rng), replicates(b, idx, ks, rng)
    vals_a, vals_b = per_problem(a, ks), per_problem(b, ks)
    rows = []
    for key in metric_names(ks):
        pa, pb = 100.0 * vals_a[key].mean(), 100.0 * vals_b[key].mean()
        d_reps = reps_b[key] - reps_a[key]
        row = {"metric": key[0], "k": key[1], "a": pa, "b": pb, "diff": pb - pa}
        row["a_lo"], row["a_hi"] = centred_interval(pa, reps_a[key], bound=0.0)
        row["b_lo"], row["b_hi"] = centred_interval(pb, reps_b[key], bound=0.0)
        row["diff_lo"], row["diff_hi"] = centred_interval(pb - pa, d_reps)
        # the plain percentile range too, for readers who compute that one (it need not hold the observed value)
        row["diff_pct_lo"], row["diff_pct_hi"] = (float(q) for q in np.quantile(d_reps, [0.025, 0.975]))
        row["p_value"] = sign_flip_p(vals_b[key] - vals_a[key], draws, rng)
        row["mdd"] = MDD_FACTOR * float(d_reps.std())
        rows.append(row)
    return rows


def avg_interval(correct: np.ndarray, draws: int = 10_000, seed: int = 0) -> tuple[float, float]:
    """One run's Avg@n 95% interval (percent), the same two-stage bootstrap over problems and samples."""
    rng = np.random.default_rng(seed)
    idx = problem_draws([correct.shape[0]], draws, rng)
    reps = replicates(correct, idx, [], rng)[("avg", None)]
    return centred_interval(100.0 * correct.mean(), reps, bound=0.0)


def maj_at_k(preds: Sequence[Sequence[str]], correct: np.ndarray, k: int) -> np.ndarray:
    """Per problem 1.0 when the majority answer of the first k samples is correct (tie rule: module docstring)."""
    out = np.zeros(len(preds))
    for i, row in enumerate(preds):
        counts: dict[str, int] = {}
        first: dict[str, int] = {}
        for s, answer in enumerate(row[:k]):
            if answer:
                counts[answer] = counts.get(answer, 0) + 1
                first.setdefault(answer, s)
        if counts:
            top = max(counts.values())
            winner = min((a for a, c in counts.items() if c == top), key=first.__getitem__)
            out[i] = float(correct[i, first[winner]])
    return out

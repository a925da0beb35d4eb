"""Avg@k, Pass@k (as the paper reports it) and the unbiased Pass@k estimator, from 0/1 vectors in sample order.

Pure functions, no I/O. Per problem, with `correct` the 0/1 outcomes of its n samples in the order drawn:

    avg@k             = mean(correct[:k])                           # the paper's Avg@k
    pass@k            = any(correct[:k])                            # the paper's Pass@k: the FIRST k samples
    unbiased_pass@k   = 1 - C(n - c, k) / C(n, k),  c = sum(correct) # Chen et al. 2021, over all n samples

Benchmark values are means over problems, in percent (36.666... for 11 of 30). pass@n == unbiased_pass@n.

    python -c "from abc_verl.evaluation.metrics import summarize; print(summarize([[1, 0, 1, 0]], [1, 2, 4]))"
"""

from collections.abc import Sequence
from math import comb


def default_ks(n: int) -> list[int]:
    """1, 2, 4, ... up to n, plus n itself when n is not a power of two."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    ks, k = [], 1
    while k <= n:
        ks.append(k)
        k *= 2
    if ks[-1] != n:
        ks.append(n)
    return ks


def check_ks(ks: Sequence[int], n: int) -> list[int]:
    """Sorted unique ks; a clear error when one is below 1 or above n."""
    bad = [k for k in ks if k < 1 or k > n]
    if bad:
        raise ValueError(f"k must be between 1 and n = {n}; got k = {', '.join(map(str, bad))}")
    return sorted(set(ks))


def avg_at_k(correct: Sequence[int | bool], k: int) -> float:
    """Fraction correct among the first k samples."""
    _check_k(len(correct), k)
    return sum(bool(x) for x in correct[:k]) / k


def pass_at_k(correct: Sequence[int | bool], k: int) -> float:
    """1.0 when any of the first k samples is correct, else 0.0 (the paper's Pass@k)."""
    _check_k(len(correct), k)
    return float(any(correct[:k]))


def unbiased_pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that k samples drawn without replacement from n, c of them correct, include a correct one."""
    _check_k(n, k)
    if not 0 <= c <= n:
        raise ValueError(f"c must be between 0 and n = {n}, got {c}")
    # Exact integers, then one correctly rounded division: no float cancellation for large n.
    return 1.0 - comb(n - c, k) / comb(n, k)


def summarize(matrix: Sequence[Sequence[int | bool]], ks: Sequence[int]) -> dict[str, float | int]:
    """Benchmark metrics in percent from one 0/1 row per problem (all rows of the same length n).

    Keys: `avg@k`, `pass@k`, `unbiased_pass@k` for every k in `ks`, plus `n` and `problems`.
    """
    if not matrix:
        raise ValueError("no problems to summarize")
    n = len(matrix[0])
    lengths = {len(row) for row in matrix}
    if len(lengths) != 1:
        raise ValueError(f"every problem needs the same number of samples; got lengths {sorted(lengths)}")
    ks = check_ks(ks, n)
    out: dict[str, float | int] = {"n": n, "problems": len(matrix)}
    for k in ks:
        out[f"avg@{k}"] = _percent(avg_at_k(row, k) for row in matrix)
    for k in ks:
        out[f"pass@{k}"] = _percent(pass_at_k(row, k) for row in matrix)
    for k in ks:
        out[f"unbiased_pass@{k}"] = _percent(unbiased_pass_at_k(n, sum(map(bool, row)), k) for row in matrix)
    return out


def _percent(values) -> float:
    values = list(values)
    return 100.0 * sum(values) / len(values)


def _check_k(n: int, k: int) -> None:
    if not 1 <= k <= n:
        raise ValueError(f"k must be between 1 and n = {n}, got {k}")

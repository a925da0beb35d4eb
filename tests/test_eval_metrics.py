"""Avg@k / Pass@k / unbiased Pass@k against brute force on small n (every 0/1 vector, every ordering).

pytest tests/test_eval_metrics.py -q
"""

import itertools
import math

import pytest

from abc_verl.evaluation.metrics import (
    avg_at_k,
    check_ks,
    default_ks,
    pass_at_k,
    summarize,
    unbiased_pass_at_k,
)


def all_vectors(max_n: int):
    for n in range(1, max_n + 1):
        yield from itertools.product((0, 1), repeat=n)


@pytest.mark.parametrize("vec", list(all_vectors(6)))
def test_unbiased_pass_at_k_is_the_mean_over_all_orderings_of_first_k_pass(vec):
    n, c = len(vec), sum(vec)
    orderings = list(itertools.permutations(vec))  # n! orderings, duplicates included, so each is equally likely
    for k in range(1, n + 1):
        brute = sum(pass_at_k(order, k) for order in orderings) / len(orderings)
        assert unbiased_pass_at_k(n, c, k) == pytest.approx(brute, abs=1e-12)
        assert unbiased_pass_at_k(n, c, k) == pytest.approx(1 - math.comb(n - c, k) / math.comb(n, k), abs=1e-15)


@pytest.mark.parametrize("vec", list(all_vectors(6)))
def test_avg_and_pass_use_the_first_k_samples(vec):
    for k in range(1, len(vec) + 1):
        assert avg_at_k(vec, k) == sum(vec[:k]) / k
        assert pass_at_k(vec, k) == (1.0 if 1 in vec[:k] else 0.0)
    # At k = n the paper's pass@k and the unbiased estimator coincide.
    assert pass_at_k(vec, len(vec)) == unbiased_pass_at_k(len(vec), sum(vec), len(vec))


def test_pass_at_k_depends_on_order_but_unbiased_does_not():
    # Same counts (c = 1 of n = 4), correct sample first vs last.
    assert pass_at_k([1, 0, 0, 0], 2) == 1.0
    assert pass_at_k([0, 0, 0, 1], 2) == 0.0
    assert unbiased_pass_at_k(4, 1, 2) == 0.5  # 1 - C(3,2)/C(4,2) = 1 - 3/6


def test_unbiased_pass_at_k_large_n_is_exact():
    # n = 64, c = 1: 1 - C(63, k)/C(64, k) = k/64.
    for k in default_ks(64):
        assert unbiased_pass_at_k(64, 1, k) == pytest.approx(k / 64, abs=1e-15)
    assert unbiased_pass_at_k(64, 0, 64) == 0.0
    assert unbiased_pass_at_k(64, 64, 1) == 1.0


def test_default_ks():
    assert default_ks(1) == [1]
    assert default_ks(4) == [1, 2, 4]
    assert default_ks(64) == [1, 2, 4, 8, 16, 32, 64]
    assert default_ks(6) == [1, 2, 4, 6]  # n itself is added when not a power of two


def test_k_larger_than_n_is_an_error():
    with pytest.raises(ValueError, match=r"k must be between 1 and n = 4; got k = 8"):
        check_ks([1, 8], 4)
    with pytest.raises(ValueError, match="k must be between 1 and n = 3, got 4"):
        avg_at_k([1, 0, 1], 4)
    with pytest.raises(ValueError):
        summarize([[1, 0]], [1, 2, 4])


def test_summarize_in_percent():
    # 3 problems, n = 4.
    matrix = [[1, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]]
    s = summarize(matrix, [1, 2, 4])
    assert s["n"] == 4 and s["problems"] == 3
    assert s["avg@4"] == pytest.approx(100 * (2 / 4 + 1 / 4 + 0) / 3)  # 25.0
    assert s["avg@1"] == pytest.approx(100 / 3)  # only problem 1's first sample is right
    assert s["pass@2"] == pytest.approx(100 / 3)  # problem 2's hit is sample 4
    assert s["pass@4"] == pytest.approx(200 / 3)
    # unbiased@2: problem 1 (c=2): 1 - C(2,2)/C(4,2) = 5/6; problem 2 (c=1): 1 - 3/6 = 1/2; problem 3: 0.
    assert s["unbiased_pass@2"] == pytest.approx(100 * (5 / 6 + 1 / 2) / 3)
    assert s["unbiased_pass@4"] == s["pass@4"]


def test_summarize_eleven_of_thirty():
    matrix = [[1]] * 11 + [[0]] * 19
    assert round(summarize(matrix, [1])["pass@1"], 1) == 36.7  # 11/30 = 36.666...%


def test_summarize_rejects_ragged_rows():
    with pytest.raises(ValueError, match="same number of samples"):
        summarize([[1, 0], [1]], [1])

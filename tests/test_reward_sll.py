"""SLL-first parsing (abc_verl.rewards.sll) gives latex2sympy2's LL parse trees and errors, exactly.

Run: pytest tests/test_reward_sll.py (about 15 s). The graders' verdicts are also checked end to end against
plain (LL) math-verify in tests/test_rewards.py.
"""

from __future__ import annotations

import random
import subprocess
import sys

import pytest
from latex2sympy2_extended.latex2sympy2 import _Latex2Sympy

from abc_verl.data.benchmarks import BENCHMARKS, load_benchmark
from abc_verl.rewards.sll import sll_first

ATOMS = ["x", "y", "n", "2", "13", "0.5", "\\pi", "i", "e", "a_1", "x_{n}", "\\infty", "3\\sqrt{2}", "\\theta", "7!"]
BINARY = ["+", "-", "\\cdot", "\\times", "/", "", "=", "\\le", "<", ",", "\\cup", "^"]


def _expr(rng: random.Random, depth: int = 0) -> str:
    """A random LaTeX answer-like expression (fractions, roots, tuples, intervals, sets, matrices, relations)."""
    if depth > 3 or rng.random() < 0.3:
        return rng.choice(ATOMS)
    a, b = _expr(rng, depth + 1), _expr(rng, depth + 1)
    return rng.choice(
        [
            f"{a} {rng.choice(BINARY)} {b}",
            f"\\frac{{{a}}}{{{b}}}",
            f"\\dfrac{rng.randint(1, 9)}{rng.randint(1, 9)}",
            f"\\sqrt{{{a}}}",
            f"\\sqrt[3]{{{a}}}",
            f"({a})",
            f"\\left({a}\\right)",
            f"{a}^{{{b}}}",
            f"-{a}",
            f"{a}{b}",
            f"\\sin {a}",
            f"\\log_{{{a}}} {b}",
            f"({a}, {b})",
            f"[{a}, {b})",
            f"\\{{{a}, {b}\\}}",
            f"|{a}|",
            f"{a} \\text{{ cm}}",
            f"\\begin{{pmatrix}} {a} & {b} \\end{{pmatrix}}",
            f"{a}'",
            f"\\int_0^1 {a} \\, dx",
            f"\\sum_{{k=1}}^{{n}} {a}",
        ]
    )


def _random_latex(count: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        text = _expr(rng)
        if rng.random() < 0.2:  # damage one character, so syntax errors are covered too
            k = rng.randrange(len(text))
            text = text[:k] + text[k + 1 :] if rng.random() < 0.5 else text[:k] + text[k] + text[k:]
        out.append(text)
    return out


def _outcome(create_parser, text: str) -> tuple[str, str]:
    parser = create_parser(_Latex2Sympy(), text)
    try:
        return "tree", parser.math().toStringTree(recog=parser)
    except Exception as exc:
        return "error", f"{type(exc).__name__}: {exc}"


def _sll_alone_fails(text: str) -> bool:
    from antlr4.atn.PredictionMode import PredictionMode

    parser = _Latex2Sympy.create_parser(_Latex2Sympy(), text)
    parser._interp.predictionMode = PredictionMode.SLL
    try:
        parser.math()
    except Exception:
        return True
    return False


GOLDS = sorted({p.answer for name in BENCHMARKS for p in load_benchmark(name).problems})


@pytest.mark.parametrize("corpus", ["golds", "random"])
def test_sll_first_gives_the_ll_tree_or_the_ll_error(corpus):
    texts = GOLDS if corpus == "golds" else _random_latex(300)
    ll, fast = _Latex2Sympy.create_parser, sll_first(_Latex2Sympy.create_parser)
    kinds = {"tree": 0, "error": 0, "fallback": 0}
    for text in texts:
        expected = _outcome(ll, text)
        assert _outcome(fast, text) == expected, text
        kinds[expected[0]] += 1
        kinds["fallback"] += expected[0] == "tree" and _sll_alone_fails(text)
    # every path is exercised: SLL alone, LL after an SLL failure (9 golds, e.g. `5r^5`), and real errors
    assert kinds["tree"] > len(texts) / 3 and kinds["error"] >= 10 and kinds["fallback"] >= 5, kinds


def test_graders_install_it_on_the_pinned_latex2sympy2():
    code = (
        "from abc_verl.rewards import sll;"
        "from latex2sympy2_extended.latex2sympy2 import _Latex2Sympy as L;"
        "assert sll.install() and sll.install() and L.create_parser.sll_first;"
        "assert L.create_parser.__wrapped__.__name__ == 'create_parser'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

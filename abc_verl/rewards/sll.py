"""Two-stage ANTLR parsing for math-verify's LaTeX parser: the same parse trees, about a quarter less parse time.

math-verify turns LaTeX into sympy with latex2sympy2_extended, whose ANTLR parser runs in ANTLR's default LL
prediction mode. ANTLR's documented contract for the faster SLL mode (`PredictionMode.SLL`): the parser either
returns the same parse tree LL would, or reports a syntax error, which may be a real one or one that needs
LL's full-context prediction. latex2sympy2's error listener raises on every reported error (it never
recovers), so "SLL first, and on any exception parse again from scratch in LL" returns exactly what the LL
parse returns: the same tree, or the same exception. Only the time changes: SLL skips full-context prediction
and the inputs it cannot decide alone cost one extra, usually short, failed attempt.

Installed by the grader subprocesses only (`abc_verl.rewards.verdict.worker_main`), never in a user's process.
`pytest tests/test_reward_sll.py` checks tree equality on the benchmark golds and random answer-like LaTeX;
the cross-checks in `tests/test_rewards.py` compare grader verdicts with plain LL math-verify. If the private
hook moved (latex2sympy2_extended is pinned through math-verify), nothing is installed: graders stay correct,
only slower.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any


def sll_first(create_parser: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    """Wrap `_Latex2Sympy.create_parser` so that the parser's `math()` tries SLL first, then LL from scratch."""
    from antlr4.atn.PredictionMode import PredictionMode

    @functools.wraps(create_parser)
    def create(converter: Any, latex: str) -> Any:
        parser = create_parser(converter, latex)
        parser._interp.predictionMode = PredictionMode.SLL
        sll_math = parser.math

        def math() -> Any:
            try:
                return sll_math()
            except Exception:  # a real syntax error, or one that needs LL's full context: LL decides
                return create_parser(converter, latex).math()

        parser.math = math
        return parser

    create.sll_first = True
    return create


def install() -> bool:
    """Make this process's latex2sympy2 parse SLL first; False (and no change) if its hook is not where expected."""
    try:
        from latex2sympy2_extended.latex2sympy2 import _Latex2Sympy
    except ImportError:
        return False
    create_parser = getattr(_Latex2Sympy, "create_parser", None)
    if not callable(create_parser):
        return False
    if not getattr(create_parser, "sll_first", False):
        _Latex2Sympy.create_parser = sll_first(create_parser)
    return True

"""The paper's accuracy verdict computed with math-verify (exact, slow), and the grader subprocess that runs it.

The verdict (open-r1 `accuracy_reward`, which the ABC-GRPO authors trained with):

    gold = parse(gold_text, extraction_mode="first_match")            # math-verify default configs
    pred = parse(response, extraction_config=[PRED_CONFIG], extraction_mode="first_match")
    acc  = verify(gold, pred)                                         # gold unparsable -> 0 (the paper skips it)

with PRED_CONFIG = LatexExtractionConfig(boxed_match_priority=0, try_extract_without_anchor=False,
normalization_config=NormalizationConfig(nits=False, malformed_operators=False, basic_latex=True,
equations=True, boxed="all", units=True)): LaTeX only, `\\boxed{}` first.

One deviation, for ground truths only: a gold that is not a plain number (`3\\sqrt{13}`, `\\frac 59`,
`p - q`) is wrapped in `$...$` before parsing. Parsed bare, math-verify reads `3\\sqrt{13}` as 3 and cannot
parse `p - q` at all (119 of the 530 MATH-500 and HMMT golds). Plain numbers (all DAPO-Math-17k, AIME and
AMC23 golds) are parsed bare, exactly as in the paper.

`grade_exact` imports math-verify and sympy, which can hang or exhaust memory on hostile input and whose
timeouts use `signal.alarm` (main thread only). It therefore runs in grader subprocesses started by
`abc_verl.rewards.pool` as `python -c "from abc_verl.rewards.verdict import worker_main; worker_main()"`; they read
one JSON request per line on stdin and answer one JSON line on stdout. Not meant to be run by hand. Graders
parse LaTeX with ANTLR's SLL prediction first (`abc_verl.rewards.sll`: the same parse trees, ~20% faster).
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import resource
import sys
from typing import Any

from cachetools import FIFOCache

from abc_verl.names import GRADER_MEM_ENV, REWARD_KIND
from abc_verl.rewards import sll
from abc_verl.rewards.kinds import RewardKind

# Plain numbers keep the paper's bare gold parse; anything else is wrapped in $...$ (see module docstring).
PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_MATH_DELIMITER = re.compile(r"(?<!\\)\$|\\boxed")  # an unescaped $ or a \boxed: the gold is delimited already
GOLD_CACHE_SIZE = 4096
GOLD_UNPARSABLE = "gold answer not parsable by math-verify"


class GraderState:
    """All a grader process keeps between requests: its math-verify timeout count, parsed golds, the config."""

    def __init__(self) -> None:
        self.timeouts = 0  # math-verify timeouts seen in this process (counted by _TimeoutCounter)
        self.gold_cache: FIFOCache = FIFOCache(GOLD_CACHE_SIZE)  # gold text -> math-verify's parse
        self.pred_config: tuple | None = None


_state = GraderState()


def gold_to_text(answer: Any) -> str | None:
    """Ground truth as text: ints as digits, integral floats (AMC23 stores 27.0) as ints; None when missing."""
    if answer is None:
        return None
    if isinstance(answer, bytes):
        return answer.decode("utf-8", "replace")
    if isinstance(answer, float):
        if not math.isfinite(answer):
            return None
        return str(int(answer)) if answer.is_integer() else repr(answer)
    return str(answer)


def gold_for_parsing(gold: str) -> str:
    """The string handed to math-verify's gold parse: plain numbers bare (as the paper), LaTeX wrapped in $...$."""
    stripped = gold.strip()
    if PLAIN_NUMBER.fullmatch(stripped) or _MATH_DELIMITER.search(stripped):
        return gold
    return "$" + stripped.replace("\n", " ") + "$"


def pred_config() -> tuple:
    """The paper's prediction extraction config (built lazily: importing math-verify pulls in sympy)."""
    if _state.pred_config is None:
        from latex2sympy2_extended import NormalizationConfig
        from math_verify import LatexExtractionConfig

        norm = NormalizationConfig(
            nits=False, malformed_operators=False, basic_latex=True, equations=True, boxed="all", units=True
        )
        _state.pred_config = (
            LatexExtractionConfig(normalization_config=norm, boxed_match_priority=0, try_extract_without_anchor=False),
        )
    return _state.pred_config


def pred_text(pred: list) -> str:
    """The extracted answer as text: math-verify's string fallback (the normalized LaTeX), "" when none."""
    return next((p for p in pred if isinstance(p, str)), "")


def _parse_gold(gold: str, mv_timeout: int) -> list:
    from math_verify import parse

    cached = _state.gold_cache.get(gold)
    if cached is not None:
        return cached
    before = _state.timeouts
    parsed = parse(gold_for_parsing(gold), extraction_mode="first_match", parsing_timeout=mv_timeout)
    if _state.timeouts == before:  # a timed-out parse says nothing about the gold: do not remember it
        _state.gold_cache[gold] = parsed
    return parsed


def failed(kind: RewardKind, error: str, gold_ok: bool | None = None) -> dict:
    """A reply that scores 0 for `kind`, saying why in `error`."""
    return {"acc": False, "pred": "", "gold_ok": gold_ok, "error": error, REWARD_KIND: kind.value}


def grade_exact(response: str, gold: str, mv_timeout: int) -> dict:
    """The paper's verdict on one response: {"acc", "pred", "gold_ok", "error", "kind"}. Main thread only
    (signal.alarm)."""
    from math_verify import parse, verify

    before = _state.timeouts
    gold_parsed = _parse_gold(gold, mv_timeout)
    if not gold_parsed:
        if _state.timeouts != before:
            return failed(RewardKind.GRADER_TIMEOUT, "math-verify timed out parsing the gold answer")
        return failed(RewardKind.GOLD_UNUSABLE, GOLD_UNPARSABLE, gold_ok=False)
    pred = parse(response, extraction_config=pred_config(), extraction_mode="first_match", parsing_timeout=mv_timeout)
    acc = bool(verify(gold_parsed, pred, timeout_seconds=mv_timeout))
    text = pred_text(pred)
    if not acc and _state.timeouts != before:
        return {**failed(RewardKind.GRADER_TIMEOUT, f"math-verify timed out after {mv_timeout}s", True), "pred": text}
    kind = RewardKind.GRADED if acc or text else RewardKind.NO_ANSWER
    return {"acc": acc, "pred": text, "gold_ok": True, "error": "", REWARD_KIND: kind.value}


class _TimeoutCounter(logging.Handler):
    """Counts math-verify's "Timeout during ..." warnings (it swallows its TimeoutException) and drops all records,
    so a response is never echoed into the logs."""

    def emit(self, record: logging.LogRecord) -> None:
        if str(record.msg).startswith("Timeout during"):  # math-verify's own text: it raises nothing we could catch
            _state.timeouts += 1


def _quiet_logging() -> None:
    counter = _TimeoutCounter()
    for name in ("math_verify", "latex2sympy2_extended"):
        log = logging.getLogger(name)
        log.handlers[:] = [counter]
        log.propagate = False
        log.setLevel(logging.WARNING)


def _limit_resources() -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    mem_mb = int(os.environ.get(GRADER_MEM_ENV, "0") or 0)
    if mem_mb > 0:
        limit = mem_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _arm_cpu_limit(budget_s: float) -> None:
    """Backstop for an orphaned grader: SIGXCPU kills it once this request burns `budget_s` seconds of CPU."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(usage.ru_utime + usage.ru_stime + budget_s) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _answer(request: dict) -> dict:
    before = _state.timeouts
    try:
        reply = grade_exact(str(request["response"]), str(request["gold"]), int(request["mv_timeout"]))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: B036 - math-verify's TimeoutException is a BaseException
        reply = failed(RewardKind.GRADER_ERROR, f"math-verify failed: {type(exc).__name__}")
    reply["timeouts"] = _state.timeouts - before
    return reply


def worker_main() -> None:
    """Grader subprocess loop: one JSON request per stdin line, one JSON reply per stdout line."""
    protocol = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray prints from sympy or math-verify must never corrupt the protocol stream
    sys.stdout = sys.stderr
    _quiet_logging()
    sll.install()  # same parse trees as LL, faster (see that module)
    grade_exact("The answer is $\\boxed{1}$.", "1", 1)  # import and compile math-verify's regexes before "ready"
    _limit_resources()

    def send(obj: dict) -> None:
        protocol.write(json.dumps(obj, ensure_ascii=True).encode("ascii") + b"\n")
        protocol.flush()

    send({"ready": True, "pid": os.getpid()})
    for line in sys.stdin.buffer:  # EOF (the parent closed the pipe or died) ends the worker
        try:
            request = json.loads(line)
            _arm_cpu_limit(float(request["cpu_s"]))
        except (ValueError, KeyError, TypeError) as exc:
            send({"id": None, **failed(RewardKind.GRADER_ERROR, f"bad request: {exc}")})
            continue
        reply = _answer(request)
        reply["id"] = request.get("id")
        send(reply)

r"""Math accuracy reward for verl: the ABC-GRPO paper's math-verify verdict, fast and safe in any thread.

Use in a verl run (verl calls it once per response from executor threads of its reward workers):

    reward.custom_reward_function.path=pkg://abc_verl.rewards reward.custom_reward_function.name=compute_score
    # optional: +reward.custom_reward_function.reward_kwargs.timeout_s=3

or from Python: `from abc_verl.rewards.reward import compute_score`. Tests: `pytest tests/test_rewards.py`;
throughput: `python benchmarks/bench_reward.py`.

Verdict: exactly `abc_verl.rewards.verdict.grade_exact` (math-verify, gold with default configs, prediction LaTeX-only
with `\boxed{}` first, as open-r1's `accuracy_reward` that the authors trained with; see that module).

How it stays fast and bounded. The response is cut to its last MAX_RESPONSE_CHARS characters (the final
answer is at the end; realistic responses of <= 4096 tokens are far shorter, so no realistic verdict changes).
Then `abc_verl.rewards.fast` scans it in-thread with plain string operations:
  - no `\boxed` and no "answer": math-verify extracts nothing -> 0, no math-verify call;
  - one `\boxed{T}` and gold and T canonical integers: verdict is T == gold, no math-verify call;
  - one `\boxed{T}` whose (gold, T) pair was graded before in this process: the cached verdict;
  - one `\boxed{T}` whose (gold, T) pair another thread is grading now: wait for that verdict (the samples
    of a GRPO group arrive together and often box the same answer); likewise for no answer while the gold is
    not yet known to parse;
  - anything else goes to a pool of grader subprocesses (`abc_verl.rewards.pool`) with a hard deadline. For
    one `\boxed{T}` the grader parses just `\boxed{T}`, for no answer an empty text: the same prediction as
    the whole response, without math-verify's regexes scanning the reasoning (`abc_verl.rewards.fast.grader_text`).
    Graders parse LaTeX with ANTLR's SLL prediction first: LL's parse trees, ~20% faster (`abc_verl.rewards.sll`).
The shortcuts provably return math-verify's own verdict and extracted answer (see `abc_verl.rewards.fast`), and tests
check them against plain math-verify. Before a grader is asked, a single boxed answer longer than
MAX_ANSWER_CHARS or nested deeper than MAX_ANSWER_DEPTH braces scores 0 without grading (no realistic answer
comes close; math-verify would spend seconds or exhaust its recursion on it).

Safety: every call returns within `timeout_s` (kwarg, else env ABC_VERL_REWARD_TIMEOUT_S, default 5 s),
queueing for a grader included; only the first calls of a process, while its graders boot (about 1 s), may wait
up to 60 s. It never raises for anything in a response or ground truth: failures score 0 and say why in
"error". A grader that dies under a call (killed, crashed) is replaced and the call retried on another within
the same bound; only an input on which two graders in a row died scores 0, with kind "poison_input". A hung
grader is killed at the call's deadline (kind "grader_timeout"); see tests/test_reward_faults.py. Nothing
from a response is evaluated as code (math-verify parses LaTeX with an ANTLR grammar; the graders get JSON
lines). Memory is bounded: inputs are capped, caches are LRU-bounded, and each grader caps
its address space (env ABC_VERL_GRADER_MEM_MB, default 2048). Graders per process: env
ABC_VERL_REWARD_WORKERS (default 2).

Return value (the same keys every call, as verl's reward loop requires): {"score": 1.0 | 0.0, "acc": bool,
"pred": extracted answer ("" when none, at most MAX_PRED_CHARS characters), "error": "" or why it scored 0,
"kind": what the result is, one of `abc_verl.rewards.kinds.RewardKind` ("graded", "no_answer", "over_caps",
"bad_input", "gold_unusable", "grader_timeout", "grader_error", "poison_input", "internal_error")}. Read the
kind, not the error text, to sort results: the text is for people and may change.

No batch reward manager: verl 0.9.1's RewardLoopWorker calls `run_single` once per sample whatever the manager,
the fast path costs microseconds per response, and repeated answers in a batch are already graded once
(above), so a batching manager would save nothing.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import Counter
from typing import Any

from cachetools import LRUCache

from abc_verl.names import GRADER_MEM_ENV, REWARD_KIND, REWARD_TIMEOUT_ENV, REWARD_WORKERS_ENV
from abc_verl.rewards.fast import CANONICAL_INT, NONE, OTHER, SINGLE, Scan, grader_text, integer_verdict, scan_response
from abc_verl.rewards.kinds import RewardKind
from abc_verl.rewards.pool import GraderPool
from abc_verl.rewards.verdict import GOLD_UNPARSABLE, gold_for_parsing, gold_to_text

MAX_RESPONSE_CHARS = 65_536  # only the tail of a longer response is graded
MAX_GOLD_CHARS = 10_000
MAX_ANSWER_CHARS = 1_000  # a longer single \boxed{} answer scores 0 without grading
MAX_ANSWER_DEPTH = 32  # so does one nested deeper than this many braces
MAX_PRED_CHARS = 1_000  # "pred" is cut to this length
CACHE_SIZE = 16_384  # verdicts learnt from graders; with the key caps below, at most ~50 MB in the worst case
MAX_CACHED_GOLD_CHARS = 1_000

DEFAULT_TIMEOUT_S = 5.0


class _Flight:
    """One (gold, boxed answer) pair being graded; threads with the same pair wait for its verdict."""

    def __init__(self, answer: str) -> None:
        self.done = threading.Event()
        self.result = _result(False, answer, "internal error while grading the same answer", RewardKind.INTERNAL_ERROR)


class RewardState:
    """All that compute_score keeps between calls in one process: caches, counters, graders, pairs in flight."""

    def __init__(self) -> None:
        self.verdicts: LRUCache = LRUCache(CACHE_SIZE)  # (gold, boxed answer) -> (acc, pred), learnt from graders
        self.gold_ok: LRUCache = LRUCache(CACHE_SIZE)  # gold -> whether math-verify parses it
        self.cache_lock = threading.Lock()  # cachetools caches are not thread-safe; a get reorders an LRU too
        self.stats: Counter[str] = Counter()
        self.stats_lock = threading.Lock()
        self.pool: GraderPool | None = None
        self.pool_lock = threading.Lock()
        self.flights: dict[tuple[str, str], _Flight] = {}
        self.flights_lock = threading.Lock()


_state = RewardState()


def _fresh_state_after_fork() -> None:
    # A forked child must not share the parent's grader pipes, nor a lock some parent thread held at fork time.
    global _state
    _state = RewardState()


os.register_at_fork(after_in_child=_fresh_state_after_fork)


def _env_number(name: str, default: float, minimum: float) -> float:
    raw = os.environ.get(name, "")
    try:
        value = float(raw) if raw.strip() else default
    except ValueError:
        raise ValueError(f"environment variable {name}={raw!r} is not a number") from None
    if not math.isfinite(value) or value < minimum:
        raise ValueError(f"environment variable {name}={raw!r} must be a finite number >= {minimum:g}")
    return value


def grader_pool() -> GraderPool:
    """This process's grader pool, created on first use (size and memory cap from the environment)."""
    state = _state
    with state.pool_lock:
        if state.pool is None:
            size = int(_env_number(REWARD_WORKERS_ENV, 2, 1))
            state.pool = GraderPool(size=size, mem_mb=int(_env_number(GRADER_MEM_ENV, 2048, 0)))
        return state.pool


def shutdown_graders() -> None:
    """Kill this process's graders and forget the learnt verdicts; the next slow-path call starts fresh ones."""
    state = _state
    with state.pool_lock:
        pool, state.pool = state.pool, None
    if pool is not None:
        pool.close()
    with state.cache_lock:
        state.verdicts.clear()
        state.gold_ok.clear()


def grading_stats() -> dict[str, int]:
    """Calls answered per path in this process: fast_none, fast_int, cached, coalesced, capped, grader, invalid."""
    with _state.stats_lock:
        return dict(_state.stats)


def _count(path: str) -> None:
    with _state.stats_lock:
        _state.stats[path] += 1


def _clean(text: str) -> str:
    """`pred` safe to log and to encode: at most MAX_PRED_CHARS characters, lone surrogates replaced."""
    text = text[:MAX_PRED_CHARS]
    return text.encode("utf-8", "replace").decode("utf-8")


def _cached(cache: LRUCache, key: Any) -> Any:
    with _state.cache_lock:
        return cache.get(key)


def _remember(cache: LRUCache, key: Any, value: Any) -> None:
    with _state.cache_lock:
        cache[key] = value


def _result(acc: bool, pred: str, error: str, kind: RewardKind) -> dict:
    return {
        "score": 1.0 if acc else 0.0,
        "acc": bool(acc),
        "pred": _clean(pred),
        "error": error,
        REWARD_KIND: kind.value,
    }


def _graded(acc: bool, pred: str) -> dict:
    """A verdict: the kind says whether an answer was extracted (a correct one always was)."""
    return _result(acc, pred, "", RewardKind.GRADED if acc or pred else RewardKind.NO_ANSWER)


def _timeout(kwargs: dict) -> float:
    value = kwargs.get("timeout_s")
    if value is None:
        return _env_number(REWARD_TIMEOUT_ENV, DEFAULT_TIMEOUT_S, 0.1)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0.1:
        raise ValueError(f"reward_kwargs timeout_s={value!r} must be a number >= 0.1 (seconds)")
    return float(value)


def _shortcut(scan: Scan, gold: str) -> dict | None:
    """The verdict when the in-thread scan settles it (see abc_verl.rewards.fast for why these equal math-verify's)."""
    gold_ok = True if CANONICAL_INT.fullmatch(gold) else _cached(_state.gold_ok, gold)
    if gold_ok is False:
        _count("cached")
        return _result(False, "", GOLD_UNPARSABLE, RewardKind.GOLD_UNUSABLE)
    if scan.kind == NONE and gold_ok:
        _count("fast_none")
        return _graded(False, "")
    same = integer_verdict(scan, gold)
    if same is not None:
        _count("fast_int")
        return _graded(same, scan.answer)
    if scan.kind == SINGLE:
        cached = _cached(_state.verdicts, (gold, scan.answer))
        if cached is not None:
            _count("cached")
            return _graded(*cached)
        if len(scan.answer) > MAX_ANSWER_CHARS or scan.depth > MAX_ANSWER_DEPTH:
            _count("capped")
            why = f"boxed answer over the caps ({MAX_ANSWER_CHARS} chars, {MAX_ANSWER_DEPTH} nested braces)"
            return _result(False, scan.answer, why + ": not graded", RewardKind.OVER_CAPS)
    return None


def _ask_grader(text: str, gold: str, scan: Scan, deadline: float, timeout_s: float) -> dict:
    _count("grader")
    budget = max(0.0, deadline - time.monotonic())
    mv_timeout = max(1, int(timeout_s / 2))  # math-verify's own alarms end most slow cases before the hard kill
    reply = grader_pool().grade(grader_text(scan, text), gold_for_parsing(gold), budget, mv_timeout)
    kind = RewardKind(reply[REWARD_KIND])
    if not reply.get("timeouts") and reply.get("gold_ok") is not None and len(gold) <= MAX_CACHED_GOLD_CHARS:
        _remember(_state.gold_ok, gold, bool(reply["gold_ok"]))
        if scan.kind == SINGLE and kind in (RewardKind.GRADED, RewardKind.NO_ANSWER):
            _remember(_state.verdicts, (gold, scan.answer), (bool(reply["acc"]), str(reply["pred"])))
    pred = str(reply.get("pred", ""))
    if reply.get("gold_ok") is None and scan.kind == SINGLE:  # the grader failed: still show what was boxed
        pred = scan.answer
    return _result(bool(reply.get("acc")), pred, str(reply.get("error", "")), kind)


def _grade(text: str, gold: str, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    text = text[-MAX_RESPONSE_CHARS:]
    scan = scan_response(text)
    done = _shortcut(scan, gold)
    if done is not None:
        return done
    if scan.kind == OTHER:
        return _ask_grader(text, gold, scan, deadline, timeout_s)
    # The samples of a GRPO group arrive together and often box the same answer (or none, while the gold is
    # not yet known to parse): grade each (gold, answer) pair once; answer "" stands for "none".
    key, state = (gold, scan.answer), _state
    with state.flights_lock:
        flight = state.flights.get(key)
        leader = flight is None
        if leader:
            flight = state.flights[key] = _Flight(scan.answer)
    if not leader:
        if flight.done.wait(max(0.0, deadline - time.monotonic())):
            _count("coalesced")
            return dict(flight.result)
        why = f"timeout: the same answer was still being graded after {timeout_s:.3g}s"
        return _result(False, scan.answer, why, RewardKind.GRADER_TIMEOUT)
    try:
        flight.result = _ask_grader(text, gold, scan, deadline, timeout_s)
    finally:
        with state.flights_lock:
            state.flights.pop(key, None)
        flight.done.set()
    return dict(flight.result)


def compute_score(
    data_source: str | None,
    solution_str: str,
    ground_truth: str | int | float | None,
    extra_info: dict | None = None,
    **kwargs: Any,
) -> dict:
    """Score one response: {"score": 1.0/0.0, "acc": bool, "pred": str, "error": str, "kind": str}; see the module
    docstring.

    `data_source` and `extra_info` are accepted for verl's signature and unused. `timeout_s` (kwarg) bounds the
    call. Raises only ValueError for an invalid `timeout_s` or environment setting, never for data.
    """
    timeout_s = _timeout(kwargs)
    try:
        if isinstance(solution_str, bytes):
            solution_str = solution_str.decode("utf-8", "replace")
        if not isinstance(solution_str, str):
            _count("invalid")
            return _result(False, "", f"solution_str is {type(solution_str).__name__}, not str", RewardKind.BAD_INPUT)
        gold = gold_to_text(ground_truth)
        if gold is None or not gold.strip():
            _count("invalid")
            return _result(False, "", "ground truth is missing or empty", RewardKind.GOLD_UNUSABLE)
        if len(gold) > MAX_GOLD_CHARS:
            _count("invalid")
            why = f"ground truth longer than {MAX_GOLD_CHARS} characters"
            return _result(False, "", why, RewardKind.GOLD_UNUSABLE)
        return _grade(solution_str, gold, timeout_s)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: B036 - never raise into verl's reward loop
        _count("invalid")
        return _result(False, "", f"internal error: {type(exc).__name__}: {exc}"[:500], RewardKind.INTERNAL_ERROR)

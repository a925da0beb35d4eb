r"""Tests of the math reward: verdicts, fast path == plain math-verify, hostile inputs, grader pool failures.

    pytest tests/test_rewards.py

Runs real math-verify (in-process as the reference, and in the grader subprocesses); about 20-30 s.
"""

import logging
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from latex2sympy2_extended import NormalizationConfig
from math_verify import LatexExtractionConfig, parse, verify
from reward_corpus import CORPUS, R

from abc_verl.rewards import reward as rewards
from abc_verl.rewards import verdict
from abc_verl.rewards.fast import NONE, OTHER, SINGLE, Scan, grader_text, integer_verdict, scan_response
from abc_verl.rewards.kinds import RewardKind
from abc_verl.rewards.pool import GraderPool
from abc_verl.rewards.reward import compute_score, grading_stats
from abc_verl.rewards.verdict import GOLD_UNPARSABLE, gold_for_parsing, gold_to_text

# the in-process reference warns "equations=True ... is deprecated" on every parse; the paper config sets it
logging.getLogger("latex2sympy2_extended").setLevel(logging.ERROR)

TIMEOUT_S = 3.0  # the bound the hostile-input tests configure
MARGIN_S = 1.5  # scheduling slack on a shared 2-core machine

# The paper's prediction config, restated independently of abc_verl.rewards.verdict.
PAPER_PRED_CONFIG = [
    LatexExtractionConfig(
        normalization_config=NormalizationConfig(
            nits=False, malformed_operators=False, basic_latex=True, equations=True, boxed="all", units=True
        ),
        boxed_match_priority=0,
        try_extract_without_anchor=False,
    )
]


def plain_math_verify(response: str, gold: str) -> tuple[bool, str]:
    """(acc, pred) from math-verify called directly, as open-r1's accuracy_reward does."""
    gold_parsed = parse(gold_for_parsing(gold), extraction_mode="first_match")
    if not gold_parsed:
        return False, ""
    pred = parse(response, extraction_config=PAPER_PRED_CONFIG, extraction_mode="first_match")
    return bool(verify(gold_parsed, pred)), next((p for p in pred if isinstance(p, str)), "")


def _expected(acc: bool | None) -> dict:
    return {"score": 1.0 if acc else 0.0, "acc": bool(acc)}


@pytest.fixture(scope="module", autouse=True)
def fresh_graders():
    rewards.shutdown_graders()
    assert rewards.grader_pool().warm_up(60)
    yield
    rewards.shutdown_graders()


def test_gold_text_and_wrapping():
    assert [gold_to_text(a) for a in (27.0, 0.75, 70, "3375", None, float("nan"))] == [
        "27",
        "0.75",
        "70",
        "3375",
        None,
        None,
    ]
    assert gold_for_parsing("34") == "34"
    assert gold_for_parsing("-0.25") == "-0.25"
    assert gold_for_parsing("3\\sqrt{13}") == "$3\\sqrt{13}$"
    assert gold_for_parsing("$x$") == "$x$"
    assert gold_for_parsing("\\$36") == "$\\$36$"
    assert integer_verdict(Scan(SINGLE, "-0"), "0") is None
    assert integer_verdict(Scan(SINGLE, "-7"), "-7") is True


@pytest.mark.parametrize(
    "text, scan",
    [
        ("no final result", Scan(NONE)),
        ("The ANSWER is 5", Scan(OTHER)),
        ("the an\u017fwer is $5$", Scan(OTHER)),  # long s: (?i:answer) matches it, as in math-verify
        ("so $\\boxed{ 34 }$.", Scan(SINGLE, "34", 1)),
        ("\\boxed{\\frac{1}{2}}", Scan(SINGLE, "\\frac{1}{2}", 2)),
        ("\\boxed{1}\\boxed{2}", Scan(OTHER)),
        ("\\boxed {34}", Scan(OTHER)),
        ("\\boxed{34} \\fbox{3}", Scan(OTHER)),
        ("\\boxed{(1, 3]}", Scan(OTHER)),
        ("$\\boxed{34}$ percent", Scan(OTHER)),
        ("\\boxed{34}. I hope it is correct.", Scan(OTHER)),
        ("\\boxed{{34}", Scan(OTHER)),
    ],
)
def test_scan_kinds(text, scan):
    assert scan_response(text) == scan


def test_corpus_verdicts_and_fast_path_agree_with_plain_math_verify():
    before = grading_stats()
    for gold, response, acc in CORPUS:
        got = compute_score("test", response, gold)
        assert {k: got[k] for k in ("score", "acc")} == _expected(acc), (gold, response)
        assert (got["acc"], got["pred"]) == plain_math_verify(response, gold), (gold, response)
        assert got["error"] == (GOLD_UNPARSABLE if acc is None else ""), (gold, response, got)
        kind = RewardKind.GOLD_UNUSABLE if acc is None else RewardKind.GRADED if got["pred"] else RewardKind.NO_ANSWER
        assert got["kind"] == kind, (gold, response, got)
    # a second pass is answered from the in-thread shortcuts and caches, and must not change anything
    for gold, response, _ in CORPUS:
        got = compute_score("test", response, gold)
        assert (got["acc"], got["pred"]) == plain_math_verify(response, gold), (gold, response)
    after = grading_stats()
    used = {path: after.get(path, 0) - before.get(path, 0) for path in ("fast_int", "fast_none", "cached", "grader")}
    # 15 cases have canonical-integer gold and boxed answer; 5 have neither \boxed nor "answer"
    assert used["fast_int"] == 2 * 15 and used["fast_none"] == 2 * 5 and used["cached"] >= 40
    assert used["grader"] <= len(CORPUS)


def test_integer_fast_path_matches_math_verify_on_generated_cases():
    golds = ["0", "7", "-15", "2024", "98765432109876543210"]
    templates = ["\\boxed{%s}", "$\\boxed{%s}$", "\\[ \\boxed{ %s } \\]", "Thus $x=\\boxed{%s}$, done."]
    for gold in golds:
        for pred in (gold, "1", "-7", "2025", gold + "0"):
            for template in templates:
                response = R + template % pred
                assert scan_response(response).kind == SINGLE
                got = compute_score("test", response, gold)
                assert (got["acc"], got["pred"]) == plain_math_verify(response, gold), response


# Boxed answers in many correct, near-miss and malformed forms, and the places models put them.
GEN_ANSWERS = [
    "27",
    "27.0",
    "27.00",
    "27.00001",
    "2.7e1",
    "027",
    "-27",
    "+27",
    "-0",
    "0",
    "27,000",
    "27{,}000",
    "27\\,000",
    "27000",
    "\\frac{2}{4}",
    "\\frac24",
    "\\dfrac{1}{2}",
    "\\tfrac{1}{2}",
    "1/2",
    "0.5",
    ".5",
    "50\\%",
    "50\\,\\%",
    "27 \\text{ cm}",
    "27\\text{cm}^2",
    "\\text{27}",
    "\\text{}",
    "\\mbox{27}",
    "27^\\circ",
    "27^{\\circ}",
    "\\$27",
    "x = 27",
    "x=27, y=3",
    "a_1 = 27",
    "27 \\approx 26.9",
    "\\sqrt{729}",
    "3^3",
    "3 \\cdot 9",
    "27!",
    "\\pi",
    "\\frac{\\pi}{2}",
    "\\left( 3, \\frac{\\pi}{2} \\right)",
    "(1, 3)",
    "\\{1, 2\\}",
    "1, 2",
    "1 \\text{ and } 2",
    "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}",
    "3 + 4i",
    "\\infty",
    "-\\infty",
    "x^2 - 1",
    "\\sin x",
    "{27}",
    "{{27}}",
    "27 {}",
    "\\boxed",
    "\\frac{1}{0}",
    "10^{100}",
    "1" + "0" * 40,
    "\\text{Evelyn}",
    "\\textbf{27}",
    "27 \\quad",
    "\\displaystyle 27",
    "\\mathrm{27}",
    "27 \\%",
    "\\%27",
    "27\\\\",
    "27 \\\\ 28",
    "\\{27",
]
GEN_TEMPLATES = [
    "\\boxed{%s}",
    "So the answer is $\\boxed{%s}$.",
    "**Final Answer**\n\\[\n\\boxed{ %s }\n\\]",
    "$$x = \\boxed{%s}$$ and we are done.",
    "Thus \\( y = \\boxed{%s} \\), as $a = 3$ and $b = 9$ gave $ab = 27$.",
    "The final answer is $\\boxed{%s}$, and the answer: $5$.",
    "\\boxed{%s} \\text{ or } (1, 2] and then {more} text",
]


def _same_prediction(a: list, b: list) -> bool:
    return len(a) == len(b) and all(
        type(x) is type(y) and x == y and str(x) == str(y) for x, y in zip(a, b, strict=True)
    )


def test_graders_get_a_short_text_with_the_same_prediction():
    """grader_text: `\\boxed{T}` for "single" and "" for "none" parse exactly as the whole response does."""
    kinds = {NONE: 0, SINGLE: 0, OTHER: 0}
    head = R + "Let $a = 3$ and $b = 9$, so \\[ a^b = 19683 \\] and $\\frac{a}{b} = \\frac13$.\n\n"
    cases = [head + template % answer for answer in GEN_ANSWERS for template in GEN_TEMPLATES]
    cases += [head + "So we get 27.", R + "Therefore $x = 27$ and $y = 3$.", "", head + "\\[\\frac{27}{1}\\]"]
    for response in cases:
        scan = scan_response(response)
        kinds[scan.kind] += 1
        short = grader_text(scan, response)
        if scan.kind == OTHER:
            assert short == response
            continue
        assert len(short) <= len(scan.answer) + 8
        full_pred = parse(response, extraction_config=PAPER_PRED_CONFIG, extraction_mode="first_match")
        short_pred = parse(short, extraction_config=PAPER_PRED_CONFIG, extraction_mode="first_match")
        assert _same_prediction(full_pred, short_pred), (response, full_pred, short_pred)
    assert kinds[SINGLE] >= 400 and kinds[NONE] >= 3, kinds


def test_generated_forms_through_the_graders_match_plain_math_verify():
    golds = ["27", "0.5", "\\frac{1}{2}", "27000", "\\left( 3, \\frac{\\pi}{2} \\right)"]
    for gold in golds:
        for i, answer in enumerate(GEN_ANSWERS):
            response = R + GEN_TEMPLATES[i % len(GEN_TEMPLATES)] % answer
            got = compute_score("test", response, gold)
            assert (got["acc"], got["pred"]) == plain_math_verify(response, gold), (gold, response, got)


def test_kwargs_from_verl_are_accepted_and_bad_timeout_is_rejected():
    got = compute_score(
        data_source="aime24",
        solution_str="$\\boxed{70}$",
        ground_truth=70,
        extra_info={"split": "test", "index": 0},
        reward_router_address=None,
        timeout_s=2,
    )
    assert got == {"score": 1.0, "acc": True, "pred": "70", "error": "", "kind": "graded"}
    with pytest.raises(ValueError, match="timeout_s"):
        compute_score("x", "\\boxed{1}", "1", timeout_s="soon")
    assert compute_score("x", None, "1") == {
        "score": 0.0,
        "acc": False,
        "pred": "",
        "error": "solution_str is NoneType, not str",
        "kind": "bad_input",
    }


KINDS = [  # (response, gold, kind, score): an input for each kind compute_score gives on demand
    ("So $\\boxed{34}$.", "34", RewardKind.GRADED, 1.0),  # right, in-thread integer shortcut
    ("So $\\boxed{35}$.", 34, RewardKind.GRADED, 0.0),  # wrong, still graded
    ("So $\\boxed{\\frac{6}{4}}$.", "\\frac32", RewardKind.GRADED, 1.0),  # right, by a grader
    (b"\\boxed{34}", "34", RewardKind.GRADED, 1.0),  # bytes are decoded
    ("I do not know.", "34", RewardKind.NO_ANSWER, 0.0),  # no \boxed, no "answer": nothing to extract
    ("I do not know.", "\\frac32", RewardKind.NO_ANSWER, 0.0),  # the same, by a grader (gold not yet known)
    ("\\boxed{" + "1" * 1_001 + "}", "7", RewardKind.OVER_CAPS, 0.0),  # 1,001 characters > MAX_ANSWER_CHARS
    ("\\boxed{" + "{" * 40 + "1" + "}" * 40 + "}", "1", RewardKind.OVER_CAPS, 0.0),  # 41 braces > 32
    (None, "34", RewardKind.BAD_INPUT, 0.0),
    (["\\boxed{34}"], "34", RewardKind.BAD_INPUT, 0.0),
    ("\\boxed{34}", None, RewardKind.GOLD_UNUSABLE, 0.0),
    ("\\boxed{34}", "  ", RewardKind.GOLD_UNUSABLE, 0.0),
    ("\\boxed{34}", "1" * 10_001, RewardKind.GOLD_UNUSABLE, 0.0),  # longer than MAX_GOLD_CHARS
    ("\\boxed{34}", "\\text{}", RewardKind.GOLD_UNUSABLE, 0.0),  # math-verify cannot parse it
]


@pytest.mark.parametrize(("response", "gold", "kind", "score"), KINDS)
def test_each_result_carries_its_kind(response, gold, kind, score):
    got = compute_score("kinds", response, gold, timeout_s=30)
    assert (got["kind"], got["score"]) == (kind, score) and type(got["kind"]) is str, got


def test_a_grader_that_fails_gives_a_grader_error():
    """The grader's own failure path (a request math-verify cannot take), run in this process."""
    reply = verdict._answer({"response": "\\boxed{1}", "gold": "1", "mv_timeout": "soon"})
    assert (
        reply["kind"] == RewardKind.GRADER_ERROR
        and not reply["acc"]
        and reply["error"].startswith("math-verify failed")
    )


PWN = "__import__('os').system('touch pwned')"
HOSTILE = {
    # name: (response, gold, expected score)
    "1 MB response, answer at the end": ("x " * 500_000 + "so $\\boxed{34}$", "34", 1.0),
    "1 MB response, no answer": ("lorem ipsum " * 90_000, "34", 0.0),
    "1 MB of 'answer $'": ("answer $" * 130_000, "34", 0.0),
    "10,000 \\boxed{1}": ("\\boxed{1} " * 10_000, "1", 1.0),
    "10,000 different \\boxed{}": ("".join(f"\\boxed{{{i}}} " for i in range(10_000)), "1", 0.0),
    "braces nested 10,000 deep": ("\\boxed{" + "{" * 10_000 + "1" + "}" * 10_000 + "}", "1", 0.0),
    "braces nested 10,000 deep outside the box": ("{" * 10_000 + "}" * 10_000 + " answer $\\boxed{1}$", "1", 1.0),
    "unbalanced opening braces": ("\\boxed{{{{1} and more text } here", "1", 0.0),
    "unbalanced closing braces": ("\\boxed{1}}}}}", "1", 1.0),
    "power tower": ("\\boxed{9^{9^{9^{9^{9}}}}}", "1", 0.0),
    "huge factorial": ("$\\boxed{(10^{10})!}$", "1", 0.0),
    "100,000-digit number": ("\\boxed{" + "7" * 100_000 + "}", "7", 0.0),
    "100,000-digit number, short gold match": ("The answer: $" + "7" * 100_000 + "$", "7", 0.0),
    "python in the box": ("\\boxed{" + PWN + "}", "0", 0.0),
    "python through eval": ('$\\boxed{eval("' + PWN + '")}$', "0", 0.0),
    "python in text": ("The answer is $" + PWN + "$", "0", 0.0),
    "python as the gold": ("\\boxed{1}", PWN, 0.0),
    "latex shell escape": ("\\boxed{\\immediate\\write18{touch pwned}}", "0", 0.0),
    "\\def macro": ("\\def\\ans{34} The answer is $\\boxed{\\ans}$", "34", 0.0),
    "\\newcommand macro": ("\\newcommand{\\ans}{34}\\boxed{\\ans}", "34", 0.0),
    "\\renewcommand of \\boxed": ("\\renewcommand{\\boxed}[1]{34}\\boxed{35}", "34", 0.0),
    "NUL inside the answer": ("\\boxed{3\x004}", "34", 0.0),
    "NUL bytes around the answer": ("\x00" * 1000 + "\\boxed{34}\x00", "34", 1.0),
    "lone surrogates around the answer": ("\ud800\\boxed{34}\udfff", "34", 1.0),
    "lone surrogate as the answer": ("\\boxed{\ud83d}", "34", 0.0),
    "right-to-left override": ("\u202e\\boxed{43}\u202c", "34", 0.0),
    "right-to-left mark in the answer": ("\\boxed{\u200f34}", "34", 0.0),
    "empty gold": ("\\boxed{1}", "", 0.0),
    "None gold": ("\\boxed{1}", None, 0.0),
}


def test_hostile_inputs_return_in_bounded_time_from_a_worker_thread(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rewards.shutdown_graders()  # graders start in tmp_path, where a `touch pwned` would land
    assert rewards.grader_pool().warm_up(60)

    def timed(item):
        name, (response, gold, _) = item
        start = time.monotonic()
        result = compute_score("hostile", response, gold, timeout_s=TIMEOUT_S)
        return name, time.monotonic() - start, result, threading.current_thread() is not threading.main_thread()

    with ThreadPoolExecutor(max_workers=1) as pool:
        outcomes = list(pool.map(timed, HOSTILE.items()))
    for name, elapsed, result, off_main in outcomes:
        assert off_main
        assert elapsed < TIMEOUT_S + MARGIN_S, (name, elapsed, result)
        assert set(result) == {"score", "acc", "pred", "error", "kind"}, name
        assert result["score"] == HOSTILE[name][2], (name, result)
        assert len(result["pred"]) <= rewards.MAX_PRED_CHARS
        result["pred"].encode("utf-8")  # safe to log: no lone surrogates
        if "python" in name or "shell" in name or "macro" in name:
            assert result["error"] == "", (name, result)  # math-verify really parsed it, and found no answer
            assert result["kind"] in (RewardKind.GRADED, RewardKind.NO_ANSWER), (name, result)
    assert not list(tmp_path.iterdir()), "something was written next to the graders"
    rewards.shutdown_graders()


def test_many_threads_at_once_get_the_same_verdicts():
    jobs = [(gold, response, acc) for gold, response, acc in CORPUS if acc is not None] * 4
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda job: compute_score("t", job[1], job[0]), jobs))
    assert [r["acc"] for r in results] == [acc for _, _, acc in jobs]


def test_same_boxed_answer_at_once_is_graded_once():
    gold, n = "\\frac{\\sqrt{3}}{2}", 16
    responses = [R * (i + 1) + "$\\boxed{\\sin\\frac{\\pi}{3}}$" for i in range(n)]
    barrier = threading.Barrier(n)

    def call(response):
        barrier.wait()
        return compute_score("t", response, gold)

    before = grading_stats()
    with ThreadPoolExecutor(max_workers=n) as pool:
        results = list(pool.map(call, responses))
    delta = {k: v - before.get(k, 0) for k, v in grading_stats().items()}
    assert {(r["acc"], r["pred"]) for r in results} == {plain_math_verify(responses[0], gold)}
    assert delta.get("grader", 0) <= 2 and delta.get("coalesced", 0) + delta.get("cached", 0) >= n - 2, delta


def test_overrun_ends_the_call_at_its_deadline_and_the_pool_recovers():
    """The call ends at its deadline; its grader gets math-verify's timeout (here 1 s) more to answer and is taken
    back, else it is killed and replaced (tests/test_reward_faults.py stops one to force the kill)."""
    pool = rewards.grader_pool()
    assert pool.warm_up(60)
    before = pool.kills + pool.late
    start = time.monotonic()
    # 0.3 s is below math-verify's own 1 s alarm, so only the caller's hard deadline can end this call
    got = compute_score("t", "\\boxed{9^{9^{9^{9^{9}}}}}", "2", timeout_s=0.3)
    assert time.monotonic() - start < 0.3 + MARGIN_S
    assert got["score"] == 0.0 and got["kind"] == RewardKind.GRADER_TIMEOUT and got["error"].startswith("timeout"), got
    deadline = time.monotonic() + 10
    while pool.kills + pool.late == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pool.kills + pool.late == before + 1
    assert compute_score("t", "\\boxed{\\frac{6}{4}}", "\\frac32", timeout_s=30)["acc"] is True


def test_a_waiting_call_that_gives_up_never_strands_a_grader():
    """A later waiter timing out must take only its own place in the queue (the grader freed next must reach the
    earlier waiter, not a call that already left)."""
    pool = GraderPool(size=1)
    assert pool.warm_up(60)
    try:
        with ThreadPoolExecutor(max_workers=3) as ex:
            # holds the only grader past the caller's 1.5 s deadline (math-verify's alarm is 5 s)
            hog = ex.submit(pool.grade, "\\boxed{9^{9^{9^{9^{9}}}}}", "2", 1.5, 5)
            time.sleep(0.2)
            patient = ex.submit(pool.grade, "\\boxed{34}", "34", 30.0, 1)  # queued first
            time.sleep(0.2)
            hasty = ex.submit(pool.grade, "\\boxed{34}", "34", 0.2, 1)  # queued second, gives up first
            assert hasty.result()["error"].startswith("no grader process free"), hasty.result()
            assert hasty.result()["kind"] == RewardKind.GRADER_TIMEOUT
            assert hog.result()["error"].startswith("timeout") and hog.result()["kind"] == RewardKind.GRADER_TIMEOUT
            assert patient.result()["acc"] is True, patient.result()
        assert pool.grade("\\boxed{7}", "7", 30.0, 1)["acc"] is True
    finally:
        pool.close()


def test_a_crashed_grader_costs_no_call():
    """A grader killed while idle is reaped by the pool's watcher, or found dead by the call that takes it, which
    then retries on another grader: every call still gets its verdict (more in tests/test_reward_faults.py)."""
    pool = rewards.grader_pool()
    assert pool.warm_up(60)
    victim = next(iter(pool._alive))
    os.kill(victim.proc.pid, signal.SIGKILL)
    victim.proc.wait()
    results = [compute_score("t", R + f"\\boxed{{\\frac{{{i}}}{{7}}}}", f"\\frac{{{i}}}{{7}}") for i in range(1, 5)]
    assert all(r["acc"] and not r["error"] and r["kind"] == RewardKind.GRADED for r in results), results


def test_graders_do_not_echo_responses_into_the_logs(capfd):
    rewards.shutdown_graders()  # graders started from here on write to the captured stderr
    assert rewards.grader_pool().warm_up(60)
    got = compute_score("t", "secret-response \\boxed{9^{9^{9^{9}}}}", "1", timeout_s=TIMEOUT_S)
    assert got["error"].startswith("math-verify timed out") and got["kind"] == RewardKind.GRADER_TIMEOUT, got
    rewards.shutdown_graders()
    out, err = capfd.readouterr()
    assert "secret-response" not in out + err

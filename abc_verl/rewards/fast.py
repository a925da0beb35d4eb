r"""Cheap string scans that tell, without math-verify, what math-verify's prediction extraction would return.

Used in-thread by `abc_verl.rewards.reward.compute_score`; tested against plain math-verify by
`pytest tests/test_rewards.py`. Pure `str` methods and two linear regexes: no sympy, no
timeouts needed, and microseconds on realistic responses (milliseconds on a 64K-character worst case).

Why the scans are exact. The paper's prediction parse (`abc_verl.rewards.verdict`, LaTeX only, `boxed_match_priority=0`,
`try_extract_without_anchor=False`, `extraction_mode="first_match"`) tries math-verify's regexes by priority and,
within the first priority that matches, extracts only the match that ends last. Every pattern is one of:

  (a) "final answer is <latex env> ... I hope"              priority 0
  (b) a $..$, $$..$$, \(..\), \[..\] or " [..] " environment containing `\boxed{`, optionally followed by a
      percent marker and up to five more such environments           priority 0
  (c) `\boxed{.+}` (DOTALL: from the first `\boxed{` to the last `}`)  priority 0
  (d) "final answer ... is" / "answer" (case-insensitive) followed by a LaTeX environment   priority 50-200

Kind "none": the text has no `\boxed` and no `answer` in any case (searched with math-verify's own
`(?i:answer)`), so no pattern can match, the prediction is `[]` and `verify` is False whatever the gold.

Kind "single": exactly one `\boxed`, no `\fbox`, no "I hope"; the `\boxed` is followed directly by `{` whose
brace-balanced content T (braces counted as math-verify counts them) is non-empty after `strip()` and holds
no `$`, `]` or `\)`; and no percent marker (`%`, `percent`, `pct`) follows it. Then (a) cannot match and (c)
does, so the winner is a (b) or (c) match. No environment can close inside T (T holds none of the closing
delimiters), so any (b) match contains all of `\boxed{T}`, and its next-environments would need a second
`\boxed`. math-verify's `extract_boxed_content` (mode "all" for (b), "last" for (c)) therefore returns
T.strip() in both cases, and the rest of the normalization and the LaTeX parse are the same for both. The
prediction, and with it the verdict, is a function of (gold, T.strip()) alone. `rewards` uses this in three
ways: canonical integers on both sides are compared as strings (for those math-verify parses Integer(T) and
Integer(G) and compares them, and its string fallbacks are T and G); any other (gold, T) pair reuses a verdict
a grader process already computed for the same pair; and a grader is sent `grader_text(scan, text)` instead of
the whole response: `\boxed{T}` for "single" (itself a "single" text with the same T, hence the same
prediction), "" for "none" (no pattern matches either, prediction `[]`). math-verify's regexes then scan a few
characters instead of the whole reasoning: same verdict and pred, and the regex work no longer grows with the
response (a modest saving, ~0.5-1 ms of a 3-5 ms prediction parse; the ANTLR parse of the answer dominates).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# math-verify's own pattern, so that Unicode case folding (e.g. U+017F for "s") matches exactly as it does there.
_ANSWER_WORD = re.compile(r"(?i:answer)")
_BRACE = re.compile(r"[{}]")
# ASCII digits only (math-verify's \d also takes other scripts' digits); 100 digits stays far below sympy's and
# CPython's 4300-digit int-conversion limit, past which math-verify can no longer parse the gold.
CANONICAL_INT = re.compile(r"0|-?[1-9][0-9]{0,99}")  # not "-0": math-verify finds it equal to "0"

NONE, SINGLE, OTHER = "none", "single", "other"


@dataclass(frozen=True)
class Scan:
    """What the response's answer looks like: kind NONE, SINGLE (with `answer` = T.strip()) or OTHER."""

    kind: str
    answer: str = ""
    depth: int = 0  # brace nesting depth of the boxed content, counting the \boxed braces as 1


def _closing_brace(text: str, open_idx: int) -> tuple[int, int]:
    """Index of the `}` closing text[open_idx] and the deepest nesting seen; (-1, depth) when unbalanced."""
    depth = deepest = 1
    for match in _BRACE.finditer(text, open_idx + 1):
        if match.group() == "{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
            if depth == 0:
                return match.start(), deepest
    return -1, deepest


def scan_response(text: str) -> Scan:
    """Classify a (length-capped) response; see the module docstring for why NONE and SINGLE are exact."""
    count = text.count("\\boxed")
    if count == 0:
        return Scan(NONE) if _ANSWER_WORD.search(text) is None else Scan(OTHER)
    if count > 1 or "\\fbox" in text or "I hope" in text:
        return Scan(OTHER)
    brace = text.find("\\boxed") + len("\\boxed")
    if text[brace : brace + 1] != "{":
        return Scan(OTHER)
    close, depth = _closing_brace(text, brace)
    if close < 0:
        return Scan(OTHER)
    answer = text[brace + 1 : close].strip()
    if not answer or "$" in answer or "]" in answer or "\\)" in answer:
        return Scan(OTHER)
    tail = text[close + 1 :]
    if "%" in tail or "ercent" in tail or "pct" in tail or "Pct" in tail:
        return Scan(OTHER)
    return Scan(SINGLE, answer, depth)


def integer_verdict(scan: Scan, gold: str) -> bool | None:
    """math-verify's verdict when both the gold and the single boxed answer are canonical integers, else None."""
    if scan.kind == SINGLE and CANONICAL_INT.fullmatch(gold) and CANONICAL_INT.fullmatch(scan.answer):
        return scan.answer == gold
    return None


def grader_text(scan: Scan, text: str) -> str:
    """The text a grader parses: as good as `text` for math-verify (see the module docstring), and short."""
    if scan.kind == NONE:
        return ""
    if scan.kind == SINGLE:
        short = "\\boxed{" + scan.answer + "}"
        if scan_response(short) == scan:  # always so (T is balanced, one \boxed, no closer); checked to be sure
            return short
    return text

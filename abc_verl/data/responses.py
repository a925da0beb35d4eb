r"""Synthetic model responses to the packaged eval problems, for the reward's benchmarks and fault tests.

    from abc_verl.data.responses import build_corpora, eval_problems, HOSTILE_RESPONSES
    corpora = build_corpora(eval_problems(), seed=0)   # {"groups/int": [{"response", "gold", "form"}], ...}

Realistic reasoning text (sentences with random numbers, the problem restated) ending with the gold answer in
one of FORMS, correct or not: boxed, displayed, wrong, truncated, written differently, two boxed answers, ...
Deterministic for a seed. Used by benchmarks/bench_reward.py, benchmarks/soak_reward.py and
tests/test_reward_faults.py; not run by hand.
"""

import random

from abc_verl.data.benchmarks import BENCHMARKS, load_benchmark


def eval_problems() -> list[dict]:
    """Every packaged eval problem as {"id", "problem", "answer"}, in BENCHMARKS order."""
    return [
        {"id": p.id, "problem": p.question, "answer": p.answer} for n in BENCHMARKS for p in load_benchmark(n).problems
    ]


SENTENCES = [
    "Set $a = {n1}$ and $b = {n2}$; then $a + b = {n3}$ and $ab = {n4}$.",
    "Factoring, $x^2 - {n3}x + {n4} = (x - {n1})(x - {n2})$, so the roots are ${n1}$ and ${n2}$.",
    "The discriminant is ${n3}^2 - 4 \\cdot {n4}$, which is a perfect square here.",
    "By AM-GM, $\\frac{{a+b}}{{2}} \\ge \\sqrt{{ab}}$, with equality only when $a = b$.",
    "Checking small cases: for $n = 1, 2, 3$ we get ${n1}$, ${n2}$ and ${n3}$ respectively.",
    "\\[ \\sum_{{k=1}}^{{{n1}}} k = \\frac{{{n1}({n1}+1)}}{{2}} \\]",
    "Wait, that double counts the case $a = b$, so subtract it once.",
    "Modulo ${n2}$, the powers of ${n1}$ cycle with period dividing ${n3}$.",
    "Hmm, let me double-check the arithmetic: ${n1} \\times {n2} = {n4}$.",
    "Now substitute back into the original equation and simplify both sides carefully.",
    "The area is $\\frac{{1}}{{2}} \\cdot {n1} \\cdot {n2} \\sin\\theta$, largest at $\\theta = \\frac{{\\pi}}{{2}}$.",
]
# worst cases for time and safety (gold "34"): huge, deeply nested, slow to parse, code, control characters
HOSTILE_RESPONSES = [
    "x " * 500_000 + "$\\boxed{34}$",
    "answer $" * 130_000,
    "\\boxed{1} " * 10_000,
    "".join(f"\\boxed{{{i}}} " for i in range(10_000)),
    "\\boxed{" + "{" * 10_000 + "1" + "}" * 10_000 + "}",
    "\\boxed{{{{1} and more text } here",
    "\\boxed{9^{9^{9^{9^{9}}}}}",
    "$\\boxed{(10^{10})!}$",
    "\\boxed{" + "7" * 100_000 + "}",
    "\\boxed{__import__('os').system('echo pwned')}",
    "\\newcommand{\\ans}{34}\\boxed{\\ans}",
    "\x00\ud800\u202e\\boxed{34}",
]
# (form, weight in the "groups" corpus); a form that does not fit a gold falls back to "boxed" there
FORMS = [
    ("boxed", 0.34),
    ("display", 0.15),
    ("wrong", 0.18),
    ("truncated", 0.10),
    ("equivalent", 0.05),
    ("answer_is_latex", 0.05),
    ("two_boxed", 0.03),
    ("chatter_after", 0.03),
    ("plain_text", 0.03),
    ("negated", 0.02),
    ("units", 0.01),
    ("thousands", 0.01),
]


def reasoning(problem: str, rng: random.Random) -> str:
    nums = {f"n{i}": rng.randint(2, 99) for i in range(1, 5)}
    head = f"Let me restate what is asked: {problem[: rng.randint(80, 240)]}"
    body = [rng.choice(SENTENCES).format(**nums) for _ in range(rng.randint(15, 45))]
    return "\n\n".join([head, *body]) + "\n\n"


def is_int(text: str) -> bool:
    return text.lstrip("-").isdigit()


def _wrong(gold: str, rng: random.Random, others: list[str]) -> str:
    if is_int(gold):
        return str(int(gold) + rng.choice([-2, -1, 1, 2, 10]))
    return rng.choice([o for o in others if o != gold] or ["0"])


def _ending(form: str, gold: str, rng: random.Random, others: list[str]) -> str | None:
    integer = is_int(gold)
    endings = {
        "boxed": f"Therefore, the final answer is $\\boxed{{{gold}}}$.",
        "display": f"**Final Answer**\n\\[\n\\boxed{{{gold}}}\n\\]",
        "wrong": f"So the answer is $\\boxed{{{_wrong(gold, rng, others)}}}$.",
        "truncated": "Next we need the case where the two circles are tangent, which gives",
        "answer_is_latex": f"The answer is ${gold}$.",
        "two_boxed": f"$\\boxed{{{gold}}}$. Wait, recheck.\n\nActually $\\boxed{{{_wrong(gold, rng, others)}}}$.",
        "chatter_after": f"$\\boxed{{{gold}}}$\n\nHuman: What is $2+2$?\n\nAssistant: The answer is $\\boxed{{4}}$.",
        "plain_text": f"The answer is {gold}.",
        "negated": f"Hence the result is $\\boxed{{-{gold}}}$." if integer else f"Hence $\\boxed{{-({gold})}}$.",
    }
    if form in endings:
        return endings[form]
    if form == "equivalent":
        if integer:
            return f"The answer is $\\boxed{{\\frac{{{2 * int(gold)}}}{{2}}}}$."
        return f"The answer is $\\boxed{{{gold.replace(chr(92) + 'frac', chr(92) + 'dfrac').replace(' ', '')}}}$."
    if form == "units" and integer:
        return f"The total is $\\boxed{{{gold} \\text{{ units}}}}$."
    if form == "thousands" and integer and abs(int(gold)) >= 1000:
        return "The total is $\\boxed{" + f"{int(gold):,}".replace(",", "{,}") + "}$."
    return None


def build_corpora(problems: list[dict], seed: int) -> dict[str, list[dict]]:
    """groups/forms corpora, each split by gold type (integer like DAPO's, or LaTeX); items: response, gold, form."""
    rng = random.Random(seed)
    others = [p["answer"] for p in problems]
    names, weights = zip(*FORMS, strict=True)
    groups, forms = [], []
    for p in problems:
        for _ in range(8):
            form = rng.choices(names, weights)[0]
            wrong_rng = random.Random(f"{seed}-{p['id']}-{rng.randint(0, 2)}")  # at most 3 wrong answers per group
            ending = _ending(form, p["answer"], wrong_rng, others)
            if ending is None:
                form, ending = "boxed", _ending("boxed", p["answer"], rng, others)
            groups.append({"response": reasoning(p["problem"], rng) + ending, "gold": p["answer"], "form": form})
        for form in names:
            ending = _ending(form, p["answer"], rng, others)
            if ending is not None:
                forms.append({"response": reasoning(p["problem"], rng) + ending, "gold": p["answer"], "form": form})
    split = {}
    for name, items in (("groups", groups), ("forms", forms)):
        split[f"{name}/int"] = [it for it in items if is_int(it["gold"])]
        split[f"{name}/latex"] = [it for it in items if not is_int(it["gold"])]
    return split

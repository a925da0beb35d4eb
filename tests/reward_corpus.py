r"""The reward tests' corpus: (gold, response, expected acc) triples whose verdicts plain math-verify confirms.

Shared by tests/test_rewards.py (against plain math-verify, the fast path and the graders) and
tests/test_reward_manager.py (through verl's reward loop); importable as `reward_corpus` because pytest puts
tests/ on sys.path (pyproject.toml: `pythonpath`). Not a test module itself.
"""

R = "We expand, collect like terms and check each step against the constraints. "

# (gold, response, expected acc); None = the gold is unparsable (score 0 with an error).
CORPUS = [
    # equivalent forms
    ("0.5", R + "So the answer is $\\boxed{\\frac{1}{2}}$.", True),
    ("0.5", R + "$\\boxed{\\dfrac{1}{2}}$", True),
    ("0.5", R + "\\boxed{\\frac12}", False),  # the paper config has malformed_operators=False
    ("0.5", R + "\\boxed{1/2}", True),
    ("0.5", R + "\\boxed{0.5}", True),
    ("0.5", R + "\\boxed{.5}", True),
    ("\\frac{1}{2}", R + "\\boxed{0.5}", True),
    ("\\frac12", R + "\\boxed{\\frac{1}{2}}", True),
    ("0.5", R + "\\boxed{50\\%}", False),
    ("50", R + "\\boxed{50\\%}", False),
    ("50\\%", R + "\\boxed{50\\%}", True),
    ("50\\%", R + "\\boxed{50}", False),
    ("3", R + "\\boxed{x=3}", True),
    ("3", R + "\\boxed{x = 3}", True),
    ("x=3", R + "\\boxed{3}", True),
    ("1000", R + "\\boxed{1,000}", True),
    ("1000", R + "\\boxed{1{,}000}", True),
    ("1000", R + "\\boxed{1\\,000}", False),
    ("1000000", R + "\\boxed{1,000,000}", True),
    ("30", R + "\\boxed{30 \\text{ cm}}", True),
    ("30", R + "\\boxed{30\\text{ degrees}}", True),
    ("30", R + "\\boxed{30^\\circ}", True),
    ("30", R + "\\boxed{\\$30}", True),
    ("(1, 3]", R + "\\boxed{(1, 3]}", True),
    ("(1, 3]", R + "\\boxed{(1,3)}", False),
    ("[2, \\infty)", R + "\\boxed{[2,\\infty)}", True),
    ("(-\\infty, 0) \\cup (1, \\infty)", R + "\\boxed{(-\\infty,0)\\cup(1,\\infty)}", True),
    ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", R + "\\boxed{\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}}", True),
    (
        "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}",
        R + "\\boxed{\\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}}",
        True,
    ),
    (
        "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}",
        R + "\\boxed{\\begin{pmatrix} 1 & 2 \\\\ 4 & 3 \\end{pmatrix}}",
        False,
    ),
    ("3\\sqrt{13}", R + "\\boxed{3\\sqrt{13}}", True),
    ("3\\sqrt{13}", R + "\\boxed{\\sqrt{117}}", True),
    ("3\\sqrt{13}", R + "\\boxed{3}", False),  # bare-parsed, this gold would read as 3
    ("\\left( 3, \\frac{\\pi}{2} \\right)", R + "\\boxed{(3, \\frac{\\pi}{2})}", True),
    ("p - q", R + "\\boxed{p-q}", True),
    ("p - q", R + "\\boxed{q-p}", False),
    ("\\text{Evelyn}", R + "\\boxed{\\text{Evelyn}}", True),
    ("6 - 5i", R + "\\boxed{6-5i}", True),
    ("1,-2", R + "\\boxed{-2, 1}", True),
    ("\\frac{14}{3}", R + "\\boxed{\\frac{14}{3}}", True),
    ("\\frac{14}{3}", R + "\\boxed{4.666667}", True),
    ("\\frac{14}{3}", R + "\\boxed{\\frac{28}{6}}", True),
    ("\\frac{14}{3}", R + "\\boxed{\\frac{3}{14}}", False),
    ("2", R + "\\boxed{\\sqrt{4}}", True),
    # integers: the fast path's home ground, in the places models put them
    ("34", R + "\\boxed{34}", True),
    ("34", R + "$\\boxed{34}$", True),
    ("34", R + "\\[\\boxed{34}\\]", True),
    ("34", R + "**Final Answer**\n\\[\n\\boxed{34}\n\\]", True),
    ("34", R + "$$x = \\boxed{34}$$", True),
    ("34", R + "\\boxed{ 34 }", True),
    ("34", R + "\\boxed{34} and then {something} else", True),
    ("12", R + "\\boxed{12}\n\nHuman: next question? Assistant: The answer is $5$.", True),
    ("-34", R + "\\boxed{-34}", True),
    ("0", R + "\\boxed{0}", True),
    ("0", R + "\\boxed{-0}", True),  # equal for math-verify, so not a string comparison
    ("\\$36", R + "\\boxed{36}", True),  # an escaped dollar does not delimit the gold
    ("123456789012345678901234567890", R + "\\boxed{123456789012345678901234567890}", True),
    ("123456789012345678901234567890", R + "\\boxed{123456789012345678901234567891}", False),
    ("34", R + "\\boxed{034}", True),
    ("34", R + "\\boxed{34.0}", True),
    ("34", R + "\\boxed{34}%", True),
    ("34", R + "$\\boxed{34}$ percent", True),
    ("34", R + "The final answer is $\\boxed{34}$. I hope it is correct.", True),
    ("34", R + "The final answer is $34$. I hope it is correct.", True),
    ("34", R + "So the answer is $34$.", True),
    ("34", R + "ANSWER: $34$", True),
    # wrong answers
    ("34", R + "\\boxed{35}", False),
    ("34", R + "\\boxed{-34}", False),
    ("-15", R + "\\boxed{15}", False),
    ("34", R + "\\boxed{33} wait, no: \\boxed{34}", False),
    ("34", R + "\\boxed{34} is wrong, so \\boxed{33}", False),
    ("34", R + "$\\boxed{34}$ and $\\boxed{35}$", False),
    ("34", R + "\\boxed{\u0663\u0664}", False),
    # no answer that math-verify extracts
    ("34", R + "So the answer is 34.", False),
    ("34", R + "Therefore $x = 34$.", False),
    ("34", R + "no final result", False),
    ("34", "", False),
    ("34", R + "\\boxed{34", False),
    ("34", R + "\\boxed {34}", False),
    ("34", R + "\\fbox{34}", False),
    ("\\frac{14}{3}", R + "I could not finish the computation.", False),
    # unparsable gold
    ("\\", R + "\\boxed{1}", None),
    ("\\text{}", R + "\\boxed{1}", None),
    ("\\text{}", R + "no answer at all", None),
]

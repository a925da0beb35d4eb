"""The paper's math reward for verl: reward manager `abc_math` (`reward.reward_manager.name=abc_math`, what the
paper recipes use), or the custom function `reward.custom_reward_function.path=pkg://abc_verl.rewards`.

    manager.py   verl reward manager "abc_math": compute_score plus per-response diagnostics (registered by
                 abc_verl.plugin)
    reward.py    compute_score: the entry point, its caches and time bounds (state in one RewardState object)
    kinds.py     RewardKind: the one set of outcome kinds every result carries (graded, no_answer, ...)
    fast.py      the in-thread scan that settles common responses exactly, without math-verify
    verdict.py   the exact verdict (math-verify with the paper's settings) and the grader subprocess's main
                 (state in one GraderState object)
    pool.py      the pool of time-bounded grader subprocesses: checkout, retry on a dead grader, restarts
    grader.py    one grader subprocess seen from the parent: deadline-bounded pipe I/O, kill and reap
    sll.py       ANTLR's SLL-first parsing inside graders (the same trees as LL, faster)

May import: the standard library, cachetools, math-verify and its LaTeX parser; nothing of verl or torch, so
graders start fast and the reward runs in any process verl starts. The one exception is manager.py, which
imports verl's reward loop (it is a verl class); nothing else here imports manager.py, so graders and
compute_score never load verl.
"""

from typing import Any

__all__ = ["compute_score"]


def __getattr__(name: str) -> Any:
    # Loaded on first use: grader subprocesses import abc_verl.rewards.verdict alone, without the entry point.
    if name == "compute_score":
        from abc_verl.rewards.reward import compute_score

        return compute_score
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""What a reward result is: the one set of outcome kinds, set where the outcome arises and read by type.

Every result of `abc_verl.rewards.reward.compute_score` carries `"kind"`, one of RewardKind's values (a plain
string, so it logs, pickles and compares like text); the reward manager "abc_math" passes it on in its reward
extra info, after refining it with what only the manager sees (the row's ground truth, the response tokens).
Diagnostics and benchmarks count kinds; nothing reads the human-readable `"error"` text to sort results.

Not run by hand; tests: `pytest tests/test_rewards.py tests/test_reward_manager.py`.
"""

from __future__ import annotations

from enum import Enum

from abc_verl import names


class RewardKind(str, Enum):  # enum.StrEnum is Python 3.11+; verl 0.9.1 runs on 3.10 too
    """Why a response scored what it did. Only GRADED can score 1.0; every other kind scores 0.0. Kinds that a
    diagnostic flag of the manager is named after share that flag's name."""

    __str__ = str.__str__  # the value, as StrEnum prints it (Enum's default would print "RewardKind.GRADED")

    GRADED = "graded"  # an answer was extracted and compared with the gold: right or wrong
    NO_ANSWER = names.NO_ANSWER  # graded: the response has no answer math-verify extracts
    OVER_CAPS = "over_caps"  # a single boxed answer too long or too deeply nested: 0 without grading
    BAD_INPUT = names.BAD_INPUT  # the response is not text
    GOLD_UNUSABLE = "gold_unusable"  # the ground truth is missing, empty, too long or not parsable by math-verify
    GRADER_TIMEOUT = names.GRADER_TIMEOUT  # no verdict within timeout_s (no grader free, grading too slow)
    GRADER_ERROR = names.GRADER_ERROR  # a grader process failed otherwise (or answered out of turn)
    POISON_INPUT = "poison_input"  # two graders in a row died grading this input
    INTERNAL_ERROR = "internal_error"  # a bug in abc_verl, caught so that verl's reward loop never sees it
    # set by the reward manager "abc_math" alone, from what it sees before compute_score runs
    NO_GROUND_TRUTH = "no_ground_truth"  # the row has no reward_model.ground_truth, or an empty one
    GOLD_NOT_TEXT = "gold_not_text"  # a gold that is neither text nor a number (list, dict, bool, ...)
    EMPTY_RESPONSE = "empty_response"  # no response token at all
    SPECIAL_TOKENS_ONLY = "special_tokens_only"  # tokens, but nothing left once special tokens are skipped


# the kinds each diagnostic flag of the reward manager counts (abc_verl.names: NO_ANSWER, BAD_INPUT, ...)
NO_ANSWER_KINDS = frozenset({RewardKind.NO_ANSWER, RewardKind.EMPTY_RESPONSE, RewardKind.SPECIAL_TOKENS_ONLY})
BAD_INPUT_KINDS = frozenset(
    {
        RewardKind.BAD_INPUT,
        RewardKind.GOLD_UNUSABLE,
        RewardKind.NO_GROUND_TRUTH,
        RewardKind.GOLD_NOT_TEXT,
        RewardKind.EMPTY_RESPONSE,
        RewardKind.SPECIAL_TOKENS_ONLY,
    }
)
TIMEOUT_KINDS = frozenset({RewardKind.GRADER_TIMEOUT})
ERROR_KINDS = frozenset({RewardKind.GRADER_ERROR, RewardKind.POISON_INPUT, RewardKind.INTERNAL_ERROR})

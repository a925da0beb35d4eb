r"""verl reward manager "abc_math": the paper's math reward in one key, with the diagnostics RL users watch.

    reward.reward_manager.name=abc_math          # registered by abc_verl.plugin in every process verl starts
    # optional: +reward.reward_kwargs.timeout_s=3 (else env ABC_VERL_REWARD_TIMEOUT_S, default 5 s)

Tests: `pytest tests/test_reward_manager.py`; throughput against verl's naive manager:
`python benchmarks/bench_reward_manager.py`.

Grading: exactly `abc_verl.rewards.reward.compute_score` (math-verify with the paper's settings), on the response
decoded as verl's own managers decode it (the valid response tokens, `skip_special_tokens=True`). verl 0.9.1's
RewardLoopWorker calls `run_single` once per response; decoding and grading run in one executor call (verl's
naive manager makes two), so the event loop is free while graders work.

Per response it returns compute_score's fields (score, acc, pred, error, kind) and the numbers of abc_verl.names
REWARD_DIAGNOSTICS as verl's reward extra info. `kind` (abc_verl.rewards.kinds.RewardKind) is compute_score's,
refined by what only the manager sees; each diagnostic flag is a set of kinds. verl's validation logs each
number per data source (`val-aux/<data_source>/<key>/mean@<n>`). Bad input never raises: a row without
`reward_model.ground_truth`, a gold that is neither text nor a number, an empty response, or one of only special
tokens scores 0 with `bad_input` 1.0 and its kind (an empty text is still graded by compute_score, so score,
acc, pred and error stay compute_score's; a bad gold's error says "bad input: <kind>"). Unlike compute_score,
which grades `str(gold)` of anything, the manager refuses golds that are not text or numbers (a list or dict gold
is a broken data row).

At training time verl 0.9.1 logs none of the reward extra info, and this manager cannot add it: it sees one
response at a time in a reward worker, away from the trainer's logger. What stops it (verl/ paths):
  - v1 trainer (the recipes'): the agent loop stores each response's reward extra info in TransferQueue
    (experimental/agent_loop/agent_loop.py:1028), but `_compute_metrics` reads a fixed list of tensor fields
    (trainer/ppo/v1/trainer_base.py:1868-1880), extra_fields only for speculative-decoding stats (:1907), and its
    rollout dump writes only `uid` as extra info (:1331);
  - legacy trainer: the extra info joins the batch (trainer/ppo/ray_trainer.py:1635-1636), and
    compute_data_metrics (trainer/ppo/metric_utils.py:429) reads only tensors;
  - groups with zero reward spread: the estimator returns (advantages, returns) only, with no metrics dict
    (trainer/ppo/v1/trainer_base.py:1775); abc_verl's "grpo_paper" prints the count in the trainer's log instead.
  - the reward's time per step: the v1 trainer times "reward" only with a colocated reward model
    (trainer/ppo/v1/trainer_base.py:577-579); each response's time (agent_loop.py:1029) becomes
    timing_s/agent_loop/compute_score/* only in the legacy trainer's AgentLoopManager (agent_loop.py:1256-1280).
What verl does log per step: `critic/score/mean` (the accuracy: the reward is 0/1) and `response_length/*`.
"""

from __future__ import annotations

import math
import threading
from numbers import Real
from typing import Any

from omegaconf import OmegaConf
from verl import DataProto
from verl.experimental.reward_loop.reward_manager.base import RewardManagerBase

from abc_verl.loggers import get_logger
from abc_verl.names import (
    BAD_INPUT,
    GRADER_ERROR,
    GRADER_TIMEOUT,
    NO_ANSWER,
    RESPONSE_TOKENS,
    RESPONSE_TOKENS_CORRECT,
    RESPONSE_TOKENS_WRONG,
    REWARD_KIND,
    REWARD_MANAGER,
    TRUNCATED,
)
from abc_verl.rewards.kinds import BAD_INPUT_KINDS, ERROR_KINDS, NO_ANSWER_KINDS, TIMEOUT_KINDS, RewardKind
from abc_verl.rewards.reward import compute_score, grader_pool

logger = get_logger(__name__)


def _missing(gold: Any) -> bool:
    return gold is None or (isinstance(gold, str | bytes) and not gold.strip())


def _gold(non_tensor: dict) -> tuple[Any, RewardKind | None]:
    """(ground truth, the kind that says why it cannot be graded, or None) from a row's non-tensor data."""
    reward_model = non_tensor.get("reward_model")
    gold = reward_model.get("ground_truth") if isinstance(reward_model, dict) else None
    if _missing(gold) or (isinstance(gold, float) and not math.isfinite(gold)):
        return None, RewardKind.NO_GROUND_TRUTH
    if isinstance(gold, bool) or not isinstance(gold, str | bytes | Real):
        return None, RewardKind.GOLD_NOT_TEXT
    return gold, None


def diagnostics(result: dict, n_tokens: int, max_tokens: int | None) -> dict:
    """compute_score's fields (its "kind" included) plus the diagnostic numbers of one response (the same keys
    for every response)."""
    acc, kind = bool(result["acc"]), RewardKind(result[REWARD_KIND])
    return {
        **result,
        NO_ANSWER: float(kind in NO_ANSWER_KINDS),
        TRUNCATED: float(max_tokens is not None and n_tokens >= max_tokens),
        GRADER_TIMEOUT: float(kind in TIMEOUT_KINDS),
        GRADER_ERROR: float(kind in ERROR_KINDS),
        BAD_INPUT: float(kind in BAD_INPUT_KINDS),
        RESPONSE_TOKENS: float(n_tokens),
        RESPONSE_TOKENS_CORRECT: float(n_tokens) if acc else None,
        RESPONSE_TOKENS_WRONG: None if acc else float(n_tokens),
    }


def _timeout_kwargs(config: Any) -> dict:
    reward_kwargs = OmegaConf.select(config, "reward.reward_kwargs", default=None) or {}
    value = reward_kwargs.get("timeout_s")
    if value is None:
        return {}
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) or value < 0.1:
        raise ValueError(f"reward.reward_kwargs.timeout_s={value!r} must be a number >= 0.1 (seconds)")
    return {"timeout_s": float(value)}


def _warm_graders() -> None:
    try:
        grader_pool().warm_up()
    except Exception as e:  # a bad ABC_VERL_REWARD_* variable: compute_score reports it on the first call
        logger.warning("abc_verl: graders not started ahead of use: %s", e)


class ABCMathRewardManager(RewardManagerBase):
    """verl reward manager "abc_math" (abc_verl.names.REWARD_MANAGER): compute_score plus diagnostics."""

    def __init__(
        self,
        config: Any,
        tokenizer: Any,
        compute_score: Any = None,
        reward_router_address: str | None = None,
        reward_model_tokenizer: Any = None,
    ) -> None:
        # verl passes its default scorer (or a custom function) as compute_score; this manager grades with ours
        super().__init__(config, tokenizer, compute_score)
        custom = OmegaConf.select(config, "reward.custom_reward_function.path", default=None)
        if custom:
            raise ValueError(
                f"reward.reward_manager.name=abc_math grades with abc_verl's compute_score, but "
                f"reward.custom_reward_function.path={custom!r} is set too: unset it, or use a manager that calls "
                "custom functions (reward.reward_manager.name=naive)"
            )
        self.score_kwargs = _timeout_kwargs(config)
        self.max_tokens = OmegaConf.select(config, "actor_rollout_ref.rollout.response_length", default=None)
        if self.max_tokens is None:
            self.max_tokens = OmegaConf.select(config, "data.max_response_length", default=None)
        # Boot this process's graders while the first rollout is generated, not when the first responses that
        # need one arrive (they would wait ~1 s for it, holding executor threads other responses queue for).
        threading.Thread(target=_warm_graders, name="abc_math-graders", daemon=True).start()

    async def run_single(self, data: DataProto) -> dict:
        item = data[-1]  # for multi-sequence outputs the reward is the last sequence's, as verl's managers do
        response_ids = item.batch["responses"]
        n_tokens = int(item.batch["attention_mask"][-response_ids.shape[-1] :].sum())
        non_tensor = item.non_tensor_batch
        info = await self.loop.run_in_executor(
            None, self.grade, response_ids[:n_tokens], non_tensor.get("data_source"), non_tensor
        )
        return {"reward_score": info["score"], "reward_extra_info": info}

    def grade(self, ids: Any, data_source: Any, non_tensor: dict) -> dict:
        """Decode and grade one response (in an executor thread); never raises for data."""
        n_tokens = len(ids)
        gold, bad = _gold(non_tensor)
        if bad is not None:  # compute_score would say "missing", or grade str(gold) of a list or dict
            result = {
                "score": 0.0,
                "acc": False,
                "pred": "",
                "error": f"bad input: {bad.value}",
                REWARD_KIND: bad.value,
            }
            return diagnostics(result, n_tokens, self.max_tokens)
        text = self.tokenizer.decode(ids, skip_special_tokens=True)
        # graded even when empty (microseconds: nothing to extract), so the verdict fields are compute_score's own
        result = compute_score(data_source, text, gold, non_tensor.get("extra_info"), **self.score_kwargs)
        if result[REWARD_KIND] in (RewardKind.GRADED, RewardKind.NO_ANSWER) and not text:
            empty = RewardKind.EMPTY_RESPONSE if n_tokens == 0 else RewardKind.SPECIAL_TOKENS_ONLY
            result[REWARD_KIND] = empty.value
        return diagnostics(result, n_tokens, self.max_tokens)


def register_manager() -> None:
    """Register ABCMathRewardManager as "abc_math" in verl's reward-loop registry: idempotent, and a manager that
    another module registered under the name is kept (verl's own `register` would raise)."""
    from verl.experimental.reward_loop.reward_manager import register
    from verl.experimental.reward_loop.reward_manager.registry import REWARD_MANAGER as REGISTRY

    from abc_verl.registration import register_once

    register_once(REGISTRY, register, REWARD_MANAGER, ABCMathRewardManager)


register_manager()  # last: abc_verl.plugin imports this module for this side effect (see there why)

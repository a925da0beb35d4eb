"""Registers ABC-GRPO with verl: policy loss "abc", advantage estimator "grpo_paper", reward manager "abc_math".

verl imports this module in every process it starts (driver, TaskRunner, every worker) through the
"verl.plugins" entry point, or through VERL_USE_EXTERNAL_MODULES=abc_verl. Registration is all or nothing (a
failure is printed to stderr, where verl would not show it), idempotent, and never replaces a loss, estimator or
reward manager that another module registered under the same name.
The reward manager is registered eagerly, in every process: verl's RewardManagerConfig asserts at construction
that its name is registered, wherever the config is built (importing verl's reward loop costs ~0.5 s).
Check that it is active with `abc-verl info`.
"""

import os
import sys
import warnings
from typing import Any

import torch
from verl.trainer.ppo.core_algos import (
    ADV_ESTIMATOR_REGISTRY,
    POLICY_LOSS_REGISTRY,
    agg_loss,
    register_adv_est,
    register_policy_loss,
)
from verl.utils import as_torch_index

# Only verl-free modules of ours are imported here: verl imports this module while `import verl` is still
# running, maybe because another abc_verl module (config, say) is itself importing verl half-way through.
from abc_verl.advantage import grpo_paper_advantage
from abc_verl.attention import register_resolver
from abc_verl.loggers import get_logger
from abc_verl.names import ABC_METRIC_PREFIX, ADV_ESTIMATOR, LOSS_MODE, PG_CLIPFRAC, PPO_KL, REWARD_MANAGER
from abc_verl.objective import ABCBounds, abc_loss, check_eps
from abc_verl.registration import register_once

logger = get_logger(__name__, "INFO")  # the zero-spread count shows, vLLM rollout or not (abc_verl.loggers)


def bounds_from_config(config: Any) -> ABCBounds:
    """The four widths: from an ABCPolicyLossConfig, else from the actor's clip_ratio_high / clip_ratio_low.

    The fallback lets `policy_loss.loss_mode=abc` alone work, with verl's usual clip knobs (0.2 by default,
    as in the paper) bounding both signs; the ABCPolicyLossConfig sets the four widths independently.
    """
    from abc_verl.config import ABCPolicyLossConfig  # loaded by now: verl has finished importing

    policy_loss = config.get("policy_loss", None)
    if isinstance(policy_loss, ABCPolicyLossConfig):
        return policy_loss.bounds
    clip = config.get("clip_ratio", 0.2)
    high = config.get("clip_ratio_high", None)
    low = config.get("clip_ratio_low", None)
    high = check_eps("actor.clip_ratio_high", clip if high is None else high)
    low = check_eps("actor.clip_ratio_low", clip if low is None else low)
    return ABCBounds(eps_pos_high=high, eps_pos_low=low, eps_neg_high=high, eps_neg_low=low)


def compute_policy_loss_abc(
    old_log_prob: torch.Tensor,
    log_prob: torch.Tensor,
    advantages: torch.Tensor,
    response_mask: torch.Tensor,
    loss_agg_mode: str = "token-mean",
    config: Any = None,
    rollout_is_weights: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """verl policy loss "abc": the ABC per-token loss, times rollout IS weights, through verl's agg_loss."""
    if config is None:
        raise ValueError("loss mode 'abc' needs the actor config (verl passes it as `config`)")
    loss_mat, stats = abc_loss(log_prob, old_log_prob, advantages, response_mask, bounds_from_config(config))
    if rollout_is_weights is not None:
        loss_mat = loss_mat * rollout_is_weights
        mask = response_mask.bool()  # logged only when verl passes weights: proof they reach the loss
        stats["rollout_is_weight_mean"] = rollout_is_weights[mask].sum() / mask.sum().clamp_min(1)
        # |log w| = |actor - rollout log-prob| of each token whose token-level weight verl did not truncate (a
        # truncated one counts log of the threshold): the engines' mismatch that the weights correct
        kept = rollout_is_weights[mask]
        kept = kept[kept > 0]
        stats["rollout_log_ratio_abs_mean"] = kept.log().abs().sum() / max(kept.numel(), 1)
    global_batch_info = config.get("global_batch_info", None) or {}
    pg_loss = agg_loss(loss_mat=loss_mat, loss_mask=response_mask, loss_agg_mode=loss_agg_mode, **global_batch_info)

    values = dict(zip(stats, torch.stack(list(stats.values())).tolist(), strict=True))  # one device sync
    metrics = {PG_CLIPFRAC: values.pop("clipfrac"), PPO_KL: values.pop("ppo_kl")}
    metrics.update({f"{ABC_METRIC_PREFIX}{name}": value for name, value in values.items()})
    return pg_loss, metrics


def compute_grpo_paper_advantage(
    token_level_rewards: torch.Tensor,
    response_mask: torch.Tensor,
    index: Any,
    **kwargs: Any,
) -> tuple[torch.Tensor, torch.Tensor]:
    """verl advantage estimator "grpo_paper": (advantages, returns), both (B, T), from outcome rewards by uid.

    Logs how many groups had zero reward spread, since those contribute no gradient.
    """
    with torch.no_grad():
        scores = token_level_rewards.sum(dim=-1)  # (B,) the outcome reward sits on one token per row
        group = as_torch_index(index, device=scores.device)
        adv, n_flat = grpo_paper_advantage(scores, group)
        advantages = adv.unsqueeze(-1) * response_mask
    logger.info("grpo_paper: %d of %d groups have zero reward spread (no gradient)", n_flat, int(group.max()) + 1)
    return advantages, advantages


def register_all() -> None:
    """Register the loss, the estimator and the reward manager: all three, or none and a loud error.

    verl loads plugins inside a try that logs a failure at debug level only (verl/__init__.py), so a half-loaded
    plugin would show later as "Unsupported loss mode". Importing verl's reward loop imports Ray modules that raise
    DeprecationWarning: under `python -W error::DeprecationWarning` that warning would abort the import half way,
    so third parties' deprecations stay warnings while we import them.
    """
    added: list[tuple[dict, str]] = []
    try:
        register_resolver()  # ${abc_verl.attn_implementation:} in the recipes, resolved by the driver and TaskRunner
        for registry, register, name, fn in (
            (POLICY_LOSS_REGISTRY, register_policy_loss, LOSS_MODE, compute_policy_loss_abc),
            (ADV_ESTIMATOR_REGISTRY, register_adv_est, ADV_ESTIMATOR, compute_grpo_paper_advantage),
        ):
            if register_once(registry, register, name, fn):
                added.append((registry, name))
        with warnings.catch_warnings():
            warnings.simplefilter("default", DeprecationWarning)
            _register_reward_manager()
    except BaseException as e:
        for registry, name in added:
            registry.pop(name, None)
        print(
            f"abc_verl: the plugin failed to load, so none of {LOSS_MODE!r}, {ADV_ESTIMATOR!r}, {REWARD_MANAGER!r} "
            f"is registered: {type(e).__name__}: {e}",
            file=sys.stderr,
        )  # verl would log it at debug level only
        raise


def _register_reward_manager() -> None:
    # The manager module registers "abc_math" as its last statement (abc_verl.rewards.manager.register_manager):
    # when it is the module that set off `import verl`, this import finds it half-loaded and it registers itself
    # once it has finished loading; either way it is registered by the end of `import verl` or of that module.
    import abc_verl.rewards.manager  # noqa: F401


register_all()

if os.getenv("VERL_PLATFORM", "").strip().lower() == "cpu":  # opt-in CPU platform (abc_verl.cpu.platform)
    from abc_verl.cpu import platform as _cpu_platform  # noqa: F401
    from abc_verl.cpu import rollout as _cpu_rollout  # noqa: F401  (rollout.name=hf, after the platform)

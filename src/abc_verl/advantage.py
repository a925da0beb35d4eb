"""The paper-code GRPO advantage, registered with verl as `algorithm.adv_estimator=grpo_paper`.

    A_i = (R_i - mean(R_group)) / (std(R_group) + 1e-4)     # unbiased std, groups by uid

verl's built-in `grpo` divides by (std + 1e-6) and gives a group of one R_i / (1 + 1e-6); the authors' TRL
code divides by (std + 1e-4), and a group of one carries no comparison, so here it gets 0. A group whose
rewards are all equal (all correct or all wrong) has zero spread and zero advantage: the count of such
groups is logged at every step, since they contribute no gradient (about half of all groups in the paper).
"""

import logging
import os

import numpy as np
import torch
from verl.utils import as_torch_index, group_mean_std

EPSILON = 1e-4

logger = logging.getLogger(__name__)
logger.setLevel(os.getenv("VERL_LOGGING_LEVEL", "INFO"))


def grpo_paper_advantage(
    token_level_rewards: torch.Tensor,  # (B, T), the outcome reward sits on one token per row
    response_mask: torch.Tensor,  # (B, T)
    index: np.ndarray,  # (B,) group id (verl's uid) per response
    epsilon: float = EPSILON,
    **kwargs,  # verl passes config and, for some estimators, more; none is needed here
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (advantages, returns), both (B, T): the scalar advantage broadcast over the response mask."""
    with torch.no_grad():
        scores = token_level_rewards.sum(dim=-1)  # (B,)
        group = as_torch_index(index, device=scores.device)  # (B,) in 0..G-1
        mean, std, count = group_mean_std(scores, group, eps=0.0, device=scores.device)  # (G,) each
        adv = (scores - mean[group]) / (std[group] + epsilon)
        adv = torch.where(count[group] > 1, adv, 0.0).to(scores.dtype)
        advantages = adv.unsqueeze(-1) * response_mask

        spread = torch.zeros_like(mean).index_reduce_(0, group, scores.float(), "amax", include_self=False)
        spread -= torch.zeros_like(mean).index_reduce_(0, group, scores.float(), "amin", include_self=False)
        n_flat = int(((spread == 0) & (count > 1)).sum())
        logger.info("grpo_paper: %d of %d groups have zero reward spread (zero advantage)", n_flat, len(count))
    return advantages, advantages

"""The paper-code GRPO advantage; verl runs it as `algorithm.adv_estimator=grpo_paper` (see abc_verl.plugin).

    A_i = (R_i - mean(R_group)) / (std(R_group) + 1e-4)     # unbiased std, groups by verl's uid

verl's built-in `grpo` divides by (std + 1e-6) and gives a group of one R_i / (1 + 1e-6); the authors' TRL
code divides by (std + 1e-4), and a group of one carries no comparison, so here it gets 0. A group whose
rewards are all equal (all correct or all wrong) has zero spread and zero advantage; such groups give no
gradient, and the paper's logs show about half of all groups are like that.

Pure torch, no verl import, like abc_verl.objective.
"""

import torch

EPSILON = 1e-4


def grpo_paper_advantage(
    scores: torch.Tensor,  # (B,) one outcome reward per response
    group: torch.Tensor,  # (B,) long, group index in 0..G-1 (responses to the same prompt share one)
    epsilon: float = EPSILON,
) -> tuple[torch.Tensor, int]:
    """Return the advantage per response (B,) and the number of groups of two or more with zero spread."""
    scores64 = scores.double()  # exact sums for 0/1 rewards, so an all-equal group has exactly zero spread
    n_groups = int(group.max()) + 1 if group.numel() else 0
    count = torch.zeros(n_groups, dtype=torch.float64).index_add_(0, group, torch.ones_like(scores64))
    mean = torch.zeros(n_groups, dtype=torch.float64).index_add_(0, group, scores64) / count.clamp_min(1)
    centered = scores64 - mean[group]
    var = torch.zeros(n_groups, dtype=torch.float64).index_add_(0, group, centered**2) / (count - 1).clamp_min(1)
    adv = centered / (var.sqrt()[group] + epsilon)
    adv = torch.where(count[group] > 1, adv, 0.0)
    n_flat = int(((var == 0) & (count > 1)).sum())
    return adv.to(scores.dtype), n_flat

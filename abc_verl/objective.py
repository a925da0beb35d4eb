"""The ABC-GRPO objective: four-boundary clipping of the token ratio (Liu & Chen, arXiv 2601.03895).

Pure torch, no verl import, so the maths can be checked on a machine where verl is absent (a GPU box).
`abc_verl.plugin` registers it with verl as loss mode "abc" and aggregates it with verl's `agg_loss`.

    r       = exp(clamp(logp - old_logp, -20, 20))              # token ratio, clamped as verl does
    lo(A)   = 1 - eps_pos_low    if A > 0 else 1 - eps_neg_low
    hi(A)   = 1 + eps_pos_high   if A > 0 else 1 + eps_neg_high
    loss_t  = -A * clamp(r, lo(A), hi(A))                        # hard clip, no min() as in PPO

| quadrant | A     | r     | bound              | paper | PPO / GRPO                        |
|----------|-------|-------|--------------------|-------|-----------------------------------|
| Q1       | A > 0 | r > 1 | r <= 1 + eps_pos_high | eps1  | same bound                        |
| Q2       | A > 0 | r < 1 | r >= 1 - eps_pos_low  | eps2  | unbounded                         |
| Q3       | A < 0 | r < 1 | r >= 1 - eps_neg_low  | eps4  | same bound                        |
| Q4       | A < 0 | r > 1 | r <= 1 + eps_neg_high | eps3  | unbounded (verl: dual-clip at c)  |

A token whose ratio leaves its band gets zero gradient (the clamp is flat there); inside the band the
gradient is PPO's. A == 0 takes the A <= 0 bounds and has zero loss and gradient under any bounds; it is
never counted as clipped. eps_pos_low = 1 with eps_neg_high = inf recovers PPO/GRPO without dual-clip.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from abc_verl.names import QUADRANTS


@dataclass(frozen=True)
class ABCBounds:
    """The four clip widths. Upper widths may be inf (no bound); lower widths lie in (0, 1]."""

    eps_pos_high: float = 0.2  # eps1, Q1
    eps_pos_low: float = 0.2  # eps2, Q2
    eps_neg_high: float = 0.2  # eps3, Q4
    eps_neg_low: float = 0.2  # eps4, Q3

    def __post_init__(self) -> None:
        for name in ("eps_pos_high", "eps_pos_low", "eps_neg_high", "eps_neg_low"):
            check_eps(name, getattr(self, name))


def check_eps(name: str, value: object) -> float:
    """Return `value` as a float if it is a valid width for `name`, else raise ValueError naming both."""
    lower = name.endswith("_low")
    allowed = "a number in (0, 1]" if lower else "a number > 0, or .inf"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name}={value!r} ({type(value).__name__}): must be {allowed}")
    value = float(value)
    if math.isnan(value) or value <= 0 or (lower and value > 1):
        raise ValueError(f"{name}={value!r}: must be {allowed}")
    return value


def abc_loss(
    log_prob: torch.Tensor,  # (B, T) log pi_theta(token), differentiable
    old_log_prob: torch.Tensor,  # (B, T) log pi_old(token)
    advantages: torch.Tensor,  # (B, T) sequence advantage broadcast over its tokens
    response_mask: torch.Tensor,  # (B, T) bool, valid response tokens
    bounds: ABCBounds,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Per-token ABC loss (B, T), not yet aggregated, and its statistics as 0-dim tensors.

    Statistics, each a fraction of the valid response tokens:
      ppo_kl          mean of old_logp - logp (as verl's vanilla loss reports it)
      clipfrac_qN     tokens of quadrant N whose ratio lies strictly outside its band
      clipfrac        all clipped tokens; equals the sum of the four quadrant fractions
    """
    log_ratio = torch.clamp(log_prob - old_log_prob, min=-20.0, max=20.0)
    ratio = torch.exp(log_ratio)
    pos = advantages > 0
    lo = torch.where(pos, 1.0 - bounds.eps_pos_low, 1.0 - bounds.eps_neg_low)
    hi = torch.where(pos, 1.0 + bounds.eps_pos_high, 1.0 + bounds.eps_neg_high)
    loss = -advantages * torch.clamp(ratio, min=lo, max=hi)

    with torch.no_grad():
        mask = response_mask.bool()
        n_valid = mask.sum().clamp_min(1)
        above, below = (ratio > hi) & mask, (ratio < lo) & mask
        neg = advantages < 0
        counts = torch.stack([(above & pos).sum(), (below & pos).sum(), (below & neg).sum(), (above & neg).sum()])
        fractions = counts / n_valid
        stats = {f"clipfrac_{q}": fractions[i] for i, q in enumerate(QUADRANTS)}
        stats["clipfrac"] = fractions.sum()
        stats["ppo_kl"] = -torch.where(mask, log_ratio, 0.0).sum() / n_valid
    return loss, stats

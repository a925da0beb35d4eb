"""The `actor_rollout_ref.actor.policy_loss` config of ABC-GRPO, with its four clip widths.

Selected in a recipe (or on the command line, keys then need a leading `+`) by
    actor_rollout_ref.actor.policy_loss._target_: abc_verl.config.ABCPolicyLossConfig
    actor_rollout_ref.actor.policy_loss.loss_mode: abc
Hydra builds it in the driver's config check before Ray starts, so a bad width fails there, naming the key.
"""

from dataclasses import dataclass

from verl.workers.config import PolicyLossConfig

from abc_verl.names import LOSS_MODE
from abc_verl.objective import ABCBounds

PREFIX = "actor_rollout_ref.actor.policy_loss"


class ABCConfigError(ValueError):
    """A bad ABC policy-loss setting (a width out of range, another loss_mode); the message names the full key.

    A ValueError, as verl's own config checks raise; Hydra wraps it when it builds the config, and
    `abc-verl check` finds it in the exception's cause chain by this type.
    """


@dataclass
class ABCPolicyLossConfig(PolicyLossConfig):
    """verl's policy-loss config plus the four ABC widths (see `abc_verl.objective` for the quadrant table)."""

    loss_mode: str = LOSS_MODE
    eps_pos_high: float = 0.2  # eps1: upper bound 1 + eps for A > 0 (Q1); may be .inf
    eps_pos_low: float = 0.2  # eps2: lower bound 1 - eps for A > 0 (Q2); in (0, 1], 1 = unbounded
    eps_neg_high: float = 0.2  # eps3: upper bound 1 + eps for A <= 0 (Q4); may be .inf
    eps_neg_low: float = 0.2  # eps4: lower bound 1 - eps for A <= 0 (Q3); in (0, 1]

    def __post_init__(self) -> None:
        try:
            _ = self.bounds  # building ABCBounds checks the four widths
        except ValueError as e:
            raise ABCConfigError(f"{PREFIX}.{e}") from None
        if self.loss_mode != LOSS_MODE:
            raise ABCConfigError(
                f"{PREFIX}.loss_mode={self.loss_mode!r} with _target_ ABCPolicyLossConfig: the eps_* widths would "
                f"be ignored; set {PREFIX}.loss_mode=abc, or drop the _target_ to use another loss"
            )

    @property
    def bounds(self) -> ABCBounds:
        return ABCBounds(self.eps_pos_high, self.eps_pos_low, self.eps_neg_high, self.eps_neg_low)

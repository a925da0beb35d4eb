"""The ABC maths in abc_verl.objective, pure torch: one test per quadrant, exact values, exact zero gradients.

Widths are distinct so each test also proves which knob bounds which quadrant:
eps_pos_high=0.1 (Q1: r <= 1.1), eps_pos_low=0.2 (Q2: r >= 0.8), eps_neg_high=0.3 (Q4: r <= 1.3),
eps_neg_low=0.4 (Q3: r >= 0.6).
"""

import math

import pytest
import torch

from abc_verl.objective import ABCBounds, abc_loss

BOUNDS = ABCBounds(eps_pos_high=0.1, eps_pos_low=0.2, eps_neg_high=0.3, eps_neg_low=0.4)


def run(ratios: list[float], advantages: list[float], mask: list[bool] | None = None, bounds: ABCBounds = BOUNDS):
    """One row of tokens with the given ratios (old_log_prob = 0); returns loss row, d loss / d log_prob, stats."""
    log_prob = torch.tensor([[math.log(r) for r in ratios]], dtype=torch.float64, requires_grad=True)
    old = torch.zeros_like(log_prob)
    adv = torch.tensor([advantages], dtype=torch.float64)
    m = torch.tensor([mask if mask is not None else [True] * len(ratios)])
    loss, stats = abc_loss(log_prob, old, adv, m, bounds)
    loss.sum().backward()
    return loss.detach()[0], log_prob.grad[0], {k: v.item() for k, v in stats.items()}


def test_q1_positive_advantage_ratio_above_band_is_clipped_at_1_plus_eps_pos_high():
    loss, grad, stats = run([1.5, 1.05], [2.0, 2.0])
    # clipped: -A * (1 + 0.1) = -2 * 1.1 = -2.2, flat clamp -> zero gradient
    # inside:  -A * r = -2 * 1.05 = -2.1, d/dlogp (-A * e^logp) = -A * r = -2.1
    torch.testing.assert_close(loss, torch.tensor([-2.2, -2.1], dtype=torch.float64))
    torch.testing.assert_close(grad, torch.tensor([0.0, -2.1], dtype=torch.float64))
    assert stats["clipfrac_q1"] == 0.5 and stats["clipfrac"] == 0.5  # 1 of 2 valid tokens


def test_q2_positive_advantage_ratio_below_band_is_clipped_at_1_minus_eps_pos_low():
    loss, grad, stats = run([0.5, 0.9], [2.0, 2.0])
    # clipped: -2 * (1 - 0.2) = -1.6 with zero gradient; PPO/GRPO would give -2 * 0.5 = -1.0 with gradient -1.0
    torch.testing.assert_close(loss, torch.tensor([-1.6, -1.8], dtype=torch.float64))
    torch.testing.assert_close(grad, torch.tensor([0.0, -1.8], dtype=torch.float64))
    assert stats["clipfrac_q2"] == 0.5 and stats["clipfrac_q1"] == 0.0


def test_q3_negative_advantage_ratio_below_band_is_clipped_at_1_minus_eps_neg_low():
    loss, grad, stats = run([0.5, 0.7], [-1.0, -1.0])
    # clipped: -(-1) * (1 - 0.4) = 0.6 with zero gradient; inside: 0.7 with gradient -A * r = 0.7
    torch.testing.assert_close(loss, torch.tensor([0.6, 0.7], dtype=torch.float64))
    torch.testing.assert_close(grad, torch.tensor([0.0, 0.7], dtype=torch.float64))
    assert stats["clipfrac_q3"] == 0.5 and stats["clipfrac_q2"] == 0.0


def test_q4_negative_advantage_ratio_above_band_is_clipped_at_1_plus_eps_neg_high():
    loss, grad, stats = run([2.0, 1.25], [-1.0, -1.0])
    # clipped: 1 * (1 + 0.3) = 1.3 with zero gradient; PPO/GRPO would give 2.0 with gradient 2.0
    torch.testing.assert_close(loss, torch.tensor([1.3, 1.25], dtype=torch.float64))
    torch.testing.assert_close(grad, torch.tensor([0.0, 1.25], dtype=torch.float64))
    assert stats["clipfrac_q4"] == 0.5 and stats["clipfrac_q1"] == 0.0


def test_zero_advantage_has_zero_loss_and_gradient_and_is_never_counted_as_clipped():
    loss, grad, stats = run([5.0, 0.01, 1.0], [0.0, 0.0, 0.0])
    assert loss.abs().sum() == 0 and grad.abs().sum() == 0
    assert stats["clipfrac"] == 0.0


def test_masked_tokens_are_not_counted_and_an_all_masked_batch_gives_zero_stats():
    _, _, stats = run([1.5, 1.5, 1.0], [1.0, 1.0, 1.0], mask=[True, False, True])
    assert stats["clipfrac_q1"] == 0.5  # 1 clipped of 2 valid tokens; the masked 1.5 is ignored
    _, _, stats = run([1.5, 0.1], [1.0, -1.0], mask=[False, False])
    assert stats == {
        "clipfrac_q1": 0.0,
        "clipfrac_q2": 0.0,
        "clipfrac_q3": 0.0,
        "clipfrac_q4": 0.0,
        "clipfrac": 0.0,
        "ppo_kl": 0.0,
    }


def test_quadrant_fractions_add_up_to_the_total_and_ppo_kl_is_the_mean_negative_log_ratio():
    _, _, stats = run([1.5, 0.5, 0.5, 2.0, 1.0], [1.0, 1.0, -1.0, -1.0, 1.0])
    assert [stats[f"clipfrac_q{i}"] for i in (1, 2, 3, 4)] == pytest.approx([0.2] * 4)  # one token each of 5
    assert stats["clipfrac"] == pytest.approx(0.8)
    # ppo_kl = mean(-log r) = -(log 1.5 + 2 log 0.5 + log 2 + log 1) / 5 = -log(1.5 * 0.25 * 2) / 5 = -log(0.75) / 5
    assert stats["ppo_kl"] == pytest.approx(-math.log(0.75) / 5)


def test_log_ratio_is_clamped_to_20_like_verl():
    log_prob = torch.tensor([[100.0]], requires_grad=True)
    loss, _ = abc_loss(
        log_prob,
        torch.zeros(1, 1),
        torch.ones(1, 1),
        torch.ones(1, 1, dtype=torch.bool),
        ABCBounds(eps_pos_high=math.inf),
    )
    assert loss.item() == pytest.approx(-math.exp(20.0), rel=1e-6)  # not inf


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("eps_pos_high", 0.0),
        ("eps_pos_high", -0.1),
        ("eps_pos_low", 1.5),
        ("eps_neg_low", math.nan),
        ("eps_neg_high", "0.2"),
        ("eps_neg_low", math.inf),
        ("eps_pos_low", True),
    ],
)
def test_bad_widths_are_rejected_naming_key_and_value(name, value):
    with pytest.raises(ValueError, match=rf"{name}=.*{value!r}" if isinstance(value, str) else name):
        ABCBounds(**{name: value})


def test_upper_widths_may_be_infinite_and_lower_widths_may_be_one():
    bounds = ABCBounds(eps_pos_high=math.inf, eps_pos_low=1.0, eps_neg_high=math.inf, eps_neg_low=1.0)
    loss, grad, stats = run([50.0, 0.01], [1.0, -1.0], bounds=bounds)
    torch.testing.assert_close(loss, torch.tensor([-50.0, 0.01], dtype=torch.float64))
    assert stats["clipfrac"] == 0.0 and grad.abs().min() > 0

"""The paper-code GRPO advantage (R - mean) / (std + 1e-4), alone and as verl's estimator "grpo_paper"."""

import logging

import numpy as np
import pytest
import torch
from verl.trainer.ppo.core_algos import compute_grpo_outcome_advantage, get_adv_estimator_fn

from abc_verl.advantage import grpo_paper_advantage


def test_exact_values_per_group():
    scores = torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.5])
    group = torch.tensor([0, 0, 0, 0, 1, 1, 2])
    adv, n_flat = grpo_paper_advantage(scores, group)
    # group 0: mean 0.25, unbiased var = (0.75^2 + 3 * 0.25^2) / 3 = 0.25, std 0.5 -> 0.75 / 0.5001, -0.25 / 0.5001
    # group 1: all equal -> 0 (zero spread); group 2: one response -> 0
    expected = torch.tensor([0.75 / 0.5001, -0.25 / 0.5001, -0.25 / 0.5001, -0.25 / 0.5001, 0.0, 0.0, 0.0])
    torch.testing.assert_close(adv, expected)
    assert n_flat == 1  # group 1; a group of one is not counted as "zero spread"


def test_matches_verl_grpo_up_to_its_epsilon():
    """verl's grpo divides by std + 1e-6: scaling ours by (std + 1e-4) / (std + 1e-6) gives verl's exactly."""
    g = torch.Generator().manual_seed(0)
    scores = (torch.rand(64, generator=g) < 0.4).float()
    uid = np.array([f"prompt-{i // 8}" for i in range(64)], dtype=object)
    mask = torch.ones(64, 5)
    ours, _ = get_adv_estimator_fn("grpo_paper")(
        token_level_rewards=torch.nn.functional.pad(scores.unsqueeze(-1), (4, 0)),
        response_mask=mask,
        index=uid,
        config=None,
    )
    theirs, _ = compute_grpo_outcome_advantage(torch.nn.functional.pad(scores.unsqueeze(-1), (4, 0)), mask, uid)
    std = scores.view(8, 8).std(dim=1).repeat_interleave(8).unsqueeze(-1)
    torch.testing.assert_close(ours * (std + 1e-4) / (std + 1e-6), theirs)


def test_estimator_broadcasts_over_the_mask_and_logs_zero_spread_groups(caplog):
    rewards = torch.zeros(4, 3)
    rewards[0, 1] = 1.0  # outcome reward on the last valid token of row 0
    mask = torch.tensor([[1, 1, 0], [1, 1, 1], [1, 0, 0], [1, 1, 1]], dtype=torch.float32)
    uid = np.array(["a", "a", "b", "b"], dtype=object)
    with caplog.at_level(logging.INFO, logger="abc_verl.plugin"):
        adv, returns = get_adv_estimator_fn("grpo_paper")(
            token_level_rewards=rewards, response_mask=mask, index=uid, config=None
        )
    # group a: scores (1, 0), mean 0.5, std sqrt(0.5) = 0.7071 -> +-0.5 / 0.7072; group b: zero spread
    a = 0.5 / (0.5**0.5 + 1e-4)
    torch.testing.assert_close(adv, torch.tensor([[a, a, 0], [-a, -a, -a], [0, 0, 0], [0, 0, 0]]))
    assert torch.equal(adv, returns)
    assert "1 of 2 groups have zero reward spread" in caplog.text


def test_empty_reward_spread_count_is_zero_when_all_groups_differ():
    _, n_flat = grpo_paper_advantage(torch.tensor([1.0, 0.0, 0.0, 1.0]), torch.tensor([0, 0, 1, 1]))
    assert n_flat == 0


@pytest.mark.parametrize("value", [0.0, 1.0])
def test_all_equal_float_rewards_give_exact_zero(value):
    adv, n_flat = grpo_paper_advantage(torch.full((8,), value), torch.zeros(8, dtype=torch.long))
    assert torch.equal(adv, torch.zeros(8)) and n_flat == 1

"""Loss mode "abc" as verl calls it: the registry, every loss_agg_mode, rollout IS weights, micro-batch
splits, the GRPO limit against verl's own `vanilla`, and verl's `ppo_loss` wrapper."""

import math

import pytest
import torch
from verl.trainer.ppo.core_algos import get_policy_loss_fn
from verl.workers.config import ActorConfig, PolicyLossConfig

from abc_verl.config import ABCPolicyLossConfig

AGG_MODES = ["token-mean", "token-sum", "seq-mean-token-sum", "seq-mean-token-mean", "seq-mean-token-sum-norm"]


def actor_config(policy_loss=None, **kwargs) -> ActorConfig:
    policy_loss = ABCPolicyLossConfig() if policy_loss is None else policy_loss
    return ActorConfig(strategy="fsdp", rollout_n=1, ppo_micro_batch_size_per_gpu=1, policy_loss=policy_loss, **kwargs)


def small_batch():
    """Three rows of three tokens; row 1 is fully masked. Widths 0.2 everywhere.

    row 0: A=+1, ratios (1.5, 1.0)   -> losses -1.2 (Q1 clipped), -1.0
    row 2: A=-1, ratio 2.0           -> loss   +1.2 (Q4 clipped)
    """
    ratios = torch.tensor([[1.5, 1.0, 1.0], [0.1, 3.0, 1.0], [2.0, 1.0, 1.0]])
    adv = torch.tensor([[1.0] * 3, [1.0] * 3, [-1.0] * 3])
    mask = torch.tensor([[True, True, False], [False, False, False], [True, False, False]])
    return ratios.log().requires_grad_(), torch.zeros(3, 3), adv, mask


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("token-mean", (-1.2 - 1.0 + 1.2) / 3),  # 3 valid tokens
        ("token-sum", -1.2 - 1.0 + 1.2),
        ("seq-mean-token-sum", ((-1.2 - 1.0) + 1.2) / 2),  # 2 non-empty rows
        ("seq-mean-token-mean", ((-1.2 - 1.0) / 2 + 1.2 / 1) / 2),
        ("seq-mean-token-sum-norm", ((-1.2 - 1.0) + 1.2) / 2 / 3),  # divided by the horizon T = 3
    ],
)
def test_every_loss_agg_mode_with_an_all_masked_row(mode, expected):
    log_prob, old, adv, mask = small_batch()
    loss, metrics = get_policy_loss_fn("abc")(old, log_prob, adv, mask, mode, actor_config())
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert metrics["actor/abc/clipfrac_q1"] == pytest.approx(1 / 3)
    assert metrics["actor/abc/clipfrac_q4"] == pytest.approx(1 / 3)
    assert metrics["actor/pg_clipfrac"] == pytest.approx(2 / 3)


def test_rollout_is_weights_multiply_the_per_token_loss():
    log_prob, old, adv, mask = small_batch()
    weights = torch.tensor([[0.5, 2.0, 9.0], [9.0, 9.0, 9.0], [1.5, 9.0, 9.0]])  # 9.0 sits on masked tokens
    loss, _ = get_policy_loss_fn("abc")(old, log_prob, adv, mask, "token-sum", actor_config(), weights)
    assert loss.item() == pytest.approx(0.5 * -1.2 + 2.0 * -1.0 + 1.5 * 1.2)


def random_batch(seed: int, batch: int = 8, length: int = 16):
    g = torch.Generator().manual_seed(seed)
    old = -torch.rand(batch, length, generator=g) * 3
    log_prob = (old + 0.5 * torch.randn(batch, length, generator=g)).requires_grad_()  # many tokens leave the band
    adv = torch.randn(batch, 1, generator=g).expand(batch, length).contiguous()
    adv[0] = 0.0
    mask = torch.rand(batch, length, generator=g) < 0.8
    mask[1] = False
    return old, log_prob, adv, mask


@pytest.mark.parametrize("mode", AGG_MODES)
def test_grpo_limit_equals_verl_vanilla_without_dual_clip(mode):
    """eps_pos_low = 1 and eps_neg_high = inf open Q2 and Q4: ABC is then PPO/GRPO's clipped objective."""
    old, log_prob, adv, mask = random_batch(seed=0)
    abc = ABCPolicyLossConfig(eps_pos_high=0.2, eps_pos_low=1.0, eps_neg_high=math.inf, eps_neg_low=0.2)
    loss_abc, m_abc = get_policy_loss_fn("abc")(old, log_prob, adv, mask, mode, actor_config(abc))
    (grad_abc,) = torch.autograd.grad(loss_abc, log_prob)

    vanilla = actor_config(PolicyLossConfig(loss_mode="vanilla"), clip_ratio_c=1e9)
    loss_ref, m_ref = get_policy_loss_fn("vanilla")(old, log_prob, adv, mask, mode, vanilla)
    (grad_ref,) = torch.autograd.grad(loss_ref, log_prob)

    torch.testing.assert_close(loss_abc, loss_ref)
    torch.testing.assert_close(grad_abc, grad_ref)
    assert m_abc["actor/pg_clipfrac"] == pytest.approx(m_ref["actor/pg_clipfrac"])  # Q1 + Q3 in both
    assert m_abc["actor/ppo_kl"] == pytest.approx(m_ref["actor/ppo_kl"], rel=1e-5)
    assert m_abc["actor/pg_clipfrac"] > 0.1  # the comparison exercised clipping


def test_default_abc_differs_from_grpo_exactly_on_q2_and_q4_tokens():
    old, log_prob, adv, mask = random_batch(seed=1)
    loss_mat_mode = "token-sum"
    abc, _ = get_policy_loss_fn("abc")(old, log_prob, adv, mask, loss_mat_mode, actor_config())
    vanilla = actor_config(PolicyLossConfig(loss_mode="vanilla"), clip_ratio_c=1e9)
    ref, _ = get_policy_loss_fn("vanilla")(old, log_prob, adv, mask, loss_mat_mode, vanilla)
    ratio = (log_prob - old).exp().detach()
    q2 = (adv > 0) & (ratio < 0.8) & mask
    q4 = (adv < 0) & (ratio > 1.2) & mask
    # on Q2 ABC uses 0.8 where GRPO uses r; on Q4 ABC uses 1.2 where GRPO uses r: loss = -A * ratio used
    expected_gap = (-adv * 0.8 - -adv * ratio)[q2].sum() + (-adv * 1.2 - -adv * ratio)[q4].sum()
    assert q2.any() and q4.any()
    assert (abc - ref).item() == pytest.approx(expected_gap.item(), rel=1e-4)


@pytest.mark.parametrize("mode", AGG_MODES)
def test_micro_batch_split_gives_the_same_gradient_with_global_batch_info(mode):
    """verl's ppo_loss fills config.global_batch_info; the sum over micro-batches then equals the full batch."""
    old, log_prob, adv, mask = random_batch(seed=2)
    full_config = actor_config()
    full, _ = get_policy_loss_fn("abc")(old, log_prob, adv, mask, mode, full_config)
    (grad_full,) = torch.autograd.grad(full, log_prob)

    split_config = actor_config()
    split_config.global_batch_info.update(
        dp_size=1,
        batch_num_tokens=int(mask.sum()),
        global_batch_size=int((mask.sum(-1) > 0).sum()),
        loss_scale_factor=None,
    )
    total = sum(
        get_policy_loss_fn("abc")(old[s], log_prob[s], adv[s], mask[s], mode, split_config)[0]
        for s in (slice(0, 3), slice(3, 8))
    )
    (grad_split,) = torch.autograd.grad(total, log_prob)
    torch.testing.assert_close(total, full)
    torch.testing.assert_close(grad_split, grad_full)


def test_without_abc_config_the_widths_come_from_verls_clip_ratio_knobs():
    old, log_prob, adv, mask = random_batch(seed=3)
    plain = actor_config(PolicyLossConfig(loss_mode="abc"), clip_ratio_low=0.1, clip_ratio_high=0.3)
    explicit = ABCPolicyLossConfig(eps_pos_high=0.3, eps_pos_low=0.1, eps_neg_high=0.3, eps_neg_low=0.1)
    a, ma = get_policy_loss_fn("abc")(old, log_prob, adv, mask, "token-mean", plain)
    b, mb = get_policy_loss_fn("abc")(old, log_prob, adv, mask, "token-mean", actor_config(explicit))
    torch.testing.assert_close(a, b)
    assert ma == mb


def test_bad_clip_ratio_fallback_names_the_actor_key():
    old, log_prob, adv, mask = random_batch(seed=3)
    plain = actor_config(PolicyLossConfig(loss_mode="abc"), clip_ratio_low=1.5)
    with pytest.raises(ValueError, match=r"actor\.clip_ratio_low=1\.5"):
        get_policy_loss_fn("abc")(old, log_prob, adv, mask, "token-mean", plain)

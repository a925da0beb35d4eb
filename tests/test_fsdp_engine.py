"""Loss "abc" through verl's real FSDP2 training engine (FSDPEngineWithLMHead.train_batch) on CPU, around a
tiny random Qwen3: parameters move, the quadrant metrics come out exact, clipped rows give no gradient,
and micro-batch size 1 vs 2 gives the same update."""

import pytest
import torch

from abc_verl.check import engine as fsdp_engine
from abc_verl.config import ABCPolicyLossConfig


def params(engine) -> dict[str, torch.Tensor]:
    return {name: p.detach().full_tensor().clone() for name, p in engine.module.named_parameters()}


@pytest.fixture(scope="module")
def one_micro_batch_step(tiny_model_dir):
    engine = fsdp_engine.build_engine(tiny_model_dir, micro_batch_size=len(fsdp_engine.ROWS))
    batch = fsdp_engine.make_batch(engine)
    before = params(engine)
    result = fsdp_engine.train_step(engine, batch, fsdp_engine.abc_actor_config(micro_batch_size=6))
    return before, params(engine), result


def test_parameters_change_and_loss_and_grad_norm_are_finite(one_micro_batch_step):
    before, after, result = one_micro_batch_step
    changed = [name for name in before if not torch.equal(before[name], after[name])]
    assert len(changed) == len(before)
    assert torch.isfinite(torch.tensor([result.loss, result.grad_norm])).all() and result.grad_norm > 0


def test_quadrant_clip_fractions_are_exact_with_one_micro_batch(one_micro_batch_step):
    *_, result = one_micro_batch_step
    expected = fsdp_engine.expected_clip_fractions()  # e.g. q2 = 5 / 45: the shorter row of 45 valid tokens
    for q, fraction in expected.items():
        assert result.metrics[f"actor/abc/{'clipfrac_' + q}"] == pytest.approx(fraction, rel=1e-6)
    assert result.metrics["actor/pg_clipfrac"] == pytest.approx(sum(expected.values()), rel=1e-6)


def test_only_clipped_rows_gives_exactly_zero_gradient(tiny_model_dir):
    """Rows 0-3 are clipped in Q1..Q4 and row 5 has A = 0: without row 4 (inside the band) nothing moves."""
    engine = fsdp_engine.build_engine(tiny_model_dir, micro_batch_size=len(fsdp_engine.ROWS))
    batch = fsdp_engine.make_batch(engine)
    in_band = 4
    batch["advantages"] = torch.nested.as_nested_tensor(
        [a * (i != in_band) for i, a in enumerate(batch["advantages"].unbind())], layout=torch.jagged
    )
    before = params(engine)
    result = fsdp_engine.train_step(engine, batch, fsdp_engine.abc_actor_config(micro_batch_size=6))
    assert result.grad_norm == 0.0
    assert all(torch.equal(before[n], p) for n, p in params(engine).items())


def test_micro_batch_size_does_not_change_the_update(tiny_model_dir):
    updates = []
    for micro_batch_size in (1, 2):
        engine = fsdp_engine.build_engine(tiny_model_dir, micro_batch_size=micro_batch_size)
        batch = fsdp_engine.make_batch(engine)
        before = params(engine)
        config = fsdp_engine.abc_actor_config(ABCPolicyLossConfig(), micro_batch_size=micro_batch_size)
        result = fsdp_engine.train_step(engine, batch, config)
        updates.append(({n: p - before[n] for n, p in params(engine).items()}, result.grad_norm))
    (first, norm1), (second, norm2) = updates
    assert norm1 == pytest.approx(norm2, rel=1e-5)
    for name in first:  # Adam steps are ~lr = 1e-3; 2e-6 absorbs float32 summation order in near-zero gradients
        torch.testing.assert_close(first[name], second[name], rtol=1e-4, atol=2e-6)

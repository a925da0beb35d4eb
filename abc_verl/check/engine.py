"""Real training steps of a policy loss through verl's FSDP2 engine, on CPU, around a tiny random Qwen3.

Used by `abc-verl check` and the tests. Needs `VERL_PLATFORM=cpu` set before verl is first imported (the
plugin then registers abc_verl.cpu.platform) and a single-process gloo group (`init_single_process_group`).
The batch is built so that every quadrant has clipped tokens: old log-probs are the model's own log-probs
shifted per row, as if the policy had moved by that much since the rollout.

    python -m abc_verl.check.engine      # 3 steps of loss "abc" on a fresh tiny model (sets VERL_PLATFORM=cpu)
"""

import os
import tempfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch

from abc_verl.names import CLIPFRAC, QUADRANTS

# (advantage, shift of log pi - log pi_old) per row: one row clipped in each quadrant at widths 0.2, one row
# inside its band, one row with A = 0. exp(0.5) = 1.65 > 1.2 and exp(-0.5) = 0.61 < 0.8.
ROWS = ((1.0, 0.5), (1.0, -0.5), (-1.0, -0.5), (-1.0, 0.5), (1.0, 0.05), (0.0, 0.5))
ROW_QUADRANT = dict(enumerate(QUADRANTS))  # rows 0-3 are clipped in q1, q2, q3, q4
PROMPT_LEN, RESPONSE_LEN = 6, 8


@dataclass
class StepResult:
    loss: float
    grad_norm: float
    metrics: dict[str, float]


def init_single_process_group() -> None:
    """A one-rank gloo process group, as FSDP2 needs one; no-op when a group exists already."""
    import torch.distributed as dist

    if not dist.is_initialized():
        rendezvous = Path(tempfile.mkdtemp(prefix="abc_verl_pg_")) / "rendezvous"
        dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=0, world_size=1)


def build_engine(model_dir: str | Path, micro_batch_size: int = 2, lr: float = 1e-5) -> Any:
    """verl's FSDPEngineWithLMHead (strategy fsdp2) in fp32 with sdpa attention, ready to train."""
    from verl.trainer.config import CheckpointConfig
    from verl.workers.config import FSDPEngineConfig, FSDPOptimizerConfig, HFModelConfig
    from verl.workers.engine import EngineRegistry

    init_single_process_group()
    model_config = HFModelConfig(
        path=str(model_dir), override_config={"attn_implementation": "sdpa"}, use_remove_padding=True
    )
    engine_config = FSDPEngineConfig(
        strategy="fsdp2",
        forward_only=False,
        use_torch_compile=False,
        mixed_precision={"param_dtype": "fp32", "reduce_dtype": "fp32", "buffer_dtype": "fp32"},
        use_dynamic_bsz=False,
        micro_batch_size_per_gpu=micro_batch_size,
    )
    optimizer_config = FSDPOptimizerConfig(lr=lr, weight_decay=0.0, total_training_steps=100, clip_grad=1.0)
    engine = EngineRegistry.new(
        model_type="language_model",
        backend="fsdp2",
        model_config=model_config,
        engine_config=engine_config,
        optimizer_config=optimizer_config,
        checkpoint_config=CheckpointConfig(),
    )
    engine.initialize()
    return engine


def make_batch(engine: Any, seed: int = 0, rollout_is_weights: bool = False) -> Any:
    """A no-padding TensorDict as verl's actor worker hands it to the engine, with advantages and old log-probs
    (and truncated importance-sampling weights in [0.5, 2], as verl's rollout correction adds, when asked)."""
    from verl import DataProto
    from verl.utils.model import compute_position_id_with_mask
    from verl.workers.utils.padding import left_right_2_no_padding, no_padding_2_padding

    g = torch.Generator().manual_seed(seed)
    batch = len(ROWS)
    vocab = engine.model_config.hf_config.vocab_size
    input_ids = torch.randint(0, vocab, (batch, PROMPT_LEN + RESPONSE_LEN), generator=g)
    attention_mask = _attention_mask()
    response_mask = attention_mask[:, PROMPT_LEN:]
    fields = {
        "input_ids": input_ids,
        "prompts": input_ids[:, :PROMPT_LEN],
        "responses": input_ids[:, PROMPT_LEN:],
        "attention_mask": attention_mask,
        "position_ids": compute_position_id_with_mask(attention_mask),
        "response_mask": response_mask,
    }
    td = left_right_2_no_padding(DataProto.from_single_dict(fields).to_tensordict())
    _assign_worker_defaults(engine, td)
    log_probs = no_padding_2_padding(engine.infer_batch(td)["model_output"]["log_probs"], td)  # (B, T)

    advantages = torch.tensor([a for a, _ in ROWS]).unsqueeze(-1) * response_mask
    shifts = torch.tensor([s for _, s in ROWS]).unsqueeze(-1)
    fields.update(advantages=advantages.float(), old_log_probs=(log_probs - shifts).detach().float())
    if rollout_is_weights:
        fields["rollout_is_weights"] = (0.5 + 1.5 * torch.rand(response_mask.shape, generator=g)) * response_mask
    td = left_right_2_no_padding(DataProto.from_single_dict(fields).to_tensordict())
    _assign_worker_defaults(engine, td)
    return td


def _attention_mask() -> torch.Tensor:
    mask = torch.ones(len(ROWS), PROMPT_LEN + RESPONSE_LEN, dtype=torch.long)
    mask[0, :2] = 0  # a left-padded prompt
    mask[1, -3:] = 0  # a shorter response
    return mask


def _assign_worker_defaults(engine: Any, td: Any) -> None:
    """The non-tensor keys verl's TrainingWorker adds before calling the engine."""
    from verl.utils import tensordict_utils as tu

    tu.assign_non_tensor(
        td,
        global_batch_size=len(td),
        use_remove_padding=True,
        use_dynamic_bsz=False,
        micro_batch_size_per_gpu=engine.engine_config.micro_batch_size_per_gpu,
        max_token_len_per_gpu=engine.engine_config.max_token_len_per_gpu,
        use_fused_kernels=False,
        temperature=1.0,
    )


def train_step(engine: Any, td: Any, actor_config: Any) -> StepResult:
    """One optimizer step of verl's ppo_loss (and so of the configured policy loss) on the batch."""
    from verl.utils.metric import Metric
    from verl.workers.utils.losses import ppo_loss

    out = engine.train_batch(td, partial(ppo_loss, config=actor_config))
    metrics = {k: v.aggregate() if isinstance(v, Metric) else float(v) for k, v in out["metrics"].items()}
    return StepResult(loss=metrics.pop("actor/pg_loss"), grad_norm=metrics.pop("grad_norm"), metrics=metrics)


def expected_clip_fractions() -> dict[str, float]:
    """Each quadrant's share of the valid response tokens, by construction of ROWS (one micro-batch)."""
    tokens = _attention_mask()[:, PROMPT_LEN:].sum(-1)
    return {q: float(tokens[row] / tokens.sum()) for row, q in ROW_QUADRANT.items()}


def abc_actor_config(policy_loss: Any = None, micro_batch_size: int = 2) -> Any:
    from verl.workers.config import ActorConfig

    from abc_verl.config import ABCPolicyLossConfig

    return ActorConfig(
        strategy="fsdp2",
        rollout_n=1,
        ppo_micro_batch_size_per_gpu=micro_batch_size,
        policy_loss=policy_loss if policy_loss is not None else ABCPolicyLossConfig(),
    )


if __name__ == "__main__":
    os.environ.setdefault("VERL_PLATFORM", "cpu")
    from abc_verl.cpu.tiny import build_tiny_qwen3

    model = build_tiny_qwen3(tempfile.mkdtemp(prefix="abc_verl_tiny_"))
    engine = build_engine(model)
    batch = make_batch(engine)  # one rollout batch, several optimizer steps on it: the policy moves away
    for step in range(3):
        result = train_step(engine, batch, abc_actor_config())
        quadrants = " ".join(f"{q}={result.metrics[CLIPFRAC[q]]:.3f}" for q in ROW_QUADRANT.values())
        print(f"step {step}: loss={result.loss:+.4f} grad_norm={result.grad_norm:.4f} {quadrants}")

"""The arithmetic of abc_verl.check.memory: a model's shape, the recipe knobs it reads, and the bytes per GPU of
each part of each phase. The assumptions behind each formula are listed in memory.py's docstring."""

from dataclasses import dataclass
from typing import Any

GIB = 2**30
# the trainer's CUDA context and NCCL buffers, in every phase
TRAINER_OVERHEAD = 1.0 * GIB
# what vLLM keeps while asleep (level 2 frees only its weights and KV cache): CUDA context, CUDA graph pool
VLLM_ASLEEP = 0.5 * GIB
# inside vLLM's share: profiled activations, sampler and non-torch memory; CUDA graphs unless enforce_eager
VLLM_ACTIVATIONS = 2.0 * GIB
VLLM_CUDA_GRAPHS = 1.0 * GIB
DTYPE_BYTES = {"fp32": 4, "float32": 4, "bf16": 2, "bfloat16": 2, "fp16": 2, "float16": 2}
FP32 = 4
LOGIT_COPIES_WITH_GRAD = 3  # the logits, the saved row-wise log-softmax, their gradient
ENTROPY_CHUNK_COPIES = 3  # one fp32 chunk, its softmax and the product summed into the entropy
PREFETCHED_LAYERS = 2  # FSDP2 holds the layer computing and the next one, unsharded


@dataclass(frozen=True)
class ModelShape:
    """The sizes of a decoder-only model (Qwen3 and alike) that memory depends on."""

    name: str
    vocab: int
    hidden: int
    layers: int
    intermediate: int
    heads: int
    kv_heads: int
    head_dim: int
    tied: bool

    @classmethod
    def from_config(cls, name: str, cfg: dict) -> "ModelShape":
        heads = int(cfg["num_attention_heads"])
        return cls(
            name=name,
            vocab=int(cfg["vocab_size"]),
            hidden=int(cfg["hidden_size"]),
            layers=int(cfg["num_hidden_layers"]),
            intermediate=int(cfg["intermediate_size"]),
            heads=heads,
            kv_heads=int(cfg.get("num_key_value_heads") or heads),
            head_dim=int(cfg.get("head_dim") or int(cfg["hidden_size"]) // heads),
            tied=bool(cfg.get("tie_word_embeddings", False)),
        )

    @property
    def layer_params(self) -> int:
        h, q, kv = self.hidden, self.heads * self.head_dim, self.kv_heads * self.head_dim
        attention = h * q + 2 * h * kv + q * h
        norms = 2 * h + 2 * self.head_dim  # input / post-attention RMSNorm, Qwen3's q / k norms
        return attention + 3 * h * self.intermediate + norms

    @property
    def embedding_params(self) -> int:
        return self.vocab * self.hidden * (1 if self.tied else 2)

    @property
    def params(self) -> int:
        return self.embedding_params + self.layers * self.layer_params + self.hidden

    def kv_bytes_per_token(self, tp: int = 1) -> float:
        """bf16 K and V of every layer for one token, per tensor-parallel rank."""
        return 2 * self.layers * self.kv_heads * self.head_dim * 2 / tp

    def layer_activation_bytes_per_token(self, dtype_bytes: int) -> int:
        """What one decoder layer saves for backward per token: norms' inputs and outputs, q / k / v and their
        normed, rotated copies, attention output, residual, MLP gate, up, activation and product."""
        h, q, kv, i = self.hidden, self.heads * self.head_dim, self.kv_heads * self.head_dim, self.intermediate
        return dtype_bytes * (5 * h + 4 * q + 3 * kv + 4 * i)


@dataclass(frozen=True)
class Knobs:
    """The composed recipe's knobs the estimate reads."""

    gpus_per_node: int
    fsdp_size: int
    param_offload: bool
    optimizer_offload: bool
    offload_policy: bool
    param_bytes: int
    compute_bytes: int
    fused_adam: bool
    checkpointing: bool
    train_tokens: int
    log_prob_tokens: int
    max_seq_len: int
    entropy_in_training: bool
    entropy_chunk: int
    several_micro_batches: bool
    gpu_memory_utilization: float
    tp: int
    enforce_eager: bool

    @classmethod
    def from_config(cls, config: Any) -> "Knobs":
        arr, trainer, data = config.actor_rollout_ref, config.trainer, config.data
        actor, rollout, fsdp = arr.actor, arr.rollout, arr.actor.fsdp_config
        n_gpus = int(trainer.n_gpus_per_node) * int(trainer.nnodes)
        seq = int(data.max_prompt_length) + int(data.max_response_length)
        dynamic = bool(actor.use_dynamic_bsz)
        train = (
            max(int(actor.ppo_max_token_len_per_gpu), seq) if dynamic else int(actor.ppo_micro_batch_size_per_gpu) * seq
        )
        lp_dynamic = bool(rollout.get("log_prob_use_dynamic_bsz", dynamic))
        lp_tokens = (
            max(int(rollout.log_prob_max_token_len_per_gpu), seq)
            if lp_dynamic
            else int(rollout.log_prob_micro_batch_size_per_gpu or 1) * seq
        )
        mixed = fsdp.get("mixed_precision") or {}
        override = actor.optim.get("override_optimizer_config") or {}
        chunked = bool(actor.get("entropy_from_logits_with_chunking", False))
        return cls(
            gpus_per_node=int(trainer.n_gpus_per_node),
            fsdp_size=n_gpus if int(fsdp.get("fsdp_size", -1)) <= 0 else int(fsdp.fsdp_size),
            param_offload=bool(fsdp.param_offload),
            optimizer_offload=bool(fsdp.optimizer_offload),
            offload_policy=bool(fsdp.get("offload_policy", False)),
            param_bytes=DTYPE_BYTES[str(fsdp.get("model_dtype") or "fp32")],
            compute_bytes=DTYPE_BYTES[str(mixed.get("param_dtype", "bf16"))],
            fused_adam=bool(override.get("fused", False)),
            checkpointing=bool(arr.model.get("enable_gradient_checkpointing", False)),
            train_tokens=train,
            log_prob_tokens=lp_tokens,
            max_seq_len=seq,
            entropy_in_training=bool(actor.get("calculate_entropy", False)) or float(actor.entropy_coeff) != 0,
            entropy_chunk=int(fsdp.get("entropy_from_logits_chunk_size", 2048)) if chunked else 0,
            several_micro_batches=bool(fsdp.get("use_no_sync_for_gradient_accumulation", True)),
            gpu_memory_utilization=float(rollout.gpu_memory_utilization),
            tp=int(rollout.get("tensor_model_parallel_size", 1)),
            enforce_eager=bool(rollout.get("enforce_eager", False)),
        )

    @property
    def host_bytes_per_param(self) -> int:
        """Bytes per parameter each GPU process keeps on the host (before sharding)."""
        if self.offload_policy:  # parameters, gradients, moments, and the step's temporary on the CPU
            return self.param_bytes * (4 if self.fused_adam else 5)
        return self.param_bytes * (int(self.param_offload) + 2 * int(self.optimizer_offload))


def token_bytes(shape: ModelShape, knobs: Knobs, with_grad: bool) -> dict[str, float]:
    """Bytes per token of a micro-batch: activations, logits (and the unchunked entropy's two logit-size copies)."""
    c = knobs.compute_bytes
    if with_grad:
        saved = shape.layers * shape.hidden * c if knobs.checkpointing else 0
        layers = 1 if knobs.checkpointing else shape.layers
        acts = saved + layers * shape.layer_activation_bytes_per_token(c)
        logits = LOGIT_COPIES_WITH_GRAD * shape.vocab * c
        entropy = knobs.entropy_in_training
    else:
        acts, logits, entropy = shape.layer_activation_bytes_per_token(c), shape.vocab * c, True
    if entropy and not knobs.entropy_chunk:
        logits += 2 * shape.vocab * c
    return {"activations": acts, "logits": logits}


def phase_parts(shape: ModelShape, knobs: Knobs, gpu_gib: float) -> dict[str, dict[str, float]]:
    """Bytes per GPU of each part of each phase, keyed by the phase names of memory.PHASES."""
    p, n, b = shape.params, knobs.fsdp_size, knobs.param_bytes
    on_gpu = not knobs.offload_policy
    state = {
        "state: parameters": p * b / n * on_gpu,
        "state: gradients": p * b / n * on_gpu,
        "state: AdamW moments": 2 * p * b / n * on_gpu,
    }
    gathered = (shape.embedding_params + PREFETCHED_LAYERS * shape.layer_params) * knobs.compute_bytes
    chunk = ENTROPY_CHUNK_COPIES * knobs.entropy_chunk * shape.vocab * FP32
    deferred = p * FP32 if n > 1 and knobs.several_micro_batches else 0
    asleep = VLLM_ASLEEP + (0 if knobs.enforce_eager else VLLM_CUDA_GRAPHS)
    fwd_bwd = {
        "overhead": TRAINER_OVERHEAD,
        "vLLM asleep": asleep,
        **state,
        "unsharded gradients (deferred sync)": deferred,
        "gathered layers": gathered,
        **{k: knobs.train_tokens * v for k, v in token_bytes(shape, knobs, with_grad=True).items()},
        "entropy chunks": chunk if knobs.entropy_in_training else 0,
    }
    temp = p * b / n * (on_gpu and not knobs.fused_adam)
    opt_step = {"overhead": TRAINER_OVERHEAD, "vLLM asleep": asleep, **state, "AdamW foreach temporary": temp}
    log_prob = {
        "overhead": TRAINER_OVERHEAD,
        "vLLM asleep": asleep,
        "state: parameters": state["state: parameters"],
        "state: AdamW moments": state["state: AdamW moments"] * (not knobs.optimizer_offload),
        "gathered layers": gathered,
        **{k: knobs.log_prob_tokens * v for k, v in token_bytes(shape, knobs, with_grad=False).items()},
        "entropy chunks": chunk,
    }
    rollout = {
        "overhead": TRAINER_OVERHEAD,
        "state: parameters": state["state: parameters"] * (not knobs.param_offload),
        "state: AdamW moments": state["state: AdamW moments"] * (not knobs.optimizer_offload),
        "vLLM share": knobs.gpu_memory_utilization * gpu_gib * GIB,
    }
    return {"actor fwd/bwd": fwd_bwd, "optimizer step": opt_step, "rollout": rollout, "log-prob": log_prob}


def vllm_split(shape: ModelShape, knobs: Knobs, gpu_gib: float) -> tuple[float, float, float]:
    """vLLM's share in bytes: (bf16 weights per rank, activations + graphs, what is left for the KV cache)."""
    share = knobs.gpu_memory_utilization * gpu_gib * GIB
    weights = shape.params * 2 / knobs.tp
    overhead = VLLM_ACTIVATIONS + (0 if knobs.enforce_eager else VLLM_CUDA_GRAPHS)
    return weights, overhead, share - weights - overhead

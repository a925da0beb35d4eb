"""Per-GPU memory estimate of a composed recipe, phase by phase, for `abc-verl check RECIPE --gpu-memory GIB`.

    from abc_verl.check.memory import estimate
    est = estimate(config, gpu_memory_gib=80)     # config: the composed recipe (abc_verl.check.recipes)
    est.phases["optimizer step"].gib, est.problems  # GiB per phase; each phase over the GPU, naming its knob

The model's shape comes from abc_verl/check/models.json (Qwen3-1.7B-Base, Qwen3-4B-Base) or from the config.json
of a local `actor_rollout_ref.model.path`. The arithmetic (formulas in memory_parts.py), read off verl 0.9.1, torch
2.11 and vLLM 0.24.0, rests on these assumptions, each an upper bound where the truth depends on the run:
  - FSDP2 shards the fp32 parameters (fsdp_config.model_dtype), their fp32 gradients and AdamW's two fp32
    moments over the FSDP group (fsdp_size, -1: every GPU): 16 B/param over N GPUs. In the training phase
    verl moves parameters and optimizer state onto the GPU even when param_offload / optimizer_offload are set
    (workers/engine/base.py, BaseEngineCtx); those two keys free the GPU only during rollout. FSDP2's own
    `offload_policy` keeps all three on the host, where the optimizer step then runs.
  - With more than one GPU and fsdp_config.use_no_sync_for_gradient_accumulation (false in verl's trainer yaml,
    so in every shipped recipe), FSDP2 keeps fp32 unsharded gradients until the last micro-batch: 4 B/param more.
    Gradients are freed after each step (zero_grad sets them to None): rollout and log-prob passes hold none.
  - Forward/backward holds the unsharded bf16 embedding (and lm_head when not tied) and two decoder layers
    (the one computing, the next prefetched); with gradient checkpointing each layer's bf16 input
    (tokens x hidden) is saved and one layer's activations are recomputed at a time.
  - The logits (tokens x vocab, in the compute dtype) count three times with a gradient (the logits, verl's
    saved row-wise log-softmax without flash-attn's fused cross-entropy, their gradient) and once without;
    entropy adds 3 fp32 chunks of entropy_from_logits_chunk_size tokens, or two full copies unchunked. verl
    computes entropy in the log-prob passes always, in training only with a non-zero entropy_coeff.
  - Tokens per micro-batch: the token budget with use_dynamic_bsz (at least one full-length sequence), else
    micro-batch size x (max_prompt_length + max_response_length).
  - torch's foreach AdamW allocates a temporary the size of the sharded parameters (torch/optim/adam.py,
    _multi_tensor_adam); `optim.override_optimizer_config: {fused: true}` does without it.
  - Rollout: vLLM takes gpu_memory_utilization x the GPU's memory (its whole process) beside what the trainer
    keeps resident; its bf16 weights, ~2 GiB of profiled activations and non-torch memory and ~1 GiB of CUDA
    graphs (unless enforce_eager) come out of it, the rest is KV cache, which must hold one
    max_prompt_length + max_response_length sequence or vLLM refuses to start.
  - Every trainer phase adds 1 GiB for the trainer's CUDA context and NCCL buffers, and what vLLM keeps asleep
    (sleep level 2 frees weights and KV cache only): 0.5 GiB of CUDA context, 1 GiB of CUDA graphs.
  - A phase may fill 90% of the GPU (USABLE_FRACTION): the rest is left to the caching allocator's fragmentation.
  - Host memory per node: what is offloaded, per GPU process, times GPUs per node (pinned).
"""

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from abc_verl.check.errors import CheckFailed, Skip
from abc_verl.check.memory_parts import GIB, Knobs, ModelShape, phase_parts, token_bytes, vllm_split

MODELS_FILE = Path(__file__).with_name("models.json")
DEFAULT_GPU_GIB = 80.0  # what the paper recipes assume (8 x 80 GB)
# a phase may fill this much of the GPU: the rest is the caching allocator's fragmentation, which grows with
# micro-batches of varying sizes (use_dynamic_bsz)
USABLE_FRACTION = 0.9
FWD_BWD, OPT_STEP, ROLLOUT, LOG_PROB = "actor fwd/bwd", "optimizer step", "rollout", "log-prob"
PHASES = (FWD_BWD, OPT_STEP, ROLLOUT, LOG_PROB)
TRAIN_TOKENS_KEY = "actor_rollout_ref.actor.ppo_max_token_len_per_gpu"
LOG_PROB_TOKENS_KEY = "actor_rollout_ref.rollout.log_prob_max_token_len_per_gpu"
UTIL_KEY = "actor_rollout_ref.rollout.gpu_memory_utilization"
FUSED_KEY = "actor_rollout_ref.actor.optim.override_optimizer_config"
OFFLOAD_POLICY_KEY = "actor_rollout_ref.actor.fsdp_config.offload_policy"
OFFLOAD_KEYS = "actor_rollout_ref.actor.fsdp_config.param_offload / optimizer_offload"


@dataclass(frozen=True)
class Phase:
    """One phase's estimated peak per GPU: its parts in GiB and their sum."""

    name: str
    parts: dict[str, float]

    @property
    def gib(self) -> float:
        return sum(self.parts.values())


@dataclass(frozen=True)
class MemoryEstimate:
    """What `estimate` returns: per-GPU GiB of each phase (`phases[name].gib`, names in PHASES), vLLM's KV cache
    in tokens, host memory per node for what is offloaded, and `problems`: one line per phase over the GPU (or a
    vLLM share too small), naming the knob to turn and by how much; empty when the recipe fits."""

    model: str
    params: int
    gpu_memory_gib: float
    phases: dict[str, Phase]
    kv_cache_tokens: int
    host_gib_per_node: float
    problems: list[str]

    @property
    def peak_gib(self) -> float:
        return max(p.gib for p in self.phases.values())


def load_shape(model_path: str) -> ModelShape:
    """The shape of a shipped model (by its Hugging Face id) or of a local directory's config.json."""
    shipped = json.loads(MODELS_FILE.read_text())
    if model_path in shipped:
        return ModelShape.from_config(model_path, shipped[model_path])
    local = Path(model_path).expanduser() / "config.json"
    if local.is_file():
        return ModelShape.from_config(model_path, json.loads(local.read_text()))
    raise CheckFailed(
        f"actor_rollout_ref.model.path={model_path!r}: no shape for the memory estimate (shipped: "
        f"{', '.join(sorted(shipped))}; else a local directory with a config.json)"
    )


def model_shape(config: Any) -> ModelShape:
    """load_shape of the recipe's model; Skip for a local model that is not here: a CPU recipe's launcher builds
    it, and a GPU recipe's may exist on the GPU nodes only (checked there: abc_verl.check.host, `model`)."""
    from abc_verl.check.host import gpu_visible

    path = str(config.actor_rollout_ref.model.path)
    try:
        return load_shape(path)
    except CheckFailed:
        if Path(path).expanduser().exists():
            raise
        if config.trainer.get("device", "cuda") == "cpu":
            raise Skip(f"actor_rollout_ref.model.path={path!r} does not exist yet: its launcher builds it") from None
        if not gpu_visible() and path.startswith(("/", ".", "~")):
            raise Skip(f"actor_rollout_ref.model.path={path!r} is not on this machine (no GPU here)") from None
        raise


def estimate(config: Any, gpu_memory_gib: float = DEFAULT_GPU_GIB) -> MemoryEstimate:
    """Estimated peak GiB per GPU of each phase of the composed recipe `config` on GPUs of `gpu_memory_gib`."""
    shape = load_shape(str(config.actor_rollout_ref.model.path))
    knobs = Knobs.from_config(config)
    parts = phase_parts(shape, knobs, gpu_memory_gib)
    phases = {name: Phase(name, {k: v / GIB for k, v in parts[name].items() if v}) for name in PHASES}
    weights, overhead, kv = vllm_split(shape, knobs, gpu_memory_gib)
    kv_tokens = max(0, int(kv // shape.kv_bytes_per_token(knobs.tp)))
    usable = USABLE_FRACTION * gpu_memory_gib
    problems = [
        f"{name}: {phase.gib:.1f} GiB > {usable:.1f} GiB usable ({USABLE_FRACTION:.0%} of {gpu_memory_gib:g}) by "
        f"{phase.gib - usable:.1f} GiB; " + _fix(phase, phase.gib - usable, shape, knobs, usable)
        for name, phase in phases.items()
        if phase.gib > usable
    ]
    if kv_tokens < knobs.max_seq_len:
        need = (weights + overhead + knobs.max_seq_len * shape.kv_bytes_per_token(knobs.tp)) / GIB
        problems.append(
            f"rollout: vLLM's KV cache holds {kv_tokens} tokens, under one {knobs.max_seq_len}-token sequence "
            f"(vLLM refuses to start): raise {UTIL_KEY} from {knobs.gpu_memory_utilization:g} to "
            f"{math.ceil(100 * need / gpu_memory_gib) / 100:.2f}"
        )
    host = knobs.gpus_per_node * shape.params * knobs.host_bytes_per_param / knobs.fsdp_size / GIB
    return MemoryEstimate(shape.name, shape.params, gpu_memory_gib, phases, kv_tokens, host, problems)


def _fix(phase: Phase, excess: float, shape: ModelShape, knobs: Knobs, usable: float) -> str:
    """The knob that takes `excess` GiB off the phase, and its new value; else offloading the training state."""
    state = sum(v for k, v in phase.parts.items() if k.startswith("state"))
    offload = f"set {OFFLOAD_POLICY_KEY}=true (keeps {state:.1f} GiB of training state on the host)"
    if phase.name == OPT_STEP:
        temp = phase.parts.get("AdamW foreach temporary", 0.0)
        fused = f"set {FUSED_KEY}={{fused: true}} (saves {temp:.1f} GiB)"
        return fused if temp >= excess else f"{offload}; or {fused} for part of it"
    if phase.name == ROLLOUT:
        gpu = usable / USABLE_FRACTION
        util = math.floor(100 * (usable - (phase.gib - phase.parts["vLLM share"])) / gpu) / 100
        frees = f"set {OFFLOAD_KEYS}=true (frees {state:.1f} GiB while vLLM generates)"
        weights, overhead, _ = vllm_split(shape, knobs, gpu)
        if util * gpu * GIB < weights + overhead + knobs.max_seq_len * shape.kv_bytes_per_token(knobs.tp):
            return frees  # a smaller share would not hold vLLM's weights and one sequence
        return f"lower {UTIL_KEY} from {knobs.gpu_memory_utilization:g} to {util:.2f}, or {frees}"
    key, tokens = (
        (TRAIN_TOKENS_KEY, knobs.train_tokens)
        if phase.name == FWD_BWD
        else (LOG_PROB_TOKENS_KEY, knobs.log_prob_tokens)
    )
    per_token = sum(token_bytes(shape, knobs, with_grad=phase.name == FWD_BWD).values()) / GIB
    fewer = 1024 * math.floor((tokens - excess / per_token) / 1024)
    if fewer >= knobs.max_seq_len:
        return f"lower {key} from {tokens} to {fewer} ({per_token * 2**20:.0f} MiB per 1,024 tokens)"
    return f"{offload} (at {knobs.max_seq_len} tokens, one full sequence, {key} cannot go lower)"


def report(est: MemoryEstimate) -> str:
    """The estimate as `abc-verl check` prints it: one line per phase with its largest parts."""
    lines = [
        f"{est.model} ({est.params / 1e9:.2f}e9 params), per GPU of {est.gpu_memory_gib:g} GiB "
        f"(peak {est.peak_gib:.1f}); vLLM KV cache ~{est.kv_cache_tokens:,} tokens; "
        f"host memory for offloaded state {est.host_gib_per_node:.1f} GiB per node"
    ]
    for phase in est.phases.values():
        top = sorted(phase.parts.items(), key=lambda kv: -kv[1])
        lines.append(f"{phase.name:<15}{phase.gib:6.1f} GiB = " + " + ".join(f"{k} {v:.1f}" for k, v in top))
    return "\n".join(lines)


def check_memory(config: Any, gpu_memory_gib: float | None = None) -> str:
    """`abc-verl check`'s memory stage: the estimate's lines; CheckFailed naming each knob when a phase is over."""
    if config.trainer.get("device", "cuda") == "cpu":
        raise Skip("CPU recipe (trainer.device=cpu): no GPU memory to estimate")
    model_shape(config)  # Skip where the model is not here to size
    gpu = visible_gpu_gib() if gpu_memory_gib is None else gpu_memory_gib
    est = estimate(config, gpu)
    text = report(est).replace("\n", "\n        ")
    if est.problems:
        raise CheckFailed("; ".join(est.problems) + "\n        " + text)
    return text


def visible_gpu_gib() -> float:
    """The first visible GPU's memory in GiB, else DEFAULT_GPU_GIB (what the paper recipes assume)."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.get_device_properties(0).total_memory / GIB
    return DEFAULT_GPU_GIB

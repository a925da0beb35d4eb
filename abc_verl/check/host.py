"""First-minute checks of `abc-verl check`: what would stop a GPU recipe on its node soon after launch, found before
Ray starts. Each returns a PASS detail or raises CheckFailed / Skip (abc_verl.check.launch runs them in order):

  gpu arch    every visible GPU has compute capability >= 8.0 where the recipe computes in bf16
  shm         /dev/shm holds what Ray's object store and vLLM's / NCCL's shared memory need (Docker gives 64 MB)
  compiler    a C compiler and Python.h, which Triton needs to build its launcher at the first kernel
  model       the model is a local directory, in the Hugging Face cache, or reachable (HF_HUB_OFFLINE honoured)
  disk        free space where the checkpoints go for the saves the recipe keeps (size per save from the model)
  host memory MemAvailable holds the training state the recipe offloads (abc_verl.check.memory)

On a machine without GPU each says what the GPU node needs (SKIP): its own disk, memory and toolchain are not the
node's. The logical CPUs Ray will ask for are launch.py's `ray cpus` check.
"""

import os
import shutil
import sysconfig
from pathlib import Path
from typing import Any

from abc_verl.check.errors import CheckFailed, Skip
from abc_verl.check.memory_parts import GIB

MODEL_KEY = "actor_rollout_ref.model.path"
SHM = "/dev/shm"
MIN_SHM_GIB = 1.0  # Ray falls back to slow /tmp below its object store size; NCCL and vLLM fail far below 1 GiB
# bytes per parameter of each part of verl's FSDP actor checkpoint (actor.checkpoint.save_contents): fp32
# parameters, AdamW's two fp32 moments, and the bf16 Hugging Face weights
SAVE_BYTES_PER_PARAM = {"model": 4, "optimizer": 8, "hf_model": 2}


def gpu_visible() -> bool:
    import torch

    return torch.cuda.is_available()


def _on_gpu_node(config: Any, need: str) -> None:
    """Skip unless this is the GPU node (a GPU visible, or a CPU recipe, whose node this is)."""
    if config.trainer.get("device", "cuda") != "cpu" and not gpu_visible():
        raise Skip(f"no GPU here: the GPU nodes need {need}")


def device_capabilities() -> list[tuple[str, tuple[int, int]]]:
    """(name, compute capability) of each visible GPU."""
    import torch

    return [
        (torch.cuda.get_device_name(i), torch.cuda.get_device_capability(i)) for i in range(torch.cuda.device_count())
    ]


def uses_bf16(config: Any) -> bool:
    fsdp = config.actor_rollout_ref.actor.fsdp_config
    param_dtype = (fsdp.get("mixed_precision") or {}).get("param_dtype", "bf16")
    return "bf" in str(param_dtype) or "bf" in str(config.actor_rollout_ref.rollout.get("dtype", "bfloat16"))


def check_gpu_arch(config: Any) -> str:
    if config.trainer.get("device", "cuda") == "cpu":
        return "CPU recipe: no GPU used"
    if not gpu_visible():
        raise Skip("no GPU here: the GPU nodes need compute capability >= 8.0 (A100, H100, L40...) for bf16")
    found = device_capabilities()
    old = [f"GPU {i} {name} ({cap[0]}.{cap[1]})" for i, (name, cap) in enumerate(found) if cap < (8, 0)]
    if old and uses_bf16(config):
        raise CheckFailed(
            f"{', '.join(old)}: compute capability below 8.0 has no bf16, which the recipe computes in "
            "(actor_rollout_ref.actor.fsdp_config.mixed_precision.param_dtype, actor_rollout_ref.rollout.dtype); "
            "use GPUs of 8.0 or newer"
        )
    return f"{len(found)} GPU(s) of compute capability {', '.join(sorted({f'{c[0]}.{c[1]}' for _, c in found}))}"


def shm_bytes() -> int:
    """The size of /dev/shm (0 where there is none)."""
    return shutil.disk_usage(SHM).total if Path(SHM).exists() else 0


def check_shm(config: Any) -> str:
    if config.trainer.get("device", "cuda") == "cpu":
        if config.actor_rollout_ref.rollout.name != "vllm":
            return "CPU recipe: no vLLM or NCCL; Ray falls back to /tmp when /dev/shm is small"
        return _cpu_weight_sync_shm(config)
    _on_gpu_node(config, f"{SHM} of {MIN_SHM_GIB:g} GiB or more (docker run --shm-size=16g, or --ipc=host)")
    size = shm_bytes() / GIB
    if size < MIN_SHM_GIB:
        raise CheckFailed(
            f"{SHM} is {size * 1024:.0f} MiB (Docker's default is 64 MB): Ray's object store, vLLM and NCCL need "
            f"{MIN_SHM_GIB:g} GiB or more; run the container with --shm-size=16g (or --ipc=host)"
        )
    return f"{SHM}: {size:.1f} GiB"


def _cpu_weight_sync_shm(config: Any) -> str:
    """verl's vLLM weight sync on CPU (no CUDA IPC) sends each bucket through a /dev/shm segment of the bucket's size
    (workers/rollout/vllm_rollout/bucketed_weight_transfer.py, use_shm)."""
    key = "actor_rollout_ref.rollout.checkpoint_engine.update_weights_bucket_megabytes"
    bucket_mib = int(config.actor_rollout_ref.rollout.checkpoint_engine.update_weights_bucket_megabytes)
    size_mib = shm_bytes() / 2**20
    if size_mib < bucket_mib:
        raise CheckFailed(
            f"{SHM} is {size_mib:.0f} MiB, under {key}={bucket_mib}: verl's weight sync into vLLM on CPU passes "
            f"each bucket through {SHM}; lower the key or run the container with --shm-size"
        )
    return f"CPU recipe with vLLM: weight-sync buckets of {bucket_mib} MiB in {SHM} ({size_mib / 1024:.1f} GiB)"


def c_compiler() -> str | None:
    """The C compiler Triton would use: $CC, else cc, gcc or clang on PATH (as triton's build does)."""
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def python_header() -> Path:
    return Path(sysconfig.get_paths()["include"]) / "Python.h"


def check_compiler(config: Any) -> str:
    if config.trainer.get("device", "cuda") == "cpu":
        return "CPU recipe: no Triton kernels"
    _on_gpu_node(config, "a C compiler and Python headers for Triton (apt-get install build-essential python3-dev)")
    cc, header = c_compiler(), python_header()
    missing = ([] if cc else ["a C compiler (cc, gcc or clang; or set CC)"]) + (
        [] if header.is_file() else [f"the Python headers ({header})"]
    )
    if missing:
        raise CheckFailed(
            f"Triton builds a small C launcher at the first GPU kernel and needs {' and '.join(missing)}: "
            "apt-get install build-essential python3-dev (the -dev package of this Python's version)"
        )
    return f"{cc}, {header}"


def cached_in_hf(repo_id: str) -> bool:
    """The model's config.json is in the local Hugging Face cache (HF_HOME / HF_HUB_CACHE honoured)."""
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)


def hf_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in ("1", "ON", "YES", "TRUE")


def reachable_on_hub(repo_id: str) -> str | None:
    """None when the hub answers for the model's config.json, else why not (the network is touched here only)."""
    from huggingface_hub import file_exists

    try:
        return None if file_exists(repo_id, "config.json") else "the hub has no such model"
    except Exception as e:  # no network, a proxy, a gated repo without a token...
        return f"{type(e).__name__}: {e}"


def check_model(config: Any) -> str:
    path = str(config.actor_rollout_ref.model.path)
    local = Path(path).expanduser()
    if local.is_dir() or path.startswith(("/", ".", "~")):
        if (local / "config.json").is_file():
            return f"{MODEL_KEY}={path!r}: a local model"
        if config.trainer.get("device", "cuda") == "cpu":
            raise Skip(f"{MODEL_KEY}={path!r} does not exist yet: the CPU recipe's launcher builds it")
        _on_gpu_node(config, f"{path}/config.json (a local model)")
        raise CheckFailed(f"{MODEL_KEY}={path!r}: no config.json there")
    _on_gpu_node(config, f"{path} in their Hugging Face cache, or the hub reachable")
    if cached_in_hf(path):
        return f"{MODEL_KEY}={path!r}: in the Hugging Face cache"
    download = f"huggingface-cli download {path} on a machine with network, into the same HF_HOME"
    if hf_offline():
        raise CheckFailed(
            f"{MODEL_KEY}={path!r} is not in the Hugging Face cache and HF_HUB_OFFLINE is set: {download}"
        )
    why = reachable_on_hub(path)
    if why is not None:
        raise CheckFailed(f"{MODEL_KEY}={path!r} is not in the Hugging Face cache nor reachable ({why}): {download}")
    return f"{MODEL_KEY}={path!r}: not cached, reachable on the Hugging Face hub (each node downloads it)"


def checkpoint_need(config: Any, params: int) -> tuple[float, int]:
    """(bytes per save, saves kept on disk at once) of the recipe's actor checkpoints."""
    trainer, checkpoint = config.trainer, config.actor_rollout_ref.actor.checkpoint
    contents = set(checkpoint.get("save_contents") or [])
    per_param = sum(n for part, n in SAVE_BYTES_PER_PARAM.items() if part in contents)
    per_save = params * per_param
    steps, freq = trainer.get("total_training_steps"), int(trainer.get("save_freq") or -1)
    saves = -(-int(steps) // freq) if steps and freq > 0 else None
    keep = trainer.get("max_actor_ckpt_to_keep")
    kept = [n for n in (saves, keep) if n]
    return per_save, max(1, min(kept)) if kept else 1


def free_disk(path: Path) -> float:
    """Free bytes on the filesystem `path` will be on (its nearest existing parent)."""
    while not path.exists():
        path = path.parent
    return shutil.disk_usage(path).free


def check_disk(config: Any) -> str:
    from abc_verl.check.memory import model_shape

    per_save, kept = checkpoint_need(config, model_shape(config).params)
    need, saves = per_save * kept, f"{kept} save(s) of {per_save / GIB:.1f} GiB"
    _on_gpu_node(config, f"{need / GIB:.1f} GiB free for the checkpoints ({saves}) at trainer.default_local_dir")
    where = Path(str(config.trainer.default_local_dir)).expanduser().absolute()
    free = free_disk(where)
    if free < need:
        raise CheckFailed(
            f"trainer.default_local_dir={str(where)!r}: {free / GIB:.1f} GiB free, {saves} need {need / GIB:.1f}: "
            "free space, point ABC_VERL_CKPT elsewhere, or set trainer.max_actor_ckpt_to_keep"
        )
    return f"{saves} fit in {free / GIB:.1f} GiB free at {where}"


def mem_available() -> float:
    """MemAvailable of /proc/meminfo in bytes (what can be allocated without swapping)."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    raise Skip("no MemAvailable in /proc/meminfo")


def check_host_memory(config: Any) -> str:
    from abc_verl.check.memory import model_shape
    from abc_verl.check.memory_parts import Knobs

    knobs = Knobs.from_config(config)
    if knobs.host_bytes_per_param == 0:
        return "nothing offloaded to host memory"
    host = knobs.gpus_per_node * model_shape(config).params * knobs.host_bytes_per_param / knobs.fsdp_size / GIB
    _on_gpu_node(config, f"{host:.1f} GiB of free host memory per node for the offloaded training state")
    free = mem_available() / GIB
    if free < host:
        raise CheckFailed(
            f"{free:.1f} GiB of host memory available, the offloaded training state needs {host:.1f} GiB per node "
            "(actor_rollout_ref.actor.fsdp_config.offload_policy / param_offload / optimizer_offload): use a node "
            "with more memory or more GPUs (the state is sharded over them)"
        )
    return f"{host:.1f} GiB offloaded per node, {free:.1f} GiB available"


CHECKS = [
    ("gpu arch", check_gpu_arch),
    ("shm", check_shm),
    ("compiler", check_compiler),
    ("model", check_model),
    ("disk", check_disk),
    ("host memory", check_host_memory),
]

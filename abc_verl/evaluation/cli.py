"""`abc-verl eval`: Avg@k / Pass@k of models and verl checkpoints, with the paper's protocol as defaults.

    abc-verl eval PATH [PATH ...] --out DIR [--benchmarks aime24,aime25,amc23] [--n 64] [--greedy] ...
    abc-verl eval score --samples FILE.jsonl --out DIR [--k 1 2 4] [--workers 2]

PATH: a Hugging Face model folder, a verl run folder (every global_step_*), or one global_step_N folder.
Defaults (the paper's protocol, docs/design.md): n = 64, temperature 0.6, top_p 0.95, top_k 20, 4096 new tokens,
seed 42, the paper's prompt in the model's chat template; k = 1, 2, 4, ... up to n. Per (checkpoint, benchmark):
DIR/<checkpoint>/<benchmark>/{samples.jsonl, summary.json}; per run: DIR/table.{md,csv}, DIR/*.png.
Finished pairs are skipped on re-run. `score` re-grades saved responses, one line per problem:
{"id": ..., "answer": gold, "responses": [str, ...]}.
"""

import argparse
import os
import shlex
import shutil
import sys
from pathlib import Path

from abc_verl.cli import exit_status
from abc_verl.data.benchmarks import PAPER_BENCHMARKS, Benchmark, load_benchmark
from abc_verl.data.prompts import eval_prompt, render_prompt
from abc_verl.evaluation import results as res
from abc_verl.evaluation.checkpoints import Checkpoint, discover, ensure_hf
from abc_verl.evaluation.generate import EngineConfig, SamplingConfig, generate, pick_backend
from abc_verl.evaluation.grade import grade
from abc_verl.evaluation.metrics import check_ks, default_ks
from abc_verl.evaluation.report import avg_half_width, write_plots, write_table
from abc_verl.evaluation.score import score_main
from abc_verl.files import folder_lock, remove_temporaries


def main(argv: list[str]) -> int:
    body = (lambda: score_main(argv[1:])) if argv and argv[0] == "score" else (lambda: eval_main(argv))
    return exit_status("abc-verl eval", body, "interrupted; finished results are kept, re-run to resume")


def build_parser() -> argparse.ArgumentParser:
    d, e = SamplingConfig(), EngineConfig()
    p = argparse.ArgumentParser(
        prog="abc-verl eval",
        description=__doc__.split("\n\n")[0],
        epilog="Re-grade saved responses without a model: abc-verl eval score --samples FILE.jsonl --out DIR "
        "(abc-verl eval score --help).",
    )
    p.add_argument("paths", nargs="+", help="model folders, verl run folders or global_step_N folders")
    p.add_argument("--out", required=True, type=Path, help="output folder (re-use it to resume)")
    p.add_argument("--benchmarks", default=",".join(PAPER_BENCHMARKS), help="comma list of names or jsonl/parquet")
    p.add_argument("--n", type=int, default=d.n, help="samples per problem")
    p.add_argument("--temperature", type=float, default=d.temperature, help=f"sampling temperature ({d.temperature})")
    p.add_argument("--top-p", type=float, default=d.top_p, help=f"nucleus sampling mass, in (0, 1] ({d.top_p})")
    p.add_argument("--top-k", type=int, default=d.top_k, help=f"top-k sampling, 0 for none ({d.top_k})")
    p.add_argument("--max-new-tokens", type=int, default=d.max_new_tokens, help=f"response cap ({d.max_new_tokens})")
    p.add_argument("--seed", type=int, default=d.seed, help=f"random seed, set for each prompt ({d.seed})")
    p.add_argument("--k", type=int, nargs="+", help="k values (default 1, 2, 4, ... up to n)")
    p.add_argument("--greedy", action="store_true", help="also greedy accuracy (temperature 0, n = 1)")
    p.add_argument("--backend", choices=("auto", "vllm", "hf"), default="auto", help="auto: vLLM if GPU, else hf")
    p.add_argument("--gpus", type=int, help="vLLM data-parallel replicas (default: every visible GPU)")
    p.add_argument(
        "--gpu-memory-utilization",
        type=float,
        default=e.gpu_memory_utilization,
        help=f"share of each GPU vLLM may take ({e.gpu_memory_utilization}); lower it on a shared GPU",
    )
    p.add_argument("--max-model-len", type=int, help="vLLM context length (default: the model's own)")
    p.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1), help="grading processes")
    p.add_argument("--steps", help="comma list of training steps to evaluate (default: all)")
    p.add_argument("--limit", type=int, help="first N problems of each benchmark only (smoke tests)")
    p.add_argument("--delete-merged", action="store_true", help="delete models merged from FSDP shards when done")
    return p


def eval_main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    cfg = _sampling(args)
    ks = check_ks(args.k or default_ks(cfg.n), cfg.n)
    benches = _benchmarks(args.benchmarks, args.limit)
    steps = _steps(args.steps)
    ckpts = discover(args.paths, steps)
    modes = [("", cfg, ks)] + ([("greedy", cfg.as_greedy(), [1])] if args.greedy else [])
    pairs = [_Pair(args.out, c, b, *m) for c in ckpts for b in benches for m in modes]
    with folder_lock(args.out, shlex.join(["abc-verl", "eval", *argv])):  # a second eval here fails at once
        _clean(args.out)
        return _evaluate(args, ckpts, pairs)


def _clean(out: Path) -> None:
    """Remove what a killed earlier run left half-made: hidden temporary files and unfinished merges."""
    for path in remove_temporaries(out):
        print(f"removed {path}, left by an interrupted run", file=sys.stderr)
    merged = out / "merged"
    for path in sorted(merged.rglob("*.merging")) if merged.is_dir() else []:
        shutil.rmtree(path, ignore_errors=True)


def _evaluate(args: argparse.Namespace, ckpts: list[Checkpoint], pairs: list["_Pair"]) -> int:
    for pair in pairs:  # settings clashes with earlier results surface now, before any model is loaded
        pair.load_finished()
    backend = pick_backend(args.backend) if any(p.summary is None for p in pairs) else args.backend
    for ckpt in ckpts:
        todo = [p for p in pairs if p.ckpt is ckpt and p.summary is None]
        if todo:
            _run_checkpoint(ckpt, todo, args, backend)
    rows = [_row(p, pairs) for p in pairs if p.mode == ""]
    md, _ = write_table(rows, args.out)
    plots = write_plots(rows, args.out)
    print(md.read_text(), end="")
    print(f"written: {md}, {args.out / 'table.csv'}, " + ", ".join(map(str, plots)))
    return 0


def _sampling(args: argparse.Namespace) -> SamplingConfig:
    if args.n < 1 or args.max_new_tokens < 1:
        raise ValueError(f"--n and --max-new-tokens must be at least 1 (got {args.n}, {args.max_new_tokens})")
    if args.temperature < 0 or not 0 < args.top_p <= 1 or args.top_k < 0:
        raise ValueError("need --temperature >= 0, 0 < --top-p <= 1 and --top-k >= 0 (0: no top-k)")
    if args.workers < 1 or (args.limit is not None and args.limit < 1):
        raise ValueError("--workers and --limit must be at least 1")
    if not 0 < args.gpu_memory_utilization <= 1:
        raise ValueError(f"--gpu-memory-utilization must be in (0, 1], got {args.gpu_memory_utilization}")
    if args.max_model_len is not None and args.max_model_len <= args.max_new_tokens:
        raise ValueError(f"--max-model-len {args.max_model_len} leaves no room for a prompt and --max-new-tokens")
    return SamplingConfig(args.n, args.temperature, args.top_p, args.top_k, args.max_new_tokens, args.seed)


def _steps(spec: str | None) -> list[int] | None:
    if not spec:
        return None
    try:
        return [int(s) for s in spec.split(",") if s.strip()]
    except ValueError:
        raise ValueError(f"--steps takes comma-separated step numbers like 100,200; got {spec!r}") from None


def _benchmarks(spec: str, limit: int | None) -> list[Benchmark]:
    benches = [load_benchmark(s.strip(), limit) for s in spec.split(",") if s.strip()]
    names = [b.name for b in benches]
    if not benches or len(set(names)) != len(names):
        raise ValueError(f"--benchmarks needs distinct benchmarks, got {spec!r}")
    return benches


class _Pair:
    """One (checkpoint, benchmark, mode) result folder and its state."""

    def __init__(self, out: Path, ckpt: Checkpoint, bench: Benchmark, mode: str, cfg: SamplingConfig, ks: list[int]):
        self.ckpt, self.bench, self.mode, self.cfg, self.ks = ckpt, bench, mode, cfg, ks
        self.dir = out / ckpt.name / bench.name / mode if mode else out / ckpt.name / bench.name
        self.fingerprint = res.fingerprint(
            cfg, bench.name, bench.sha256, len(bench.problems), eval_prompt("{question}")
        )
        self.summary: dict | None = None

    def load_finished(self) -> None:
        self.summary = res.finished_summary(self.dir, self.fingerprint)
        if self.summary is not None and self.summary.get("ks") != self.ks:
            self.summary = self._resummarize()  # other k values only: recompute from samples.jsonl, no grading

    def _resummarize(self) -> dict:
        return res.resummarize(self.dir, self.summary, [p.id for p in self.bench.problems], self.cfg.n, self.ks)


def _run_checkpoint(ckpt: Checkpoint, todo: list[_Pair], args: argparse.Namespace, backend: str) -> None:
    names = ", ".join(f"{p.bench.name} {p.mode}".strip() for p in todo)
    print(f"== {ckpt.name}: {names}", file=sys.stderr)
    merged_root = args.out / "merged"
    responses = {id(p): res.saved_generations(p.dir, p.fingerprint) for p in todo}
    need = [p for p in todo if responses[id(p)] is None]
    if need:
        hf_dir = ensure_hf(ckpt, merged_root)
        engine = EngineConfig(args.gpu_memory_utilization, args.max_model_len)
        for pair, out in zip(need, _generate(hf_dir, need, backend, args.gpus, engine), strict=True):
            res.save_generations(pair.dir, pair.fingerprint, out)
            responses[id(pair)] = out
    items, spans = [], []
    for p in todo:
        start = len(items)
        for prob, outs in zip(p.bench.problems, responses[id(p)], strict=True):
            items.extend((p.bench.name, r, prob.answer) for r in outs)
        spans.append((start, len(items)))
    verdicts = grade(items, args.workers, desc=f"grading {ckpt.name}")
    model = str(ckpt.hf_dir or merged_root / ckpt.name)
    for p, (a, b) in zip(todo, spans, strict=True):
        _finish(p, responses[id(p)], verdicts[a:b], {"model": model, "backend": backend})
    if args.delete_merged and ckpt.hf_dir is None:
        shutil.rmtree(merged_root / ckpt.name, ignore_errors=True)


def _generate(
    hf_dir: Path, pairs: list[_Pair], backend: str, gpus: int | None, engine: EngineConfig
) -> list[list[list[str]]]:
    """All pairs' prompts in one batched call (fresh vLLM processes for this checkpoint); per pair, per problem."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(hf_dir)
    prompts, params, counts = [], [], []
    for p in pairs:
        prompts += [render_prompt(tok, prob.question) for prob in p.bench.problems]
        params += [p.cfg] * len(p.bench.problems)
        counts.append(len(p.bench.problems))
    flat = generate(hf_dir, prompts, params, backend, gpus, engine)
    out, start = [], 0
    for c in counts:
        out.append(flat[start : start + c])
        start += c
    return out


def _finish(p: _Pair, responses: list[list[str]], verdicts: list[dict], meta: dict) -> None:
    ids = [prob.id for prob in p.bench.problems]
    rows = res.sample_rows(ids, responses, verdicts)
    c = p.ckpt
    head = {"checkpoint": c.name, "run": c.run, "step": c.step, "benchmark": p.bench.name}
    head["mode"] = p.mode or "sampled"
    summary = res.summary_of(head, rows, ids, p.cfg.n, p.ks, {**meta, "fingerprint": p.fingerprint})
    res.write_pair(p.dir, rows, summary)
    p.summary = summary


def _row(p: _Pair, pairs: list[_Pair]) -> dict:
    row = dict(p.summary, avg_pm=avg_half_width(p.dir))
    greedy = next((q for q in pairs if q.mode == "greedy" and q.ckpt is p.ckpt and q.bench is p.bench), None)
    if greedy is not None:
        row["greedy"] = greedy.summary["avg@1"]
    return row


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

r"""Throughput and verdict agreement of abc_verl's reward against verl's built-in math-verify reward.

    python benchmarks/bench_reward.py              # all 630 problems, about 5 minutes on 2 cores
    python benchmarks/bench_reward.py --quick      # 120 problems, about 2 minutes

Builds response corpora from the packaged eval sets (AIME24/25, AMC23, HMMT Feb 2025, MATH-500) with
`abc_verl.data.responses`: realistic reasoning text ending with the gold answer in many correct and incorrect forms.
  groups: 8 samples per problem, as a GRPO rollout group yields them (mostly boxed answers, some wrong,
          truncated or written differently), so answers repeat within a group as they do in training;
  forms:  every form once per problem, no repeats (stresses the subprocess path);
each split into /int (integer golds, like all of DAPO-Math-17k, AIME and AMC) and /latex (the rest).
Each corpus is graded, same responses, same run, by
  - `abc_verl.rewards.reward.compute_score` (fresh caches and graders, started and ready);
  - verl's built-in `verl.utils.reward_score.math_verify.compute_score` (its 4 spawn workers restarted and
    warmed up with 32 trivial calls);
both from a thread pool, as verl's reward workers call them. Both start every corpus from fresh processes:
math-verify's LaTeX parser gets faster as a process sees more answers (its ANTLR prediction cache), so a pool
kept from the earlier corpora, which share these problems' golds, would be measured warmer than a fresh one.
Also graded by plain math-verify in this process with the paper's config, the fidelity reference abc_verl
must match on every response. A hostile set measures abc_verl's worst-case latency against its bound. Prints
a table; writes JSON to benchmarks/results/bench_reward_<time>.json.

Rows groups/all and forms/all add up the /int and /latex runs. Reference run (2 cores, 8 threads):
benchmarks/reference/bench_reward_cpu.json. Where the time goes: a response that no exact shortcut settles costs
one math-verify parse and comparison in a grader, ~2 ms for an integer gold and ~8-11 ms for a LaTeX one (its
ANTLR parse, run SLL-first, and sympy); verl's built-in pays that once per response, abc_verl once per distinct
(gold, answer), about 0.5 times per response in the LaTeX groups. One math-verify process needs 9.0 s to grade
groups/latex's 875 distinct requests once each; spread over 2 cores (~1.45x one core here) that is ~6.2 s, and
abc_verl takes ~6.9 s. The LaTeX ratio (2-3x on 2 cores) is math-verify's own cost per distinct answer.

Only stdlib imports at module level: verl's spawn workers re-import this file as their main module.
"""

import argparse
import os
import platform
import random
import statistics
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tqdm import tqdm

RESULTS = Path(__file__).resolve().parent / "results"


def _run_threads(fn, items: list[dict], threads: int, desc: str) -> tuple[list, list[float], float]:
    def timed(item):
        start = time.perf_counter()
        out = fn(item)
        return out, time.perf_counter() - start

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        pairs = list(tqdm(pool.map(timed, items), total=len(items), desc=desc, unit=" resp", file=sys.stderr))
    return [p[0] for p in pairs], [p[1] for p in pairs], time.perf_counter() - start


def _latency(latencies: list[float]) -> dict:
    ordered = sorted(latencies)
    return {
        "p50_ms": 1e3 * statistics.median(ordered),
        "p99_ms": 1e3 * ordered[int(0.99 * (len(ordered) - 1))],
        "max_ms": 1e3 * ordered[-1],
    }


def _paper_reference():
    """Plain math-verify with the paper's configs, in this process's main thread (its alarms work here)."""
    import logging

    from latex2sympy2_extended import NormalizationConfig
    from math_verify import LatexExtractionConfig, parse, verify

    from abc_verl.rewards.verdict import gold_for_parsing

    logging.getLogger("latex2sympy2_extended").setLevel(logging.ERROR)
    norm = NormalizationConfig(
        nits=False, malformed_operators=False, basic_latex=True, equations=True, boxed="all", units=True
    )
    config = [
        LatexExtractionConfig(normalization_config=norm, boxed_match_priority=0, try_extract_without_anchor=False)
    ]

    def grade(item: dict) -> bool:
        gold = parse(gold_for_parsing(item["gold"]), extraction_mode="first_match")
        pred = parse(item["response"], extraction_config=config, extraction_mode="first_match") if gold else []
        return bool(gold) and bool(verify(gold, pred))

    return grade


def _warm_verl(verl_score) -> float:
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:  # start all 4 of its spawn workers before timing
        list(pool.map(lambda _: verl_score("\\boxed{1}", "1"), range(32)))
    return time.perf_counter() - start


def _fresh_verl(verl_score) -> float:
    """Restart verl's worker pool (a module global of its reward module) and warm it up; seconds taken."""
    module = sys.modules[verl_score.__module__]
    if getattr(module, "_pool", None) is not None:
        module._pool.shutdown(wait=True)
        module._pool = None
    return _warm_verl(verl_score)


def _grade_ours(name: str, items: list[dict], threads: int) -> tuple[list, list[float], float, dict]:
    from abc_verl.rewards import reward as rewards

    rewards.shutdown_graders()  # fresh caches: nothing learnt from an earlier corpus
    rewards.grader_pool().warm_up()
    before = rewards.grading_stats()
    results, lat, wall = _run_threads(
        lambda it: rewards.compute_score("bench", it["response"], it["gold"]), items, threads, f"{name}: abc_verl"
    )
    paths = {k: v - before.get(k, 0) for k, v in rewards.grading_stats().items() if v - before.get(k, 0)}
    return results, lat, wall, paths


def _bench_corpus(name: str, items: list[dict], threads: int, verl_score, reference) -> dict:
    ours, ours_lat, ours_wall, paths = _grade_ours(name, items, threads)
    _fresh_verl(verl_score)
    theirs, theirs_lat, theirs_wall = _run_threads(
        lambda it: verl_score(it["response"], it["gold"]), items, threads, f"{name}: verl built-in"
    )
    start = time.perf_counter()
    truth = [reference(it) for it in tqdm(items, desc=f"{name}: reference", unit=" resp", file=sys.stderr)]
    ref_wall = time.perf_counter() - start
    ours_acc, theirs_acc = [r["acc"] for r in ours], [s > 0.5 for s in theirs]
    differ = Counter(it["form"] for it, a, b in zip(items, ours_acc, theirs_acc, strict=True) if a != b)
    return {
        "corpus": name,
        "responses": len(items),
        "forms": dict(Counter(it["form"] for it in items)),
        "abc_verl": {"wall_s": ours_wall, "per_s": len(items) / ours_wall, **_latency(ours_lat), "paths": paths},
        "verl_builtin": {"wall_s": theirs_wall, "per_s": len(items) / theirs_wall, **_latency(theirs_lat)},
        "math_verify_in_process_1_thread": {"wall_s": ref_wall, "per_s": len(items) / ref_wall},
        "speedup_vs_verl": theirs_wall / ours_wall,
        "agree_with_reference": sum(a == t for a, t in zip(ours_acc, truth, strict=True)) / len(items),
        "agree_with_verl": sum(a == b for a, b in zip(ours_acc, theirs_acc, strict=True)) / len(items),
        "differ_from_verl_by_form": dict(differ),
        "errors": dict(Counter(r["kind"] for r in ours if r["error"])),  # scored 0 without a verdict, by kind
        "accuracy": {"abc_verl": sum(ours_acc) / len(items), "verl_builtin": sum(theirs_acc) / len(items)},
    }


def _combined(results: list[dict]) -> list[dict]:
    """groups and forms over all golds: the /int and /latex corpora graded one after the other."""
    rows = []
    for family in ("groups", "forms"):
        parts = [r for r in results if r["corpus"].startswith(family + "/")]
        if not parts:
            continue
        n = sum(r["responses"] for r in parts)
        ours, theirs = (sum(r[k]["wall_s"] for r in parts) for k in ("abc_verl", "verl_builtin"))
        ref = sum(r["agree_with_reference"] * r["responses"] for r in parts) / n
        agree = sum(r["agree_with_verl"] * r["responses"] for r in parts) / n
        rows.append(
            {
                "corpus": f"{family}/all",
                "responses": n,
                "abc_verl_per_s": n / ours,
                "verl_builtin_per_s": n / theirs,
                "speedup_vs_verl": theirs / ours,
                "agree_with_reference": ref,
                "agree_with_verl": agree,
            }
        )
    return rows


def _hostile_latency(timeout_s: float) -> dict:
    from abc_verl.data.responses import HOSTILE_RESPONSES
    from abc_verl.rewards import reward as rewards

    cases = HOSTILE_RESPONSES
    items = [{"response": c, "gold": "34"} for c in cases]

    def grade(item: dict) -> dict:
        return rewards.compute_score("hostile", item["response"], item["gold"], timeout_s=timeout_s)

    results, lat, _ = _run_threads(grade, items, 4, "hostile inputs")
    return {
        "timeout_s": timeout_s,
        "cases": len(cases),
        "max_ms": 1e3 * max(lat),
        "kinds": [r["kind"] for r in results],
    }


def _table(results: list[dict], combined: list[dict], hostile: dict) -> str:
    lines = [f"{'corpus':<12} {'grader':<33} {'resp/s':>9} {'speedup':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"]
    for r in results:
        rows = [
            ("abc_verl compute_score", r["abc_verl"], f"{r['speedup_vs_verl']:.1f}x"),
            ("verl built-in math_verify", r["verl_builtin"], "1.0x"),
            ("math-verify in-process, 1 thread", r["math_verify_in_process_1_thread"], ""),
        ]
        for label, m, speed in rows:
            lat = " ".join(f"{m[k]:8.1f}" if k in m else " " * 8 for k in ("p50_ms", "p99_ms", "max_ms"))
            lines.append(f"{r['corpus']:<12} {label:<33} {m['per_s']:9.1f} {speed:>8} {lat}")
        lines.append(
            f"             {r['responses']} responses; abc_verl verdict == paper math-verify on"
            f" {100 * r['agree_with_reference']:.2f}%, == verl built-in on {100 * r['agree_with_verl']:.2f}%;"
            f" differ from verl by form: {r['differ_from_verl_by_form']}"
        )
    for c in combined:
        lines.append(
            f"{c['corpus']:<12} {c['responses']} responses: abc_verl {c['abc_verl_per_s']:.1f}/s, verl built-in"
            f" {c['verl_builtin_per_s']:.1f}/s, speedup {c['speedup_vs_verl']:.1f}x; verdict == paper math-verify on"
            f" {100 * c['agree_with_reference']:.2f}%, == verl built-in on {100 * c['agree_with_verl']:.2f}%"
        )
    lines.append(
        f"hostile: {hostile['cases']} inputs, worst {hostile['max_ms']:.0f} ms (bound {hostile['timeout_s']:g} s)"
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="120 problems instead of all 630")
    parser.add_argument("--threads", type=int, default=8, help="caller threads (verl's executor: min(32, cpus + 4))")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from verl.utils.reward_score.math_verify import compute_score as verl_score

    from abc_verl.data.responses import build_corpora, eval_problems
    from abc_verl.rewards import reward as rewards

    problems = eval_problems()
    if args.quick:
        problems = random.Random(args.seed).sample(problems, 120)
    corpora = build_corpora(problems, args.seed)
    warm_s = _warm_verl(verl_score)
    reference = _paper_reference()
    results = [_bench_corpus(name, items, args.threads, verl_score, reference) for name, items in corpora.items()]
    hostile = _hostile_latency(rewards.DEFAULT_TIMEOUT_S)
    rewards.shutdown_graders()
    combined = _combined(results)
    print(_table(results, combined, hostile))
    report = {
        "command": " ".join(sys.argv),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "threads": args.threads,
        "problems": len(problems),
        "verl_warmup_s": warm_s,
        "results": results,
        "combined": combined,
        "hostile": hostile,
    }
    from abc_verl.files import atomic_write_json

    out = RESULTS / f"bench_reward_{time.strftime('%Y%m%d-%H%M%S')}.json"
    atomic_write_json(out, report)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

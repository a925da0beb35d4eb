r"""Soak test of abc_verl's reward: sustained load from 32 threads, latency and memory over time.

    python benchmarks/soak_reward.py              # 200,000 calls or 10 minutes, whichever ends first
    python benchmarks/soak_reward.py --quick      # 20,000 calls (about 40 s on 2 cores)

Calls `abc_verl.rewards.reward.compute_score` from 32 threads (verl's reward executor uses up to 32) with a mix
that keeps every path busy: responses built from the packaged eval sets as GRPO groups and in every answer form
(`abc_verl.data.responses.build_corpora`, integer and LaTeX golds; answers repeat, so caches and in-flight
sharing work), 10% of calls with a boxed answer never seen before (a fresh verdict cache entry each, so the
bounded caches fill and then evict), and one hostile input (`abc_verl.data.responses.HOSTILE_RESPONSES`) every
5,000 calls. Every second it samples VmRSS (/proc/<pid>/status) of this process and of each grader, and the
verdict cache's size.

Memory must stay flat after warm-up (the first 25% of the calls): the table shows RSS over time, and the
summary gives the growth of this process between warm-up end and the end, and between the moment the verdict
cache first reached its bound and the end (from there on, nothing bounded is still filling). Latencies are
stored in one array allocated before the run, so the measurement does not grow the process itself. Writes
JSON to benchmarks/results/soak_reward_<time>.json. Reference run (2 shared cores, under other load):
benchmarks/reference/soak_reward_cpu.json.
"""

import argparse
import itertools
import os
import platform
import random
import statistics
import sys
import threading
import time
from array import array
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
UNIQUE_EVERY = 10  # one call in 10 boxes an answer never seen before
HOSTILE_EVERY = 5_000
WARMUP_FRACTION = 0.25


def vm_rss_mb(pid: int | str = "self") -> float | None:
    """Resident memory of a process in MB, None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class Mix:
    """The i-th call's (response, gold), the same for a given seed whatever thread makes the call."""

    def __init__(self, items: list[dict], latex_golds: list[str], hostile: list[str], seed: int) -> None:
        self.items, self.latex_golds, self.hostile, self.seed = items, latex_golds, hostile, seed

    def call(self, i: int) -> tuple[str, str]:
        if i % HOSTILE_EVERY == HOSTILE_EVERY - 1:
            return self.hostile[(i // HOSTILE_EVERY) % len(self.hostile)], "34"
        rng = random.Random(self.seed * 1_000_003 + i)
        if i % UNIQUE_EVERY == 0:  # a fresh (gold, boxed answer) pair: a new verdict cache entry
            return f"So the answer is $\\boxed{{\\frac{{{i}}}{{{rng.randint(2, 97)}}}}}$.", rng.choice(self.latex_golds)
        item = rng.choice(self.items)
        return item["response"], item["gold"]


def build_mix(seed: int) -> Mix:
    from abc_verl.data.responses import HOSTILE_RESPONSES, build_corpora, eval_problems, is_int

    problems = eval_problems()
    items = [it for corpus in build_corpora(problems, seed).values() for it in corpus]
    latex = sorted({p["answer"] for p in problems if not is_int(p["answer"])})
    return Mix(items, latex, HOSTILE_RESPONSES, seed)


class Sampler(threading.Thread):
    """Every `every_s`: elapsed time, calls done, RSS of this process and of each grader, cache size."""

    def __init__(self, done: list[int], every_s: float) -> None:
        super().__init__(daemon=True, name="soak-sampler")
        self.done_counts, self.every_s, self.stop = done, every_s, threading.Event()
        self.samples: list[dict] = []
        self.start_time = time.monotonic()

    def sample(self) -> None:
        from abc_verl.rewards import reward as rewards

        pool = rewards.grader_pool()
        graders = [vm_rss_mb(pid) for pid in pool.pids()["ready"]]
        graders = [mb for mb in graders if mb is not None]
        self.samples.append(
            {
                "t_s": round(time.monotonic() - self.start_time, 2),
                "calls": sum(self.done_counts),
                "rss_mb": vm_rss_mb(),
                "graders_rss_mb": [round(mb, 1) for mb in graders],
                "graders_rss_total_mb": round(sum(graders), 1),
                "verdict_cache": len(rewards._state.verdicts),
            }
        )

    def run(self) -> None:
        while not self.stop.wait(self.every_s):
            self.sample()


def soak(mix: Mix, calls: int, seconds: float, threads: int, sample_s: float) -> dict:
    from abc_verl.rewards import reward as rewards

    latency = array("d", bytes(8 * calls))  # allocated before the baseline, so recording never grows the process
    done = [0] * threads
    errors: Counter[str] = Counter()
    errors_lock = threading.Lock()
    counter = itertools.count()
    deadline = time.monotonic() + seconds

    def worker(slot: int) -> None:
        for i in counter:
            if i >= calls or time.monotonic() > deadline:
                return
            response, gold = mix.call(i)
            start = time.perf_counter()
            result = rewards.compute_score("soak", response, gold)
            latency[i] = time.perf_counter() - start
            done[slot] += 1
            if result["error"]:
                with errors_lock:
                    errors[result["kind"]] += 1

    sampler = Sampler(done, sample_s)
    sampler.sample()
    sampler.start()
    with ThreadPoolExecutor(max_workers=threads) as ex:
        list(ex.map(worker, range(threads)))
    sampler.stop.set()
    sampler.join()
    sampler.sample()
    made = sum(done)
    lat = sorted(latency[:made])  # calls are numbered in order, so the first `made` slots are the ones made
    wall = sampler.samples[-1]["t_s"]
    return {
        "calls": made,
        "wall_s": wall,
        "calls_per_s": made / wall,
        "p50_ms": 1e3 * statistics.median(lat),
        "p99_ms": 1e3 * lat[int(0.99 * (made - 1))],
        "max_ms": 1e3 * lat[-1],
        "errors": dict(errors),
        "samples": sampler.samples,
    }


def memory_summary(samples: list[dict], calls: int) -> dict:
    """RSS growth of this process after warm-up and after the verdict cache filled; graders' RSS at both ends."""
    from abc_verl.rewards.reward import CACHE_SIZE

    warm = next((s for s in samples if s["calls"] >= WARMUP_FRACTION * calls), samples[-1])
    full = next((s for s in samples if s["verdict_cache"] >= CACHE_SIZE), None)
    after = [s["rss_mb"] for s in samples if s["t_s"] >= warm["t_s"]]
    end = samples[-1]
    return {
        "warmup_end": {"t_s": warm["t_s"], "calls": warm["calls"], "rss_mb": warm["rss_mb"]},
        "rss_growth_after_warmup_mb": end["rss_mb"] - warm["rss_mb"],
        "rss_max_after_warmup_mb": max(after),
        "cache_full_at": None if full is None else {"t_s": full["t_s"], "calls": full["calls"]},
        "rss_growth_after_cache_full_mb": None if full is None else end["rss_mb"] - full["rss_mb"],
        "graders_rss_total_mb": {"warmup_end": warm["graders_rss_total_mb"], "end": end["graders_rss_total_mb"]},
        "verdict_cache": {"warmup_end": warm["verdict_cache"], "end": end["verdict_cache"], "bound": CACHE_SIZE},
    }


def table(run: dict, memory: dict, rows: int = 12) -> str:
    samples = run["samples"]
    step = max(1, (len(samples) - 1) // (rows - 1))
    picked = samples[::step] + ([samples[-1]] if (len(samples) - 1) % step else [])
    lines = [f"{'t s':>7} {'calls':>8} {'calls/s':>8} {'RSS MB':>8} {'graders RSS MB':>22} {'cache':>6}"]
    prev = None
    for s in picked:
        rate = "" if prev is None else f"{(s['calls'] - prev['calls']) / max(1e-9, s['t_s'] - prev['t_s']):8.0f}"
        graders = "+".join(f"{mb:.0f}" for mb in s["graders_rss_mb"])
        lines.append(
            f"{s['t_s']:7.1f} {s['calls']:8d} {rate:>8} {s['rss_mb']:8.1f} {graders:>22} {s['verdict_cache']:6d}"
        )
        prev = s
    lines.append(
        f"{run['calls']} calls in {run['wall_s']:.1f}s: {run['calls_per_s']:.0f} calls/s; latency p50"
        f" {run['p50_ms']:.2f} ms, p99 {run['p99_ms']:.1f} ms, max {run['max_ms']:.0f} ms; errors {run['errors']}"
    )
    growth_full = memory["rss_growth_after_cache_full_mb"]
    lines.append(
        f"RSS after warm-up ({memory['warmup_end']['calls']} calls): {memory['warmup_end']['rss_mb']:.1f} MB;"
        f" growth to the end {memory['rss_growth_after_warmup_mb']:+.1f} MB"
        f" (max {memory['rss_max_after_warmup_mb']:.1f} MB); after the verdict cache filled: "
        + ("cache never filled" if growth_full is None else f"{growth_full:+.1f} MB")
        + f"; graders total {memory['graders_rss_total_mb']['warmup_end']:.0f} ->"
        f" {memory['graders_rss_total_mb']['end']:.0f} MB"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200_000, help="stop after this many calls")
    parser.add_argument("--minutes", type=float, default=10.0, help="or after this long")
    parser.add_argument("--quick", action="store_true", help="20,000 calls, samples every 0.5 s")
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="JSON path (default benchmarks/results/...)")
    args = parser.parse_args(argv)
    calls, sample_s = (20_000, 0.5) if args.quick else (args.calls, 1.0)

    from abc_verl.files import atomic_write_json
    from abc_verl.rewards import reward as rewards

    mix = build_mix(args.seed)
    rewards.shutdown_graders()
    if not rewards.grader_pool().warm_up():
        print("graders did not start", file=sys.stderr)
        return 1
    run = soak(mix, calls, 60 * args.minutes, args.threads, sample_s)
    memory = memory_summary(run["samples"], run["calls"])
    pool = rewards.grader_pool()
    run["pool"] = {
        "kills": pool.kills,
        "late": pool.late,
        "deaths": pool.deaths,
        "reaped": pool.reaped,
        "boot_failures": pool.boot_failures,
    }
    run["paths"] = rewards.grading_stats()
    rewards.shutdown_graders()
    print(table(run, memory))
    report = {
        "command": " ".join(["python", "benchmarks/soak_reward.py", *(argv if argv is not None else sys.argv[1:])]),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load_avg_end": os.getloadavg()},
        "threads": args.threads,
        "memory": memory,
        **run,
    }
    out = args.out or RESULTS / f"soak_reward_{time.strftime('%Y%m%d-%H%M%S')}.json"
    atomic_write_json(out, report)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

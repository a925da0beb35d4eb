r"""Reward manager "abc_math" against verl's naive manager + compute_score, in verl's real reward loop on CPU.

    python benchmarks/bench_reward_manager.py             # 4,096 responses (512 prompts x 8), 3 rounds each
    python benchmarks/bench_reward_manager.py --quick     # 512 responses (64 prompts x 8), 2 rounds

One batch shaped like the Qwen3 1.7B recipe's rollout batch: 512 prompts x 8 responses, DAPO-style integer
golds, responses of realistic length (log-normal around 1,500 tokens, capped at the recipe's 4,096: ~10% cut
there, without an answer), ending mostly in a boxed integer (right or wrong), some in no answer, some in a
LaTeX form only math-verify settles (graded in abc_verl's grader subprocesses). Tokens are the tiny offline
tokenizer's (abc_verl.cpu.tiny), ~1.4 characters each: decoding costs what a real tokenizer's does per token.

Both managers are built and driven by verl's own RewardLoopWorker (`compute_score_batch`: one `run_single` task
per response), in this process, in 8 chunks of 512 as verl's RewardLoopManager hands its 8 reward workers one
chunk each (here one after the other). Each round starts both from fresh graders and empty verdict caches;
rounds alternate the order. Prints a table (median wall time per batch, responses per second, ratio) and
writes JSON to benchmarks/results/bench_reward_manager_<time>.json. Reference run (2 shared cores):
benchmarks/reference/bench_reward_manager_cpu.json.
"""

import argparse
import asyncio
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

from tqdm import tqdm

RESULTS = Path(__file__).resolve().parent / "results"
MAX_TOKENS = 4096  # the 1.7B recipe's data.max_response_length
CHUNKS = 8  # the recipes' reward.num_workers
SENTENCES = [
    "Set $a = {a}$ and $b = {b}$; then $a + b = {c}$ and $ab = {d}$.",
    "Factoring, $x^2 - {c}x + {d} = (x - {a})(x - {b})$, so the roots are ${a}$ and ${b}$.",
    "Wait, that double counts the case $a = b$, so subtract it once.",
    "Checking small cases: for $n = 1, 2, 3$ we get ${a}$, ${b}$ and ${c}$ respectively.",
    "Modulo ${b}$, the powers of ${a}$ cycle with period dividing ${c}$.",
    "Now substitute back into the original equation and simplify both sides carefully.",
]
# (ending, share): how a response ends
ENDINGS = [("right", 0.40), ("wrong", 0.35), ("none", 0.08), ("latex", 0.07), ("cut", 0.10)]


def make_responses(prompts: int, group: int, seed: int) -> list[tuple[str, str, str]]:
    """(gold, text, ending) per response, `group` responses per prompt."""
    rng = random.Random(seed)
    rows = []
    for _ in range(prompts):
        gold = str(rng.randint(0, 999))
        for _ in range(group):
            ending = rng.choices([e for e, _ in ENDINGS], [w for _, w in ENDINGS])[0]
            target = MAX_TOKENS * 3 if ending == "cut" else min(int(rng.lognormvariate(7.2, 0.5)), MAX_TOKENS - 40)
            parts, size = [], 0
            while size < 1.4 * target:  # ~1.4 characters per token of the tiny tokenizer
                nums = {k: rng.randint(2, 99) for k in "abcd"}
                parts.append(rng.choice(SENTENCES).format(**nums))
                size += len(parts[-1]) + 1
            answer = {
                "right": gold,
                "wrong": str(int(gold) + rng.randint(1, 9)),
                "latex": f"\\frac{{{2 * int(gold)}}}{{2}}",
            }
            tail = "" if ending in ("none", "cut") else f" So the answer is $\\boxed{{{answer[ending]}}}$."
            rows.append((gold, " ".join(parts) + tail, ending))
    return rows


def build_batch(tokenizer, rows):
    from abc_verl.check.batch import reward_batch

    encoded = tokenizer([text for _, text, _ in rows], add_special_tokens=False)["input_ids"]
    responses = [ids[-MAX_TOKENS:] if len(ids) > MAX_TOKENS else ids for ids in encoded]
    golds = [{"ground_truth": gold} for gold, _, _ in rows]
    return reward_batch(responses, golds, ["math_dapo"] * len(rows), tokenizer.pad_token_id, MAX_TOKENS)


def compose(model_dir: Path, manager: str):
    from abc_verl.check.recipes import compose_recipe, find_recipe

    overrides = [f"actor_rollout_ref.model.path={model_dir}", f"reward.reward_manager.name={manager}"]
    if manager == "naive":
        overrides.append("reward.custom_reward_function.path=pkg://abc_verl.rewards")
    return compose_recipe(find_recipe("qwen3_1.7b_abc"), overrides)


def run_once(config, data, desc: str) -> tuple[float, list[float]]:
    """Wall time of the batch through a fresh RewardLoopWorker, from fresh graders; and the scores."""
    from verl.experimental.reward_loop import RewardLoopWorker

    from abc_verl.rewards import reward

    reward.shutdown_graders()
    assert reward.grader_pool().warm_up(60), "graders did not start"

    async def go() -> tuple[float, list[float]]:
        worker = RewardLoopWorker(config)
        scores = []
        start = time.perf_counter()
        for chunk in tqdm(data.chunk(CHUNKS), desc=desc, unit=" chunk", file=sys.stderr):
            scores += [out["reward_score"] for out in await worker.compute_score_batch(chunk)]
        return time.perf_counter() - start, scores

    return asyncio.run(go())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="64 prompts x 8, 2 rounds")
    parser.add_argument("--prompts", type=int, default=None, help="prompts per batch (default 512; --quick 64)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per manager (default 3; --quick 2)")
    args = parser.parse_args(argv)
    prompts = args.prompts or (64 if args.quick else 512)
    rounds = args.rounds or (2 if args.quick else 3)

    import tempfile

    from abc_verl.cpu.tiny import build_tokenizer
    from abc_verl.files import atomic_write_json

    tokenizer = build_tokenizer()
    rows = make_responses(prompts, 8, seed=0)
    data = build_batch(tokenizer, rows)
    lengths = data.batch["attention_mask"][:, -MAX_TOKENS:].sum(-1).float()
    with tempfile.TemporaryDirectory() as model_dir:
        tokenizer.save_pretrained(model_dir)
        configs = {name: compose(Path(model_dir), name) for name in ("naive", "abc_math")}
        walls: dict[str, list[float]] = {name: [] for name in configs}
        scores: dict[str, list[float]] = {}
        for r in range(rounds):
            for name in configs if r % 2 == 0 else reversed(configs):
                wall, scores[name] = run_once(configs[name], data, f"round {r + 1}/{rounds} {name}")
                walls[name].append(wall)
    if scores["naive"] != scores["abc_math"]:
        raise SystemExit("the two managers scored the batch differently")
    n = len(rows)
    table = {
        name: {"wall_s": statistics.median(w), "walls_s": w, "per_s": n / statistics.median(w)}
        for name, w in walls.items()
    }
    ratio = table["naive"]["wall_s"] / table["abc_math"]["wall_s"]
    print(f"{n} responses ({prompts} prompts x 8), mean {lengths.mean():.0f} tokens, {rounds} rounds, median:")
    print(f"{'manager':<26}{'wall s/batch':>14}{'responses/s':>14}")
    for name, label in (("naive", "naive + compute_score"), ("abc_math", "abc_math")):
        print(f"{label:<26}{table[name]['wall_s']:>14.2f}{table[name]['per_s']:>14.0f}")
    print(f"speed-up of abc_math over naive + compute_score: {ratio:.2f}x")
    report = {
        "command": "benchmarks/bench_reward_manager.py" + (" --quick" if args.quick else ""),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "responses": n,
        "prompts": prompts,
        "mean_tokens": float(lengths.mean()),
        "truncated_share": float((lengths >= MAX_TOKENS).float().mean()),
        "accuracy": sum(scores["abc_math"]) / n,
        "endings": {e: sum(1 for *_, end in rows if end == e) for e, _ in ENDINGS},
        "rounds": rounds,
        "managers": table,
        "speedup_abc_math_over_naive": ratio,
    }
    out = RESULTS / f"bench_reward_manager_{time.strftime('%Y%m%d-%H%M%S')}.json"
    atomic_write_json(out, report)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

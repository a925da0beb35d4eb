"""Forward + backward of loss "abc" (with its metrics) against verl's "vanilla" (with its), same inputs, same run.

    python benchmarks/bench_loss.py                  # (64, 4096) fp32 on CPU, median of 30 runs
    python benchmarks/bench_loss.py --batch 8 --length 512 --repeats 5

Prints a table and writes benchmarks/results/bench_loss.json. Besides time it reports the bytes each loss
allocates in one forward + backward, in units of one (batch, length) fp32 tensor, read from torch's
profiler: the count of full-size temporaries the loss materialises. Target: abc costs at most 1.2x vanilla.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile
from verl.trainer.ppo.core_algos import get_policy_loss_fn
from verl.workers.config import ActorConfig, PolicyLossConfig

from abc_verl.config import ABCPolicyLossConfig
from abc_verl.files import atomic_write_json

RESULTS = Path(__file__).parent / "results"


def make_inputs(batch: int, length: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    old = -3 * torch.rand(batch, length, generator=g)
    log_prob = old + 0.3 * torch.randn(batch, length, generator=g)
    adv = torch.randn(batch, 1, generator=g).expand(batch, length).contiguous()
    mask = torch.rand(batch, length, generator=g) < 0.9
    return old, log_prob, adv, mask


def configs() -> dict[str, ActorConfig]:
    base = dict(strategy="fsdp", rollout_n=1, ppo_micro_batch_size_per_gpu=1)
    return {
        "vanilla": ActorConfig(policy_loss=PolicyLossConfig(loss_mode="vanilla"), **base),
        "abc": ActorConfig(policy_loss=ABCPolicyLossConfig(), **base),
    }


def step(mode: str, config: ActorConfig, old, log_prob, adv, mask) -> None:
    leaf = log_prob.clone().requires_grad_()
    loss, metrics = get_policy_loss_fn(mode)(old, leaf, adv, mask, "token-mean", config)
    loss.backward()
    assert metrics  # metrics are part of the cost: both modes turn them into Python floats


def time_mode(mode: str, config: ActorConfig, inputs, repeats: int) -> list[float]:
    step(mode, config, *inputs)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step(mode, config, *inputs)
        times.append(time.perf_counter() - start)
    return times


def allocated_tensors(mode: str, config: ActorConfig, inputs) -> float:
    """Bytes allocated by one forward + backward, in units of one (B, T) fp32 tensor."""
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step(mode, config, *inputs)
    allocated = sum(max(e.self_cpu_memory_usage, 0) for e in prof.events())
    return allocated / (inputs[0].numel() * 4)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--length", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, os.cpu_count() or 1))

    inputs = make_inputs(args.batch, args.length)
    rows = {}
    for mode, config in configs().items():
        times = time_mode(mode, config, inputs, args.repeats)
        rows[mode] = {
            "median_ms": 1e3 * statistics.median(times),
            "min_ms": 1e3 * min(times),
            "allocated_BxT_fp32": allocated_tensors(mode, config, inputs),
        }
    ratio = rows["abc"]["median_ms"] / rows["vanilla"]["median_ms"]

    print(
        f"forward+backward with metrics, ({args.batch}, {args.length}) fp32, CPU x{torch.get_num_threads()}, "
        f"median of {args.repeats}"
    )
    print(f"{'loss':<8} {'median ms':>10} {'min ms':>8} {'allocated (BxT fp32)':>21}")
    for mode, row in rows.items():
        print(f"{mode:<8} {row['median_ms']:>10.2f} {row['min_ms']:>8.2f} {row['allocated_BxT_fp32']:>21.1f}")
    print(f"abc / vanilla time ratio: {ratio:.3f} (target <= 1.2)")

    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "bench_loss.json"
    record = {
        "shape": [args.batch, args.length],
        "dtype": "float32",
        "device": "cpu",
        "threads": torch.get_num_threads(),
        "repeats": args.repeats,
        "rows": rows,
        "ratio_abc_vanilla": ratio,
    }
    atomic_write_json(out, record)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

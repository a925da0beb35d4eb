"""The ABC maths on a GPU, without verl: bf16 against fp32 agreement, speed and peak memory at realistic sizes.

    PYTHONPATH=. python benchmarks/gpu_loss_check.py                  # on a CUDA machine; CPU works, slowly
    PYTHONPATH=. python benchmarks/gpu_loss_check.py --out DIR --sizes 64x4096 8x32768

verl cannot be imported on the GPU box, so the baseline is `vanilla_reference`: verl's vanilla loss (PPO
clip with dual-clip c = 3, token-mean, its three metrics) restated in plain torch; tests/test_benchmarks.py
checks on CPU that it equals verl's own `vanilla`. Each row times forward + backward + metrics (as Python
floats) with CUDA events, median of --repeats, and reports the peak memory above the inputs in units of one
(B, T) fp32 tensor. Prints a table and writes DIR/gpu_loss_check.json (default benchmarks/results).
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

from abc_verl.files import atomic_write_json
from abc_verl.objective import ABCBounds, abc_loss

PAPER_BOUNDS = ABCBounds()  # all four widths 0.2


def vanilla_reference(log_prob, old_log_prob, advantages, mask, eps: float = 0.2, clip_c: float = 3.0):
    """verl's `vanilla` policy loss (token-mean) in plain torch: PPO clip, dual-clip for A < 0, 3 metrics."""
    log_ratio = torch.clamp(log_prob - old_log_prob, -20.0, 20.0)
    ratio = torch.exp(log_ratio)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1 - eps, 1 + eps)
    ppo = torch.maximum(unclipped, clipped)
    dual = torch.minimum(ppo, -advantages * clip_c)
    loss_mat = torch.where(advantages < 0, dual, ppo)
    n = mask.sum()
    loss = torch.where(mask, loss_mat, 0.0).sum() / n
    metrics = [
        ((clipped > unclipped) & mask).sum() / n,
        torch.where(mask, -log_ratio, 0.0).sum() / n,
        ((ppo > -advantages * clip_c) & (advantages < 0) & mask).sum() / n,
    ]
    return loss, [m.item() for m in metrics]  # verl calls .item() once per metric


def abc_token_mean(log_prob, old_log_prob, advantages, mask, bounds: ABCBounds = PAPER_BOUNDS):
    """Loss "abc" as the plugin runs it: abc_loss, token-mean, all statistics in one device sync."""
    loss_mat, stats = abc_loss(log_prob, old_log_prob, advantages, mask, bounds)
    loss = torch.where(mask, loss_mat, 0.0).sum() / mask.sum()
    return loss, torch.stack(list(stats.values())).tolist()


LOSSES = {"abc": abc_token_mean, "vanilla_ref": vanilla_reference}


def make_inputs(batch: int, length: int, device: str, dtype: torch.dtype, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    old = -3 * torch.rand(batch, length, generator=g)
    log_prob = old + 0.3 * torch.randn(batch, length, generator=g)
    adv = torch.randn(batch, 1, generator=g).expand(batch, length).contiguous()
    mask = torch.rand(batch, length, generator=g) < 0.9
    return [t.to(device, dtype) if t.is_floating_point() else t.to(device) for t in (old, log_prob, adv)] + [
        mask.to(device)
    ]


def run_once(fn, old, log_prob, adv, mask):
    leaf = log_prob.detach().clone().requires_grad_()
    loss, stats = fn(leaf, old, adv, mask)
    loss.backward()
    return loss.detach(), leaf.grad, stats


def measure(fn, inputs, repeats: int, device: str) -> dict[str, float]:
    run_once(fn, *inputs)  # warm-up
    times = []
    for _ in range(repeats):
        if device == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            run_once(fn, *inputs)
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end))
        else:
            t0 = time.perf_counter()
            run_once(fn, *inputs)
            times.append(1e3 * (time.perf_counter() - t0))
    peak = float("nan")
    if device == "cuda":
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        run_once(fn, *inputs)
        peak = (torch.cuda.max_memory_allocated() - base) / (inputs[0].numel() * 4)
    return {"median_ms": statistics.median(times), "peak_extra_BxT_fp32": peak}


def agreement(batch: int, length: int, device: str) -> dict[str, float]:
    """abc in bf16 against abc in fp32 on the same (bf16-representable) inputs."""
    ref = make_inputs(batch, length, device, torch.bfloat16)
    ref32 = [t.float() if t.is_floating_point() else t for t in ref]
    loss16, grad16, stats16 = run_once(abc_token_mean, *ref)
    loss32, grad32, stats32 = run_once(abc_token_mean, *ref32)
    # a ratio within bf16 rounding of a bound can be clipped in one precision and not the other: count those
    # tokens apart, and compare gradients where both precisions agree on clipping
    flipped = (grad16 == 0) != (grad32 == 0)
    err = torch.where(flipped, 0.0, (grad16.float() - grad32).abs())
    return {
        "loss_rel_err": abs(loss16.float().item() - loss32.item()) / max(abs(loss32.item()), 1e-12),
        "grad_max_abs_err_over_max": (err.max() / grad32.abs().max()).item(),
        "boundary_flips_frac": flipped.float().mean().item(),
        "clipfrac_abs_diff": max(abs(a - b) for a, b in zip(stats16, stats32, strict=True)),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["64x4096", "256x4096", "16x32768"], help="BATCHxLENGTH")
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args(argv)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    name = torch.cuda.get_device_name() if device == "cuda" else "cpu"

    rows = []
    for size in args.sizes:
        batch, length = (int(x) for x in size.split("x"))
        for dtype in (torch.float32, torch.bfloat16):
            inputs = make_inputs(batch, length, device, dtype)
            timings = {loss: measure(fn, inputs, args.repeats, device) for loss, fn in LOSSES.items()}
            ratio = timings["abc"]["median_ms"] / timings["vanilla_ref"]["median_ms"]
            rows.append(
                {
                    "size": size,
                    "dtype": str(dtype).removeprefix("torch."),
                    **{f"{loss}_{k}": v for loss, t in timings.items() for k, v in t.items()},
                    "ratio": ratio,
                }
            )
        rows[-1].update(agreement(batch, length, device))

    print(f"device: {name}, torch {torch.__version__}, median of {args.repeats}, forward+backward+metrics")
    print(f"{'size':>10} {'dtype':>9} {'abc ms':>8} {'vanilla ms':>10} {'ratio':>6} {'abc peak':>9} {'van peak':>9}")
    for r in rows:
        print(
            f"{r['size']:>10} {r['dtype']:>9} {r['abc_median_ms']:>8.3f} {r['vanilla_ref_median_ms']:>10.3f} "
            f"{r['ratio']:>6.2f} {r['abc_peak_extra_BxT_fp32']:>9.2f} {r['vanilla_ref_peak_extra_BxT_fp32']:>9.2f}"
        )
    print("bf16 vs fp32 (abc):")
    for r in rows:
        if "loss_rel_err" in r:
            print(
                f"  {r['size']}: loss rel err {r['loss_rel_err']:.2e}, grad max err / max "
                f"{r['grad_max_abs_err_over_max']:.2e}, tokens clipped in one precision only "
                f"{r['boundary_flips_frac']:.2e}, clip fraction diff {r['clipfrac_abs_diff']:.2e}"
            )
    out = args.out / "gpu_loss_check.json"
    atomic_write_json(out, {"device": name, "torch": torch.__version__, "rows": rows})
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

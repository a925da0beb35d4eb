"""One output folder, two processes. The folder lock of `abc_verl.files` makes the second
`prepare-data` (or eval, see test_faults_eval.py) fail at once, naming the holder; a holder killed with SIGKILL
blocks nobody; two prepare-data started together never corrupt each other's files.

    pytest tests/test_faults_lock.py -q

Real processes and real flock(2); no mocks.
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from abc_verl.data import prepare
from abc_verl.files import FolderBusy, folder_lock
from abc_verl.names import LOCK_FILE

pytestmark = pytest.mark.faults
ROOT = Path(__file__).resolve().parents[1]
HOLD = (
    "import sys, time; from abc_verl.files import folder_lock\n"
    "with folder_lock(sys.argv[1], 'abc-verl eval my_model --out ' + sys.argv[1]):\n"
    "    print('held', flush=True); time.sleep(120)\n"
)


def hold(folder: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline() == "held\n"
    return proc


def test_second_holder_fails_at_once_naming_the_first_and_a_killed_holder_blocks_nobody(tmp_path, capsys):
    holder = hold(tmp_path)
    try:
        start = time.monotonic()
        with pytest.raises(FolderBusy) as info:
            with folder_lock(tmp_path, "second"):
                pytest.fail("two holders")
        assert time.monotonic() - start < 2
        msg = str(info.value)
        assert f"{tmp_path} is in use by another abc-verl process (pid {holder.pid} on host " in msg
        assert socket.gethostname() in msg and f"abc-verl eval my_model --out {tmp_path}" in msg and " UTC" in msg

        # prepare-data on the busy folder: exit 1, the same message, nothing written
        assert prepare.main(["--only", "eval", "--benchmarks", "amc23", "--out-dir", str(tmp_path)]) == 1
        assert f"(pid {holder.pid} on host" in capsys.readouterr().err
        assert [p.name for p in tmp_path.iterdir()] == [LOCK_FILE]
    finally:
        holder.kill()
        holder.wait()
    # SIGKILL ran no cleanup: the lock file stays, but the kernel released the lock with the process
    assert (tmp_path / LOCK_FILE).exists()
    with folder_lock(tmp_path, "third") as lock:
        assert f'"pid": {os.getpid()}' in lock.read_text()
    assert not (tmp_path / LOCK_FILE).exists()  # a clean exit removes it


def test_two_prepare_data_started_together_never_corrupt_each_other(tmp_path):
    solo = tmp_path / "solo"
    assert prepare.main(["--only", "eval", "--out-dir", str(solo)]) == 0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "abc_verl.cli", "prepare-data", "--only", "eval", "--out-dir", str(tmp_path / "d")]
    outcomes = []
    for _ in range(3):
        procs = [subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env) for _ in range(2)]
        for p in procs:
            err = p.communicate(timeout=300)[1].decode()
            assert p.returncode == 0 or (p.returncode == 1 and "is in use by another abc-verl process (pid" in err), err
            outcomes.append(p.returncode)
        names = sorted(p.name for p in (tmp_path / "d").iterdir())
        assert names == sorted(p.name for p in solo.iterdir())  # no temporary, no lock file
        for name in names:
            assert pq.read_table(tmp_path / "d" / name).equals(pq.read_table(solo / name)), name
    assert 0 in outcomes

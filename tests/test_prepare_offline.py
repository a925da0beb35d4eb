"""`abc-verl prepare-data` without a reachable hub: one attempt, then an error naming what was written and the
two ways on (`--train-file PATH`, `--only eval`).

    pytest tests/test_prepare_offline.py

The hub is a local port that refuses connections (bound, never listening): what a dead network gives the
client, and no test that depends on whether this machine reaches huggingface.co. Left to itself, huggingface_hub
retries a refused download five times, printing "Retrying in 1s [Retry 1/5]" ... and sleeping 1 + 2 + 4 + 8 + 8
s. The command runs in a subprocess, as a user runs it: huggingface_hub reads HF_ENDPOINT when first imported.
"""

import os
import socket
import subprocess
import sys
import time

import pyarrow.parquet as pq

from abc_verl.data.benchmarks import BENCHMARKS
from abc_verl.data.prepare import TRAIN_HUB_NAME

RETRY_SLEEP_S = 1 + 2 + 4 + 8 + 8  # huggingface_hub's back-off over its five retries


def prepare_data(args: list[str]) -> tuple[subprocess.CompletedProcess, float]:
    """Run the command against a refused hub port; (process, wall seconds)."""
    with socket.socket() as refused:
        refused.bind(("127.0.0.1", 0))  # held, never listening: every connection to it is refused
        env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
        env["HF_ENDPOINT"] = f"http://127.0.0.1:{refused.getsockname()[1]}"
        cmd = [sys.executable, "-m", "abc_verl.cli", "prepare-data", *args]
        start = time.monotonic()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        return proc, time.monotonic() - start


def test_no_hub_fails_without_retrying(tmp_path):
    proc, wall = prepare_data(["--only", "train", "--out-dir", str(tmp_path)])
    assert proc.returncode == 2, proc.stderr
    assert "Retry" not in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    # the retries alone sleep 23 s; the whole command takes ~3 s (imports included), so this holds when loaded
    assert wall < RETRY_SLEEP_S, wall


def test_no_hub_writes_the_eval_sets_and_names_both_fixes(tmp_path):
    proc, _ = prepare_data(["--out-dir", str(tmp_path)])
    assert proc.returncode == 2, proc.stderr
    assert f"{TRAIN_HUB_NAME} (hub, config all, split train): could not load (ConnectError:" in proc.stderr
    assert f"--only train --out-dir {tmp_path} --train-file PATH" in proc.stderr
    assert f"--only eval --out-dir {tmp_path}" in proc.stderr
    written = ", ".join(f"{name}.parquet" for name in BENCHMARKS)
    assert f"wrote {written} in {tmp_path}; not written: train.parquet" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{name}.parquet" for name in BENCHMARKS)
    assert pq.read_table(tmp_path / "aime24.parquet").num_rows == 30  # a whole file, not a partial one


def test_no_hub_with_only_train_writes_nothing_and_says_so(tmp_path):
    proc, _ = prepare_data(["--only", "train", "--out-dir", str(tmp_path)])
    assert proc.returncode == 2, proc.stderr
    assert f"wrote nothing in {tmp_path}; not written: train.parquet" in proc.stderr
    assert not list(tmp_path.iterdir())

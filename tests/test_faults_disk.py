"""Output folders on a full and on a read-only filesystem. `abc-verl eval`, `prepare-data` and
`plot` stop with an error naming the path and a non-zero status, and leave earlier results byte for byte.

    pytest tests/test_faults_disk.py -q          # as root (mounts); skipped with the reason otherwise

Real filesystems: each test mounts a small tmpfs (and remounts it read-only) in its temporary folder and
unmounts it afterwards. "Full" is made by writing a filler file beside the output folder until the kernel says
ENOSPC. No mocks; in the eval test the real `grade` is wrapped only to fill the disk at that moment, so the
failure hits the first result write after generation.
"""

import errno
import json
import os
import subprocess
from pathlib import Path

import pytest

from abc_verl.data import prepare
from abc_verl.dynamics import cli as plot_cli
from abc_verl.evaluation import cli as eval_cli
from abc_verl.files import atomic_write_bytes
from abc_verl.names import LOCK_FILE

pytestmark = pytest.mark.faults
FAST = ["--n", "4", "--max-new-tokens", "8", "--limit", "2", "--workers", "1", "--backend", "hf"]
PAGE = 4096  # tmpfs allots whole pages


def _mount(*args: str) -> None:
    result = subprocess.run(["mount", *args], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount here ({' '.join(args)}): {result.stderr.strip()}")


@pytest.fixture
def small_fs(tmp_path):
    """A 256 KiB tmpfs at tmp_path/mnt; yields (mountpoint, read_only(), fill(leave_bytes))."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    _mount("-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt))

    def read_only() -> None:
        _mount("-o", "remount,ro", str(mnt))

    def fill(leave: int = 0) -> Path:
        filler = mnt / "filler"
        with open(filler, "wb", buffering=0) as fh:
            try:
                while fh.write(b"\0" * PAGE):
                    pass
            except OSError as e:
                assert e.errno == errno.ENOSPC
        if leave:
            os.truncate(filler, max(0, filler.stat().st_size - leave))
        return filler

    try:
        yield mnt, read_only, fill
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_atomic_write_on_a_full_disk_names_the_target_and_keeps_the_old_file(small_fs):
    mnt, _, fill = small_fs
    target = mnt / "summary.json"
    atomic_write_bytes(target, b"old")
    fill()
    with pytest.raises(OSError) as info:
        atomic_write_bytes(target, b"x" * 100_000)
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(target)
    assert target.read_bytes() == b"old" and sorted(p.name for p in mnt.iterdir()) == ["filler", "summary.json"]


def test_eval_on_a_disk_that_fills_then_on_a_read_only_one(small_fs, tiny_model_dir, monkeypatch, capsys):
    mnt, read_only, fill = small_fs
    out = mnt / "out"
    base = [str(tiny_model_dir), "--out", str(out), *FAST]
    assert eval_cli.main([*base, "--benchmarks", "amc23"]) == 0  # the earlier results
    earlier = snapshot(out)
    real_grade = eval_cli.grade
    filled = []

    def grade_then_fill(*args, **kwargs):  # the disk fills while grading: the next write is a result file
        verdicts = real_grade(*args, **kwargs)
        filled.append(fill())
        return verdicts

    monkeypatch.setattr(eval_cli, "grade", grade_then_fill)
    capsys.readouterr()
    assert eval_cli.main([*base, "--benchmarks", "amc23,aime24"]) == 1  # ran and failed
    err = capsys.readouterr().err
    samples = out / Path(tiny_model_dir).name / "aime24" / "samples.jsonl"
    assert f"No space left on device: '{samples}'" in err, err
    after = snapshot(out)
    assert {k: after[k] for k in earlier} == earlier  # amc23's results, the table and plot: untouched
    # what is new: the aime24 responses, kept for grading on the next run; no temporary or lock file
    assert sorted(set(after) - set(earlier)) == [f"{Path(tiny_model_dir).name}/aime24/generations.json"]

    filled[0].unlink()  # space again: the rerun grades the kept responses, generates nothing
    monkeypatch.setattr(eval_cli, "generate", lambda *a, **k: pytest.fail("responses were kept: no generation"))
    monkeypatch.setattr(eval_cli, "grade", real_grade)
    assert eval_cli.main([*base, "--benchmarks", "amc23,aime24"]) == 0
    assert json.loads(samples.with_name("summary.json").read_text())["problems"] == 2
    done = snapshot(out)

    read_only()
    capsys.readouterr()
    assert eval_cli.main([*base, "--benchmarks", "amc23,aime24,aime25"]) == 1
    err = capsys.readouterr().err
    assert f"output folder not writable (Read-only file system): '{out / LOCK_FILE}'" in err, err
    assert snapshot(out) == done


def test_prepare_data_on_a_full_then_a_read_only_disk(small_fs, capsys):
    mnt, read_only, fill = small_fs
    out = mnt / "data"
    assert prepare.main(["--only", "eval", "--benchmarks", "amc23", "--out-dir", str(out)]) == 0
    earlier = snapshot(out)
    fill(leave=2 * PAGE)  # room for the lock file, not for a parquet file (aime24's is ~10 KiB)
    capsys.readouterr()
    assert prepare.main(["--only", "eval", "--benchmarks", "aime24,amc23", "--out-dir", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"No space left on device: '{out / 'aime24.parquet'}'" in err, err
    assert snapshot(out) == earlier  # amc23.parquet untouched; no temporary or lock file left

    fill()
    assert prepare.main(["--only", "eval", "--benchmarks", "aime24", "--out-dir", str(out)]) == 1
    assert f"output folder not writable (No space left on device): '{out / LOCK_FILE}'" in capsys.readouterr().err

    (mnt / "filler").unlink()
    read_only()
    assert prepare.main(["--only", "eval", "--benchmarks", "aime24", "--out-dir", str(out)]) == 1
    assert f"output folder not writable (Read-only file system): '{out / LOCK_FILE}'" in capsys.readouterr().err
    assert snapshot(out) == earlier


def test_plot_on_a_full_then_a_read_only_disk(small_fs, capsys):
    mnt, read_only, fill = small_fs
    out = mnt / "plot"
    out.mkdir()
    (out / "summary.json").write_text("earlier")
    fill(leave=2 * PAGE)  # the lock fits, the curve files and the figure do not
    assert plot_cli.main(["--with-paper", "1.7b", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"No space left on device: '{out / 'curves'}/paper-1.7b-" in err, err
    assert (out / "summary.json").read_text() == "earlier" and not (out / LOCK_FILE).exists()
    assert not [p for p in out.rglob(".*.tmp")]
    (mnt / "filler").unlink()
    read_only()
    assert plot_cli.main(["--with-paper", "1.7b", "--out", str(out)]) == 1
    assert f"output folder not writable (Read-only file system): '{out / LOCK_FILE}'" in capsys.readouterr().err
    assert (out / "summary.json").read_text() == "earlier"

"""How abc-verl writes an output folder: one atomic writer, one lock per folder, and one JSON-lines reader.

    with atomic_open(path, "w") as fh:   # or "wb"
        fh.write(...)
    atomic_write_bytes / atomic_write_text / atomic_write_json / atomic_write_jsonl(path, ...)
    rows = read_jsonl(path)              # ValueError naming the file and line of a bad line

    with folder_lock(out_dir, "abc-verl eval ..."):   # a second process fails at once, naming this one
        remove_temporaries(out_dir)                     # temporary files of a killed earlier run

Atomic writes: the data go to a hidden temporary file beside the target (`.<name>.<12 hex>.tmp`), with a
name no other writer uses, are flushed and fsynced, and then `os.replace` puts the file in place in one step;
on any error (Ctrl-C, a full disk) the temporary file is removed and the old target, if any, is left as it
was, and an OSError names the target path. Only SIGKILL (or a power cut) can leave a temporary file behind:
it stays hidden, and the next run removes it while it holds the folder's lock. The temporary file is
created with mode 0o666, so the kernel applies the process's umask to it exactly as to any other new file;
the umask is never read or changed here (changing it is process-wide and races with every thread).

Folder lock: `fcntl.flock` on `<folder>/.abc-verl.lock`, which holds the holder's pid, host, start time and
command. The kernel drops the lock when its holder dies (SIGKILL included), so a stale lock file never
blocks anyone; a clean exit removes the file.
Not the `filelock` package: its flock-based FileLock keeps nothing in the file that a second process could
show, and the holder's command in the "in use by" message is tested behaviour (tests/test_faults_lock.py).
Writing it ourselves into a filelock-held file would need the same open / stat / write code as here.
"""

import contextlib
import datetime
import errno
import fcntl
import json
import os
import re
import secrets
import socket
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from abc_verl.names import LOCK_FILE

TEMPORARY = re.compile(r"^\..+\.[0-9a-f]{12}\.tmp$")


def _naming(e: OSError, path: Path) -> OSError:
    """The same error, naming `path` (the target, not the hidden temporary) when it names no file or that one."""
    if e.filename is not None and not TEMPORARY.match(Path(str(e.filename)).name):
        return e
    return OSError(e.errno, e.strerror or str(e), str(path))


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", encoding: str = "utf-8") -> Iterator[IO[Any]]:
    """A file handle on a temporary file that becomes `path` when the block ends without an error."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes whole files: mode 'w' or 'wb', not {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as e:
        raise _naming(e, path) from None
    try:
        with open(fd, mode, encoding=None if "b" in mode else encoding) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise _naming(e, path) from None
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_open(path, "wb") as fh:
        fh.write(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_open(path) as fh:
        fh.write(text)


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def atomic_write_jsonl(path: str | Path, rows: Iterable[dict]) -> None:
    with atomic_open(path) as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def read_jsonl(path: str | Path) -> list[dict]:
    """The JSON objects of a JSON-lines file, one per line (blank lines skipped). A line that is not a JSON
    object raises ValueError naming the file and line, bytes that are not UTF-8 one naming the file; OSError when
    the file cannot be read."""
    return [row for _, row in iter_jsonl(path)]


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line of a JSON-lines file, checked as `read_jsonl` says; for
    readers whose own errors name the line."""
    with open(path, encoding="utf-8") as fh:
        try:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as e:
                    raise ValueError(f"{path}, line {lineno}: not valid JSON ({e.msg})") from None
                if not isinstance(row, dict):
                    raise ValueError(f"{path}, line {lineno}: expected a JSON object, got {type(row).__name__}")
                yield lineno, row
        except UnicodeDecodeError as e:  # decoded a chunk at a time: the line is not known
            raise ValueError(f"{path}: not UTF-8 text ({e.reason})") from None


def remove_temporaries(folder: str | Path) -> list[Path]:
    """Delete the atomic writer's temporary files under `folder` (left by a killed run); call it only while
    holding `folder_lock(folder)`, so that no live writer's file is among them."""
    removed = []
    for path in Path(folder).rglob(".*.tmp"):
        if TEMPORARY.match(path.name) and path.is_file():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
    return removed


class FolderBusy(RuntimeError):
    """Another live process holds the folder's lock; the message names it."""


@contextlib.contextmanager
def folder_lock(folder: str | Path, command: str) -> Iterator[Path]:
    """Hold `folder`'s lock for this block; raise FolderBusy at once if another process holds it, or an
    OSError naming the folder when it cannot be written (read-only, full)."""
    folder = Path(folder)
    lock = folder / LOCK_FILE
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = _acquire(lock)
    except OSError as e:
        raise OSError(e.errno, f"output folder not writable ({e.strerror})", str(e.filename or folder)) from None
    try:
        try:
            _write_holder(fd, command)
        except OSError as e:
            raise OSError(e.errno, f"output folder not writable ({e.strerror})", str(lock)) from None
        yield lock
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock)  # while still holding it: the next process creates a fresh file
        os.close(fd)


def _acquire(lock: Path) -> int:
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise FolderBusy(
                f"{lock.parent} is in use by another abc-verl process ({holder}); wait for it to finish, or use "
                f"another output folder. The lock is {lock}; it goes away by itself when that process ends"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        try:  # the holder before us may have removed the file after we opened it: lock the file in place
            if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)


def _write_holder(fd: int, command: str) -> None:
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    holder = {"pid": os.getpid(), "host": socket.gethostname(), "started": started, "command": command}
    os.ftruncate(fd, 0)
    data = (json.dumps(holder) + "\n").encode()
    if os.pwrite(fd, data, 0) != len(data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    os.fsync(fd)


def _read_holder(fd: int) -> str:
    """'pid P on host H since T: COMMAND', from the lock file (empty while the holder is still writing it)."""
    for _ in range(50):
        raw = os.pread(fd, 65536, 0)
        try:
            h = json.loads(raw)
            return f"pid {h['pid']} on host {h['host']} since {h['started']}: {h['command']}"
        except (ValueError, KeyError, TypeError):
            time.sleep(0.01)
    return "holder unknown: its lock file is empty"

"""One grader subprocess as the parent sees it: its pipes, deadline-bounded send and receive, kill and reap.

Used by `abc_verl.rewards.pool`, which starts the graders and hands them to calls; not run by hand (tests:
`pytest tests/test_rewards.py tests/test_reward_faults.py`). Nothing here blocks past a caller's deadline: the
pipes are waited on with `select`, and writes to a grader's stdin are non-blocking.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import time
from pathlib import Path

from abc_verl.names import GRADER_MEM_ENV

_READ_CHUNK = 1 << 16


class Overrun(Exception):
    """The grader did not answer before the deadline."""


class Worker:
    """One grader subprocess and the bytes read from it so far."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        self.buf = b""
        self.drain_until = 0.0  # while the pool waits for the reply to a request whose call gave up
        os.set_blocking(proc.stdin.fileno(), False)

    def send(self, data: bytes, deadline: float) -> None:
        """Write `data` to the grader's stdin; Overrun at the deadline, OSError (EPIPE) when it died."""
        fd = self.proc.stdin.fileno()
        view = memoryview(data)
        while view:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([], [fd], [], remaining)[1]:
                raise Overrun
            try:
                view = view[os.write(fd, view) :]
            except BlockingIOError:
                continue

    def recv(self, deadline: float) -> dict:
        """The next JSON line from the grader; Overrun at the deadline, EOFError when it died."""
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buf:
            remaining = max(0.0, deadline - time.monotonic())  # at the deadline, still reads what is there
            if not select.select([fd], [], [], remaining)[0]:
                raise Overrun
            chunk = os.read(fd, _READ_CHUNK)
            if not chunk:
                raise EOFError(f"grader exited with code {self.exit_code()}")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def exit_code(self, wait_s: float = 1.0) -> int | None:
        """The grader's exit status (negative: killed by that signal), waiting up to `wait_s`; None if running."""
        try:
            return self.proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        """SIGKILL, reap (no zombie) and close both pipes (no leaked fds); safe to call more than once."""
        try:
            self.proc.kill()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                pipe.close()
            except OSError:
                pass


def child_env(mem_mb: int) -> dict[str, str]:
    """A grader's environment: this very abc_verl importable, its memory cap, unbuffered output."""
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])  # so the child imports this very abc_verl
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    env[GRADER_MEM_ENV] = str(mem_mb)
    env["PYTHONUNBUFFERED"] = "1"
    return env

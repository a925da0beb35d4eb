"""A small persistent pool of grader subprocesses with a hard, caller-enforced deadline per request.

Used by `abc_verl.rewards.reward.compute_score` for every response its fast path cannot grade; not run by hand
(its tests: `pytest tests/test_rewards.py`). Why subprocesses: math-verify and sympy can
hang or blow up memory on hostile answers, and math-verify's own timeouts use `signal.alarm`, which works
only in a main thread, while verl calls reward functions from executor threads. Each grader is a fresh
interpreter (`python -c "from abc_verl.rewards.verdict import worker_main; worker_main()"`, so no torch, CUDA or
parent state), grades in its main thread, and talks JSON lines over pipes (nothing is pickled, nothing
from a response is ever evaluated). The calling thread waits on the pipe with `select` until its
deadline; on overrun it SIGKILLs that grader and a replacement starts in the background. Graders also
cap their own address space (RLIMIT_AS) and CPU time per request (RLIMIT_CPU), and exit on stdin EOF,
so one orphaned by a dead parent cannot spin forever.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import select
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path

from abc_verl.names import GRADER_MEM_ENV

logger = logging.getLogger(__name__)

_BOOT = "from abc_verl.rewards.verdict import worker_main; worker_main()"
_READ_CHUNK = 1 << 16


class _Overrun(Exception):
    """The grader did not answer before the deadline."""


class _Ticket:
    """A call waiting for a grader. Compared by identity: a call that gives up removes its own ticket, never an
    equal-looking one of another call (which would leave a freed grader handed to nobody)."""

    __slots__ = ("worker",)

    def __init__(self) -> None:
        self.worker: _Worker | None = None


class _Worker:
    """One grader subprocess and the bytes read from it so far."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        self.buf = b""
        os.set_blocking(proc.stdin.fileno(), False)

    def send(self, data: bytes, deadline: float) -> None:
        fd = self.proc.stdin.fileno()
        view = memoryview(data)
        while view:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([], [fd], [], remaining)[1]:
                raise _Overrun
            try:
                view = view[os.write(fd, view) :]
            except BlockingIOError:
                continue

    def recv(self, deadline: float) -> dict:
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise _Overrun
            chunk = os.read(fd, _READ_CHUNK)
            if not chunk:
                raise EOFError(f"grader exited with code {self.proc.poll()}")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def kill(self) -> None:
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


def _child_env(mem_mb: int) -> dict[str, str]:
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])  # so the child imports this very abc_verl
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    env[GRADER_MEM_ENV] = str(mem_mb)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class GraderPool:
    """`size` grader subprocesses shared by all threads of this process; `grade` never raises.

    A call waits at most `timeout_s` in total (queueing for a free grader included); only while the pool
    has never had a ready grader (its first ~1 s of life) may it wait up to `startup_timeout_s`.
    """

    def __init__(self, size: int = 2, mem_mb: int = 2048, startup_timeout_s: float = 60.0, cwd: str | None = None):
        if size < 1:
            raise ValueError(f"grader pool size must be >= 1, got {size}")
        self.size, self.mem_mb, self.startup_timeout_s = size, mem_mb, startup_timeout_s
        self.cwd = cwd or os.getcwd()
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._waiting: deque[_Ticket] = deque()  # one per waiting call, oldest first
        self._alive: set[_Worker] = set()
        self._starting = 0
        self._ready_once = False
        self._created = time.monotonic()
        self._next_start = 0.0
        self._backoff = 1.0
        self._start_error = ""
        self._closed = False
        self._ids = itertools.count()
        self.kills = 0  # graders killed for overrunning their deadline (for tests and benchmarks)

    def warm_up(self, timeout_s: float | None = None) -> bool:
        """Start the graders now and wait until all `size` are ready; True when they are."""
        deadline = time.monotonic() + (self.startup_timeout_s if timeout_s is None else timeout_s)
        with self._cond:
            self._fill()
            while len(self._alive) < self.size and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 1.0))
                self._fill()
            return not self._closed

    def grade(self, response: str, gold: str, timeout_s: float, mv_timeout: int) -> dict:
        """Grade in a subprocess: {"acc", "pred", "error", "gold_ok", "timeouts"}; a failure has acc False + error."""
        deadline = time.monotonic() + timeout_s
        worker, deadline = self._checkout(deadline, timeout_s)
        if worker is None:
            why = f"; last grader start failed: {self._start_error}" if self._start_error else ""
            return _failure(f"no grader process free within {timeout_s:.3g}s{why}")
        request = {"id": next(self._ids), "response": response, "gold": gold, "mv_timeout": mv_timeout}
        request["cpu_s"] = timeout_s + 1
        try:
            worker.send(json.dumps(request, ensure_ascii=True).encode("ascii") + b"\n", deadline)
            reply = worker.recv(deadline)
        except _Overrun:
            self._discard(worker, overrun=True)
            return _failure(f"timeout: grading took longer than {timeout_s:.3g}s")
        except (OSError, EOFError, ValueError) as exc:
            self._discard(worker)
            return _failure(f"grader process failed: {exc}")
        if not isinstance(reply, dict) or reply.get("id") != request["id"]:
            self._discard(worker)
            return _failure("grader process answered out of turn")
        self._checkin(worker)
        return reply

    def close(self) -> None:
        """Kill every grader; later `grade` calls answer with an error."""
        with self._cond:
            self._closed = True
            workers = list(self._alive)
            self._alive.clear()
            self._idle.clear()
            self._cond.notify_all()
        for worker in workers:
            worker.kill()

    def _checkout(self, deadline: float, timeout_s: float) -> tuple[_Worker | None, float]:
        """A free grader, first come first served (an unfair lock lets unlucky threads starve past deadlines)."""
        with self._cond:
            self._fill()
            cold = not self._ready_once
            if self._idle and not self._waiting:
                return self._idle.pop(), deadline
            wait_until = max(deadline, self._created + self.startup_timeout_s) if cold else deadline
            ticket = _Ticket()
            self._waiting.append(ticket)
            while ticket.worker is None:
                remaining = wait_until - time.monotonic()
                if remaining <= 0 or self._closed:
                    self._waiting.remove(ticket)
                    return None, deadline
                self._cond.wait(min(remaining, 1.0))
                self._fill()
        # a call that waited for the very first grader still gets its full grading budget
        return ticket.worker, (time.monotonic() + timeout_s if cold else deadline)

    def _hand_over(self, worker: _Worker) -> None:
        """Give a free grader to the oldest waiting call, else park it (caller holds the lock)."""
        if self._waiting:
            self._waiting.popleft().worker = worker
            self._cond.notify_all()
        else:
            self._idle.append(worker)

    def _checkin(self, worker: _Worker) -> None:
        with self._cond:
            if worker in self._alive:
                self._hand_over(worker)

    def _discard(self, worker: _Worker, overrun: bool = False) -> None:
        worker.kill()
        with self._cond:
            self.kills += overrun
            self._alive.discard(worker)
            self._fill()

    def _fill(self) -> None:
        """Start graders until `size` are alive or starting (caller holds the lock); rate-limited after failures."""
        if self._closed or time.monotonic() < self._next_start:
            return
        for _ in range(self.size - len(self._alive) - self._starting):
            self._starting += 1
            threading.Thread(target=self._start_one, name="abc-verl-grader-start", daemon=True).start()

    def _start_one(self) -> None:
        worker = None
        try:
            proc = subprocess.Popen(
                [sys.executable, "-c", _BOOT],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                cwd=self.cwd,
                env=_child_env(self.mem_mb),
                start_new_session=True,  # a Ctrl-C in the terminal is for the parent, not the graders
            )
            worker = _Worker(proc)
            hello = worker.recv(time.monotonic() + self.startup_timeout_s)
            if not hello.get("ready"):
                raise EOFError(f"unexpected greeting {hello!r}")
        except (OSError, EOFError, ValueError, _Overrun) as exc:
            if worker is not None:
                worker.kill()
            self._start_failed(f"{type(exc).__name__}: {exc}")
            return
        with self._cond:
            self._starting -= 1
            if self._closed:
                worker.kill()
                return
            self._alive.add(worker)
            self._ready_once, self._backoff, self._start_error = True, 1.0, ""
            self._hand_over(worker)
            self._cond.notify_all()

    def _start_failed(self, why: str) -> None:
        with self._cond:
            logger.error("abc_verl: could not start a math-verify grader (%s); retry in %.0fs", why, self._backoff)
            self._starting -= 1
            self._start_error = why
            self._next_start = time.monotonic() + self._backoff
            self._backoff = min(self._backoff * 2, 30.0)
            self._cond.notify_all()


def _failure(error: str) -> dict:
    return {"acc": False, "pred": "", "error": error, "gold_ok": None, "timeouts": 0}

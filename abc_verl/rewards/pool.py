"""A small persistent pool of grader subprocesses with a hard, caller-enforced deadline per request.

Used by `abc_verl.rewards.reward.compute_score` for every response its fast path cannot grade; not run by hand
(its tests: `pytest tests/test_rewards.py tests/test_reward_faults.py`). Why subprocesses: math-verify and sympy
can hang or blow up memory on hostile answers, and math-verify's own timeouts use `signal.alarm`, which works
only in a main thread, while verl calls reward functions from executor threads. Each grader is a fresh
interpreter (`python -c "from abc_verl.rewards.verdict import worker_main; worker_main()"`, so no torch, CUDA or
parent state), grades in its main thread, and talks JSON lines over pipes (nothing is pickled, nothing
from a response is ever evaluated). The calling thread waits on the pipe with `select` until its
deadline; on overrun the grader gets `mv_timeout` more seconds to answer (its math-verify alarms end most slow
requests by then) and is taken back, else SIGKILLed and replaced in the background. Graders also
cap their own address space (RLIMIT_AS) and CPU time per request (RLIMIT_CPU), and exit on stdin EOF,
so one orphaned by a dead parent cannot spin forever.

Faults (tests/test_reward_faults.py). A grader that dies under a call (killed, crashed) is replaced, and the
call is retried on another grader within the same deadline; only a request that `POISON_DEATHS` graders in a row
died on fails, as a poison input. A watcher thread reaps graders that die while idle, takes back (or kills)
overrun ones, and refills the pool. A grader killed by a signal while it boots is restarted after RESTART_MIN_S,
doubling up to RESTART_MAX_S while the kills go on (the pool is whole again ~1.5-3 s after the last kill on 2
busy cores); only a grader that exits on its own while booting (a broken install) backs off, up to 30 s.
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

from abc_verl.loggers import get_logger
from abc_verl.rewards.grader import Overrun, Worker, child_env
from abc_verl.rewards.kinds import RewardKind
from abc_verl.rewards.verdict import failed

logger = get_logger(__name__)

_BOOT = "from abc_verl.rewards.verdict import worker_main; worker_main()"
POISON_DEATHS = 2  # a request that this many graders died on in a row scores 0 as a poison input
RESTART_MIN_S = 0.05  # first restart after a grader was killed while booting
RESTART_MAX_S = 1.0  # at most this long between restarts while such kills go on
BROKEN_MAX_S = 30.0  # a grader that exits by itself while booting: backoff 1, 2, 4, ... up to this
WATCH_S = 0.25  # how often the watcher looks for idle graders that died


class _Ticket:
    """A call waiting for a grader. Compared by identity: a call that gives up removes its own ticket, never an
    equal-looking one of another call (which would leave a freed grader handed to nobody)."""

    __slots__ = ("worker",)

    def __init__(self) -> None:
        self.worker: Worker | None = None


class GraderPool:
    """`size` grader subprocesses shared by all threads of this process; `grade` never raises.

    A call waits at most `timeout_s` in total (queueing for a free grader and retries included); only while the
    pool has never had a ready grader (its first ~1 s of life) may it wait up to `startup_timeout_s`.
    """

    def __init__(self, size: int = 2, mem_mb: int = 2048, startup_timeout_s: float = 60.0, cwd: str | None = None):
        if size < 1:
            raise ValueError(f"grader pool size must be >= 1, got {size}")
        self.size, self.mem_mb, self.startup_timeout_s = size, mem_mb, startup_timeout_s
        self.cwd = cwd or os.getcwd()
        self._cond = threading.Condition()
        self._idle: list[Worker] = []
        self._waiting: deque[_Ticket] = deque()  # one per waiting call, oldest first
        self._alive: set[Worker] = set()
        self._draining: list[Worker] = []  # overrun graders the watcher waits for (in _alive, not handed out)
        self._starting = 0  # graders being started (their start thread runs)
        self._booting: dict[int, subprocess.Popen] = {}  # pid -> started grader not yet ready
        self._ready_once = False
        self._created = time.monotonic()
        self._next_start = 0.0
        self._backoff, self._restarts = 1.0, 0
        self._start_error = ""
        self._closed = False
        self._wake = threading.Event()  # wakes the watcher: a grader to drain, or the pool closed
        self._ids = itertools.count()
        # counters for tests and benchmarks
        self.kills = 0  # graders killed for overrunning their deadline
        self.deaths = 0  # graders that died under a call (the call was retried or failed as poison)
        self.reaped = 0  # graders found dead while idle
        self.late = 0  # overrun graders that answered within their grace and were taken back
        self.boot_failures = 0
        self._watcher = threading.Thread(target=self._watch, name="abc-verl-grader-watch", daemon=True)
        self._watcher.start()

    def pids(self) -> dict[str, list[int]]:
        """Grader process ids: {"ready": [...], "booting": [...]} (for tests, benchmarks and fault injection)."""
        with self._cond:
            return {"ready": sorted(w.proc.pid for w in self._alive), "booting": sorted(self._booting)}

    def warm_up(self, timeout_s: float | None = None) -> bool:
        """Start the graders now and wait until all `size` are ready; True when they are."""
        deadline = time.monotonic() + (self.startup_timeout_s if timeout_s is None else timeout_s)
        with self._cond:
            self._fill()
            while len(self._alive) < self.size and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.1))
                self._fill()
            return not self._closed

    def grade(self, response: str, gold: str, timeout_s: float, mv_timeout: int) -> dict:
        """Grade in a subprocess: {"acc", "pred", "error", "kind", "gold_ok"} (+ "timeouts" from the grader); a
        failure has acc False, its kind and an error."""
        deadline = time.monotonic() + timeout_s
        deaths: list[str] = []
        while True:
            worker, deadline = self._checkout(deadline, timeout_s)
            if worker is None:
                why = f"; last grader start failed: {self._start_error}" if self._start_error else ""
                after = f" (after {len(deaths)} grader died under it: {deaths[-1]})" if deaths else ""
                return failed(RewardKind.GRADER_TIMEOUT, f"no grader process free within {timeout_s:.3g}s{after}{why}")
            request = {"id": next(self._ids), "response": response, "gold": gold, "mv_timeout": mv_timeout}
            request["cpu_s"] = timeout_s + 1
            sent = False
            try:
                worker.send(json.dumps(request, ensure_ascii=True).encode("ascii") + b"\n", deadline)
                sent = True
                reply = worker.recv(deadline)
            except Overrun:
                if sent:  # a grader that only got a late request is not killed for it: the watcher waits
                    self._drain(worker, mv_timeout)
                else:
                    self._discard(worker, overrun=True)
                return failed(RewardKind.GRADER_TIMEOUT, f"timeout: grading took longer than {timeout_s:.3g}s")
            except (OSError, EOFError) as exc:  # the grader died under this call: retry on another one
                self._discard(worker, died=True)
                deaths.append(f"{type(exc).__name__}: {exc}")
                if len(deaths) >= POISON_DEATHS:
                    why = f"poison input: {len(deaths)} graders in a row died grading it ({deaths[-1]})"
                    return failed(RewardKind.POISON_INPUT, why)
                continue
            except ValueError as exc:
                self._discard(worker)
                return failed(RewardKind.GRADER_ERROR, f"grader process failed: {exc}")
            if not isinstance(reply, dict) or reply.get("id") != request["id"]:
                self._discard(worker)
                return failed(RewardKind.GRADER_ERROR, "grader process answered out of turn")
            self._checkin(worker)
            return reply

    def close(self) -> None:
        """Kill every grader (booting ones included); later `grade` calls answer with an error."""
        with self._cond:
            self._closed = True
            self._wake.set()
            workers = list(self._alive)
            booting = list(self._booting.values())
            self._alive.clear()
            self._idle.clear()
            self._draining.clear()
            self._cond.notify_all()
        for proc in booting:  # its start thread sees the EOF and reaps it
            _signal_kill(proc)
        for worker in workers:
            worker.kill()
        if self._watcher is not threading.current_thread():
            self._watcher.join(timeout=5)

    def _checkout(self, deadline: float, timeout_s: float) -> tuple[Worker | None, float]:
        """A free grader, first come first served (an unfair lock lets unlucky threads starve past deadlines)."""
        with self._cond:
            self._fill()
            cold = not self._ready_once
            self._reap_idle()
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

    def _hand_over(self, worker: Worker) -> None:
        """Give a free grader to the oldest waiting call, else park it (caller holds the lock)."""
        if self._waiting:
            self._waiting.popleft().worker = worker
            self._cond.notify_all()
        else:
            self._idle.append(worker)

    def _checkin(self, worker: Worker) -> None:
        with self._cond:
            if worker in self._alive:
                self._hand_over(worker)

    def _discard(self, worker: Worker, overrun: bool = False, died: bool = False) -> None:
        worker.kill()
        with self._cond:
            self.kills += overrun
            self.deaths += died
            self._alive.discard(worker)
            self._fill()

    def _drain(self, worker: Worker, grace_s: float) -> None:
        with self._cond:
            worker.drain_until = time.monotonic() + grace_s
            self._draining.append(worker)
        self._wake.set()

    def _watch(self) -> None:
        """Reap graders that died while idle, take back or kill overrun ones, refill the pool (a daemon thread)."""
        while not self._closed:
            with self._cond:
                draining = list(self._draining)
            wait = self._watch_wait(draining)
            if draining:
                try:  # until one of them answers
                    select.select([w.proc.stdout.fileno() for w in draining], [], [], wait)
                except (OSError, ValueError):  # closed under us by close()
                    pass
                self._drain_step(draining)
            else:
                self._wake.wait(wait)
            self._wake.clear()
            with self._cond:
                self._reap_idle()
                self._fill()

    def _drain_step(self, draining: list[Worker]) -> None:
        """Take back each overrun grader that answered (its reply is dropped); kill those past their grace."""
        for worker in draining:
            try:
                worker.recv(time.monotonic())  # the reply to the request whose call gave up, if it is there
                back = True
            except Overrun:
                if time.monotonic() < worker.drain_until:
                    continue
                back = False
            except (OSError, EOFError, ValueError):
                back = False
            if not back:
                worker.kill()
            with self._cond:
                if worker not in self._draining:  # the pool was closed meanwhile
                    continue
                self._draining.remove(worker)
                if back:
                    self.late += 1
                    self._hand_over(worker)
                else:
                    self.kills += 1
                    self._alive.discard(worker)

    def _reap_idle(self) -> None:
        """Drop idle graders that died (poll reaps them) and close their pipes (caller holds the lock)."""
        dead = [w for w in self._idle if w.proc.poll() is not None]
        for worker in dead:
            self._idle.remove(worker)
            self._alive.discard(worker)
            worker.kill()  # already reaped: this only closes its pipes
        self.reaped += len(dead)

    def _watch_wait(self, draining: list[Worker]) -> float:
        now = time.monotonic()
        waits = [WATCH_S, *(max(0.0, w.drain_until - now) for w in draining)]
        if self._next_start > now:  # a float read needs no lock
            waits.append(self._next_start - now)
        return min(waits)

    def _fill(self) -> None:
        """Start graders until `size` are alive or booting (caller holds the lock); rate-limited after failures."""
        if self._closed or time.monotonic() < self._next_start:
            return
        for _ in range(self.size - len(self._alive) - self._starting):
            self._starting += 1
            threading.Thread(target=self._start_one, name="abc-verl-grader-start", daemon=True).start()

    def _start_one(self) -> None:
        """Start one grader and wait for its greeting (in its own thread, so booting never holds the lock)."""
        try:
            proc = subprocess.Popen(
                [sys.executable, "-c", _BOOT],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                cwd=self.cwd,
                env=child_env(self.mem_mb),
                start_new_session=True,  # a Ctrl-C in the terminal is for the parent, not the graders
            )
        except OSError as exc:  # no fds, no memory, no executable: back off as for a broken install
            self._start_done(None, f"{type(exc).__name__}: {exc}", killed=False)
            return
        with self._cond:
            self._booting[proc.pid] = proc
        worker = Worker(proc)
        try:
            if self._closed:
                raise EOFError("pool closed")
            hello = worker.recv(time.monotonic() + self.startup_timeout_s)
            if not hello.get("ready"):
                raise EOFError(f"unexpected greeting {hello!r}")
        except (OSError, EOFError, ValueError, Overrun) as exc:
            code = worker.exit_code()  # waits briefly for the exit status before killing
            worker.kill()
            # killed by a signal (negative code) or hung: transient, restart soon; exited by itself: broken
            self._start_done(None, f"{type(exc).__name__}: {exc}", killed=code is None or code < 0, pid=proc.pid)
            return
        self._start_done(worker, "", killed=False, pid=proc.pid)

    def _start_done(self, worker: Worker | None, why: str, killed: bool, pid: int = 0) -> None:
        with self._cond:
            self._starting -= 1
            self._booting.pop(pid, None)
            if worker is None:
                if not self._closed:
                    self._start_failed(why, killed)
            elif self._closed:
                worker.kill()
            else:
                self._alive.add(worker)
                self._ready_once, self._backoff, self._restarts, self._start_error = True, 1.0, 0, ""
                self._hand_over(worker)
            self._cond.notify_all()

    def _start_failed(self, why: str, killed: bool) -> None:
        """Schedule the next start (caller holds the lock); the watcher starts it when the time comes."""
        self.boot_failures += 1
        if killed:
            delay = min(RESTART_MIN_S * 2**self._restarts, RESTART_MAX_S)
            self._restarts += 1
        else:
            delay, self._backoff = self._backoff, min(self._backoff * 2, BROKEN_MAX_S)
        level = logging.WARNING if killed else logging.ERROR
        logger.log(level, "abc_verl: could not start a math-verify grader (%s); retry in %.2gs", why, delay)
        self._start_error = why
        self._next_start = time.monotonic() + delay


def _signal_kill(proc: subprocess.Popen) -> None:
    try:
        proc.kill()
    except OSError:
        pass

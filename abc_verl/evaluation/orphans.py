"""Worker processes of `abc-verl eval` die with it: a SIGKILLed eval leaves no vLLM engine or grader behind.

    die_with_parent()   # first thing in a multiprocessing child (grading workers)
    take_group_down_with_parent()   # the same for a vLLM rank and the engine processes vLLM starts under it

Linux's PR_SET_PDEATHSIG makes the kernel send the child SIGKILL when its parent dies, by any signal; no
cleanup code of the parent has to run. Elsewhere (macOS) it does nothing.
"""

import ctypes
import multiprocessing
import os
import signal
import threading
import time

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent() -> None:
    """SIGKILL this process when its parent dies; exit at once if the parent is gone already."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
            return
    except (OSError, AttributeError):  # no prctl: not Linux
        return
    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:  # died before the request took effect
        os._exit(1)


def take_group_down_with_parent(poll_s: float = 0.2) -> None:
    """For a process whose children cannot be told to die with it (vLLM's engine core and model workers, which
    vLLM spawns and which only watch each other): it leads a process group of its own, which they join, and the
    whole group is SIGKILLed when its parent dies (a watchdog thread notices the new parent id) or when it gets
    SIGTERM (the eval stopping it). PR_SET_PDEATHSIG is not used here: it would kill this process alone."""
    parent = os.getppid()
    os.setpgid(0, 0)

    def kill_group(*_: object) -> None:
        os.killpg(0, signal.SIGKILL)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_s)
        kill_group()

    signal.signal(signal.SIGTERM, kill_group)
    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()

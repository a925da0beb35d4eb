"""Worker processes of `abc-verl eval` die with it: a SIGKILLed eval leaves no vLLM engine or grader behind.

    die_with_parent()   # first thing in a multiprocessing child (vLLM ranks, grading workers)

Linux's PR_SET_PDEATHSIG makes the kernel send the child SIGKILL when its parent dies, by any signal; no
cleanup code of the parent has to run. Elsewhere (macOS) it does nothing.
"""

import ctypes
import multiprocessing
import os
import signal

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

"""The two outcomes of an `abc-verl check` stage other than PASS; every check module raises these."""


class CheckFailed(Exception):
    """A check found a problem; the message names the key, package or file at fault and the fix."""


class Skip(Exception):
    """A check that cannot run here (data not prepared yet, no GPU on this machine); says why."""

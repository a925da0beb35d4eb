"""Which Ray node each verl worker runs on, and what the ABC loss computes there: an opt-in trace for multi-node runs.

With ABC_VERL_NODE_LOG=1 in a worker's environment, each process of a verl worker group (an FSDP rank) prints
one line when the plugin loads in it, and one line per call of the loss:

    abc-verl worker: rank=1 node=<ray node id> python=<interpreter> abc_verl=<where it was imported from>
    abc-verl loss: rank=1 node=<ray node id> loss_mode=abc actor/pg_clipfrac=0.0625 actor/abc/clipfrac_q1=...

The first says which node registered the plugin and from which copy of abc_verl (an installed one, or the one
Ray's runtime_env `py_modules` shipped); the second gives each rank's own metrics, which verl then averages over
the ranks before logging them. `examples/tiny_cpu_abc_2nodes.sh` sets it; tests/test_two_nodes.py reads it.
Without the variable nothing is printed and nothing is wrapped.
"""

import functools
import os
import sys
from typing import Any

from abc_verl.names import LOSS_MODE, NODE_LOG_ENV

WORKER_TAG = "abc-verl worker:"
LOSS_TAG = "abc-verl loss:"


def _node_id() -> str:
    import ray

    return ray.get_runtime_context().get_node_id() if ray.is_initialized() else "none"


def announce_worker() -> bool:
    """In a verl worker-group process with ABC_VERL_NODE_LOG=1: print where it runs, trace the loss; else no-op."""
    if os.environ.get(NODE_LOG_ENV) != "1":
        return False
    import abc_verl

    rank, node = os.environ.get("RANK", "?"), _node_id()
    print(f"{WORKER_TAG} rank={rank} node={node} python={sys.executable} abc_verl={abc_verl.__file__}", flush=True)
    _trace_loss(rank, node)
    return True


def _trace_loss(rank: str, node: str) -> None:
    """Wrap the registered "abc" loss so each call prints this rank's metrics (the values verl then reduces)."""
    from verl.trainer.ppo.core_algos import POLICY_LOSS_REGISTRY

    loss_fn = POLICY_LOSS_REGISTRY[LOSS_MODE]
    if getattr(loss_fn, "_abc_verl_traced", False):
        return

    @functools.wraps(loss_fn)  # keeps the plugin's name and module: registration checks and `abc-verl check` see it
    def traced(*args: Any, **kwargs: Any) -> Any:
        loss, metrics = loss_fn(*args, **kwargs)
        mode = kwargs["config"].policy_loss.get("loss_mode", "?")
        values = " ".join(f"{k}={float(v)!r}" for k, v in sorted(metrics.items()))
        print(f"{LOSS_TAG} rank={rank} node={node} loss_mode={mode} {values}", flush=True)
        return loss, metrics

    traced._abc_verl_traced = True
    POLICY_LOSS_REGISTRY[LOSS_MODE] = traced

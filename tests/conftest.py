"""Shared fixtures. verl runs here on CPU through abc_verl's opt-in CPU platform (VERL_PLATFORM=cpu).

The variable is set before anything imports verl: verl resolves its platform once per process, and the
plugin (loaded at `import verl`) registers the CPU platform only when the variable is set.
"""

import os

os.environ["VERL_PLATFORM"] = "cpu"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory):
    """A tiny random Qwen3 with its tokenizer, built offline once per test session."""
    from abc_verl.cpu.tiny import build_tiny_qwen3

    return build_tiny_qwen3(tmp_path_factory.mktemp("tiny_qwen3"))

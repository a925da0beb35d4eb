"""The `abc-verl` command: every subcommand's parser gives help for each of its arguments, and every subcommand
follows the one exit-status rule `abc-verl --help` states."""

import importlib

import pytest

from abc_verl import cli
from abc_verl.cli import COMMANDS

PARSERS = [(name, module) for name, (module, _) in COMMANDS.items()] + [("eval score", "abc_verl.evaluation.score")]


@pytest.mark.parametrize(("command", "module"), PARSERS)
def test_every_flag_has_help(command, module):
    parser = importlib.import_module(module).build_parser()
    assert parser.prog == f"abc-verl {command}"
    missing = [a.option_strings or [a.dest] for a in parser._actions if a.dest != "help" and not a.help]
    assert missing == []


def test_help_states_the_exit_status_rule(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert cli.EXIT_STATUS in out and all(f"  {code} " in out for code in ("0", "1", "2", "130"))


def test_unknown_command_is_a_command_line_error(capsys):
    assert cli.main(["trian"]) == 2
    assert "unknown command 'trian'" in capsys.readouterr().err


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_wrong_command_line_exits_2_in_every_command(command, capsys):
    with pytest.raises(SystemExit) as exited:  # argparse's own exit: the shell sees status 2
        code = cli.main([command, "--no-such-flag"])
        raise SystemExit(code)  # a command that catches argparse's exit must still return 2
    assert exited.value.code == 2
    assert f"abc-verl {command}: error:" in capsys.readouterr().err


def test_ctrl_c_in_any_command_exits_130(monkeypatch, capsys):
    from abc_verl.check import info

    def interrupted(argv):
        raise KeyboardInterrupt

    monkeypatch.setattr(info, "main", interrupted)
    assert cli.main(["info"]) == 130
    assert "abc-verl info: interrupted" in capsys.readouterr().err

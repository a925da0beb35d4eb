"""The `abc-verl` command: every subcommand's parser gives help for each of its arguments."""

import importlib

import pytest

from abc_verl.cli import COMMANDS

PARSERS = [(name, module) for name, (module, _) in COMMANDS.items()] + [("eval score", "abc_verl.evaluation.score")]


@pytest.mark.parametrize(("command", "module"), PARSERS)
def test_every_flag_has_help(command, module):
    parser = importlib.import_module(module).build_parser()
    assert parser.prog == f"abc-verl {command}"
    missing = [a.option_strings or [a.dest] for a in parser._actions if a.dest != "help" and not a.help]
    assert missing == []

"""The README's commands are the ones CI and users run: the test command is .ci/run's, every launcher parses
and names a shipped recipe, and every command in the code blocks of the README and of the docs/ pages it links
parses against the real CLI: each `abc-verl ...` line against its subcommand's argument parser, each launcher
line's Hydra overrides composed onto the launcher's recipe, each script and file it names present."""

import importlib.util
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
LINKED_DOCS = [ROOT / page for page in sorted(set(re.findall(r"\]\((docs/[\w.-]+\.md)", README)))]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci in README and ci.endswith("pytest")


def test_launchers_parse_and_name_shipped_recipes():
    launchers = sorted((ROOT / "examples").glob("*.sh"))
    assert {p.name for p in launchers} >= {"prepare_data.sh", "qwen3_1.7b_abc.sh", "qwen3_4b_grpo.sh"}
    for launcher in launchers:
        subprocess.run(["bash", "-n", str(launcher)], check=True)
        text = launcher.read_text()
        assert text.startswith("#!/usr/bin/env bash\n# ") and "set -xeuo pipefail" in text
        match = re.search(r"RECIPE=\$\{RECIPE:-(\w[\w.]*)\}", text)
        if match:
            assert (ROOT / "recipes" / f"{match.group(1)}.yaml").is_file(), launcher
            assert '"$@"' in text  # Hydra overrides pass through


def test_recipe_arms_have_launchers():
    for recipe in (ROOT / "recipes").glob("qwen3_*_*.yaml"):
        assert (ROOT / "examples" / f"{recipe.stem}.sh").is_file(), recipe.stem


def readme_commands() -> list[list[str]]:
    """Every command of the bash blocks of the README and the docs pages it links, as argv, `&&` chains split,
    comments and VAR=value prefixes gone."""
    commands = []
    texts = [README, *(page.read_text() for page in LINKED_DOCS)]
    for block in (b for text in texts for b in re.findall(r"```bash\n(.*?)```", text, re.S)):
        for line in block.splitlines():
            argv: list[str] = []
            for word in [*shlex.split(line, comments=True), "&&"]:
                if word != "&&":
                    argv.append(word)
                    continue
                while argv and re.fullmatch(r"[A-Z_]+=\S*", argv[0]):
                    argv = argv[1:]
                if argv:
                    commands.append(argv)
                argv = []
    return commands


COMMANDS = readme_commands()


def test_the_readme_has_the_commands_this_test_reads():
    firsts = {argv[0] for argv in COMMANDS}
    assert {"abc-verl", "examples/tiny_cpu_abc.sh", "examples/qwen3_1.7b_abc.sh", "pytest", "python"} <= firsts
    assert ROOT / "docs" / "benchmarks.md" in LINKED_DOCS and all(page.is_file() for page in LINKED_DOCS)


@pytest.mark.parametrize("argv", [a for a in COMMANDS if a[0] == "abc-verl"], ids=" ".join)
def test_abc_verl_commands_parse_against_the_cli(argv, monkeypatch):
    from abc_verl.check.recipes import find_recipe
    from abc_verl.cli import COMMANDS as SUBCOMMANDS

    command, args = argv[1], argv[2:]
    module = SUBCOMMANDS[command][0]
    if command == "eval" and args[:1] == ["score"]:
        module, args = "abc_verl.evaluation.score", args[1:]
    parsed = importlib.import_module(module).build_parser().parse_args(args)  # SystemExit on a bad flag
    if command == "check":
        find_recipe(parsed.recipe)


@pytest.mark.parametrize("argv", [a for a in COMMANDS if a[0].startswith("examples/")], ids=" ".join)
def test_launcher_commands_name_launchers_whose_overrides_compose(argv):
    from abc_verl.check.recipes import compose_recipe, find_recipe

    launcher = ROOT / argv[0]
    assert launcher.is_file() and os.access(launcher, os.X_OK), launcher
    recipe = re.search(r"RECIPE=\$\{RECIPE:-(\w[\w.]*)\}", launcher.read_text())
    overrides = [a for a in argv[1:] if "=" in a]
    if recipe:  # the README's overrides are accepted by Hydra on that recipe (a wrong `+` would fail here)
        compose_recipe(find_recipe(recipe.group(1)), overrides)


@pytest.mark.parametrize(
    "argv", [a for a in COMMANDS if a[0] == "python" or a[0].startswith("benchmarks/")], ids=" ".join
)
def test_scripts_the_readme_runs_exist(argv):
    if argv[:2] == ["python", "-m"]:  # a module of the package, run by name
        assert importlib.util.find_spec(argv[2]) is not None, argv
    else:
        assert (ROOT / next(a for a in argv if a.endswith(".py"))).is_file(), argv

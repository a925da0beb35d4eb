"""The README's commands are the ones CI and users run: the test command is .ci/run's, every launcher parses
and names a shipped recipe, and the set-up commands name the CLI that exists."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


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
            assert text.rstrip().endswith('"$@"')


def test_recipe_arms_have_launchers():
    for recipe in (ROOT / "recipes").glob("qwen3_*_*.yaml"):
        assert (ROOT / "examples" / f"{recipe.stem}.sh").is_file(), recipe.stem

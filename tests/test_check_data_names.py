"""`abc-verl check` on a half-prepared data folder, and recipe names as users type them.

    pytest tests/test_check_data_names.py

Runs the real composition, key check and data check (no Ray, no engine: `only=("data",)`), on parquet files
written by the real `abc-verl prepare-data`.
"""

import pytest

from abc_verl.check.cli import run_checks
from abc_verl.check.recipes import find_recipe, recipes_dir
from abc_verl.data.prepare import main as prepare_data


def data_line(recipe: str, *overrides: str) -> tuple[bool, list[str]]:
    lines: list[str] = []
    ok = run_checks(recipe, list(overrides), out=lines.append, only=("data",))
    text = "\n".join(lines).splitlines()
    start = next(i for i, line in enumerate(text) if line.split()[1:2] == ["data"])
    return ok, text[start:-1]  # the data line and its continuation lines, not the closing total


def test_eval_sets_without_the_training_file_skip_naming_the_file_and_the_command(monkeypatch, tmp_path):
    """The state `abc-verl prepare-data --only eval` leaves: not a failure, and the line says how to finish."""
    assert prepare_data(["--only", "eval", "--out-dir", str(tmp_path)]) == 0
    monkeypatch.setenv("ABC_VERL_DATA", str(tmp_path))
    ok, lines = data_line("qwen3_1.7b_abc")
    assert ok  # a SKIP: `abc-verl check` exits 0 and the README's main command goes on to the tiny run
    assert lines[0] == (
        f"SKIP data         missing data.train_files: {tmp_path}/train.parquet; training cannot start without it: "
        f"run `abc-verl prepare-data --only train --out-dir {tmp_path} --train-file PATH` (PATH: a local copy of "
        f"DAPO-Math-17k, .jsonl or .parquet), or with network `abc-verl prepare-data --only train --out-dir {tmp_path}`"
    )
    present = "present: aime24.parquet 30 rows, aime25.parquet 30 rows, amc23.parquet 40 rows; "
    assert lines[1].strip().startswith(present)  # then what the tokenizer could check


def test_a_missing_eval_set_names_the_offline_command(monkeypatch, tmp_path):
    fixture = "tests/fixtures/data/dapo_sample.jsonl"
    assert prepare_data(["--out-dir", str(tmp_path), "--train-file", fixture, "--benchmarks", "aime24,amc23"]) == 0
    monkeypatch.setenv("ABC_VERL_DATA", str(tmp_path))
    ok, lines = data_line("qwen3_1.7b_abc")
    assert ok and lines[0] == (
        f"SKIP data         missing data.val_files: {tmp_path}/aime25.parquet; training cannot start without it: "
        f"run `abc-verl prepare-data --only eval --out-dir {tmp_path}` (no network needed)"
    )


def test_a_bad_present_file_still_fails_beside_a_missing_one(monkeypatch, tmp_path):
    assert prepare_data(["--only", "eval", "--out-dir", str(tmp_path)]) == 0
    (tmp_path / "amc23.parquet").write_text("not parquet")
    monkeypatch.setenv("ABC_VERL_DATA", str(tmp_path))
    ok, lines = data_line("qwen3_1.7b_abc")
    assert not ok and lines[0].startswith(f"FAIL data         data.val_files: {tmp_path}/amc23.parquet is not a")


def test_a_misspelled_recipe_name_gets_the_closest_shipped_one():
    with pytest.raises(FileNotFoundError, match=r"unknown recipe 'qwen3_17b_abc' \(did you mean qwen3_1\.7b_abc\?\)"):
        find_recipe("qwen3_17b_abc")


def test_the_check_prints_the_suggestion():
    lines: list[str] = []
    assert not run_checks("qwen3_17b_abc", [], out=lines.append)
    assert lines[0].startswith("FAIL compose      unknown recipe 'qwen3_17b_abc' (did you mean qwen3_1.7b_abc?);")


@pytest.mark.parametrize("typed", ["qwen3_1.7b_abc.yaml", "qwen3_1.7b_abc.yml", "qwen3_1.7b_abc"])
def test_a_shipped_recipe_is_found_by_its_file_name(typed, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no such file here: the shipped one
    assert find_recipe(typed) == recipes_dir() / "qwen3_1.7b_abc.yaml"


def test_a_recipe_file_here_wins_over_the_shipped_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "qwen3_1.7b_abc.yaml").write_text("defaults: []\n")
    assert find_recipe("qwen3_1.7b_abc.yaml") == tmp_path / "qwen3_1.7b_abc.yaml"


def test_a_missing_recipe_file_says_so():
    with pytest.raises(FileNotFoundError, match="no recipe file 'my_recipe.yaml' here nor shipped"):
        find_recipe("my_recipe.yaml")

"""Tests of `abc-verl prepare-data` and the prompt / benchmark helpers, on small fixtures in the hub schema.

pytest tests/test_data.py
"""

from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from abc_verl.data import benchmarks, prompts
from abc_verl.data import prepare as data

FIXTURES = Path(__file__).parent / "fixtures" / "data"
INSTRUCTION_TRAIN = "Please reason step by step, and put your final answer within \\boxed{{}}."
INSTRUCTION_EVAL = "Please reason step by step, and put your final answer within \\boxed{}."
# dapo_sample.{jsonl,parquet}: 8 rows; row 4 repeats row 0, row 5 has no answer (null), row 6 an empty one
TRAIN_GOLDS = ["55", "49", "24", "2", "-15"]


def _rows(path: Path) -> list[dict]:
    return pq.read_table(path).to_pylist()


def _summary_line(out: str, name: str) -> list[str]:
    return next(line.split() for line in out.splitlines() if line.startswith(name + " "))


def test_prompts_are_the_papers():
    assert prompts.TRAIN_INSTRUCTION == INSTRUCTION_TRAIN
    assert prompts.train_prompt("Find $x$.") == INSTRUCTION_TRAIN + "Find $x$."
    assert prompts.eval_prompt("Find $x$.") == INSTRUCTION_EVAL + " Find $x$.\n"
    assert prompts.eval_messages("Q") == [{"role": "user", "content": INSTRUCTION_EVAL + " Q\n"}]


@pytest.mark.parametrize("fixture", ["dapo_sample.jsonl", "dapo_sample.parquet"])
def test_training_set_from_a_local_file(tmp_path, capsys, fixture):
    argv = ["--only", "train", "--train-file", str(FIXTURES / fixture), "--out-dir", str(tmp_path)]
    assert data.main(argv) == 0
    rows = _rows(tmp_path / "train.parquet")
    assert [r["reward_model"]["ground_truth"] for r in rows] == TRAIN_GOLDS
    assert rows[0] == {
        "data_source": "dapo_math_17k",
        "prompt": [
            {"role": "user", "content": INSTRUCTION_TRAIN + "What is the sum of the first $10$ positive integers?"}
        ],
        "ability": "math",
        "reward_model": {"style": "rule", "ground_truth": "55"},
        "extra_info": {"split": "train", "index": 0, "id": "fixture-0000"},
    }
    assert [r["extra_info"]["index"] for r in rows] == [0, 1, 2, 3, 4]
    assert rows[4]["extra_info"]["id"] == "fixture-0007"
    out = capsys.readouterr().out
    # read, no problem, no answer, duplicates, written
    assert _summary_line(out, "train")[1:6] == ["8", "0", "2", "1", "5"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.parquet"]  # no temporary file left behind


def test_training_prompt_in_a_system_turn(tmp_path):
    argv = ["--only", "train", "--train-file", str(FIXTURES / "dapo_sample.jsonl"), "--out-dir", str(tmp_path)]
    assert data.main(argv + ["--train-prompt-role", "system"]) == 0
    assert _rows(tmp_path / "train.parquet")[1]["prompt"] == [
        {"role": "system", "content": INSTRUCTION_TRAIN},
        {"role": "user", "content": "Let $x$ satisfy $2x + 3 = 17$. Find $x^2$."},
    ]


def test_training_set_from_the_hub_by_name(tmp_path, monkeypatch):
    records = [{"prompt": "What is $2+2$?", "solution": "4", "extra_info": {"index": "a"}}]
    calls = []

    def fake_load_dataset(name, config, split):
        calls.append((name, config, split))
        return datasets.Dataset.from_list(records)

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    monkeypatch.setattr(data, "probe_hub", lambda name: None)  # the hub stand-in answers
    assert data.main(["--only", "train", "--out-dir", str(tmp_path)]) == 0
    assert calls == [("open-r1/DAPO-Math-17k-Processed", "all", "train")]
    assert _rows(tmp_path / "train.parquet")[0]["reward_model"]["ground_truth"] == "4"


def test_hub_failure_is_a_clear_error(tmp_path, monkeypatch, capsys):
    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    monkeypatch.setattr(data, "probe_hub", lambda name: None)  # the hub answers, the download then fails
    assert data.main(["--only", "train", "--out-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "open-r1/DAPO-Math-17k-Processed" in err and "ConnectionError: no network" in err and "--train-file" in err
    assert not list(tmp_path.iterdir())


def test_packaged_eval_sets_need_no_network(tmp_path, capsys):
    assert data.main(["--only", "eval", "--out-dir", str(tmp_path)]) == 0
    counts = {name: len(_rows(tmp_path / f"{name}.parquet")) for name in benchmarks.BENCHMARKS}
    assert counts == {"aime24": 30, "aime25": 30, "amc23": 40, "hmmt202502": 30, "math500": 500}
    sources = {_rows(tmp_path / f"{name}.parquet")[0]["data_source"] for name in benchmarks.BENCHMARKS}
    assert sources == set(benchmarks.BENCHMARKS)
    amc = _rows(tmp_path / "amc23.parquet")[0]
    assert amc["reward_model"] == {"style": "rule", "ground_truth": "27"}
    assert amc["prompt"][0]["content"].startswith(INSTRUCTION_EVAL + " Cities $A$ and $B$ are $45$ miles apart.")
    assert amc["prompt"][0]["content"].endswith("when they meet?\n")
    assert amc["extra_info"] == {"split": "test", "index": 0, "id": "0"}
    assert _rows(tmp_path / "aime25.parquet")[0]["reward_model"]["ground_truth"] == "70"
    assert _rows(tmp_path / "math500.parquet")[0]["extra_info"]["id"] == "test/precalculus/807.json"
    assert _summary_line(capsys.readouterr().out, "math500")[1:6] == ["500", "0", "0", "0", "500"]


def test_eval_set_from_a_local_file(tmp_path, capsys):
    argv = ["--only", "eval", "--benchmarks", "amc23", "--eval-file", f"amc23={FIXTURES / 'eval_sample.jsonl'}"]
    assert data.main(argv + ["--out-dir", str(tmp_path)]) == 0
    rows = _rows(tmp_path / "amc23.parquet")
    assert [r["reward_model"]["ground_truth"] for r in rows] == ["2", "0.75", "2\\sqrt{3}"]
    assert _summary_line(capsys.readouterr().out, "amc23")[1:6] == ["5", "0", "1", "1", "3"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["amc23.parquet"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--only", "train", "--train-file", "{fx}/dapo_no_solution_column.jsonl"], "missing column 'solution'"),
        (
            ["--only", "eval", "--benchmarks", "aime24", "--eval-file", "aime24={fx}/eval_no_answer_column.jsonl"],
            "missing column 'answer'",
        ),
        (["--only", "train", "--train-file", "{fx}/nowhere.jsonl"], "nowhere.jsonl: no such file"),
        (["--only", "train", "--train-file", "{fx}/../data"], "data: not a file"),
        (["--only", "eval", "--benchmarks", "aime26"], "unknown benchmark 'aime26'"),
        (["--only", "eval", "--eval-file", "aime24"], "expected NAME=PATH"),
    ],
)
def test_bad_input_names_the_column_or_file(tmp_path, capsys, argv, message):
    argv = [a.replace("{fx}", str(FIXTURES)) for a in argv]
    assert data.main(argv + ["--out-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err
    if "missing column" in message:
        assert str(FIXTURES) in err  # the file is named
    assert not list(tmp_path.iterdir())


def test_bad_lines_and_types_are_reported(tmp_path, capsys):
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"prompt": "a", "solution": "1"}\n{"prompt": \n')
    assert data.main(["--only", "train", "--train-file", str(broken), "--out-dir", str(tmp_path / "o")]) == 2
    assert f"{broken}, line 2: not valid JSON" in capsys.readouterr().err
    csv = tmp_path / "train.csv"
    csv.write_text("prompt,solution\n")
    assert data.main(["--only", "train", "--train-file", str(csv), "--out-dir", str(tmp_path / "o")]) == 2
    assert "unsupported file type '.csv'" in capsys.readouterr().err


def test_a_set_with_no_usable_rows_is_an_error(tmp_path, capsys):
    empty = tmp_path / "empty.jsonl"
    empty.write_text('{"prompt": "a", "solution": null}\n')
    assert data.main(["--only", "train", "--train-file", str(empty), "--out-dir", str(tmp_path / "o")]) == 2
    assert "no usable rows for train (read 1)" in capsys.readouterr().err


def test_write_is_atomic(tmp_path):
    target = tmp_path / "train.parquet"
    data.write_parquet([{"a": 1}], target)
    with pytest.raises(pa.ArrowInvalid):
        data.write_parquet([{"a": 1}, {"a": "not an int"}], target)
    assert pq.read_table(target).to_pylist() == [{"a": 1}]  # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["train.parquet"]


def test_load_benchmark():
    aime25 = benchmarks.load_benchmark("aime25").problems
    assert len(aime25) == 30
    assert aime25[0] == benchmarks.Problem(
        id="0",
        question="Find the sum of all integer bases $b>9$ for which $17_b$ is a divisor of $97_b.$",
        answer="70",
    )
    amc = benchmarks.load_benchmark("amc23").problems
    assert all(isinstance(v, str) for p in amc for v in (p.id, p.question, p.answer))
    assert amc[0].answer == "27"
    with pytest.raises(data.DataError, match="choose from aime24, aime25, amc23, hmmt202502, math500"):
        benchmarks.packaged_file("gsm8k")
    with pytest.raises(data.DataError, match="'gsm8k': use one of aime24, aime25, amc23, hmmt202502, math500"):
        benchmarks.load_benchmark("gsm8k")

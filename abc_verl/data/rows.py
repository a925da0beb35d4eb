"""Reading jsonl / parquet files and turning their records into verl rows, with what was left out counted.

A verl row: `data_source`, `prompt` ([{role, content}] chat messages; verl applies the model's chat template),
`ability` "math", `reward_model` {style "rule", ground_truth str}, `extra_info` {split, index, id}. Training
records need `prompt` and `solution` (the hub dataset's schema); eval records `question` (else `problem`) and
`answer`. Rows without a problem or an answer are skipped, repeated problems dropped, both counted; answers
become strings (27.0 -> "27"); the id is `extra_info.index`, else `id`, else `unique_id`, else the row number.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from abc_verl.data.prompts import TRAIN_INSTRUCTION, eval_messages, train_prompt
from abc_verl.files import read_jsonl
from abc_verl.rewards.verdict import gold_to_text

TRAIN_PROMPT_COLUMN, TRAIN_ANSWER_COLUMN = "prompt", "solution"
EVAL_QUESTION_COLUMNS, EVAL_ANSWER_COLUMN = ("question", "problem"), "answer"


class DataError(ValueError):
    """Bad input data or arguments; the message names the file, column or flag."""


def read_records(path: Path) -> tuple[list[dict], list[str]]:
    """Rows of a local .jsonl/.json (one object per line) or .parquet file, and its column names."""
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if not path.is_file():
        raise DataError(f"{path}: not a file")
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        return table.to_pylist(), list(table.column_names)
    if path.suffix not in (".jsonl", ".json"):
        raise DataError(f"{path}: unsupported file type {path.suffix!r} (use .jsonl or .parquet)")
    try:
        records = read_jsonl(path)
    except ValueError as exc:  # names the file and line
        raise DataError(str(exc)) from None
    columns: dict[str, None] = {}
    for record in records:
        columns.update(dict.fromkeys(record))
    return records, list(columns)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or not str(value).strip()


@dataclass
class Table:
    """Rows ready for parquet plus what was left out."""

    source: str
    read: int = 0
    no_problem: int = 0
    no_answer: int = 0
    duplicates: int = 0
    rows: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _columns_for(kind: str, columns: list[str], source: str) -> tuple[str, str]:
    if kind == "train":
        needed = [TRAIN_PROMPT_COLUMN, TRAIN_ANSWER_COLUMN]
    else:
        question = next((c for c in EVAL_QUESTION_COLUMNS if c in columns), None)
        if question is None:
            raise DataError(f"{source}: missing column 'question' or 'problem' (columns: {', '.join(columns)})")
        needed = [question, EVAL_ANSWER_COLUMN]
    for column in needed:
        if column not in columns:
            raise DataError(f"{source}: missing column {column!r} (columns: {', '.join(columns)})")
    return needed[0], needed[1]


def _record_id(record: dict, number: int) -> str:
    info = record.get("extra_info")
    for value in (info.get("index") if isinstance(info, dict) else None, record.get("id"), record.get("unique_id")):
        if not _missing(value):
            return str(value)
    return str(number)


def build_rows(
    records: Iterable[dict],
    columns: list[str],
    source: str,
    *,
    kind: str,
    data_source: str,
    prompt_role: str = "user",
) -> Table:
    """verl rows for a training (`kind="train"`) or eval set; skips and counts rows that cannot be used."""
    problem_col, answer_col = _columns_for(kind, columns, source)
    table, seen = Table(source), set()
    for number, record in enumerate(records):
        table.read += 1
        problem, answer = record.get(problem_col), record.get(answer_col)
        if _missing(problem):
            table.no_problem += 1
            continue
        if _missing(answer):
            table.no_answer += 1
            continue
        problem = str(problem)
        if problem.strip() in seen:
            table.duplicates += 1
            continue
        seen.add(problem.strip())
        table.problems.append(problem)
        table.rows.append(_row(kind, data_source, problem, gold_to_text(answer).strip(), record, number, prompt_role))
    for row_index, row in enumerate(table.rows):
        row["extra_info"]["index"] = row_index
    return table


def _row(kind: str, data_source: str, problem: str, answer: str, record: dict, number: int, role: str) -> dict:
    if kind == "eval":
        prompt = eval_messages(problem)
    elif role == "system":
        prompt = [{"role": "system", "content": TRAIN_INSTRUCTION}, {"role": "user", "content": problem}]
    else:
        prompt = [{"role": "user", "content": train_prompt(problem)}]
    return {
        "data_source": data_source,
        "prompt": prompt,
        "ability": "math",
        "reward_model": {"style": "rule", "ground_truth": answer},
        "extra_info": {"split": "train" if kind == "train" else "test", "index": 0, "id": _record_id(record, number)},
    }

r"""Write verl parquet files: the DAPO-Math-17k training set and five eval sets, with the paper's prompts.

    abc-verl prepare-data                                   # hub training set + packaged eval sets -> ./data
    abc-verl prepare-data --out-dir data --only eval        # eval sets only; needs no network
    abc-verl prepare-data --train-file dapo.parquet         # training set from a local jsonl/parquet copy
    abc-verl prepare-data --eval-file aime24=my_aime.jsonl  # one eval set from a local file

Outputs in --out-dir: `train.parquet` (data_source "dapo_math_17k") and `<benchmark>.parquet` for aime24,
aime25, amc23, hmmt202502 and math500 (data_source = the benchmark name). Each row is verl's schema:
`data_source`, `prompt` ([{role, content}] chat messages; verl applies the model's chat template),
`ability` "math", `reward_model` {style "rule", ground_truth str}, `extra_info` {split, index, id}.

Training prompt (paper code, literal double braces, no space before the problem): one user turn
`TRAIN_INSTRUCTION + problem`; `--train-prompt-role system` puts the instruction in a system turn instead.
Eval prompt: one user turn `eval_prompt(question)` = `EVAL_INSTRUCTION + " " + question + "\n"`.

Input checks: a missing column fails with the column and the file named; rows without a problem or an
answer are skipped, repeated problems are dropped (both counted in the summary); answers become strings
(27.0 -> "27"). Files are written atomically (temporary file in the same folder, then os.replace).

Library use (evaluation reuses these): TRAIN_INSTRUCTION, EVAL_INSTRUCTION, train_prompt, eval_prompt,
eval_messages, BENCHMARKS, load_benchmark(name).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from abc_verl.grading import gold_to_text

TRAIN_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{{}}."
EVAL_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
BENCHMARKS = ("aime24", "aime25", "amc23", "hmmt202502", "math500")
TRAIN_HUB_NAME, TRAIN_HUB_CONFIG, TRAIN_HUB_SPLIT = "open-r1/DAPO-Math-17k-Processed", "all", "train"
TRAIN_DATA_SOURCE = "dapo_math_17k"
TRAIN_PROMPT_COLUMN, TRAIN_ANSWER_COLUMN = "prompt", "solution"
EVAL_QUESTION_COLUMNS, EVAL_ANSWER_COLUMN = ("question", "problem"), "answer"
_DAPO_ANSWER_FORMAT = 'Remember to put your answer on its own line after "Answer:"'


class DataError(Exception):
    """Bad input data or arguments; the message names the file, column or flag."""


def train_prompt(problem: str) -> str:
    """The paper's training user turn: instruction (literal `\\boxed{{}}`) then the problem, no separator."""
    return TRAIN_INSTRUCTION + problem


def eval_prompt(question: str) -> str:
    """The paper's eval user turn, as its harness rendered it: instruction, a space, the question, a newline."""
    return f"{EVAL_INSTRUCTION} {question}\n"


def eval_messages(question: str) -> list[dict[str, str]]:
    """The eval prompt as chat messages (what the eval parquet files store)."""
    return [{"role": "user", "content": eval_prompt(question)}]


def _benchmark_path(name: str) -> Any:
    if name not in BENCHMARKS:
        raise DataError(f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}")
    return resources.files("abc_verl") / "eval_sets" / f"{name}.jsonl"


def load_benchmark(name: str) -> list[dict[str, str]]:
    """A packaged eval set as [{"id", "problem", "answer"}] (all str), in file order; no network needed."""
    path = _benchmark_path(name)
    with resources.as_file(path) as local:
        records, columns = read_records(Path(local))
    table = build_rows(records, columns, f"packaged {name}.jsonl", kind="eval", data_source=name)
    return [
        {"id": row["extra_info"]["id"], "problem": problem, "answer": row["reward_model"]["ground_truth"]}
        for row, problem in zip(table.rows, table.problems, strict=True)
    ]


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
    records, columns = [], {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise DataError(f"{path}:{number}: expected a JSON object per line")
            records.append(record)
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


def write_parquet(rows: list[dict], path: Path) -> None:
    """Write rows atomically: a temporary file in the target folder, then os.replace."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; the result should look like any other written file
        pq.write_table(pa.Table.from_pylist(rows), tmp)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _load_train(args: argparse.Namespace) -> tuple[Iterable[dict], list[str], str]:
    if args.train_file:
        records, columns = read_records(Path(args.train_file))
        return records, columns, str(args.train_file)
    from datasets import load_dataset

    source = f"{args.train_dataset} (hub, config {args.train_config}, split {args.train_split})"
    try:
        dataset = load_dataset(args.train_dataset, args.train_config, split=args.train_split)
    except Exception as exc:  # network, auth or name errors all end the same way
        raise DataError(f"{source}: could not load ({type(exc).__name__}: {exc}); use --train-file PATH") from None
    return dataset, list(dataset.column_names), source


def _eval_files(specs: list[str], names: list[str]) -> dict[str, Path]:
    files = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not path:
            raise DataError(f"--eval-file {spec!r}: expected NAME=PATH")
        if name not in names:
            raise DataError(f"--eval-file {spec!r}: {name!r} is not among --benchmarks ({', '.join(names)})")
        files[name] = Path(path)
    return files


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="abc-verl prepare-data", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", default="data", help="folder for the parquet files (default: data)")
    parser.add_argument("--only", choices=("train", "eval"), help="write only the training or only the eval sets")
    parser.add_argument("--train-dataset", default=TRAIN_HUB_NAME, help="Hugging Face hub dataset name")
    parser.add_argument("--train-config", default=TRAIN_HUB_CONFIG, help="hub dataset config (default: all)")
    parser.add_argument("--train-split", default=TRAIN_HUB_SPLIT, help="hub dataset split (default: train)")
    parser.add_argument("--train-file", help="local .jsonl/.parquet in the hub dataset's schema, instead of the hub")
    parser.add_argument(
        "--train-prompt-role", choices=("user", "system"), default="user", help="where the instruction goes"
    )
    parser.add_argument("--benchmarks", default=",".join(BENCHMARKS), help="comma-separated eval sets to write")
    parser.add_argument("--eval-file", action="append", default=[], metavar="NAME=PATH", help="local eval set file")
    return parser


def _prepare(args: argparse.Namespace, out_dir: Path) -> list[tuple[str, Table, Path]]:
    names = [name.strip() for name in args.benchmarks.split(",") if name.strip()]
    for name in names:
        _benchmark_path(name)
    local_evals = _eval_files(args.eval_file, names)
    jobs = []
    if args.only != "eval":
        from tqdm import tqdm

        records, columns, source = _load_train(args)
        records = tqdm(records, desc="train", unit=" rows", file=sys.stderr, disable=None)
        table = build_rows(
            records, columns, source, kind="train", data_source=TRAIN_DATA_SOURCE, prompt_role=args.train_prompt_role
        )
        jobs.append(("train", table, out_dir / "train.parquet"))
    if args.only != "train":
        for name in names:
            path = local_evals.get(name)
            if path is None:
                with resources.as_file(_benchmark_path(name)) as packaged:
                    records, columns = read_records(Path(packaged))
            else:
                records, columns = read_records(path)
            source = str(path) if path else f"packaged {name}.jsonl"
            table = build_rows(records, columns, source, kind="eval", data_source=name)
            jobs.append((name, table, out_dir / f"{name}.parquet"))
    for name, table, _ in jobs:
        if not table.rows:
            raise DataError(f"{table.source}: no usable rows for {name} (read {table.read})")
    return jobs


def _summary(jobs: list[tuple[str, Table, Path]]) -> str:
    head = f"{'set':<11} {'read':>6} {'no problem':>10} {'no answer':>9} {'duplicates':>10} {'written':>7}  file"
    lines = [head]
    for name, t, path in jobs:
        lines.append(
            f"{name:<11} {t.read:>6} {t.no_problem:>10} {t.no_answer:>9} {t.duplicates:>10} {len(t.rows):>7}  {path}"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """`abc-verl prepare-data`: returns 0 on success, 2 on bad input (message on stderr)."""
    args = _parser().parse_args(argv)
    out_dir = Path(args.out_dir)
    try:
        jobs = _prepare(args, out_dir)
    except DataError as exc:
        print(f"abc-verl prepare-data: error: {exc}", file=sys.stderr)
        return 2
    for _, table, path in jobs:
        write_parquet(table.rows, path)
    print(_summary(jobs))
    flagged = sum(_DAPO_ANSWER_FORMAT in p for name, t, _ in jobs if name == "train" for p in t.problems)
    if flagged:
        print(f"note: {flagged} training problems still carry DAPO's 'Answer:' instruction", file=sys.stderr)
    return 0

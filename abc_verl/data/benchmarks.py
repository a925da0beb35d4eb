"""The evaluation sets: the five packaged benchmarks by name, or any jsonl / parquet file; one loader for
`abc-verl prepare-data`, `abc-verl check` and `abc-verl eval`.

    python -m abc_verl.data.benchmarks aime24      # prints the count and the first rendered prompt

Packaged copies (in `abc_verl/data/eval_sets/`, see its SOURCES.md) need no network. Records are read as
`abc_verl.data.rows` reads eval files: question `question` (else `problem`), gold `answer` as a string
(27.0 -> "27"), id `id` (else `unique_id`, else the row number); rows without a question or answer, and
repeated questions, are left out with a warning.
"""

import hashlib
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from abc_verl.data.rows import DataError, build_rows, read_records

BENCHMARKS = ("aime24", "aime25", "amc23", "hmmt202502", "math500")
ALIASES = {"hmmt": "hmmt202502", "hmmt25": "hmmt202502", "math-500": "math500"}
PAPER_BENCHMARKS = ("aime24", "aime25", "amc23")


@dataclass(frozen=True)
class Problem:
    id: str
    question: str
    answer: str


@dataclass(frozen=True)
class Benchmark:
    name: str
    source: str  # packaged file name or the path given
    sha256: str  # of the file's bytes: a changed file does not silently reuse old results
    problems: tuple[Problem, ...]


def packaged_file(name: str) -> Any:
    """The packaged jsonl of benchmark `name` (an importlib.resources Traversable)."""
    if name not in BENCHMARKS:
        raise DataError(f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}")
    return resources.files("abc_verl.data") / "eval_sets" / f"{name}.jsonl"


def load_benchmark(spec: str, limit: int | None = None) -> Benchmark:
    """A packaged benchmark by name (or alias: hmmt, hmmt25, math-500), or a .jsonl/.parquet file."""
    name = ALIASES.get(spec.lower(), spec.lower())
    if name in BENCHMARKS:
        with resources.as_file(packaged_file(name)) as local:
            return _load(Path(local), name, f"packaged {name}.jsonl", limit)
    path = Path(spec)
    if path.suffix not in (".jsonl", ".parquet") or not path.is_file():
        valid = ", ".join([*BENCHMARKS, *ALIASES])
        raise DataError(f"unknown benchmark {spec!r}: use one of {valid}, or an existing .jsonl/.parquet file")
    return _load(path, path.stem, str(path), limit)


def _load(path: Path, name: str, source: str, limit: int | None) -> Benchmark:
    records, columns = read_records(path)
    table = build_rows(records, columns, source, kind="eval", data_source=name)
    if table.no_problem or table.no_answer or table.duplicates:
        print(
            f"warning: {source}: left out {table.no_problem} rows without a question, {table.no_answer} without "
            f"an answer, {table.duplicates} repeated questions",
            file=sys.stderr,
        )
    problems = [
        Problem(row["extra_info"]["id"], question, row["reward_model"]["ground_truth"])
        for row, question in zip(table.rows, table.problems, strict=True)
    ]
    if not problems:
        raise DataError(f"{source}: no usable problems")
    if len({p.id for p in problems}) != len(problems):
        # Ids name problems in the samples file; fall back to row numbers rather than mix two problems up.
        problems = [Problem(str(i), p.question, p.answer) for i, p in enumerate(problems)]
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    return Benchmark(name, source, sha, tuple(problems[:limit] if limit else problems))


if __name__ == "__main__":
    from abc_verl.data.prompts import CHATML_FALLBACK, eval_prompt

    bench = load_benchmark(sys.argv[1] if len(sys.argv) > 1 else "aime24")
    print(len(bench.problems), "problems")
    print(CHATML_FALLBACK.format(content=eval_prompt(bench.problems[0].question)))

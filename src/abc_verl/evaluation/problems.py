"""Benchmarks (packaged by name, or any jsonl/parquet file) and the paper's evaluation prompt.

    python -m abc_verl.evaluation.problems aime24      # prints the count and the first rendered prompt

Reading, column choice and the prompt text come from `abc_verl.data` (the same code that writes the eval
parquet files): the question is `question` (else `problem`), the gold `answer` as a string (27.0 -> "27"),
the id `id` (else `unique_id`, else the row number); rows without a question or answer, and repeated
questions, are left out with a warning. The prompt is one user turn, `data.eval_prompt(question)`, rendered
with the model's own chat template (DESIGN.md §5).
"""

import hashlib
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from abc_verl import data

# Models without a chat template still get the paper's ChatML layout.
CHATML_FALLBACK = "<|im_start|>user\n{content}<|im_end|>\n<|im_start|>assistant\n"
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


def render_prompt(tokenizer, question: str) -> str:
    """The full prompt text: the model's chat template around one user turn, generation prompt added."""
    content = data.eval_prompt(question)
    if getattr(tokenizer, "chat_template", None) is None:
        return CHATML_FALLBACK.format(content=content)
    messages = [{"role": "user", "content": content}]
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def load_benchmark(spec: str, limit: int | None = None) -> Benchmark:
    """A packaged benchmark by name (aime24, aime25, amc23, hmmt202502, math500) or a .jsonl/.parquet path."""
    name = ALIASES.get(spec.lower(), spec.lower())
    if name in data.BENCHMARKS:
        with resources.as_file(resources.files("abc_verl") / "eval_sets" / f"{name}.jsonl") as local:
            return _load(Path(local), name, f"packaged {name}.jsonl", limit)
    path = Path(spec)
    if path.suffix not in (".jsonl", ".parquet") or not path.is_file():
        valid = ", ".join(list(data.BENCHMARKS) + list(ALIASES))
        raise ValueError(f"unknown benchmark {spec!r}: use one of {valid}, or an existing .jsonl/.parquet file")
    return _load(path, path.stem, str(path), limit)


def _load(path: Path, name: str, source: str, limit: int | None) -> Benchmark:
    try:
        records, columns = data.read_records(path)
        table = data.build_rows(records, columns, source, kind="eval", data_source=name)
    except data.DataError as e:
        raise ValueError(str(e)) from None
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
        raise ValueError(f"{source}: no usable problems")
    if len({p.id for p in problems}) != len(problems):
        # Ids name problems in the samples file; fall back to row numbers rather than mix two problems up.
        problems = [Problem(str(i), p.question, p.answer) for i, p in enumerate(problems)]
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    return Benchmark(name, source, sha, tuple(problems[:limit] if limit else problems))


def gold_to_str(answer) -> str:
    """A gold answer as the reward checker reads it (27.0 -> "27")."""
    return data.gold_to_text(answer) or ""


if __name__ == "__main__":
    bench = load_benchmark(sys.argv[1] if len(sys.argv) > 1 else "aime24")
    print(len(bench.problems), "problems")
    print(CHATML_FALLBACK.format(content=data.eval_prompt(bench.problems[0].question)))

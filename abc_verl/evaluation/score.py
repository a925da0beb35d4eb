"""`abc-verl eval score`: grade saved responses without a model and write the same files as a full evaluation.

    abc-verl eval score --samples FILE.jsonl --out DIR [--k 1 2 4] [--workers 2]

FILE.jsonl: one problem per line, {"id": ..., "answer": gold, "responses": [str, ...]}, every line with the
same number n of responses, in sample order ("id" defaults to the line number). Writes DIR/samples.jsonl
(id, sample, response, pred, correct, error), DIR/summary.json (avg@k, pass@k, unbiased_pass@k in percent as
top-level keys, plus n and problems), DIR/table.md and DIR/table.csv. Always re-grades: that is its job.
"""

import argparse
import os
import shlex
from pathlib import Path

from abc_verl.evaluation import results as res
from abc_verl.evaluation.grade import grade
from abc_verl.evaluation.metrics import check_ks, default_ks
from abc_verl.evaluation.report import avg_half_width, write_table
from abc_verl.files import folder_lock, iter_jsonl, remove_temporaries
from abc_verl.rewards.verdict import gold_to_text


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="abc-verl eval score", description="re-grade saved responses, no model")
    p.add_argument("--samples", required=True, type=Path, help='jsonl: {"id", "answer", "responses": [...]}')
    p.add_argument("--out", required=True, type=Path, help="output folder: samples.jsonl, summary.json, table")
    p.add_argument("--k", type=int, nargs="+", help="k values (default 1, 2, 4, ... up to n)")
    p.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1), help="grading processes")
    return p


def score_main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.workers < 1:
        raise ValueError(f"--workers must be at least 1, got {args.workers}")
    problems = read_samples(args.samples)
    n = len(problems[0]["responses"])
    ks = check_ks(args.k or default_ks(n), n)
    with folder_lock(args.out, shlex.join(["abc-verl", "eval", "score", *argv])):
        remove_temporaries(args.out)
        items = [("eval-score", r, prob["answer"]) for prob in problems for r in prob["responses"]]
        verdicts = grade(items, args.workers, desc=f"grading {args.samples.name}")
        ids = [prob["id"] for prob in problems]
        rows = res.sample_rows(ids, [prob["responses"] for prob in problems], verdicts)
        head = {"checkpoint": args.samples.stem, "run": args.samples.stem, "step": None, "benchmark": "-"}
        summary = res.summary_of(head, rows, ids, n, ks, {"samples_file": str(args.samples)})
        res.write_pair(args.out, rows, summary)
        md, csv_path = write_table([dict(summary, avg_pm=avg_half_width(args.out))], args.out)
        print(md.read_text(), end="")
        print(f"written: {args.out / res.SAMPLES}, {args.out / res.SUMMARY}, {md}, {csv_path}")
    return 0


def read_samples(path: Path) -> list[dict]:
    """Validated problems from a samples file; errors name the file and the line."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such samples file")
    problems: list[dict] = []
    seen: dict[str, int] = {}
    for lineno, obj in iter_jsonl(path):
        prob = _parse_row(obj, f"{path}, line {lineno}", lineno, problems[:1])
        if prob["id"] in seen:
            raise ValueError(f"{path}, line {lineno}: id {prob['id']!r} already used on line {seen[prob['id']]}")
        seen[prob["id"]] = lineno
        problems.append(prob)
    if not problems:
        raise ValueError(f"{path}: no problems (expected one JSON object per line)")
    return problems


def _parse_row(obj: dict, where: str, lineno: int, first: list[dict]) -> dict:
    if obj.get("answer") is None:
        raise ValueError(f'{where}: missing "answer" (the gold answer)')
    responses = obj.get("responses")
    if not isinstance(responses, list) or not responses or not all(isinstance(r, str) for r in responses):
        raise ValueError(f'{where}: "responses" must be a non-empty list of strings')
    if first and len(responses) != len(first[0]["responses"]):
        n0 = len(first[0]["responses"])
        raise ValueError(f"{where}: {len(responses)} responses, but the first problem has {n0}; n must be equal")
    return {"id": str(obj.get("id", lineno)), "answer": gold_to_text(obj["answer"]) or "", "responses": responses}

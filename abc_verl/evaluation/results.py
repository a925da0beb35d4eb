"""The one owner of evaluation result files: reads, writes, fingerprints and summarizes a (checkpoint, benchmark) pair.

Layout under `abc-verl eval --out`:  <checkpoint>/<benchmark>/{samples.jsonl, summary.json}  (+ greedy/ when
asked for); `abc-verl eval score --out DIR` writes the same two files straight into DIR. `summary.json` is
written last, so its presence means the pair is finished; its `fingerprint` (sampling settings, prompt,
benchmark file hash, problem count) must match the current run, else the run stops rather than mix settings.
`generations.json` keeps raw responses between generation and grading, so an interrupted grading does not cost
a second generation; it is deleted once the summary exists. Every other module (eval, eval score, the tables,
`abc-verl plot`, `abc-verl compare`) goes through the functions here, so none can disagree on what a pair holds.

    python -m abc_verl.evaluation.results OUT/ckpt/aime24     # prints that pair's summary
"""

import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from abc_verl.evaluation.metrics import summarize
from abc_verl.files import atomic_write_json, atomic_write_jsonl, read_jsonl
from abc_verl.names import GRADER_TIMEOUT

SUMMARY, SAMPLES, GENERATIONS = "summary.json", "samples.jsonl", "generations.json"
GREEDY = "greedy"  # sub-folder of a pair holding its greedy (temperature 0, n = 1) result


def read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: cannot read ({e})") from None


def fingerprint(sampling, benchmark: str, benchmark_sha256: str, problems: int, prompt: str) -> dict:
    """What must be equal for two results to be mixed or compared: settings, benchmark file, prompt."""
    return {
        "sampling": asdict(sampling),
        "benchmark": benchmark,
        "benchmark_sha256": benchmark_sha256,
        "problems": problems,
        "prompt": prompt,
    }


def finished_summary(pair_dir: Path, fingerprint: dict) -> dict | None:
    """The pair's summary when it is finished with these settings; None when not yet run."""
    path = pair_dir / SUMMARY
    if not path.is_file():
        return None
    summary = read_json(path)
    check_fingerprint(path, summary.get("fingerprint"), fingerprint)
    return summary


def saved_generations(pair_dir: Path, fingerprint: dict) -> list[list[str]] | None:
    """Responses generated earlier with these settings but not yet graded; None when there are none."""
    path = pair_dir / GENERATIONS
    if not path.is_file():
        return None
    saved = read_json(path)
    check_fingerprint(path, saved.get("fingerprint"), fingerprint)
    return saved["responses"]


def save_generations(pair_dir: Path, fingerprint: dict, responses: list[list[str]]) -> None:
    atomic_write_json(pair_dir / GENERATIONS, {"fingerprint": fingerprint, "responses": responses})


def check_fingerprint(path: Path, old: dict | None, new: dict) -> None:
    if old == new:
        return
    old = old or {}
    diff = [
        f"{k}: {old.get(k)!r} there, {new.get(k)!r} now"
        for k in sorted(set(old) | set(new))
        if old.get(k) != new.get(k)
    ]
    raise ValueError(
        f"{path} was made with other settings ({'; '.join(diff)}). Use another --out, or delete {path.parent} "
        "to recompute it"
    )


def sample_rows(ids: Sequence[str], responses: Sequence[Sequence[str]], verdicts: Sequence[dict]) -> list[dict]:
    """The samples.jsonl rows of problems `ids`, their responses in sample order and one verdict per response."""
    rows, it = [], iter(verdicts)
    for pid, outs in zip(ids, responses, strict=True):
        for i, text in enumerate(outs):
            rows.append({"id": pid, "sample": i, "response": text, **next(it)})
    return rows


def correct_matrix(rows: list[dict], ids: Sequence[str], n: int) -> list[list[bool]]:
    """One row of n verdicts per problem, in the order of `ids`."""
    by_id: dict[str, list[bool]] = {pid: [False] * n for pid in ids}
    for r in rows:
        by_id[r["id"]][r["sample"]] = bool(r["correct"])
    return [by_id[pid] for pid in ids]


def summary_of(head: dict, rows: list[dict], ids: Sequence[str], n: int, ks: list[int], tail: dict) -> dict:
    """summary.json's content: `head` (who and what), the metrics, the counts of failures, then `tail`."""
    summary = dict(head)
    summary.update(summarize(correct_matrix(rows, ids, n), ks))
    summary.update(ks=ks, grading_errors=sum(bool(r["error"]) for r in rows))
    summary.update(no_answer=sum(r["pred"] == "" for r in rows), **tail)
    return summary


def write_pair(pair_dir: Path, rows: list[dict], summary: dict) -> None:
    """samples.jsonl, then summary.json (its presence marks the pair finished); saved generations go."""
    atomic_write_jsonl(pair_dir / SAMPLES, rows)
    atomic_write_json(pair_dir / SUMMARY, summary)
    (pair_dir / GENERATIONS).unlink(missing_ok=True)


def resummarize(pair_dir: Path, summary: dict, ids: Sequence[str], n: int, ks: list[int]) -> dict:
    """A finished pair's summary for other k values, from its samples.jsonl (no grading), written back."""
    matrix = correct_matrix(read_jsonl(pair_dir / SAMPLES), ids, n)
    new = {**summary, **summarize(matrix, ks), "ks": ks}
    new = {k: v for k, v in new.items() if "@" not in k or int(k.split("@")[1]) in ks}
    atomic_write_json(pair_dir / SUMMARY, new)
    return new


def summary_paths(root: Path) -> list[Path]:
    """Every summary.json under root (greedy ones included), sorted."""
    return sorted(root.rglob(SUMMARY))


def collect(out_dir: Path) -> list[dict]:
    """Every sampled summary under out_dir, with greedy accuracy attached where a greedy/ summary exists."""
    rows = []
    for path in summary_paths(out_dir):
        if path.parent.name == GREEDY or path.parent == out_dir:
            continue
        row = read_json(path)
        greedy = path.parent / GREEDY / SUMMARY
        if greedy.is_file():
            row["greedy"] = read_json(greedy)["avg@1"]
        rows.append(row)
    rows.sort(key=lambda r: (r["run"], -1 if r.get("step") is None else r["step"], r["benchmark"]))
    return rows


def is_grader_timeout(row: dict) -> bool:
    """A sample whose grader ran out of time (its typed `kind`, abc_verl.rewards.kinds)."""
    return row.get("kind") == GRADER_TIMEOUT


@dataclass
class PairResult:
    """A finished pair as arrays: per problem (in file order) its n verdicts and extracted answers."""

    path: Path
    summary: dict
    ids: list[str]
    correct: np.ndarray  # (problems, n) bool
    preds: list[list[str]]  # (problems, n) extracted answers, "" for none
    no_answer: int
    timeouts: int

    @property
    def n(self) -> int:
        return self.correct.shape[1]


def is_finished(pair_dir: Path) -> bool:
    return (pair_dir / SUMMARY).is_file() and (pair_dir / SAMPLES).is_file()


def load_pair(pair_dir: Path) -> PairResult:
    """A finished pair's summary and samples; a clear error when a sample is missing or out of range."""
    summary = read_json(pair_dir / SUMMARY)
    if not isinstance(summary, dict) or not isinstance(summary.get("n"), int):
        raise ValueError(f"{pair_dir / SUMMARY}: not an abc-verl eval summary (no sample count n)")
    n, rows = summary["n"], read_jsonl(pair_dir / SAMPLES)
    ids = list(dict.fromkeys(str(r["id"]) for r in rows))
    where = {pid: i for i, pid in enumerate(ids)}
    correct = np.zeros((len(ids), n), dtype=bool)
    preds = [[""] * n for _ in ids]
    seen = np.zeros((len(ids), n), dtype=bool)
    for r in rows:
        i, s = where[str(r["id"])], r["sample"]
        if not 0 <= s < n:
            raise ValueError(f"{pair_dir / SAMPLES}: problem {r['id']!r} has sample {s}, but n = {n}")
        correct[i, s], preds[i][s], seen[i, s] = bool(r["correct"]), str(r.get("pred") or ""), True
    if not seen.all():
        i, s = np.argwhere(~seen)[0]
        raise ValueError(f"{pair_dir / SAMPLES}: problem {ids[i]!r} lacks sample {s} of n = {n}")
    no_answer = sum(r.get("pred", "") == "" for r in rows)
    timeouts = sum(is_grader_timeout(r) for r in rows)
    return PairResult(pair_dir, summary, ids, correct, preds, no_answer, timeouts)


def finished_pairs(folder: Path) -> Iterator[Path]:
    """The finished pair folders of one checkpoint (its benchmark sub-folders), or the folder itself (eval score)."""
    if is_finished(folder):
        yield folder
        return
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []:
        if is_finished(sub):
            yield sub


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print(json.dumps(read_json(Path(sys.argv[1]) / SUMMARY), indent=2))

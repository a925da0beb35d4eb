"""Result files of one (checkpoint, benchmark) pair (written with `abc_verl.files`), and the resume rule.

Layout under `--out`:  <checkpoint>/<benchmark>/{samples.jsonl, summary.json}  (+ greedy/ when asked for).
`summary.json` is written last, so its presence means the pair is finished; its `fingerprint` (sampling
settings, prompt, benchmark file hash, problem count) must match the current run, else the run stops
rather than mix settings. `generations.json` keeps raw responses between generation and grading, so an
interrupted grading does not cost a second generation; it is deleted once the summary exists.

    python -m abc_verl.evaluation.results OUT/ckpt/aime24     # prints that pair's summary
"""

import json
import sys
from pathlib import Path

SUMMARY, SAMPLES, GENERATIONS = "summary.json", "samples.jsonl", "generations.json"


def read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: cannot read ({e})") from None


def read_jsonl(path: Path) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}, line {lineno}: not valid JSON ({e.msg})") from None
    return rows


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


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print(json.dumps(read_json(Path(sys.argv[1]) / SUMMARY), indent=2))

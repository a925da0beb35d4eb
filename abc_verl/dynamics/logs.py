"""Readers for `abc-verl plot`: training logs and eval summaries, turned into per-step curves of a few metrics.

Formats read (picked from the file's content, `.gz` accepted for any of them):
  * verl's `file` logger: JSON lines `{"step": N, "data": {metric: value}}`, written by
    `verl.utils.tracking.FileLogger` to `$VERL_FILE_LOGGER_PATH`, else
    `$VERL_FILE_LOGGER_ROOT/<project_name>/<experiment_name>.jsonl` (root defaults to the working directory).
    verl opens it with mode "wb": a resumed run overwrites the earlier steps, so copy the file before resuming.
  * a Hugging Face / TRL `trainer_state.json` (its `log_history`), or a directory holding one
    (the latest `checkpoint-N/trainer_state.json` of a TRL output directory).
  * the per-run curve CSV that `abc-verl plot` itself writes (`DIR/curves/<run>.csv`; the shipped paper curves).

Every run becomes the same canonical series (step -> value): `entropy`, `reward`, `clipfrac` (fraction of response
tokens clipped), `share_q1`..`share_q4` (each quadrant's fraction of that step's clip events, only on steps
with any clipping) and `no_answer` (verl runs with reward manager abc_math: the validation share of responses
without an extractable answer, averaged over data sources, at validation steps only). Missing metrics, bad
lines and a truncated last line become notes, never exceptions.
Used by `abc_verl.dynamics.cli` (`abc-verl plot --run NAME=PATH ...`).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from abc_verl.evaluation.results import read_json, summary_paths
from abc_verl.files import atomic_write_text
from abc_verl.names import CLIPFRAC, NO_ANSWER, PG_CLIPFRAC, QUADRANTS, VAL_REWARD_METRIC_PREFIX

SHARES = tuple(f"share_{q}" for q in QUADRANTS)
CURVES = ("entropy", "reward", "clipfrac", *SHARES, NO_ANSWER)
# verl's validation metric of abc_math's no-answer flag: val-aux/<data_source>/no_answer/mean@<n>
NO_ANSWER_KEY_RE = re.compile(re.escape(VAL_REWARD_METRIC_PREFIX) + r"(.+)/" + re.escape(NO_ANSWER) + r"/mean@(\d+)$")

# First key found wins. verl: critic/score/mean is the reward function's score; critic/rewards/mean may include an
# in-reward KL penalty, so it is only the fallback.
VERL_KEYS = {
    "entropy": ("actor/entropy",),
    "reward": ("critic/score/mean", "critic/rewards/mean"),
    "clipfrac": (PG_CLIPFRAC,),
}
VERL_QUADRANT_KEYS = tuple(CLIPFRAC[q] for q in QUADRANTS)  # fractions of ALL valid tokens
TRL_KEYS = {
    "entropy": ("entropy",),
    "reward": ("reward", "rewards/accuracy_reward/mean"),
    "clipfrac": ("clip_ratio/region_mean",),
}
# The ABC-GRPO authors' TRL fork: split of clip events into overcorrection (Q2+Q4) and ppo_style (Q1+Q3), each by
# advantage sign; all four are fractions in [0, 1].
TRL_SPLIT_KEYS = tuple(
    f"clip_ratio/{k}"
    for k in ("overcorrection_pct", "overcorrection_pos_adv_pct", "overcorrection_neg_adv_pct")
    + ("ppo_style_pos_adv_pct", "ppo_style_neg_adv_pct")
)
EVAL_STEP_RE = re.compile(r"(?:global_step_|checkpoint-|step_?)(\d+)$")
EVAL_KEY_RE = re.compile(r"(avg|pass)@\d+")  # not unbiased_pass@k: panel (b) shows the paper's first-k Pass@k
Series = dict[str, dict[int, float]]


class LogError(ValueError):
    """A log path that cannot be read at all (missing, unreadable, unknown format)."""


@dataclass
class Run:
    name: str
    source: str
    fmt: str
    series: Series = field(default_factory=lambda: {k: {} for k in CURVES})
    evals: dict[str, dict[int, dict[str, float]]] = field(default_factory=dict)  # benchmark -> step -> metrics
    notes: list[str] = field(default_factory=list)
    reference: bool = False  # one of the paper's runs shipped with the package (drawn dashed)

    def points(self, key: str) -> tuple[list[int], list[float]]:
        """The (steps, values) of one curve, sorted by step."""
        items = sorted(self.series.get(key, {}).items())
        return [s for s, _ in items], [v for _, v in items]


def _number(value: object) -> float | None:
    """A finite float from a logged value (lists, as some loggers keep them, are averaged), else None."""
    if isinstance(value, list) and value:
        parts = [_number(v) for v in value]
        return None if None in parts else sum(parts) / len(parts)  # type: ignore[arg-type]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LogError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    return raw.decode("utf-8", errors="replace")


def _resolve(path: Path) -> Path:
    """A log from PATH: the file itself, a directory's trainer_state.json, or the directory of verl *.jsonl files
    (the launchers write one per launch, since verl's file logger truncates its file when a run resumes)."""
    if not path.exists():
        raise LogError(f"{path}: no such file or directory")
    if not path.is_dir():
        return path
    if (path / "trainer_state.json").is_file():
        return path / "trainer_state.json"
    checkpoints = sorted(path.glob("checkpoint-*/trainer_state.json"), key=lambda p: _step_of(p.parent.name) or -1)
    if checkpoints:
        return checkpoints[-1]  # TRL copies the whole history into each checkpoint; the latest has the most
    jsonl = sorted(path.glob("*.jsonl")) + sorted(path.glob("*.jsonl.gz"))
    if len(jsonl) == 1:
        return jsonl[0]
    if jsonl:
        return path
    raise LogError(f"{path}: directory without trainer_state.json or *.jsonl files")


def load_run(name: str, path: Path) -> Run:
    """Read one run's log, whatever its format."""
    path = _resolve(path)
    if path.is_dir():  # several launches of one verl run, in time order: a later line for a step wins
        parts = [_read_text(p) for p in sorted(path.glob("*.jsonl")) + sorted(path.glob("*.jsonl.gz"))]
        text = "".join(part if part.endswith("\n") else part + "\n" for part in parts)
    else:
        text = _read_text(path)
    if text.lstrip().startswith(("step,", "\ufeffstep,")):
        return _from_curves_csv(name, path, text)
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:
        whole = None
    if isinstance(whole, dict) and isinstance(whole.get("log_history"), list):
        run = Run(name, str(path), "trl")
        _fill_trl(run, whole["log_history"])
        return run
    if isinstance(whole, dict | None) and text.lstrip().startswith("{"):
        run = Run(name, str(path), "verl")
        records = _verl_records(run, text)
        if not records and run.notes:
            raise LogError(f"{path}: no readable {{'step', 'data'}} line; not a verl JSONL nor a whole JSON file")
        _fill_verl(run, records)
        return run
    if not text.strip():
        return Run(name, str(path), "empty", notes=["empty log file"])
    raise LogError(f"{path}: not a verl file-logger JSONL, a trainer_state.json or an abc-verl curves CSV")


def verl_steps(path: Path) -> dict[int, dict]:
    """Step -> metrics of one verl file-logger JSONL, read as `load_run` reads it (unreadable lines skipped)."""
    return _verl_records(Run(path.stem, str(path), "verl"), _read_text(path))


def _verl_records(run: Run, text: str) -> dict[int, dict]:
    """Step -> merged metrics; lines of the same step (validation logs its own) are merged, later wins."""
    records: dict[int, dict] = {}
    lines = text.splitlines()
    bad = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            step, data = int(entry["step"]), entry["data"]
            if not isinstance(data, dict):
                raise TypeError("data is not an object")
        except (ValueError, KeyError, TypeError):
            bad.append(number)
            continue
        records.setdefault(step, {}).update(data)
    if bad and bad[-1] == len(lines) and not text.endswith("\n"):
        run.notes.append(f"last line {bad.pop()} is truncated (run still writing or killed); skipped")
    if bad:
        run.notes.append(f"{len(bad)} unreadable line(s) skipped, first at line {bad[0]}")
    return records


def _fill_common(run: Run, records: dict[int, dict], keys: dict[str, tuple[str, ...]]) -> None:
    for curve, candidates in keys.items():
        for key in candidates:
            found = {s: v for s, d in records.items() if key in d and (v := _number(d[key])) is not None}
            if found:
                run.series[curve] = found
                break
        else:
            run.notes.append(f"no {curve} (looked for {', '.join(candidates)}); skipped")


def _fill_verl(run: Run, records: dict[int, dict]) -> None:
    _fill_common(run, records, VERL_KEYS)
    for step, data in records.items():
        fracs = [_number(data.get(k)) for k in VERL_QUADRANT_KEYS]
        if None not in fracs and (total := sum(fracs)) > 0:  # type: ignore[arg-type]
            for share, frac in zip(SHARES, fracs, strict=True):
                run.series[share][step] = frac / total  # type: ignore[operator]
    if not any(any(k in d for k in VERL_QUADRANT_KEYS) for d in records.values()):
        run.notes.append("no per-quadrant clipping (actor/abc/clipfrac_q1..q4); not an abc loss run")
    for step, data in records.items():
        largest: dict[str, tuple[int, float]] = {}  # data source -> (n, value) of its largest n
        for key, value in data.items():
            match = NO_ANSWER_KEY_RE.match(key)
            if match and (number := _number(value)) is not None:
                n = int(match.group(2))
                if n > largest.get(match.group(1), (-1, 0.0))[0]:
                    largest[match.group(1)] = (n, number)
        if largest:
            run.series[NO_ANSWER][step] = sum(v for _, v in largest.values()) / len(largest)


def _fill_trl(run: Run, history: list) -> None:
    records: dict[int, dict] = {}
    for entry in history:
        if isinstance(entry, dict) and isinstance(entry.get("step"), int):
            records.setdefault(entry["step"], {}).update(entry)
    _fill_common(run, records, TRL_KEYS)
    for step, data in records.items():
        split = [_number(data.get(k)) for k in TRL_SPLIT_KEYS]
        if None in split:
            continue
        over, over_pos, over_neg, ppo_pos, ppo_neg = split  # type: ignore[misc]
        shares = ((1 - over) * ppo_pos, over * over_pos, (1 - over) * ppo_neg, over * over_neg)  # Q1, Q2, Q3, Q4
        if sum(shares) > 0:  # all-zero on steps without any clipping (each rollout's first, on-policy step)
            for share, value in zip(SHARES, shares, strict=True):
                run.series[share][step] = value
    if not any(TRL_SPLIT_KEYS[0] in d for d in records.values()):
        run.notes.append("no per-quadrant clipping (clip_ratio/overcorrection_pct, ...); not an ABC run")


def _from_curves_csv(name: str, path: Path, text: str) -> Run:
    run = Run(name, str(path), "curves-csv")
    rows = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    for row in rows:
        try:
            step = int(row["step"])
        except (TypeError, ValueError):
            run.notes.append(f"line {rows.line_num}: bad step; skipped")
            continue
        for curve in CURVES:
            value = _float_cell(row.get(curve))
            if value is not None:
                run.series[curve][step] = value
    for curve in ("entropy", "reward", "clipfrac"):
        if not run.series[curve]:
            run.notes.append(f"no {curve} column values; skipped")
    return run


def clip_share(run: Run) -> dict[str, float] | None:
    """Each quadrant's share of clip events in percent: per-step shares averaged over the steps with clipping."""
    steps = sorted(set.intersection(*(set(run.series[s]) for s in SHARES)))
    if not steps:
        return None
    return {q: 100 * sum(run.series[s][t] for t in steps) / len(steps) for q, s in zip(QUADRANTS, SHARES, strict=True)}


def _float_cell(cell: str | None) -> float | None:
    try:
        return _number(float(cell)) if cell and cell.strip() else None
    except ValueError:
        return None  # a hand-edited cell; the curve just lacks that point


def write_curves_csv(run: Run, path: Path) -> None:
    """The run's canonical curves as CSV (blank where a step lacks a value); `load_run` reads it back."""
    steps = sorted(set().union(*(run.series[c] for c in CURVES)))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["step", *CURVES])
    for step in steps:
        cells = [run.series[c].get(step) for c in CURVES]
        writer.writerow([step, *("" if v is None else f"{v:.8g}" for v in cells)])
    atomic_write_text(path, out.getvalue())


def _step_of(name: str) -> int | None:
    match = EVAL_STEP_RE.search(name)
    return int(match.group(1)) if match else None


def read_eval_summaries(run: Run, root: Path) -> None:
    """Attach `<root>/<checkpoint>/<benchmark>/summary.json` files (from `abc-verl eval`) to the run, found and
    read through `abc_verl.evaluation.results`, the owner of those files.

    The step is the summary's own `step`/`global_step` key, else parsed from the checkpoint directory name
    (`global_step_100`, `checkpoint-100`). Every numeric `avg@k` / `pass@k` key is kept as given (in percent, as
    abc_verl.evaluation.metrics writes them).
    """
    if not root.is_dir():
        raise LogError(f"{root}: eval summaries directory not found")
    found = 0
    for path in summary_paths(root):
        try:
            summary = read_json(path)
        except ValueError:
            run.notes.append(f"{path}: unreadable eval summary; skipped")
            continue
        if not isinstance(summary, dict):
            continue
        step = _number(summary.get("step", summary.get("global_step")))
        step = int(step) if step is not None else _step_of(path.parent.parent.name)
        if step is None:
            run.notes.append(f"{path}: no step in summary or in {path.parent.parent.name!r}; skipped")
            continue
        bench = str(summary.get("benchmark") or path.parent.name)
        metrics = {k: v for k, raw in summary.items() if EVAL_KEY_RE.fullmatch(k) and (v := _number(raw)) is not None}
        if metrics:
            run.evals.setdefault(bench, {})[step] = metrics
            found += 1
    if not found:
        run.notes.append(f"{root}: no eval summary with avg@k / pass@k found")

"""`abc-verl compare A B --out DIR`: is run B better than run A on the same problems, and how sure can one be?

    abc-verl compare evals/grpo/global_step_660 evals/abc/global_step_660 --out cmp   # two checkpoints
    abc-verl compare evals/grpo evals/abc --out cmp [--step 660]                     # two runs: a common step
    abc-verl compare evals/grpo evals/abc --out cmp --over-steps                     # every common step
    abc-verl compare scored_a scored_b --out cmp                                     # two `eval score` folders

A and B: folders written by `abc-verl eval` (a checkpoint's folder OUT/<checkpoint>, or a run's folder
OUT/<run> holding global_step_N/, default step: the last one both have) or by `abc-verl eval score`. Problems
are matched by benchmark and id; different problem sets or sampling settings stop the comparison. Per benchmark
and overall (problems pooled): Avg@n, Pass@k (the paper's first-k form and the unbiased estimator), for A, B and
B - A with 95% intervals from a paired bootstrap, a paired sign-flip p-value and the smallest detectable
difference (abc_verl.evaluation.stats says how); maj@k; the shares of responses without an answer and with a
grader timeout; which problems each run solves. Writes DIR/compare.{md,csv,json,png}. Exit status as
`abc-verl eval`: 0 done, 2 bad input (one line, no traceback), 130 interrupted.
"""

import argparse
import shlex
import sys
from pathlib import Path

import numpy as np

from abc_verl.cli import exit_status
from abc_verl.evaluation import results as res
from abc_verl.evaluation.checkpoints import STEP_DIR
from abc_verl.evaluation.compare_write import write_outputs
from abc_verl.evaluation.metrics import default_ks
from abc_verl.evaluation.stats import compare_metrics, maj_at_k
from abc_verl.files import folder_lock, remove_temporaries
from abc_verl.names import GRADER_TIMEOUT, NO_ANSWER

Pairs = dict[str, res.PairResult]  # benchmark -> finished pair


def main(argv: list[str]) -> int:
    return exit_status("abc-verl compare", lambda: compare_main(argv))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="abc-verl compare", description=__doc__.split("\n\n")[0])
    p.add_argument("a", type=Path, help="run A: an abc-verl eval checkpoint or run folder, or an eval score folder")
    p.add_argument("b", type=Path, help="run B, the same kind of folder; differences are B - A")
    p.add_argument("--out", required=True, type=Path, help="output folder: compare.md, .csv, .json, .png")
    p.add_argument("--step", type=int, help="training step of run folders (default: the last one both have)")
    p.add_argument("--over-steps", action="store_true", help="compare at every step both runs have")
    p.add_argument("--k", type=int, nargs="+", help="k values (default 1, 2, 4, ... up to n)")
    p.add_argument("--bootstrap", type=int, default=10_000, help="bootstrap replicates and sign flips (10000)")
    p.add_argument("--seed", type=int, default=0, help="random seed: the same seed gives the same numbers (0)")
    p.add_argument(
        "--allow-different-settings",
        action="store_true",
        help="compare runs sampled with different settings (temperature, n, prompt, ...), with a note",
    )
    return p


def compare_main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.bootstrap < 100:
        raise ValueError(f"--bootstrap must be at least 100 replicates, got {args.bootstrap}")
    if args.k is not None and min(args.k) < 1:
        raise ValueError(f"--k values must be at least 1, got {' '.join(map(str, args.k))}")
    if args.over_steps and args.step is not None:
        raise ValueError("--over-steps compares every common step; leave out --step")
    side_a, side_b = _checkpoints(args.a, "A"), _checkpoints(args.b, "B")
    notes: list[str] = []
    steps = _pick_steps(side_a, side_b, args, notes)
    compared = []
    for step in steps:
        pairs_a = _load(side_a[step if None not in side_a else None], "A")
        pairs_b = _load(side_b[step if None not in side_b else None], "B")
        result = compare_runs(pairs_a, pairs_b, args.k, args.bootstrap, args.seed, args.allow_different_settings)
        compared.append({"step": step, **result})
    for entry in compared:
        notes += [n for n in entry.pop("notes") if n not in notes]
    head = {"a": _who(args.a, side_a, steps), "b": _who(args.b, side_b, steps)}
    head.update(seed=args.seed, bootstrap=args.bootstrap, confidence=0.95, notes=notes)
    with folder_lock(args.out, shlex.join(["abc-verl", "compare", *argv])):
        remove_temporaries(args.out)
        written = write_outputs(head, compared, args.over_steps, args.out)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    print(written[0].read_text(), end="")
    print("written: " + ", ".join(map(str, written)))
    return 0


def _checkpoints(path: Path, side: str) -> dict[int | None, Path]:
    """Step -> checkpoint folder of a run folder, or {None: folder} for one checkpoint or an eval score folder."""
    if not path.exists():
        raise FileNotFoundError(f"run {side}: {path}: no such folder")
    if not path.is_dir():
        raise ValueError(f"run {side}: {path} is a file; give an abc-verl eval or eval score output folder")
    steps = {int(m.group(1)): p for p in path.iterdir() if p.is_dir() and (m := STEP_DIR.match(p.name))}
    return dict(sorted(steps.items())) if steps else {None: path}


def _pick_steps(side_a: dict, side_b: dict, args: argparse.Namespace, notes: list[str]) -> list[int | None]:
    runs = [s for s in (side_a, side_b) if None not in s]
    if args.over_steps:
        if len(runs) != 2:
            raise ValueError("--over-steps needs two run folders (each holding global_step_N/ folders)")
        common = [s for s in side_a if s in side_b and _has_pairs(side_a[s]) and _has_pairs(side_b[s])]
        if not common:
            raise ValueError(f"no step with finished results in both runs (A: {_steps(side_a)}; B: {_steps(side_b)})")
        return common
    if args.step is not None:
        if not runs:
            raise ValueError("--step picks a checkpoint of a run folder, but A and B are checkpoint folders")
        for label, side in (("A", side_a), ("B", side_b)):
            if None not in side and args.step not in side:
                raise ValueError(f"run {label} has no global_step_{args.step} (it has steps {_steps(side)})")
        return [args.step]
    if not runs:
        return [None]
    usable = [s for s in (set(runs[0]).intersection(*runs)) if all(_has_pairs(r[s]) for r in runs)]
    if not usable:
        raise ValueError(f"no step with finished results in both runs (A: {_steps(side_a)}; B: {_steps(side_b)})")
    notes.append(f"step {max(usable)}: the last step with finished results in both runs (--step to choose)")
    return [max(usable)]


def _steps(side: dict) -> str:
    return ", ".join(map(str, side)) if None not in side else "none"


def _has_pairs(folder: Path) -> bool:
    return next(res.finished_pairs(folder), None) is not None


def _load(folder: Path, side: str) -> Pairs:
    pairs: Pairs = {}
    for pair_dir in res.finished_pairs(folder):
        pair = res.load_pair(pair_dir)
        pairs[str(pair.summary.get("benchmark") or pair_dir.name)] = pair
    if not pairs:
        raise ValueError(
            f"run {side}: {folder} holds no finished result (summary.json and samples.jsonl); give a checkpoint "
            "folder OUT/<checkpoint>, a run folder OUT/<run> of abc-verl eval, or an abc-verl eval score --out folder"
        )
    return pairs


def _who(path: Path, side: dict, steps: list[int | None]) -> dict:
    return {"path": str(path), "steps": [s for s in steps if s in side] if None not in side else None}


def compare_runs(a: Pairs, b: Pairs, k: list[int] | None, draws: int, seed: int, allow: bool) -> dict:
    """Every number of the comparison of two runs' finished pairs (JSON-ready), with notes on what was left out."""
    notes: list[str] = []
    benches = list(a)
    missing = [x for x in benches if x not in b] + [x for x in b if x not in a]
    if missing:
        where = "A" if missing[0] in a else "B"
        raise ValueError(f"different problem sets: benchmark {missing[0]} is in run {where} only")
    orders = {x: _match(x, a[x], b[x], allow, notes) for x in benches}
    n_min = min(min(a[x].n, b[x].n) for x in benches)
    ks = sorted(set(k or default_ks(max(max(a[x].n, b[x].n) for x in benches))))
    if dropped := [kk for kk in ks if kk > n_min]:
        notes.append(f"k = {', '.join(map(str, dropped))} left out: a run has only {n_min} samples per problem")
    ks = [kk for kk in ks if kk <= n_min]
    rng = np.random.default_rng(seed)
    out = {"ks": ks, "benchmarks": {}, "overall": None}
    for x in benches:
        out["benchmarks"][x] = _bench(a[x], b[x], orders[x], ks, draws, rng)
    if len(benches) > 1:
        if len({a[x].n for x in benches}) == 1 and len({b[x].n for x in benches}) == 1:
            ca = np.concatenate([a[x].correct for x in benches])
            cb = np.concatenate([b[x].correct[orders[x]] for x in benches])
            sizes = [len(a[x].ids) for x in benches]
            n = {"a": ca.shape[1], "b": cb.shape[1]}
            out["overall"] = {"problems": len(ca), "n": n, "metrics": compare_metrics(ca, cb, ks, sizes, draws, rng)}
        else:
            notes.append("no overall figures: n differs between benchmarks")
    out["notes"] = notes
    return out


def _match(bench: str, a: res.PairResult, b: res.PairResult, allow: bool, notes: list[str]) -> np.ndarray:
    """B's rows in A's problem order; stops on different problem sets or (unless allowed) different settings."""
    fa, fb = a.summary.get("fingerprint") or {}, b.summary.get("fingerprint") or {}
    ha, hb = fa.get("benchmark_sha256"), fb.get("benchmark_sha256")
    if ha and hb and ha != hb:
        raise ValueError(f"different problem sets: {bench}'s file has sha256 {ha[:12]}... in A, {hb[:12]}... in B")
    only_a = [i for i in a.ids if i not in set(b.ids)]
    only_b = [i for i in b.ids if i not in set(a.ids)]
    if only_a or only_b:
        pid, side, other = (only_a[0], "A", "B") if only_a else (only_b[0], "B", "A")
        raise ValueError(f"different problem sets: {bench} problem {pid!r} is in run {side} but not in run {other}")
    # the settings are the fingerprints' (eval score folders have none: their n alone may differ, and the k
    # values above the smaller n are then left out)
    sa = {**(fa.get("sampling") or {}), "prompt": fa.get("prompt")}
    sb = {**(fb.get("sampling") or {}), "prompt": fb.get("prompt")}
    diffs = [f"{key} {sa.get(key)!r} in A, {sb.get(key)!r} in B" for key in sa | sb if sa.get(key) != sb.get(key)]
    if diffs and not allow:
        raise ValueError(
            f"{bench}: the runs were sampled with different settings ({'; '.join(diffs)}); "
            "compare anyway with --allow-different-settings"
        )
    if diffs:
        notes.append(f"{bench}: different settings, compared anyway: {'; '.join(diffs)}")
    where = {pid: i for i, pid in enumerate(b.ids)}
    return np.array([where[pid] for pid in a.ids])


def _bench(a: res.PairResult, b: res.PairResult, order: np.ndarray, ks: list[int], draws: int, rng) -> dict:
    cb, preds_b = b.correct[order], [b.preds[i] for i in order]
    metrics = compare_metrics(a.correct, cb, ks, [len(a.ids)], draws, rng)
    maj = []
    for k in ks:
        ma, mb = 100 * maj_at_k(a.preds, a.correct, k).mean(), 100 * maj_at_k(preds_b, cb, k).mean()
        maj.append({"k": k, "a": float(ma), "b": float(mb), "diff": float(mb - ma)})
    shares = {
        NO_ANSWER: {"a": 100 * a.no_answer / a.correct.size, "b": 100 * b.no_answer / b.correct.size},
        GRADER_TIMEOUT: {"a": 100 * a.timeouts / a.correct.size, "b": 100 * b.timeouts / b.correct.size},
    }
    return {
        "problems": len(a.ids),
        "n": {"a": a.n, "b": b.n},
        "files": {"a": str(a.path), "b": str(b.path)},
        "metrics": metrics,
        "maj": maj,
        "shares": shares,
        **_per_problem(a.ids, a.correct, cb, ks),
    }


def _per_problem(ids: list[str], a: np.ndarray, b: np.ndarray, ks: list[int]) -> dict:
    """Each problem's success rates, sorted by B - A; at each k which run solves it (any of the first k)."""
    ra, rb = a.mean(axis=1), b.mean(axis=1)
    order = sorted(range(len(ids)), key=lambda i: (-(rb[i] - ra[i]), ids[i]))
    rows = [{"id": ids[i], "a": float(ra[i]), "b": float(rb[i]), "diff": float(rb[i] - ra[i])} for i in order]
    solved_by = {}
    for k in ks:
        sa, sb = a[:, :k].any(axis=1), b[:, :k].any(axis=1)
        groups = {"a_only": sa & ~sb, "b_only": sb & ~sa, "both": sa & sb, "neither": ~sa & ~sb}
        solved_by[str(k)] = {g: [ids[i] for i in order if mask[i]] for g, mask in groups.items()}
    return {"per_problem": rows, "solved_by": solved_by}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

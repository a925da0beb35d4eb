"""The files of `abc-verl compare`: compare.md (tables a paper could print), compare.csv, compare.json, compare.png.

    write_outputs(head, compared, over_steps, out_dir)   # compared: one `compare_runs` result per step

All four are written atomically (abc_verl.files). Numbers are in percent; intervals are 95%.
"""

import csv
import io
from pathlib import Path

from abc_verl.files import atomic_write_json, atomic_write_text
from abc_verl.names import GRADER_TIMEOUT, NO_ANSWER

CSV_HEAD = ["step", "benchmark", "metric", "k", "a", "a_lo", "a_hi", "b", "b_lo", "b_hi"]
CSV_HEAD += ["diff", "diff_lo", "diff_hi", "p_value", "mdd"]
SOLVED = {"a_only": "A", "b_only": "B", "both": "both", "neither": "-"}
METHOD = (
    "95% intervals: paired bootstrap over problems and, within each problem, samples, re-centred on the "
    "observed value. p: paired sign-flip test of the per-problem differences (two-sided). MDD: the smallest "
    "true difference a 5% test finds 80% of the time with this problem count and n (2.80 x the bootstrap "
    "standard error). Pass@k (first k): any of the first k samples correct, as the paper reports it; "
    "Pass@k (unbiased): 1 - C(n-c, k)/C(n, k) over all n samples. maj@k: most frequent extracted answer among "
    "the first k samples (no answer does not vote; a tie goes to the answer seen first). compare.json also "
    "gives the plain percentile range of the bootstrap differences (diff_pct_lo, diff_pct_hi)."
)


def metric_label(row: dict, n: int | str) -> str:
    if row["metric"] == "avg":
        return f"Avg@{n}"
    return f"Pass@{row['k']} " + ("(first k)" if row["metric"] == "pass" else "(unbiased)")


def write_outputs(head: dict, compared: list[dict], over_steps: bool, out: Path) -> list[Path]:
    from abc_verl.evaluation.compare_plot import plot_compare, plot_steps

    atomic_write_json(out / "compare.json", {**head, "method": METHOD, "compared": compared})
    atomic_write_text(out / "compare.csv", _csv(compared))
    md = _md_steps(head, compared) if over_steps else _md_one(head, compared[0])
    atomic_write_text(out / "compare.md", md)
    if over_steps:
        png = plot_steps(compared, out / "compare.png")
    else:
        names = (f"A: {Path(head['a']['path']).name}", f"B: {Path(head['b']['path']).name}")
        png = plot_compare(compared[0], out / "compare.png", names)
    return [out / "compare.md", out / "compare.csv", out / "compare.json", png]


def _groups(entry: dict) -> list[tuple[str, dict]]:
    out = list(entry["benchmarks"].items())
    if entry.get("overall"):
        out.append(("overall", entry["overall"]))
    return out


def _csv(compared: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_HEAD)
    for entry in compared:
        step = "" if entry["step"] is None else entry["step"]
        for bench, group in _groups(entry):
            for r in group["metrics"]:
                nums = [f"{r[c]:.4f}" if c != "p_value" else f"{r[c]:.6f}" for c in CSV_HEAD[4:]]
                writer.writerow([step, bench, r["metric"], "" if r["k"] is None else r["k"], *nums])
            for m in group.get("maj", []):
                blank = [""] * 2
                writer.writerow([step, bench, "maj", m["k"], f"{m['a']:.4f}", *blank, f"{m['b']:.4f}", *blank])
    return buf.getvalue()


def _n(group: dict) -> str:
    n = group["n"]
    return str(n["a"]) if n["a"] == n["b"] else "n"


def _fmt(v: float, lo: float, hi: float) -> str:
    return f"{v:.1f} [{lo:.1f}, {hi:.1f}]"


def _metric_table(group: dict, n: str) -> list[str]:
    lines = ["| metric | A | B | B - A | 95% interval of B - A | p | MDD |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in group["metrics"]:
        cells = [metric_label(r, n), _fmt(r["a"], r["a_lo"], r["a_hi"]), _fmt(r["b"], r["b_lo"], r["b_hi"])]
        cells += [f"{r['diff']:+.1f}", f"[{r['diff_lo']:+.1f}, {r['diff_hi']:+.1f}]", _p(r["p_value"])]
        lines.append("| " + " | ".join(cells + [f"{r['mdd']:.1f}"]) + " |")
    for m in group.get("maj", []):
        lines.append(f"| maj@{m['k']} | {m['a']:.1f} | {m['b']:.1f} | {m['diff']:+.1f} |  |  |  |")
    for key, label in ((NO_ANSWER, "no answer (% of responses)"), (GRADER_TIMEOUT, "grader timeout (%)")):
        if key in group.get("shares", {}):
            s = group["shares"][key]
            lines.append(f"| {label} | {s['a']:.1f} | {s['b']:.1f} | {s['b'] - s['a']:+.1f} |  |  |  |")
    return lines


def _p(p: float) -> str:
    return f"{p:.3f}" if p >= 0.001 else "<0.001"


def _problem_table(group: dict, ks: list[int]) -> list[str]:
    cols = [f"solved@{k}" for k in ks]
    lines = ["| problem | A rate | B rate | B - A | " + " | ".join(cols) + " |"]
    lines.append("|---|" + "---:|" * 3 + "---|" * len(ks))
    for row in group["per_problem"]:
        where = [next(SOLVED[g] for g, ids in group["solved_by"][str(k)].items() if row["id"] in ids) for k in ks]
        cells = [str(row["id"]), f"{row['a']:.3f}", f"{row['b']:.3f}", f"{row['diff']:+.3f}", *where]
        lines.append("| " + " | ".join(cells) + " |")
    counts = [
        f"k = {k}: " + ", ".join(f"{SOLVED[g]} {len(ids)}" for g, ids in group["solved_by"][str(k)].items()) for k in ks
    ]
    return [*lines, "", "Solved by (A only, B only, both, neither): " + "; ".join(counts) + "."]


def _md_one(head: dict, entry: dict) -> str:
    step = "" if entry["step"] is None else f" at step {entry['step']}"
    out = [f"# B - A{step}", "", f"A: `{head['a']['path']}`  ", f"B: `{head['b']['path']}`", ""]
    out += [f"Percent. {METHOD} {head['bootstrap']} bootstrap replicates, seed {head['seed']}.", ""]
    out += [f"Note: {n}" for n in head["notes"]] + ([""] if head["notes"] else [])
    for bench, group in _groups(entry):
        problems = group["problems"]
        out += [f"## {bench} ({problems} problems, n = {_n(group)})", ""]
        out += _metric_table(group, _n(group))
        if "per_problem" in group:
            out += ["", "Per problem, sorted by B - A (success rate over all n samples):", ""]
            out += _problem_table(group, entry["ks"])
        out.append("")
    return "\n".join(out)


def _md_steps(head: dict, compared: list[dict]) -> str:
    out = ["# B - A over training", "", f"A: `{head['a']['path']}`  ", f"B: `{head['b']['path']}`", ""]
    out += [f"Percent. {METHOD} {head['bootstrap']} bootstrap replicates, seed {head['seed']}.", ""]
    out += [f"Note: {n}" for n in head["notes"]] + ([""] if head["notes"] else [])
    out += ["| step | benchmark | metric | A | B | B - A | 95% interval | p |"]
    out.append("|---:|---|---|---:|---:|---:|---:|---:|")
    for entry in compared:
        n_max = max(entry["ks"]) if entry["ks"] else None
        for bench, group in _groups(entry):
            for r in group["metrics"]:
                if r["metric"] == "avg" or (r["metric"] == "pass" and r["k"] == n_max):
                    cells = [str(entry["step"]), bench, metric_label(r, _n(group))]
                    cells += [f"{r['a']:.1f}", f"{r['b']:.1f}", f"{r['diff']:+.1f}"]
                    cells += [f"[{r['diff_lo']:+.1f}, {r['diff_hi']:+.1f}]", _p(r["p_value"])]
                    out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"

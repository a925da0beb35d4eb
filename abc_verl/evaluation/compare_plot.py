"""compare.png of `abc-verl compare`: the two runs' Pass@k curves and their difference, with 95% bands.

    plot_compare(entry, path, names)  # one step: top, A and B Pass@k (unbiased) against k; bottom, B - A
    plot_steps(compared, path)    # --over-steps: B - A in Avg@n (top) and Pass@n (bottom) against the step

One column per benchmark, plus "overall" (problems pooled) when there are several. Percent on every y axis.
"""

from pathlib import Path

import numpy as np

from abc_verl.evaluation.report import save_figure

COLORS = {"a": "tab:blue", "b": "tab:orange", "diff": "tab:green"}


def _groups(entry: dict) -> list[tuple[str, dict]]:
    # `eval score` folders carry no benchmark name ("-"): the panel is all of the file's problems
    out = [("all problems" if k == "-" else k, v) for k, v in entry["benchmarks"].items()]
    if entry.get("overall"):
        out.append(("overall", entry["overall"]))
    return out


def _figure(nrows: int, ncols: int):
    import matplotlib

    matplotlib.use("Agg")  # files only; no display on clusters
    import matplotlib.pyplot as plt

    return plt.subplots(nrows, ncols, figsize=(4.4 * ncols + 0.8, 3.6 * nrows), squeeze=False)


def plot_compare(entry: dict, path: Path, names: tuple[str, str] = ("A", "B")) -> Path:
    groups = _groups(entry)
    fig, axes = _figure(2, len(groups))
    for col, (bench, group) in enumerate(groups):
        rows = [r for r in group["metrics"] if r["metric"] == "unbiased_pass"]
        ks = [float(np.log2(r["k"])) for r in rows]  # k on a log2 axis, drawn linear: log axes cost a second
        top, bottom = axes[0][col], axes[1][col]
        for side, name in zip(("a", "b"), names, strict=True):
            top.plot(ks, [r[side] for r in rows], "o-", ms=3, color=COLORS[side], label=name)
            lo, hi = [r[f"{side}_lo"] for r in rows], [r[f"{side}_hi"] for r in rows]
            top.fill_between(ks, lo, hi, color=COLORS[side], alpha=0.2, lw=0)
        top.set(title=bench, ylabel="Pass@k, unbiased (%)", ylim=(0, 100))
        bottom.plot(ks, [r["diff"] for r in rows], "o-", ms=3, color=COLORS["diff"], label="B - A")
        lo, hi = [r["diff_lo"] for r in rows], [r["diff_hi"] for r in rows]
        bottom.fill_between(ks, lo, hi, color=COLORS["diff"], alpha=0.25, lw=0, label="95% interval")
        bottom.axhline(0, color="black", lw=0.8)
        bottom.set(xlabel="k (samples)", ylabel="B - A (percentage points)")
        for ax in (top, bottom):
            ax.set_xticks(ks, [str(r["k"]) for r in rows])
            ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), title="95% bands", title_fontsize=8)
    axes[1][-1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.subplots_adjust(hspace=0.3, wspace=0.3)
    return save_figure(fig, path)


def plot_steps(compared: list[dict], path: Path) -> Path:
    groups = [name for name, _ in _groups(compared[0])]
    fig, axes = _figure(2, len(groups))
    for col, bench in enumerate(groups):
        for row, want in enumerate(("avg", "pass")):
            ax = axes[row][col]
            steps, vals, lo, hi, label = [], [], [], [], ""
            for entry in compared:
                group = dict(_groups(entry)).get(bench)
                n_max = max(entry["ks"]) if entry["ks"] else None
                match = [r for r in (group or {}).get("metrics", []) if r["metric"] == want]
                match = [r for r in match if want == "avg" or r["k"] == n_max]
                if match:
                    r = match[0]
                    steps.append(entry["step"])
                    vals.append(r["diff"])
                    lo.append(r["diff_lo"])
                    hi.append(r["diff_hi"])
                    n = group["n"]["a"] if group["n"]["a"] == group["n"]["b"] else "n"
                    label = f"Avg@{n}" if want == "avg" else f"Pass@{n_max}"
            ax.plot(steps, vals, "o-", ms=3, color=COLORS["diff"], label="B - A")
            ax.fill_between(steps, lo, hi, color=COLORS["diff"], alpha=0.25, lw=0, label="95% interval")
            ax.axhline(0, color="black", lw=0.8)
            ax.set(title=f"{bench}: {label}", xlabel="training step", ylabel="B - A (percentage points)")
            if 0 < len(steps) <= 10:
                ax.set_xticks(steps)
            ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.subplots_adjust(hspace=0.35, wspace=0.3)
    return save_figure(fig, path)

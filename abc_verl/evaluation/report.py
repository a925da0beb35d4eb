"""The run's table in the paper's layout (Markdown + CSV) and its plots (PNG), from per-pair summaries.

    python -m abc_verl.evaluation.report OUT_DIR     # rebuild table and plots from OUT_DIR/**/summary.json

Table: one row per (checkpoint, benchmark); columns Avg@n, Pass@2 ... Pass@n (the paper's Pass@k: any of the first k
samples), and Greedy when greedy accuracy was asked for. Markdown rounds to 0.1 (as the paper) and shows Avg@n as
"8.4 ± 1.9", half the width of its 95% bootstrap interval; CSV keeps 4 decimals. Plots: `pass_at_k.png` (Pass@k
against k, one line per checkpoint, one panel per benchmark; dashed: the unbiased estimator when there are at most 4
checkpoints) and, when checkpoints have training steps, `over_training.png` (Avg@n, top, and Pass@n, bottom, against
step, one column per benchmark, one line per run; plain models as dashed horizontal levels).
"""

import csv
import io
import sys
from pathlib import Path

from abc_verl.evaluation import results as res
from abc_verl.evaluation.stats import avg_interval
from abc_verl.files import atomic_open, atomic_write_text


def table_columns(rows: list[dict]) -> list[str]:
    n = rows[0]["n"]
    cols = [f"Avg@{n}"] + [f"Pass@{k}" for k in rows[0]["ks"] if k > 1]
    if any(r.get("greedy") is not None for r in rows):
        cols.append("Greedy")
    return cols


def _cell(row: dict, col: str) -> float | None:
    if col == "Greedy":
        return row.get("greedy")
    kind, k = col.split("@")
    return row.get(f"{kind.lower()}@{k}")


def write_table(rows: list[dict], out_dir: Path) -> tuple[Path, Path]:
    """table.md and table.csv; rows are summaries with checkpoint, step and benchmark keys.

    A row's `avg_pm` (half width of Avg@n's 95% interval, `avg_half_width`) is shown as "Avg ± avg_pm" in
    table.md; table.csv keeps plain numbers.
    """
    cols = table_columns(rows)
    head = ["checkpoint", "step", "benchmark"]
    md = ["| " + " | ".join(head + cols) + " |", "|" + "---|" * 3 + "---:|" * len(cols)]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(head + cols)
    for r in rows:
        ident = [r["checkpoint"], "" if r.get("step") is None else str(r["step"]), r["benchmark"]]
        values = [_cell(r, c) for c in cols]
        cells = ["" if v is None else f"{v:.1f}" for v in values]
        if r.get("avg_pm") is not None:
            cells[0] += f" ± {r['avg_pm']:.1f}"
        md.append("| " + " | ".join(ident + cells) + " |")
        writer.writerow(ident + ["" if v is None else f"{v:.4f}" for v in values])
    n = rows[0]["n"]
    note = f"\nPercent. n = {n} samples per problem; Pass@k = any of the first k samples correct (as the paper).\n"
    if any(r.get("avg_pm") is not None for r in rows):
        note += "Avg@n ± half the width of its 95% interval (bootstrap over problems and samples, abc-verl compare).\n"
    atomic_write_text(out_dir / "table.md", "\n".join(md) + "\n" + note)
    atomic_write_text(out_dir / "table.csv", buf.getvalue())
    return out_dir / "table.md", out_dir / "table.csv"


def avg_half_width(pair_dir: Path) -> float:
    """Half the width of a finished pair's Avg@n 95% interval, in percent (the table's "8.4 ± 1.9")."""
    lo, hi = avg_interval(res.load_pair(pair_dir).correct)
    return (hi - lo) / 2


def write_plots(rows: list[dict], out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")  # files only; no display on clusters
    written = [_plot_pass_at_k(rows, out_dir / "pass_at_k.png")]
    if any(r.get("step") is not None for r in rows):
        written.append(_plot_over_training(rows, out_dir / "over_training.png"))
    return written


def _benchmarks(rows: list[dict]) -> list[str]:
    return list(dict.fromkeys(r["benchmark"] for r in rows))


def _checkpoint_colors(rows: list[dict]) -> dict:
    """One colour family per run, darker with later steps; plain models in greys."""
    import matplotlib.pyplot as plt

    families = ["Blues", "Oranges", "Greens", "Purples", "Reds", "YlOrBr"]
    runs = list(dict.fromkeys(r["run"] for r in rows if r.get("step") is not None))
    colors = {}
    for i, run in enumerate(runs):
        cmap = plt.get_cmap(families[i % len(families)])
        ckpts = list(dict.fromkeys(r["checkpoint"] for r in _by_step(rows) if r["run"] == run))
        for j, name in enumerate(ckpts):
            colors[name] = cmap(0.45 + 0.55 * (j + 1) / len(ckpts))
    bases = list(dict.fromkeys(r["checkpoint"] for r in rows if r.get("step") is None))
    for j, name in enumerate(bases):
        colors[name] = plt.get_cmap("Greys")(0.9 - 0.4 * j / max(len(bases), 1))
    return colors


def _run_colors(rows: list[dict]) -> dict:
    import matplotlib.pyplot as plt

    runs = list(dict.fromkeys(r["run"] for r in rows if r.get("step") is not None))
    colors = {name: plt.get_cmap("tab10")(i % 10) for i, name in enumerate(runs)}
    bases = list(dict.fromkeys(r["checkpoint"] for r in rows if r.get("step") is None))
    colors.update({name: plt.get_cmap("Greys")(0.9 - 0.4 * j / len(bases)) for j, name in enumerate(bases)})
    return colors


def _by_step(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: -1 if r.get("step") is None else r["step"])


def _panels(nrows: int, ncols: int):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols + 0.6, 3.8 * nrows), squeeze=False)
    return fig, axes


def _plot_pass_at_k(rows: list[dict], path: Path) -> Path:
    from matplotlib.lines import Line2D

    benches = _benchmarks(rows)
    colors = _checkpoint_colors(rows)
    markers = _checkpoint_markers(rows)
    # Beside a few checkpoints the unbiased estimator is worth showing; beside many it is clutter.
    unbiased = len(colors) <= 4
    fig, axes = _panels(1, len(benches))
    for ax, bench in zip(axes[0], benches, strict=True):
        for r in (r for r in rows if r["benchmark"] == bench):
            ks, color, marker = r["ks"], colors[r["checkpoint"]], markers[r["checkpoint"]]
            ax.plot(ks, [r[f"pass@{k}"] for k in ks], "-", marker=marker, ms=4, color=color)
            if unbiased:
                ax.plot(ks, [r[f"unbiased_pass@{k}"] for k in ks], "--", color=color, lw=1, alpha=0.7)
        ax.set_xscale("log", base=2)
        ax.set_xticks(rows[0]["ks"], [str(k) for k in rows[0]["ks"]])
        ax.set(title=bench, xlabel="k (samples)", ylabel="Pass@k (%)", ylim=(0, 100))
        ax.grid(alpha=0.3)
    # One entry per checkpoint of ANY panel (a checkpoint evaluated on one benchmark only is named too), in
    # run and step order, each with its own colour and marker.
    handles = [
        Line2D([], [], color=colors[name], marker=markers[name], ms=4, label=name)
        for name in dict.fromkeys(r["checkpoint"] for r in _by_run_and_step(rows))
    ]
    if unbiased:
        handles.append(Line2D([], [], color="grey", ls="--", lw=1, label="dashed: unbiased estimator"))
    title = "Pass@k: any of the first k samples\n(colour: run, shade and marker: step)"
    axes[0][-1].legend(
        handles=handles, fontsize=8, title=title, title_fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0)
    )
    fig.tight_layout()
    return save_figure(fig, path)


def _checkpoint_markers(rows: list[dict]) -> dict:
    """A marker per checkpoint within its run (the n-th step of every run shares one), so shades need not tell."""
    shapes = "osD^vPX*"
    out: dict = {}
    for run in dict.fromkeys(r["run"] for r in rows):
        names = dict.fromkeys(r["checkpoint"] for r in _by_step(rows) if r["run"] == run)
        out.update({name: shapes[j % len(shapes)] for j, name in enumerate(names)})
    return out


def _by_run_and_step(rows: list[dict]) -> list[dict]:
    runs = list(dict.fromkeys(r["run"] for r in rows))
    return sorted(rows, key=lambda r: (runs.index(r["run"]), -1 if r.get("step") is None else r["step"]))


def _plot_over_training(rows: list[dict], path: Path) -> Path:
    from abc_verl.dynamics.plot import integer_steps, percent_axis

    n = rows[0]["n"]
    benches = _benchmarks(rows)
    colors = _run_colors(rows)
    steps = sorted({r["step"] for r in rows if r.get("step") is not None})
    fig, axes = _panels(2, len(benches))
    for col, bench in enumerate(benches):
        for row_i, metric in enumerate((f"avg@{n}", f"pass@{n}")):
            ax = axes[row_i][col]
            _training_lines(ax, [r for r in rows if r["benchmark"] == bench], metric, colors)
            label = metric.replace("avg", "Avg").replace("pass", "Pass")
            ax.set(title=f"{bench}: {label}", xlabel="training step (verl global_step)", ylabel=f"{label} (%)")
            percent_axis(ax, [r[metric] for r in rows if r["benchmark"] == bench])
            if len(steps) <= 10:
                ax.set_xticks(steps)
            else:
                integer_steps(ax)
            ax.grid(alpha=0.3)
    _legend(fig, axes[0][-1], f"n = {n} samples per problem")
    return save_figure(fig, path)


def _training_lines(ax, rows: list[dict], metric: str, colors: dict) -> None:
    for run in dict.fromkeys(r["run"] for r in rows if r.get("step") is not None):
        pts = sorted((r["step"], r[metric]) for r in rows if r["run"] == run and r.get("step") is not None)
        ax.plot([s for s, _ in pts], [v for _, v in pts], "o-", ms=4, color=colors[run], label=run, clip_on=False)
    for r in (r for r in rows if r.get("step") is None):  # plain models: a level to compare against
        ax.axhline(r[metric], color=colors[r["checkpoint"]], ls="--", lw=1.2, label=r["checkpoint"])


def _legend(fig, ax, title: str) -> None:
    ax.legend(fontsize=8, title=title, title_fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.tight_layout()


def save_figure(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    try:
        with atomic_open(path, "wb") as fh:
            fig.savefig(fh, format="png", dpi=120, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    found = res.collect(Path(sys.argv[1]))
    if not found:
        sys.exit(f"no {res.SUMMARY} under {sys.argv[1]}")
    for r in found:
        r["avg_pm"] = avg_half_width(Path(sys.argv[1]) / r["checkpoint"] / r["benchmark"])
    print(*write_table(found, Path(sys.argv[1])), *write_plots(found, Path(sys.argv[1])), sep="\n")

"""The training-dynamics figure of `abc-verl plot` (see `abc_verl.dynamics.cli` for the command and its outputs).

Layout as in the paper, 2 x 3 panels: (a) Avg@k and (b) Pass@k (largest k) per benchmark over step (the paper's
runs: its reported final values, one point each, said so in the panel), (c) entropy (log scale when the values
span 10x or more, as ABC against GRPO does; else linear), (d) mean reward (and, crosses on a dotted line, the
validation share of responses without an answer where the run's reward manager abc_math logged it), (e) total
clip fraction over step, (f) each quadrant's share of clip events, a bar per run. Every axis is labelled.
Lines: a centred moving mean over `smooth` training steps (points with step in [s - smooth/2, s + smooth/2)),
raw values faint. The paper's reference runs are dashed.
Fixed size: 1500 x 900 px.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: no display on training nodes or in CI

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import FormatStrFormatter, LogLocator, MaxNLocator, NullFormatter  # noqa: E402

from abc_verl.dynamics.logs import Run, clip_share  # noqa: E402
from abc_verl.files import atomic_write_bytes  # noqa: E402
from abc_verl.names import NO_ANSWER, QUADRANTS  # noqa: E402

FIGSIZE, DPI = (15, 9), 100  # pixel size 1500 x 900, checked by the tests
QUADRANT_LABELS = ("Q1\nA>0, r>1", "Q2\nA>0, r<1", "Q3\nA<0, r<1", "Q4\nA<0, r>1")
MARKERS = "osD^v<>PX*"
LINESTYLES = ("-", "--", ":", "-.")
LOG_SPAN = 10.0  # entropy on a log axis only when its largest value is this many times its smallest


def smooth_curve(steps: list[int], values: list[float], window: int) -> np.ndarray:
    """Centred moving mean over `window` training steps (not points: rewards may be logged every few steps)."""
    x, y = np.asarray(steps, dtype=float), np.asarray(values, dtype=float)
    if window <= 1 or len(y) < 2:
        return y
    csum = np.concatenate([[0.0], np.cumsum(y)])
    lo = np.searchsorted(x, x - window / 2, side="left")
    hi = np.searchsorted(x, x + window / 2, side="left")
    hi = np.maximum(hi, np.arange(len(x)) + 1)  # a window always holds its own point
    return (csum[hi] - csum[lo]) / (hi - lo)


def percent_axis(ax: plt.Axes, values: list[float]) -> None:
    """A y-axis in percent: never below 0 or above 100, and at least 10 points tall (all-zero runs included)."""
    lo, hi = (min(values), max(values)) if values else (0.0, 0.0)
    pad = max(2.0, 0.08 * (hi - lo))
    bottom, top = max(0.0, lo - pad), min(100.0, hi + pad)
    if top - bottom < 10.0:
        bottom, top = (max(0.0, top - 10.0), top) if top >= 10.0 else (0.0, 10.0)
    ax.set_ylim(bottom, top)


def integer_steps(ax: plt.Axes) -> None:
    """Training steps are whole numbers: no 1.25 or 2.2 ticks on a short run."""
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _empty(ax: plt.Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


def _line_style(run: Run) -> str:
    return "--" if run.reference else "-"


def _curve_panel(ax, runs, colors, key, smooth, scale=1.0, missing="") -> None:
    drawn = False
    for run in runs:
        steps, values = run.points(key)
        if not steps:
            continue
        y = np.asarray(values) * scale
        if len(steps) < 2 * smooth:  # too short to smooth: the raw values are the curve
            ax.plot(steps, y, color=colors[run.name], linestyle=_line_style(run), marker="o", markersize=3)
        else:
            ax.plot(steps, y, color=colors[run.name], alpha=0.18, linewidth=0.7)
            ax.plot(steps, smooth_curve(steps, list(y), smooth), color=colors[run.name], linestyle=_line_style(run))
        drawn = True
    if not drawn:
        _empty(ax, missing)
    integer_steps(ax)
    ax.set_xlabel("training step")
    ax.grid(alpha=0.3)


def _no_answer_marks(ax, runs, colors) -> bool:
    """The validation no-answer share (percent) of the runs that logged it, in the reward panel; True if any."""
    drawn = False
    for run in runs:
        steps, values = run.points(NO_ANSWER)
        if steps:
            y = 100.0 * np.asarray(values)
            ax.plot(steps, y, color=colors[run.name], linestyle=":", marker="x", markersize=5, linewidth=0.9)
            drawn = True
    return drawn


def _entropy_panel(ax, runs, colors, smooth) -> None:
    """Entropy over step. A log axis only for a wide span (ABC's and GRPO's final entropies differ ~4-10x): a
    narrow one (0.6-0.96) on a log axis gets a single labelled tick. Ticks read as plain numbers either way."""
    _curve_panel(ax, runs, colors, "entropy", smooth, missing="no entropy logged")
    values = [v for run in runs for v in run.points("entropy")[1]]
    if values and min(values) > 0 and max(values) / min(values) >= LOG_SPAN:
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(NullFormatter())
    if values:
        ax.set_ylabel("mean token entropy (nats)" + (", log scale" if ax.get_yscale() == "log" else ""))


def _final_only_note(ax, series) -> None:
    """Say so in the panel when the paper's runs give only their reported final values (one point each)."""
    names = sorted({run.name for run, _, _, steps, _ in series if run.reference and len(steps) == 1})
    if names:
        note = f"{', '.join(names)}:\nthe paper's reported final values only (one point, no curve)"
        ax.text(0.98, 0.5, note, transform=ax.transAxes, ha="right", va="center", fontsize=8, color="0.35")


def _largest_k(run: Run, kind: str) -> str | None:
    keys = {k for by_step in run.evals.values() for metrics in by_step.values() for k in metrics}
    ks = {int(k.split("@")[1]) for k in keys if k.startswith(f"{kind}@")}
    return f"{kind}@{max(ks)}" if ks else None


def _eval_panel(ax, runs, colors, kind: str) -> None:
    series = []  # (run, benchmark, key, steps, values)
    for run in runs:
        key = _largest_k(run, kind)
        for bench, by_step in sorted(run.evals.items()):
            points = sorted((s, m[key]) for s, m in by_step.items() if key in m)
            if points:
                series.append((run, bench, key, [s for s, _ in points], [v for _, v in points]))
    if not series:
        _empty(ax, f"no eval summaries with {kind}@k\n(--eval NAME=DIR from abc-verl eval)")
        ax.set_xlabel("training step")
        return
    benches = sorted({b for _, b, *_ in series})
    for run, bench, _, steps, values in series:
        i = benches.index(bench)
        ax.plot(
            steps,
            values,  # percent, as abc_verl.evaluation.metrics writes them
            color=colors[run.name],
            marker=MARKERS[i % len(MARKERS)],
            linestyle=LINESTYLES[i % len(LINESTYLES)],
            markersize=4,
            clip_on=False,  # a point at 100% sits on the axis, not under it
        )
    ks = sorted({key for _, _, key, *_ in series})
    for i, bench in enumerate(benches):
        ax.plot(
            [],
            [],
            color="0.3",
            marker=MARKERS[i % len(MARKERS)],
            linestyle=LINESTYLES[i % len(LINESTYLES)],
            label=bench,
        )
    ax.legend(fontsize=8, loc="upper left")
    _final_only_note(ax, series)
    ax.set_ylabel(f"{', '.join(ks)} (%)")
    percent_axis(ax, [v for *_, values in series for v in values])
    integer_steps(ax)
    ax.set_xlabel("training step")
    ax.grid(alpha=0.3)


def _quadrant_panel(ax, runs, colors) -> None:
    with_shares = [(run, share) for run in runs if (share := clip_share(run))]
    without = [run.name for run in runs if not clip_share(run)]
    if not with_shares:
        _empty(ax, "no per-quadrant clipping metrics\n(actor/abc/clipfrac_q1..q4)")
    width = 0.8 / max(len(with_shares), 1)
    for i, (run, share) in enumerate(with_shares):
        x = np.arange(4) + (i - (len(with_shares) - 1) / 2) * width
        bars = ax.bar(
            x,
            [share[q] for q in QUADRANTS],
            width,
            color=colors[run.name],
            hatch="//" if run.reference else None,
            edgecolor="white",
        )
        ax.bar_label(bars, fmt="%.1f", fontsize=8)
    ax.set_xticks(np.arange(4), QUADRANT_LABELS)
    ax.set_ylabel("share of clip events (%)")
    ax.margins(y=0.12)
    if without:
        note = f"no quadrant metrics:\n{', '.join(without)}"
        ax.text(0.02, 0.97, note, transform=ax.transAxes, va="top", fontsize=8, color="0.4")
    ax.grid(alpha=0.3, axis="y")


def _same_steps(*axes: plt.Axes) -> None:
    """One training-step range on every panel that drew a step axis, so an eval point lines up with the curves."""
    drawn = [ax for ax in axes if ax.has_data()]
    if len(drawn) > 1:
        lo, hi = min(ax.get_xlim()[0] for ax in drawn), max(ax.get_xlim()[1] for ax in drawn)
        for ax in drawn:
            ax.set_xlim(lo, hi)


def draw(runs: list[Run], path: Path, smooth: int) -> None:
    """Write the figure as PNG (atomically) at `path`."""
    fig = figure(runs, smooth)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())


def figure(runs: list[Run], smooth: int) -> plt.Figure:
    """The figure, not yet saved (the caller closes it)."""
    cmap = plt.get_cmap("tab10")
    colors = {run.name: cmap(i % 10) for i, run in enumerate(runs)}
    fig, axes = plt.subplots(2, 3, figsize=FIGSIZE, dpi=DPI, layout="constrained")
    (ax_avg, ax_pass, ax_ent), (ax_rew, ax_clip, ax_quad) = axes
    _eval_panel(ax_avg, runs, colors, "avg")
    _eval_panel(ax_pass, runs, colors, "pass")
    _entropy_panel(ax_ent, runs, colors, smooth)
    _curve_panel(ax_rew, runs, colors, "reward", smooth, scale=100.0, missing="no reward logged")
    no_answer = _no_answer_marks(ax_rew, runs, colors)
    if ax_rew.has_data():
        ax_rew.set_ylabel("% of responses" if no_answer else "mean reward (% correct)")
    _curve_panel(ax_clip, runs, colors, "clipfrac", smooth, scale=100.0, missing="no clip fraction logged")
    if ax_clip.has_data():
        ax_clip.set_ylabel("clipped tokens (% of response tokens)")
    _quadrant_panel(ax_quad, runs, colors)
    _same_steps(ax_avg, ax_pass, ax_ent, ax_rew, ax_clip)
    labels = {
        ax_avg: "(a) Avg@k",
        ax_pass: "(b) Pass@k",
        ax_ent: "(c) entropy",
        ax_rew: "(d) reward, x: val. no answer (%)" if no_answer else "(d) mean reward (% correct)",
        ax_clip: "(e) clipped tokens (%)",
        ax_quad: "(f) clip events per quadrant",
    }
    for ax, label in labels.items():
        ax.set_title(label, loc="left", fontweight="bold")
    handles = [plt.Line2D([], [], color=colors[r.name], linestyle=_line_style(r), label=r.name) for r in runs]
    fig.legend(handles=handles, loc="outside upper center", ncol=min(len(runs), 6), frameon=False)
    fig.supxlabel(
        f"lines: centred moving mean over {smooth} training steps, faint: raw values; runs of fewer than {2 * smooth} "
        "steps: raw values",
        fontsize=8,
        color="0.4",
    )
    return fig

"""The eval's own table and plots (abc_verl.evaluation.report): pass_at_k.png's legend names every checkpoint.

pytest tests/test_eval_report.py -q
"""

from pathlib import Path

from abc_verl.evaluation import report


def summary(checkpoint: str, run: str, step: int | None, bench: str, level: float) -> dict:
    row = {"checkpoint": checkpoint, "run": run, "step": step, "benchmark": bench, "n": 4, "ks": [1, 2, 4]}
    for k in row["ks"]:
        row[f"pass@{k}"] = row[f"unbiased_pass@{k}"] = row[f"avg@{k}"] = level + k
    return row


def test_pass_at_k_legend_names_every_checkpoint_with_its_own_marker(tmp_path, monkeypatch):
    rows = [summary(f"{run}/global_step_{s}", run, s, "aime24", s / 10) for run in ("grpo", "abc") for s in (1, 2, 3)]
    rows = [dict(r, benchmark=b) for r in rows for b in ("aime24", "amc23")]
    rows.append(summary("Base", "Base", None, "aime24", 1.0))  # on one benchmark only: not in the last panel
    figures = []
    monkeypatch.setattr(report, "save_figure", lambda fig, path: figures.append(fig) or Path(path))
    report.write_plots(rows, tmp_path)
    legend = figures[0].axes[-1].get_legend()
    labels = [t.get_text() for t in legend.get_texts()]
    order = [f"{run}/global_step_{s}" for run in ("grpo", "abc") for s in (1, 2, 3)]
    assert labels == [*order, "Base"]  # 7 checkpoints > 4: no unbiased lines, so no entry for them
    markers = {t.get_text(): h.get_marker() for t, h in zip(legend.get_texts(), legend.legend_handles, strict=True)}
    assert len({markers[f"grpo/global_step_{s}"] for s in (1, 2, 3)}) == 3  # steps of one run: three markers

"""`abc-verl plot`'s figure labels every axis it draws: entropy's scale follows its span, panels (d) and (e) have
their y labels, and panels holding only the paper's reported final points say so.

    pytest tests/test_plot_labels.py      (a few seconds; the real figure, inspected before it is saved)
"""

from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from abc_verl.dynamics.cli import paper_runs
from abc_verl.dynamics.logs import load_run
from abc_verl.dynamics.plot import figure

VERL_ABC = Path(__file__).parent / "fixtures" / "dynamics" / "verl_abc.jsonl"  # entropy 1, 0.5, 0.25, 0.125


@pytest.fixture
def panels():
    figures = []

    def draw(runs, smooth=1) -> dict:
        fig = figure(runs, smooth)
        figures.append(fig)
        return {ax.get_title(loc="left").split(")")[0] + ")": ax for ax in fig.axes}

    yield draw
    for fig in figures:
        plt.close(fig)


def entropy_run(tmp_path: Path, values: list[float]):
    lines = [f'{{"step": {i}, "data": {{"actor/entropy": {v}}}}}\n' for i, v in enumerate(values, 1)]
    (tmp_path / "run.jsonl").write_text("".join(lines))
    return load_run("tiny", tmp_path / "run.jsonl")


def test_a_narrow_entropy_range_is_drawn_on_a_linear_labelled_axis(panels, tmp_path):
    ax = panels([entropy_run(tmp_path, [0.96, 0.8, 0.6])])["(c)"]  # 0.96 / 0.6 = 1.6 < 10
    assert ax.get_yscale() == "linear"
    assert ax.get_ylabel() == "mean token entropy (nats)"


def test_the_papers_wide_entropy_range_is_log_with_plain_number_ticks(panels):
    ax = panels(paper_runs("1.7b"))["(c)"]  # ABC ~1.4 -> 0.29, GRPO -> 0.07: over 10x
    assert ax.get_yscale() == "log"
    assert ax.get_ylabel() == "mean token entropy (nats), log scale"
    ticks = [t for t in ax.get_yticks() if ax.get_ylim()[0] <= t <= ax.get_ylim()[1]]
    labels = [ax.yaxis.get_major_formatter()(t) for t in ticks]
    assert labels == ["0.1", "0.2", "0.5", "1"]


def test_reward_and_clip_panels_have_y_labels(panels):
    axes = panels([load_run("tiny", VERL_ABC)])
    assert axes["(d)"].get_ylabel() == "mean reward (% correct)"
    assert axes["(e)"].get_ylabel() == "clipped tokens (% of response tokens)"


def test_panels_with_only_the_papers_final_points_say_so(panels):
    axes = panels(paper_runs("1.7b"))
    for name in ("(a)", "(b)"):
        notes = [t.get_text() for t in axes[name].texts]
        assert notes == [
            "paper-1.7b-abc-grpo, paper-1.7b-grpo:\nthe paper's reported final values only (one point, no curve)"
        ]


def test_a_run_of_its_own_with_one_eval_point_gets_no_such_note(panels):
    run = load_run("tiny", VERL_ABC)
    run.evals = {"aime24": {4: {"avg@8": 50.0, "pass@8": 75.0}}}  # one checkpoint evaluated: a point, not the paper's
    axes = panels([run])
    assert axes["(a)"].get_ylabel() == "avg@8 (%)" and [t.get_text() for t in axes["(a)"].texts] == []

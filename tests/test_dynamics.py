"""`abc-verl plot` (abc_verl.dynamics.cli, dynamics_logs, dynamics_plot): parsers, summary numbers, figure, CLI errors.

Run: pytest tests/test_dynamics.py    (about 10 s; fixtures described in tests/fixtures/dynamics/README.md)
"""

import json
import struct
from pathlib import Path

import pytest

from abc_verl.dynamics.cli import main, paper_runs, summarize
from abc_verl.dynamics.logs import LogError, Run, clip_share, load_run, read_eval_summaries, write_curves_csv
from abc_verl.dynamics.plot import smooth_curve

FIXTURES = Path(__file__).parent / "fixtures" / "dynamics"
VERL_ABC = FIXTURES / "verl_abc.jsonl"
VERL_GRPO = FIXTURES / "verl_grpo_missing_keys.jsonl"
TRL_ABC = FIXTURES / "trainer_state_abc.json"
PAPER_ABC = FIXTURES / "qwen3-1.7b-abc-grpo.trainer_state.json.gz"
PAPER_GRPO = FIXTURES / "qwen3-1.7b-grpo.trainer_state.json.gz"


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_verl_log_merges_steps_skips_validation_only_step_and_truncated_last_line():
    run = load_run("abc", VERL_ABC)
    assert run.fmt == "verl"
    assert run.points("entropy") == ([1, 2, 3, 4], [1.0, 0.5, 0.25, 0.125])  # step 5 was cut mid-line
    assert run.points("reward") == ([1, 2, 3, 4], [0.25, 0.5, 0.75, 1.0])  # critic/score/mean, not rewards/mean
    assert run.series["clipfrac"] == {1: 0.0, 2: 0.03125, 3: 0.015625, 4: 0.0078125}
    # Step 2: q = (2^-7, 0, 2^-7, 2^-6), total 2^-5 -> shares (1/4, 0, 1/4, 1/2); step 1 had no clipping.
    assert {q: run.series[q][2] for q in ("share_q1", "share_q2", "share_q3", "share_q4")} == {
        "share_q1": 0.25,
        "share_q2": 0.0,
        "share_q3": 0.25,
        "share_q4": 0.5,
    }
    assert 1 not in run.series["share_q4"]
    assert any("truncated" in note for note in run.notes)


def test_verl_log_with_missing_keys_gives_notes_and_no_clip_share():
    run = load_run("grpo", VERL_GRPO)
    assert run.points("entropy") == ([1, 2, 3], [1.5, 0.75, 0.75])
    assert run.points("reward") == ([1, 3], [0.0, 0.5])  # fallback critic/rewards/mean, absent at step 2
    assert run.series["clipfrac"] == {}
    assert clip_share(run) is None
    notes = " | ".join(run.notes)
    assert "no clipfrac" in notes and "1 unreadable line(s) skipped, first at line 3" in notes
    assert "no per-quadrant clipping" in notes


def test_trl_trainer_state_quadrant_shares_from_the_authors_split_keys():
    run = load_run("trl", TRL_ABC)
    assert run.fmt == "trl"
    assert run.points("entropy") == ([1, 2, 3], [1.0, 0.5, 0.25])
    assert run.points("reward") == ([1, 3], [0.5, 0.75])
    # Step 2: over=0.5 -> Q1=(1-0.5)*0.5=0.25, Q2=0.5*0.25=0.125, Q3=(1-0.5)*0.5=0.25, Q4=0.5*0.75=0.375.
    # Step 3: over=0.25 -> Q1=0.75*0.25=0.1875, Q2=0.25*0=0, Q3=0.75*0.75=0.5625, Q4=0.25*1=0.25.
    # Step 1 is all zeros (no clipping) and is left out of the average.
    assert clip_share(run) == {
        "q1": 100 * (0.25 + 0.1875) / 2,  # 21.875
        "q2": 100 * (0.125 + 0.0) / 2,  # 6.25
        "q3": 100 * (0.25 + 0.5625) / 2,  # 40.625
        "q4": 100 * (0.375 + 0.25) / 2,  # 31.25
    }


def test_summary_numbers_on_hand_computed_fixtures():
    runs = [load_run("abc", VERL_ABC), load_run("grpo", VERL_GRPO)]
    summary = summarize(runs, window=2)
    abc, grpo = summary["runs"]["abc"], summary["runs"]["grpo"]
    assert abc["steps"] == 4 and abc["last_step"] == 4  # step 0 holds only validation metrics
    assert abc["final_entropy"] == (0.25 + 0.125) / 2  # 0.1875, last 2 logged values
    assert abc["final_reward"] == (0.75 + 1.0) / 2  # 0.875
    # Shares per clipped step: s2 (1/4, 0, 1/4, 1/2), s3 (0, 1/4, 1/4, 1/2), s4 (0, 0, 0, 1); mean over 3 steps.
    assert abc["clip_share"] == pytest.approx({"q1": 25 / 3, "q2": 25 / 3, "q3": 50 / 3, "q4": 200 / 3}, rel=1e-12)
    assert abc["clip_share_steps"] == 3
    assert grpo["clip_share"] is None and grpo["final_reward"] == 0.25  # (0.0 + 0.5) / 2
    assert grpo["final_entropy"] == 0.75  # (0.75 + 0.75) / 2
    assert summary["entropy_ratio"] == {"numerator": "abc", "denominator": "grpo", "value": 0.25}  # 0.1875 / 0.75
    # Default window of 10 with 4 values: all of them, and a note.
    full = summarize([load_run("abc", VERL_ABC)])["runs"]["abc"]
    assert full["final_entropy"] == (1.0 + 0.5 + 0.25 + 0.125) / 4  # 0.46875
    assert any("fewer than 10" in note for note in full["notes"])


def test_paper_logs_give_the_issue_numbers_and_match_the_shipped_curves():
    abc, grpo = load_run("abc", PAPER_ABC), load_run("grpo", PAPER_GRPO)
    summary = summarize([abc, grpo])
    assert summary["runs"]["abc"]["steps"] == 660
    assert summary["runs"]["abc"]["clip_share"]["q4"] == pytest.approx(51.66, abs=0.01)
    assert summary["runs"]["abc"]["final_entropy"] == pytest.approx(0.2908, abs=1e-4)
    assert summary["runs"]["grpo"]["final_entropy"] == pytest.approx(0.0729, abs=1e-4)
    assert summary["runs"]["grpo"]["clip_share"] is None
    assert summary["entropy_ratio"]["value"] == pytest.approx(3.99, abs=0.005)
    shipped = summarize(paper_runs("1.7b"))
    for raw, ref in zip(summary["runs"].values(), shipped["runs"].values(), strict=True):
        for key in ("steps", "final_entropy", "final_reward", "clip_share"):
            assert ref[key] == (None if raw[key] is None else pytest.approx(raw[key], rel=1e-6)), key
    assert shipped["entropy_ratio"]["value"] == pytest.approx(summary["entropy_ratio"]["value"], rel=1e-6)


def test_paper_runs_carry_the_papers_reported_final_avg_and_pass_at_64():
    abc, grpo = paper_runs("1.7b")
    # the paper's table, Qwen3-1.7B-Base, in percent, at the last of 660 optimizer steps
    assert abc.evals["aime24"] == {660: {"avg@64": 9.8, "pass@64": 36.7}}
    assert abc.evals["amc23"] == {660: {"avg@64": 44.2, "pass@64": 92.5}}
    assert grpo.evals["aime25"] == {660: {"avg@64": 5.6, "pass@64": 26.7}}
    assert sorted(grpo.evals) == ["aime24", "aime25", "amc23"]


def test_curves_csv_round_trip(tmp_path):
    run = load_run("abc", VERL_ABC)
    write_curves_csv(run, tmp_path / "abc.csv")
    back = load_run("abc", tmp_path / "abc.csv")
    assert back.fmt == "curves-csv" and back.series == run.series  # dyadic values survive 8 significant digits


def test_eval_summaries_layout(tmp_path):
    run = Run("abc", "x", "verl")
    for step, bench, avg in ((100, "aime24", 0.1), (200, "aime24", 0.0), (100, "amc23", 0.4)):
        folder = tmp_path / f"global_step_{step}" / bench
        folder.mkdir(parents=True)
        summary = {"avg@64": avg, "pass@64": 0.5, "pass@8": 0.3, "unbiased_pass@4": 0.2, "n": 64, "problems": 30}
        (folder / "summary.json").write_text(json.dumps(summary))
    (tmp_path / "base_model" / "aime24").mkdir(parents=True)
    (tmp_path / "base_model" / "aime24" / "summary.json").write_text('{"avg@64": 0.05}')
    read_eval_summaries(run, tmp_path)
    assert run.evals["aime24"] == {
        100: {"avg@64": 0.1, "pass@64": 0.5, "pass@8": 0.3},
        200: {"avg@64": 0.0, "pass@64": 0.5, "pass@8": 0.3},  # a zero score is kept
    }
    assert set(run.evals) == {"aime24", "amc23"}
    assert any("base_model" in note for note in run.notes)  # no step: skipped with a note


def test_smoothing_is_a_centred_mean_over_training_steps():
    # Window 4 steps: points with step in [s-2, s+2). Step 0: {0, 1} -> 0.5; step 1: {0, 1, 2} -> 1; step 2:
    # {0, 1, 2, 3} -> 1.5; step 3: {1, 2, 3} -> 2. Steps 10 and 20 are alone in their windows.
    assert smooth_curve([0, 1, 2, 3, 10, 20], [0, 1, 2, 3, 7, 9], 4).tolist() == [0.5, 1.0, 1.5, 2.0, 7.0, 9.0]
    assert smooth_curve([1, 2], [3.0, 5.0], 1).tolist() == [3.0, 5.0]


def test_cli_writes_png_summary_and_curves(tmp_path, capsys):
    evals = tmp_path / "evals" / "global_step_4" / "aime24"
    evals.mkdir(parents=True)
    (evals / "summary.json").write_text('{"avg@64": 9.8, "pass@64": 36.7}')
    out = tmp_path / "out"
    argv = ["--run", f"abc={VERL_ABC}", "--run", f"grpo={VERL_GRPO}", "--eval", f"abc={tmp_path / 'evals'}"]
    assert main([*argv, "--with-paper", "1.7b", "--out", str(out)]) == 0
    assert png_size(out / "dynamics.png") == (1500, 900)
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary["runs"]) == ["abc", "grpo", "paper-1.7b-abc-grpo", "paper-1.7b-grpo"]
    assert summary["runs"]["abc"]["evals"] == {"aime24": {"4": {"avg@64": 9.8, "pass@64": 36.7}}}
    assert summary["entropy_ratio"]["value"] == pytest.approx(0.46875 / 1.0)  # 4-value vs 3-value means
    assert sorted(p.name for p in (out / "curves").iterdir()) == [
        "abc.csv",
        "grpo.csv",
        "paper-1.7b-abc-grpo.csv",
        "paper-1.7b-grpo.csv",
    ]
    assert "grpo: no clipfrac" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--run", "abc"], "--run 'abc': expected NAME=PATH"),
        (["--run", "abc=/nonexistent/log.jsonl"], "--run abc: /nonexistent/log.jsonl: no such file"),
        (["--with-paper", "8b"], "--with-paper '8b': unknown size; available: 1.7b"),
        (["--run", f"abc={VERL_ABC}", "--eval", "grpo=."], "--eval grpo: no --run named 'grpo'"),
        (["--run", f"a={VERL_ABC}", "--run", f"a={VERL_GRPO}"], "--run a: run name given twice"),
        (["--run", f"a b={VERL_ABC}", "--run", f"a_b={VERL_GRPO}"], "--run a_b: writes the same curves/a_b.csv as"),
        (
            ["--run", f"paper-1.7b-grpo={VERL_ABC}", "--with-paper", "1.7b"],
            "--run paper-1.7b-grpo: writes the same curves/paper-1.7b-grpo.csv as run 'paper-1.7b-grpo'",
        ),
        ([], "give at least one --run"),
        (["--run", f"abc={FIXTURES / 'README.md'}"], "not a verl file-logger JSONL"),
    ],
)
def test_cli_bad_input_names_the_argument(argv, message, tmp_path, capsys):
    assert main([*argv, "--out", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_cli_without_out_is_an_argparse_error(capsys):
    assert main(["--with-paper", "1.7b"]) == 2
    assert "--out" in capsys.readouterr().err


def test_empty_log_is_a_note_and_garbage_is_an_error(tmp_path):
    (tmp_path / "empty.jsonl").write_text("")
    assert load_run("e", tmp_path / "empty.jsonl").notes == ["empty log file"]
    (tmp_path / "cut.json").write_text('{"log_history": [{"step": 1, "entropy"')  # a trainer_state cut short
    with pytest.raises(LogError, match="cut.json"):
        load_run("c", tmp_path / "cut.json")


def test_a_trl_output_directory_reads_its_latest_checkpoint(tmp_path):
    for step in (2, 10):
        (tmp_path / f"checkpoint-{step}").mkdir()
        state = {"log_history": [{"step": s, "entropy": 1.0 / s} for s in range(1, step + 1)]}
        (tmp_path / f"checkpoint-{step}" / "trainer_state.json").write_text(json.dumps(state))
    run = load_run("trl", tmp_path)
    assert run.source.endswith("checkpoint-10/trainer_state.json")  # 10 > 2 numerically, not as text
    assert len(run.series["entropy"]) == 10


def test_a_directory_of_verl_logs_from_several_launches_is_one_run(tmp_path):
    """The launchers write one JSONL per launch; a resumed run continues in a new file, in the same folder."""
    run_dir = tmp_path / "qwen3_1.7b_abc"
    run_dir.mkdir()
    first = [{"step": s, "data": {"actor/entropy": 1.0, "critic/score/mean": 0.1}} for s in (1, 2, 3)]
    second = [{"step": s, "data": {"actor/entropy": 0.5, "critic/score/mean": 0.2}} for s in (3, 4)]
    (run_dir / "20261127-100000.jsonl").write_text("".join(json.dumps(r) + "\n" for r in first))
    (run_dir / "20261128-090000.jsonl").write_text("".join(json.dumps(r) + "\n" for r in second))
    run = load_run("abc", run_dir)
    steps, entropy = run.points("entropy")
    assert steps == [1, 2, 3, 4] and entropy == [1.0, 1.0, 0.5, 0.5]  # step 3 re-logged by the resumed launch


def test_no_answer_share_of_the_reward_manager_is_read_kept_and_drawn(tmp_path):
    """abc_math's validation diagnostic val-aux/<source>/no_answer/mean@<n>: per validation step, each source's
    value at its largest n, averaged over sources; written to the curves CSV and read back; drawn in panel (d)."""
    from abc_verl.dynamics.plot import draw

    lines = [
        {"step": 1, "data": {"critic/score/mean": 0.5, "actor/entropy": 1.0}},
        # aime24: n=8 wins over n=2 (0.25); amc23 0.5 -> (0.25 + 0.5) / 2 = 0.375
        {"step": 2, "data": {"val-aux/aime24/no_answer/mean@2": 0.75, "val-aux/aime24/no_answer/mean@8": 0.25}},
        {"step": 2, "data": {"val-aux/amc23/no_answer/mean@8": 0.5, "val-aux/amc23/no_answer/std@8": 0.1}},
        {"step": 2, "data": {"critic/score/mean": 0.75, "actor/entropy": 0.5}},
    ]
    log = tmp_path / "run.jsonl"
    log.write_text("".join(json.dumps(line) + "\n" for line in lines))
    run = load_run("abc", log)
    assert run.points("no_answer") == ([2], [0.375])
    write_curves_csv(run, tmp_path / "abc.csv")
    assert load_run("abc", tmp_path / "abc.csv").points("no_answer") == ([2], [0.375])
    assert load_run("grpo", VERL_GRPO).points("no_answer") == ([], [])  # a log without it: no curve, no error
    draw([run], tmp_path / "dynamics.png", smooth=1)
    assert png_size(tmp_path / "dynamics.png") == (1500, 900)

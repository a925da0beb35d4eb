"""`abc-verl compare`: the statistics (abc_verl.evaluation.stats), the command on result folders written through
abc_verl.evaluation.results, every bad input, and end to end from two sample files graded by `abc-verl eval score`.

    pytest tests/test_compare.py -q

Nothing is mocked: result folders are written by the same functions `abc-verl eval` uses, and the end-to-end
test grades with the real checker.
"""

import csv
import json
from itertools import combinations
from math import comb
from pathlib import Path

import numpy as np
import pytest

from abc_verl.evaluation import compare, results, stats
from abc_verl.evaluation.cli import main as eval_main
from abc_verl.evaluation.generate import SamplingConfig
from abc_verl.evaluation.simulate import coverage, fit_profile

# ---------------------------------------------------------------- statistics


def test_unbiased_pass_at_k_equals_enumeration_of_all_k_subsets():
    n = 6
    for c in range(n + 1):
        outcomes = [1] * c + [0] * (n - c)
        for k in range(1, n + 1):
            subsets = list(combinations(outcomes, k))
            brute = sum(any(s) for s in subsets) / len(subsets)  # len(subsets) == C(6, k)
            assert len(subsets) == comb(n, k)
            assert stats.unbiased_table(n, k)[c] == pytest.approx(brute, abs=1e-12)


def test_first_k_pass_looks_only_at_the_first_k_samples():
    values = stats.per_problem(np.array([[0, 0, 1, 0], [0, 0, 0, 0]], dtype=bool), [2, 3])
    assert values[("pass", 2)].tolist() == [0.0, 0.0]  # the only success is sample 3
    assert values[("pass", 3)].tolist() == [1.0, 0.0]
    assert values[("unbiased_pass", 2)].tolist() == [0.5, 0.0]  # 1 - C(3,2)/C(4,2) = 1 - 3/6
    assert values[("avg", None)].tolist() == [0.25, 0.0]


def test_maj_at_k_tie_goes_to_the_answer_seen_first():
    preds = [["7", "8", "8", "7"], ["", "", "5", "6"]]
    correct = np.array([[True, False, False, True], [False, False, True, False]])
    # problem 1: k=4 ties 7 and 8 two votes each, k=2 one each; 7 was seen first and is correct. k=3: 8 wins 2-1.
    # problem 2: k=2 only responses without an answer (no vote: wrong); k=3 "5" alone; k=4 "5" and "6" tie, "5"
    # first
    assert stats.maj_at_k(preds, correct, 4).tolist() == [1.0, 1.0]
    assert stats.maj_at_k(preds, correct, 3).tolist() == [0.0, 1.0]
    assert stats.maj_at_k(preds, correct, 2).tolist() == [1.0, 0.0]
    assert stats.maj_at_k(preds, correct, 1).tolist() == [1.0, 0.0]


def random_run(seed: int, problems: int = 30, n: int = 16) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.random((problems, n)) < rng.random(problems)[:, None] ** 2


def test_identical_runs_differ_by_zero_with_p_one():
    a = random_run(1)
    for row in stats.compare_metrics(a, a.copy(), [1, 4, 16], [30], 2000, np.random.default_rng(0)):
        assert row["diff"] == 0.0 and row["a"] == row["b"]
        assert row["diff_lo"] < 0 < row["diff_hi"]  # the samples are redrawn for each run: the interval has width
        assert row["p_value"] == 1.0  # every per-problem difference is 0: every sign flip ties


def test_a_run_solving_strictly_more_problems_is_found_better():
    a = np.zeros((30, 8), dtype=bool)
    a[:10, :4] = True  # A solves problems 0-9 (half of the samples)
    b = a.copy()
    b[10:20, :4] = True  # B solves those and 10-19 too
    rows = {(r["metric"], r["k"]): r for r in stats.compare_metrics(a, b, [8], [30], 4000, np.random.default_rng(0))}
    avg = rows[("avg", None)]
    assert avg["diff"] == pytest.approx(100 * 10 * 0.5 / 30)  # 10 more problems at rate 1/2, over 30
    # exact sign-flip test: 10 equal non-zero differences; only all-plus and all-minus reach |sum| = 10
    assert avg["p_value"] == pytest.approx(2 / 2**10)
    assert avg["diff_lo"] > 0
    assert rows[("pass", 8)]["diff"] == pytest.approx(100 * 10 / 30) and rows[("pass", 8)]["diff_lo"] > 0


def test_same_seed_same_numbers_other_seed_other_draws():
    a, b = random_run(1), random_run(2)
    first = stats.compare_metrics(a, b, [4], [30], 1000, np.random.default_rng(5))
    assert first == stats.compare_metrics(a, b, [4], [30], 1000, np.random.default_rng(5))
    assert first != stats.compare_metrics(a, b, [4], [30], 1000, np.random.default_rng(6))


def test_interval_covers_the_true_difference_in_93_to_97_percent_of_1000_simulated_pairs():
    """1,000 pairs of runs with per-problem success rates like the paper's 4B GRPO and ABC-GRPO on AIME24 (30
    problems, n = 64), problems drawn anew for each pair, a problem's difficulty moved by 0.05 between the runs
    (abc_verl.evaluation.simulate; docs/compare.md gives the other scenarios); ~10 s of CPU."""
    a, b = fit_profile(20.3, 43.3, 64), fit_profile(25.9, 66.7, 64)
    share = coverage(a, b, pairs=1000, problems=30, n=64, ks=[], draws=1000, seed=1, jitter=0.05)[("avg", None)]
    assert 0.93 <= share <= 0.97


# ---------------------------------------------------------------- the command on result folders

IDS = [f"p{i}" for i in range(6)]


def write_result(
    folder: Path, correct: list[list[int]], ids=IDS, temperature=0.6, sha="f" * 64, preds=None, fingerprinted=True
) -> Path:
    """A finished pair written through abc_verl.evaluation.results, as `abc-verl eval` writes it (as `eval score`
    writes it, without a fingerprint, when not `fingerprinted`)."""
    n = len(correct[0])
    cfg = SamplingConfig(n=n, temperature=temperature)
    fp = results.fingerprint(cfg, "aime24", sha, len(ids), "prompt {question}")
    responses = [[f"r{s}" for s in range(n)] for _ in ids]
    verdicts = [
        {"pred": preds[i][s] if preds else ("1" if c else ""), "correct": bool(c), "error": ""}
        for i, row in enumerate(correct)
        for s, c in enumerate(row)
    ]
    rows = results.sample_rows(ids, responses, verdicts)
    head = {"checkpoint": folder.name, "run": folder.parent.name, "step": None, "benchmark": "aime24"}
    summary = results.summary_of(head, rows, ids, n, [1, n], {"fingerprint": fp} if fingerprinted else {})
    results.write_pair(folder / "aime24", rows, summary)
    return folder


A_CORRECT = [[1, 0, 0, 1], [0, 0, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]]
B_CORRECT = [[1, 1, 0, 1], [0, 0, 1, 0], [1, 1, 1, 1], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]]


def run_compare(*argv) -> int:
    return compare.main([str(a) for a in argv])


def test_compare_writes_the_four_files_with_exact_differences(tmp_path, capsys):
    a, b = write_result(tmp_path / "a", A_CORRECT), write_result(tmp_path / "b", B_CORRECT)
    assert run_compare(a, b, "--out", tmp_path / "cmp", "--bootstrap", 1000) == 0
    data = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    rows = {(r["metric"], r["k"]): r for r in data["compared"][0]["benchmarks"]["aime24"]["metrics"]}
    # A: 2 + 0 + 4 + 0 + 1 + 0 = 7 of 24 correct; B: 3 + 1 + 4 + 1 + 1 + 0 = 10 of 24
    assert rows[("avg", None)]["a"] == pytest.approx(100 * 7 / 24)
    assert rows[("avg", None)]["diff"] == pytest.approx(100 * 3 / 24)
    # first sample: A solves p0, p2; B solves p0, p2, p3 -> +1 of 6
    assert rows[("pass", 1)]["diff"] == pytest.approx(100 / 6)
    solved = data["compared"][0]["benchmarks"]["aime24"]["solved_by"]["4"]
    assert solved == {"a_only": [], "b_only": ["p1", "p3"], "both": ["p0", "p2", "p4"], "neither": ["p5"]}
    with open(tmp_path / "cmp" / "compare.csv") as fh:
        table = list(csv.DictReader(fh))
    assert {r["metric"] for r in table} == {"avg", "pass", "unbiased_pass", "maj"}
    assert "| Avg@4 | 29.2 [" in (tmp_path / "cmp" / "compare.md").read_text()
    assert (tmp_path / "cmp" / "compare.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in (tmp_path / "cmp").iterdir()) == [
        "compare.csv",
        "compare.json",
        "compare.md",
        "compare.png",
    ]


def test_identical_folders_compare_to_zero_with_p_one(tmp_path, capsys):
    a, b = write_result(tmp_path / "a", A_CORRECT), write_result(tmp_path / "b", A_CORRECT)
    assert run_compare(a, b, "--out", tmp_path / "cmp", "--bootstrap", 500) == 0
    data = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    for r in data["compared"][0]["benchmarks"]["aime24"]["metrics"]:
        assert r["diff"] == 0 and r["diff_lo"] <= 0 <= r["diff_hi"] and r["p_value"] == 1.0


def test_run_folders_default_to_the_last_common_step_and_over_steps_draws_all(tmp_path, capsys):
    for step in (10, 20, 30):
        write_result(tmp_path / "ra" / f"global_step_{step}", A_CORRECT)
    for step in (10, 20):
        write_result(tmp_path / "rb" / f"global_step_{step}", B_CORRECT)
    assert run_compare(tmp_path / "ra", tmp_path / "rb", "--out", tmp_path / "one", "--bootstrap", 200) == 0
    assert json.loads((tmp_path / "one" / "compare.json").read_text())["compared"][0]["step"] == 20
    argv = [tmp_path / "ra", tmp_path / "rb", "--out", tmp_path / "all", "--bootstrap", 200, "--over-steps"]
    assert run_compare(*argv) == 0
    assert [c["step"] for c in json.loads((tmp_path / "all" / "compare.json").read_text())["compared"]] == [10, 20]
    assert (tmp_path / "all" / "compare.png").is_file()


def test_fewer_samples_than_k_leaves_that_k_out_once(tmp_path, capsys):
    a = write_result(tmp_path / "a", A_CORRECT)
    b = write_result(tmp_path / "b", [row + row for row in B_CORRECT])  # n = 8
    argv = [a, b, "--out", tmp_path / "cmp", "--k", "1", "8", "--bootstrap", 200, "--allow-different-settings"]
    assert run_compare(*argv) == 0
    err = capsys.readouterr().err
    assert err.count("k = 8 left out: a run has only 4 samples per problem") == 1
    assert "different settings, compared anyway: n 4 in A, 8 in B" in err
    assert json.loads((tmp_path / "cmp" / "compare.json").read_text())["compared"][0]["ks"] == [1]


def test_eval_score_folders_with_other_n_leave_the_larger_k_out(tmp_path, capsys):
    a = write_result(tmp_path / "a", A_CORRECT, fingerprinted=False)
    b = write_result(tmp_path / "b", [row + row for row in B_CORRECT], fingerprinted=False)  # n = 8
    assert run_compare(a, b, "--out", tmp_path / "cmp", "--bootstrap", 200) == 0
    assert capsys.readouterr().err.count("k = 8 left out") == 1
    assert json.loads((tmp_path / "cmp" / "compare.json").read_text())["compared"][0]["ks"] == [1, 2, 4]


@pytest.mark.parametrize(
    "b_kwargs, extra, message",
    [
        ({"ids": [*IDS[:3], "q9", *IDS[4:]]}, [], "aime24 problem 'p3' is in run A but not in run B"),
        ({"sha": "0" * 64}, [], "aime24's file has sha256 ffffffffffff... in A, 000000000000... in B"),
        ({"temperature": 1.0}, [], "different settings (temperature 0.6 in A, 1.0 in B)"),
        ({}, ["--bootstrap", "5"], "--bootstrap must be at least 100"),
        ({}, ["--step", "3"], "--step picks a checkpoint of a run folder"),
        ({}, ["--over-steps"], "--over-steps needs two run folders"),
    ],
)
def test_bad_input_fails_with_one_line_and_status_2(tmp_path, capsys, b_kwargs, extra, message):
    a, b = write_result(tmp_path / "a", A_CORRECT), write_result(tmp_path / "b", B_CORRECT, **b_kwargs)
    assert run_compare(a, b, "--out", tmp_path / "cmp", *extra) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.startswith("abc-verl compare: error: ")
    assert not (tmp_path / "cmp").exists()


def test_different_settings_are_compared_when_allowed(tmp_path, capsys):
    a, b = write_result(tmp_path / "a", A_CORRECT), write_result(tmp_path / "b", B_CORRECT, temperature=1.0)
    argv = [a, b, "--out", tmp_path / "cmp", "--bootstrap", 200, "--allow-different-settings"]
    assert run_compare(*argv) == 0
    notes = json.loads((tmp_path / "cmp" / "compare.json").read_text())["notes"]
    assert notes == ["aime24: different settings, compared anyway: temperature 0.6 in A, 1.0 in B"]


def test_folder_without_finished_pair_is_named(tmp_path, capsys):
    a = write_result(tmp_path / "a", A_CORRECT)
    (tmp_path / "empty" / "aime24").mkdir(parents=True)
    assert run_compare(a, tmp_path / "empty", "--out", tmp_path / "cmp") == 2
    assert f"run B: {tmp_path / 'empty'} holds no finished result" in capsys.readouterr().err
    assert run_compare(a, tmp_path / "nowhere", "--out", tmp_path / "cmp") == 2
    assert f"run B: {tmp_path / 'nowhere'}: no such folder" in capsys.readouterr().err


def test_missing_step_is_named_with_the_steps_there_are(tmp_path, capsys):
    write_result(tmp_path / "ra" / "global_step_10", A_CORRECT)
    write_result(tmp_path / "rb" / "global_step_10", B_CORRECT)
    assert run_compare(tmp_path / "ra", tmp_path / "rb", "--out", tmp_path / "cmp", "--step", "20") == 2
    assert "run A has no global_step_20 (it has steps 10)" in capsys.readouterr().err


# ---------------------------------------------------------------- end to end from graded sample files


def sample_file(path: Path, rates: list[float], n: int, seed: int) -> Path:
    """One problem per line; each response boxes the gold with the problem's rate, else a wrong number or none."""
    rng = np.random.default_rng(seed)
    with open(path, "w") as fh:
        for i, rate in enumerate(rates):
            gold = 100 + i
            responses = [
                f"so \\boxed{{{gold}}}" if rng.random() < rate else rng.choice([f"\\boxed{{{i}}}", "no idea"])
                for _ in range(n)
            ]
            fh.write(json.dumps({"id": f"q{i}", "answer": gold, "responses": responses}) + "\n")
    return path


def matrix(scored: Path) -> np.ndarray:
    rows = [json.loads(line) for line in (scored / "samples.jsonl").read_text().splitlines()]
    ids = list(dict.fromkeys(r["id"] for r in rows))
    out = np.zeros((len(ids), max(r["sample"] for r in rows) + 1), dtype=bool)
    for r in rows:
        out[ids.index(r["id"]), r["sample"]] = r["correct"]
    return out


def test_end_to_end_from_eval_score_folders_recomputed_independently(tmp_path, capsys):
    rates_a = [0.0, 0.1, 0.3, 0.5, 0.0, 0.8, 0.2, 0.0]
    rates_b = [0.1, 0.3, 0.5, 0.5, 0.2, 0.9, 0.2, 0.0]
    for name, rates, seed in (("a", rates_a, 1), ("b", rates_b, 2)):
        samples = sample_file(tmp_path / f"{name}.jsonl", rates, 8, seed)
        assert eval_main(["score", "--samples", str(samples), "--out", str(tmp_path / name), "--workers", "1"]) == 0
    out = tmp_path / "cmp"
    assert run_compare(tmp_path / "a", tmp_path / "b", "--out", out, "--seed", "7") == 0
    got = {
        (r["metric"], r["k"]): r
        for r in json.loads((out / "compare.json").read_text())["compared"][0]["benchmarks"]["-"]["metrics"]
    }
    a, b = matrix(tmp_path / "a"), matrix(tmp_path / "b")
    n = a.shape[1]
    for k in (1, 2, 4, 8):  # recomputed from the graded samples, the paper's form and by enumeration of k-subsets
        first = 100 * (b[:, :k].any(1).mean() - a[:, :k].any(1).mean())
        assert got[("pass", k)]["diff"] == pytest.approx(first)

        def enumerated(m, k=k):
            return np.mean([np.mean([row[list(s)].any() for s in combinations(range(n), k)]) for row in m])

        assert got[("unbiased_pass", k)]["diff"] == pytest.approx(100 * (enumerated(b) - enumerated(a)))
    avg = got[("avg", None)]
    assert avg["diff"] == pytest.approx(100 * (b.mean() - a.mean()))
    # the interval, by explicit resampling of problems and of each run's samples (no shortcut), 4,000 draws
    rng = np.random.default_rng(123)
    problems, draws = len(a), 4000
    idx = rng.integers(0, problems, (draws, problems))[:, :, None]
    pick_a, pick_b = rng.integers(0, n, (draws, problems, n)), rng.integers(0, n, (draws, problems, n))
    diffs = 100 * (b[idx, pick_b].mean(axis=(1, 2)) - a[idx, pick_a].mean(axis=(1, 2)))
    lo, hi = avg["diff"] + np.quantile(diffs - diffs.mean(), [0.025, 0.975])
    width = hi - lo
    assert abs(avg["diff_lo"] - lo) < 0.1 * width and abs(avg["diff_hi"] - hi) < 0.1 * width
    # the p-value by every one of the 2^8 sign patterns of the per-problem differences
    d = b.mean(1) - a.mean(1)
    signs = np.array(np.meshgrid(*[[-1, 1]] * problems)).reshape(problems, -1).T
    assert avg["p_value"] == pytest.approx(np.mean(np.abs(signs @ d) >= abs(d.sum()) - 1e-12))

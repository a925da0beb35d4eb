"""`python -m abc_verl.cpu.node_report`: the ranks' own ABC metrics against the value verl logged, on made-up lines
in the format abc_verl.cpu.nodes prints (the real two-node run is tests/test_two_nodes.py). In milliseconds.

    pytest tests/test_node_report.py
"""

import json
from pathlib import Path

from abc_verl.cpu.node_report import main, report
from abc_verl.names import CLIPFRAC, PG_CLIPFRAC


def _loss_line(rank: int, value: float) -> str:
    metrics = " ".join(f"{m}={value!r}" for m in [PG_CLIPFRAC, *CLIPFRAC.values()])
    return f"(WorkerDict pid=1{rank}) abc-verl loss: rank={rank} node=n{rank} loss_mode=abc {metrics}"


def _output(calls: dict[int, list[float]]) -> str:
    lines = [f"(pid=1{r}) abc-verl worker: rank={r} node=n{r} python=py{r} abc_verl=pkg{r}" for r in calls]
    for rank, values in calls.items():
        lines += [_loss_line(rank, v) for v in values]
    return "\n".join(lines)


def _log(tmp_path: Path, logged: dict[int, float]) -> Path:
    path = tmp_path / "log.jsonl"
    rows = [
        {"step": s, "data": {"actor/pg_loss": 0.0, **dict.fromkeys([PG_CLIPFRAC, *CLIPFRAC.values()], v)}}
        for s, v in logged.items()
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_logged_values_that_are_the_mean_over_the_ranks_pass(tmp_path):
    # two steps, two loss calls per rank and step: step 1 = (0.0 + 0.1 + 0.2 + 0.3) / 4 = 0.15,
    # step 2 = (0.4 + 0.0 + 0.2 + 0.2) / 4 = 0.2
    output = _output({0: [0.0, 0.1, 0.4, 0.0], 1: [0.2, 0.3, 0.2, 0.2]})
    ok, lines = report(output, _log(tmp_path, {1: 0.15, 2: 0.2}))
    assert ok
    assert f"step 1 {PG_CLIPFRAC}: rank 0 0.0500, rank 1 0.2500 -> logged 0.1500, the mean over the ranks" in lines


def test_a_logged_value_of_one_rank_alone_fails(tmp_path):
    # rank 0's own mean at step 1 is (0.0 + 0.1) / 2 = 0.05, not the mean over both ranks (0.15)
    output = _output({0: [0.0, 0.1], 1: [0.2, 0.3]})
    ok, lines = report(output, _log(tmp_path, {1: 0.05}))
    assert not ok and any("NOT the mean over the ranks (0.1500)" in line for line in lines)


def test_a_run_with_one_rank_traced_fails(tmp_path):
    output_file = tmp_path / "out.txt"
    output_file.write_text(_output({0: [0.1, 0.1]}))
    assert main([str(output_file), str(_log(tmp_path, {1: 0.1}))]) == 1

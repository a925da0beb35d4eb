"""The numbers users compare: the tiny run's summary gives its last step's values and says `abc-verl plot`'s
"final" ones are window means; `abc-verl plot` names the steps behind each number it prints.

    pytest tests/test_final_window.py
"""

import shutil
from pathlib import Path

from abc_verl.cpu.summary import summary
from abc_verl.dynamics.cli import main as plot

VERL_ABC = Path(__file__).parent / "fixtures" / "dynamics" / "verl_abc.jsonl"  # steps 1-4, entropy 1 .. 0.125


def test_the_run_summary_says_its_values_are_the_last_steps_and_plots_are_means(tmp_path):
    (tmp_path / "logs").mkdir()
    shutil.copy(VERL_ABC, tmp_path / "logs" / "steps_1_4.jsonl")
    ok, text = summary(tmp_path)
    assert ok
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("step 4: "))
    assert lines[at].startswith("step 4: entropy 0.125,")  # the last step's own value
    assert lines[at + 1] == (
        '  (step 4\'s own values; `abc-verl plot` prints a "final" entropy averaged over the last 10 logged steps '
        "and clip-event shares averaged over the steps with clipping, so its numbers differ)"
    )


def test_plot_names_the_steps_each_printed_number_averages(tmp_path, capsys):
    assert plot(["--run", f"tiny={VERL_ABC}", "--out", str(tmp_path)]) == 0
    # (1 + 0.5 + 0.25 + 0.125) / 4 = 0.469; shares: the 3 steps with clipping (2, 3, 4), Q4 (1/2 + 1/2 + 1) / 3
    assert capsys.readouterr().out.splitlines()[0] == (
        "tiny: 4 steps, final entropy 0.469 (mean over steps 1-4), Q4 share of clip events 66.7% "
        "(mean over the 3 steps with clipping)"
    )

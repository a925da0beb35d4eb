"""The paper launchers write Hydra's run folder under their log folder, not as ./outputs in the current folder.

    pytest tests/test_outputs_in_place.py

examples/train.sh (the body of every paper launcher) runs the real `python -m verl.trainer.main_ppo` on the
1.7B ABC recipe with a bad width: verl's config check stops it before Ray starts (no GPU needed), after Hydra
made its run folder.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_train_sh_puts_hydras_run_folder_under_the_log_folder(tmp_path):
    here, logs = tmp_path / "here", tmp_path / "logs"
    here.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        LOG_DIR=str(logs),
        ABC_VERL_CKPT=str(tmp_path / "ckpt"),
        ABC_VERL_DATA=str(tmp_path / "data"),
        VERL_PLATFORM="cpu",  # train.sh's GPU count check stands aside on abc_verl's CPU platform: main_ppo runs
    )
    cmd = ["bash", str(ROOT / "examples" / "train.sh"), "actor_rollout_ref.actor.policy_loss.eps_pos_low=2"]
    proc = subprocess.run(cmd, cwd=here, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and "eps_pos_low=2.0" in proc.stdout + proc.stderr  # stopped by verl's check
    assert list(here.iterdir()) == []  # no ./outputs
    runs = list((logs / "qwen3_1.7b_abc" / "hydra").iterdir())
    assert len(runs) == 1 and (runs[0] / ".hydra" / "overrides.yaml").is_file()

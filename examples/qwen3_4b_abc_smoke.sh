#!/usr/bin/env bash
# Qwen3-4B-Base, ABC-GRPO, smoke test on ONE GPU of 80 GB: 4 small rollout steps, a checkpoint and a
# validation (recipe qwen3_4b_abc_smoke.yaml), to prove a GPU install in minutes before booking a cluster.
# Wall time: about 15 minutes, model download excluded (an estimate). Not a paper run.
# First: examples/prepare_data.sh. Check on a laptop first:  abc-verl check qwen3_4b_abc_smoke
# Knobs (environment): RECIPE, NNODES, GPUS_PER_NODE, ABC_VERL_DATA, ABC_VERL_CKPT, LOG_DIR (examples/train.sh)
# Hydra overrides pass through:          examples/qwen3_4b_abc_smoke.sh trainer.total_training_steps=2
python3 -c 'import abc_verl, importlib.util as u; assert u.find_spec("verl")' 2>/dev/null || { echo "$0: no python3 \
with abc-verl on PATH: activate its venv (. .venv/bin/activate in the clone) or pip install -e ." >&2; exit 1; }
set -xeuo pipefail

export RECIPE=${RECIPE:-qwen3_4b_abc_smoke}
export GPUS_PER_NODE=${GPUS_PER_NODE:-1}
export NNODES=${NNODES:-1}

exec "$(dirname "$0")/train.sh" "$@"

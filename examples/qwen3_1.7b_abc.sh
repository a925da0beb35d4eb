#!/usr/bin/env bash
# Qwen3-1.7B-Base, ABC-GRPO, the paper's method: one run of the paper's 1.7B experiments (Avg@64 / Pass@k table
# and training-dynamics figure). Its control, qwen3_1.7b_grpo.sh, differs only in the loss. Hardware: 1 node
# with 8 GPUs of 80 GB (H100 / A100). Wall time: about 8 h (165 steps of ~3 min; an estimate, the paper gives
# none).
# First: examples/prepare_data.sh. Afterwards: examples/eval.sh on the checkpoints, abc-verl plot on the log.
# Check on a laptop before the cluster:  abc-verl check qwen3_1.7b_abc
# Knobs (environment): RECIPE, NNODES, GPUS_PER_NODE, ABC_VERL_DATA, ABC_VERL_CKPT, LOG_DIR (examples/train.sh)
# Hydra overrides pass through:          examples/qwen3_1.7b_abc.sh trainer.logger=[console,file,wandb]
python3 -c 'import abc_verl, importlib.util as u; assert u.find_spec("verl")' 2>/dev/null || { echo "$0: no python3 \
with abc-verl on PATH: activate its venv (. .venv/bin/activate in the clone) or pip install -e ." >&2; exit 1; }
set -xeuo pipefail

export RECIPE=${RECIPE:-qwen3_1.7b_abc}
export GPUS_PER_NODE=${GPUS_PER_NODE:-8}
export NNODES=${NNODES:-1}

exec "$(dirname "$0")/train.sh" "$@"

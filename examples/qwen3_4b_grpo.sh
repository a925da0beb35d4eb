#!/usr/bin/env bash
# Qwen3-4B-Base, the paper's GRPO baseline (PPO clip 0.2, no dual-clip): one run of the paper's 4B experiments
# (Avg@64 / Pass@k table and training-dynamics figure). Control of qwen3_4b_abc.sh: differs only in the loss.
# Hardware: 1 node with 8 GPUs of 80 GB (H100 / A100). Wall time: about 14 h (335 steps of ~2.5 min; an
# estimate, the paper gives none).
# First: examples/prepare_data.sh. Afterwards: examples/eval.sh on the checkpoints, abc-verl plot on the log.
# Check on a laptop before the cluster:  abc-verl check qwen3_4b_grpo
# Knobs (environment): RECIPE, NNODES, GPUS_PER_NODE, ABC_VERL_DATA, ABC_VERL_CKPT, LOG_DIR (examples/train.sh)
# Hydra overrides pass through:          examples/qwen3_4b_grpo.sh trainer.logger=[console,file,wandb]
python3 -c 'import abc_verl, importlib.util as u; assert u.find_spec("verl")' 2>/dev/null || { echo "$0: no python3 \
with abc-verl on PATH: activate its venv (. .venv/bin/activate in the clone) or pip install -e ." >&2; exit 1; }
set -xeuo pipefail

export RECIPE=${RECIPE:-qwen3_4b_grpo}
export GPUS_PER_NODE=${GPUS_PER_NODE:-8}
export NNODES=${NNODES:-1}

exec "$(dirname "$0")/train.sh" "$@"

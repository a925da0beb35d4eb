#!/usr/bin/env bash
# Qwen3-1.7B-Base, ABC-GRPO, the paper's method: one run of the paper's 1.7B experiments (Avg@64 / Pass@k table
# and training-dynamics figure). Its control, qwen3_1.7b_grpo.sh, differs only in the loss. Hardware: 1 node
# with 8 GPUs of 80 GB (H100 / A100). Wall time: about 8 h (165 steps of ~3 min; an estimate, the paper gives
# none).
# First: examples/prepare_data.sh. Afterwards: examples/eval.sh on the checkpoints, abc-verl plot on the log.
# Check on a laptop before the cluster:  abc-verl check qwen3_1.7b_abc
# Hydra overrides pass through:          examples/qwen3_1.7b_abc.sh trainer.logger=[console,file,wandb]
set -xeuo pipefail

RECIPE=${RECIPE:-qwen3_1.7b_abc}
RECIPES=${RECIPES:-$(python3 -c 'from abc_verl.check_config import recipes_dir; print(recipes_dir())')}
export ABC_VERL_DATA=${ABC_VERL_DATA:-$HOME/data/abc_verl}
export ABC_VERL_CKPT=${ABC_VERL_CKPT:-$HOME/checkpoints}
LOG_DIR=${LOG_DIR:-$HOME/logs/abc_verl}
# one metrics file per launch: verl's file logger truncates its file, and a resumed run must not lose steps
export VERL_FILE_LOGGER_PATH=${VERL_FILE_LOGGER_PATH:-$LOG_DIR/$RECIPE/$(date +%Y%m%d-%H%M%S).jsonl}
NNODES=${NNODES:-1}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
mkdir -p "$(dirname "$VERL_FILE_LOGGER_PATH")"

python3 -m verl.trainer.main_ppo \
    --config-path "$RECIPES" --config-name "$RECIPE" \
    trainer.nnodes="$NNODES" trainer.n_gpus_per_node="$GPUS_PER_NODE" \
    "$@"

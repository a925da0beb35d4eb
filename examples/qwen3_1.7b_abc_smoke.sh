#!/usr/bin/env bash
# Qwen3-1.7B-Base, ABC-GRPO, smoke test on ONE GPU of 80 GB: 4 small rollout steps, a checkpoint and a
# validation (recipe qwen3_1.7b_abc_smoke.yaml), to prove a GPU install in minutes before booking a cluster.
# Wall time: about 10 minutes, model download excluded (an estimate). Not a paper run.
# First: examples/prepare_data.sh. Check on a laptop first:  abc-verl check qwen3_1.7b_abc_smoke
# Hydra overrides pass through:          examples/qwen3_1.7b_abc_smoke.sh trainer.total_training_steps=2
set -xeuo pipefail

RECIPE=${RECIPE:-qwen3_1.7b_abc_smoke}
RECIPES=${RECIPES:-$(python3 -c 'from abc_verl.check_config import recipes_dir; print(recipes_dir())')}
export ABC_VERL_DATA=${ABC_VERL_DATA:-$HOME/data/abc_verl}
export ABC_VERL_CKPT=${ABC_VERL_CKPT:-$HOME/checkpoints}
LOG_DIR=${LOG_DIR:-$HOME/logs/abc_verl}
# one metrics file per launch: verl's file logger truncates its file, and a resumed run must not lose steps
export VERL_FILE_LOGGER_PATH=${VERL_FILE_LOGGER_PATH:-$LOG_DIR/$RECIPE/$(date +%Y%m%d-%H%M%S).jsonl}
NNODES=${NNODES:-1}
GPUS_PER_NODE=${GPUS_PER_NODE:-1}
mkdir -p "$(dirname "$VERL_FILE_LOGGER_PATH")"

python3 -m verl.trainer.main_ppo \
    --config-path "$RECIPES" --config-name "$RECIPE" \
    trainer.nnodes="$NNODES" trainer.n_gpus_per_node="$GPUS_PER_NODE" \
    "$@"

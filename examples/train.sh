#!/usr/bin/env bash
# The one body of the training launchers: `python3 -m verl.trainer.main_ppo` on a shipped recipe, with verl's
# file log written to one new JSONL per launch (verl's file logger truncates its file, and a resumed run must
# not lose its earlier steps; `abc-verl plot --run NAME=$LOG_DIR/$RECIPE` merges them). Run a launcher
# (examples/<recipe>.sh), which sets RECIPE and GPUS_PER_NODE; alone, this trains $RECIPE.
#   RECIPE=qwen3_4b_abc NNODES=2 examples/train.sh trainer.logger=[console,file,wandb]
python3 -c 'import abc_verl, importlib.util as u; assert u.find_spec("verl")' 2>/dev/null || { echo "$0: no python3 \
with abc-verl on PATH: activate its venv (. .venv/bin/activate in the clone) or pip install -e ." >&2; exit 1; }
set -xeuo pipefail

RECIPE=${RECIPE:-qwen3_1.7b_abc}
RECIPES=${RECIPES:-$(python3 -c 'from abc_verl.check.recipes import recipes_dir; print(recipes_dir())')}
export ABC_VERL_DATA=${ABC_VERL_DATA:-$HOME/data/abc_verl}
export ABC_VERL_CKPT=${ABC_VERL_CKPT:-$HOME/checkpoints}
LOG_DIR=${LOG_DIR:-$HOME/logs/abc_verl}
export VERL_FILE_LOGGER_PATH=${VERL_FILE_LOGGER_PATH:-$LOG_DIR/$RECIPE/$(date +%Y%m%d-%H%M%S).jsonl}
HYDRA_RUN_DIR=${HYDRA_RUN_DIR:-$LOG_DIR/$RECIPE/hydra/$(date +%Y%m%d-%H%M%S)}  # Hydra's run folder, not ./outputs
NNODES=${NNODES:-1}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
mkdir -p "$(dirname "$VERL_FILE_LOGGER_PATH")"
# fail in seconds, naming the counts, where verl would wait forever for GPUs Ray does not have
python3 -m abc_verl.check.gpus "$NNODES" "$GPUS_PER_NODE"

python3 -m verl.trainer.main_ppo \
    --config-path "$RECIPES" --config-name "$RECIPE" \
    trainer.nnodes="$NNODES" trainer.n_gpus_per_node="$GPUS_PER_NODE" hydra.run.dir="$HYDRA_RUN_DIR" \
    "$@"

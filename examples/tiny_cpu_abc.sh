#!/usr/bin/env bash
# verl's real trainer end to end on a machine without GPU: `python3 -m verl.trainer.main_ppo` runs ABC-GRPO (loss
# "abc", estimator "grpo_paper", the math-verify reward) on a tiny Qwen3 and a small maths set, both built
# offline, with the Hugging Face rollout and CPU platform of abc_verl (VERL_PLATFORM=cpu). Two steps and a
# checkpoint, then a second launch resumes from it for step 3. Hardware: 2 CPU cores, 4 GB of memory, no GPU.
# Wall time: 4-5 minutes on 2 cores shared with other jobs, about 110 CPU-seconds in all (most of it starting
# Ray and the six Python processes of each launch, each importing verl).
# Metrics of each launch: $LOG_DIR/steps_1_2.jsonl and $LOG_DIR/step_3.jsonl (verl's file logger); Hydra's run
# folders under $RUN_DIR/hydra, not the current folder (RUN_DIR defaults to $ABC_VERL_TINY). Ends with a summary:
# steps, metrics, the rollout/actor log-prob gap at step 1, paths, next steps.
# Hydra overrides pass through to both launches:  examples/tiny_cpu_abc.sh actor_rollout_ref.rollout.n=8
python3 -c 'import abc_verl, importlib.util as u; assert u.find_spec("verl")' 2>/dev/null || { echo "$0: no python3 \
with abc-verl on PATH: activate its venv (. .venv/bin/activate in the clone) or pip install -e ." >&2; exit 1; }
set -xeuo pipefail

RECIPE=${RECIPE:-tiny_cpu_abc}
RECIPES=${RECIPES:-$(python3 -c 'from abc_verl.check.recipes import recipes_dir; print(recipes_dir())')}
# the tiny model and data go here (rebuilt on every launch: a few seconds)
export ABC_VERL_TINY=${ABC_VERL_TINY:-$HOME/abc_verl_tiny}
export ABC_VERL_CKPT=${ABC_VERL_CKPT:-$ABC_VERL_TINY/checkpoints}
# this launcher's verl logs and Hydra run folders (examples/tiny_cpu_abc_vllm.sh keeps its own beside them)
RUN_DIR=${RUN_DIR:-$ABC_VERL_TINY}
LOG_DIR=${LOG_DIR:-$RUN_DIR/logs}
# the rollout engine of the recipe: the summary's suggested eval uses the same one
BACKEND=${BACKEND:-hf}
export VERL_PLATFORM=cpu
export TOKENIZERS_PARALLELISM=false
# quieter, through the libraries' own knobs: TransferQueue's per-actor thread warnings, and verl's notes on the
# optional engines (megatron, mindspeed, automodel) it cannot import here
export TQ_LOGGING_LEVEL=${TQ_LOGGING_LEVEL:-ERROR}
export PYTHONWARNINGS=${PYTHONWARNINGS:-ignore::UserWarning:verl.workers.engine}

python3 -m abc_verl.cpu.tiny_run "$ABC_VERL_TINY"
rm -rf "$ABC_VERL_CKPT/abc_verl/$RECIPE"
mkdir -p "$LOG_DIR"

# steps 1-2, checkpoint at step 2 (the recipe's trainer.total_training_steps=2, trainer.save_freq=2)
VERL_FILE_LOGGER_PATH="$LOG_DIR/steps_1_2.jsonl" python3 -m verl.trainer.main_ppo \
    --config-path "$RECIPES" --config-name "$RECIPE" \
    hydra.run.dir="$RUN_DIR/hydra/steps_1_2" \
    "$@"

# resume from the step-2 checkpoint (trainer.resume_mode=auto) and train step 3
VERL_FILE_LOGGER_PATH="$LOG_DIR/step_3.jsonl" python3 -m verl.trainer.main_ppo \
    --config-path "$RECIPES" --config-name "$RECIPE" \
    trainer.total_training_steps=3 hydra.run.dir="$RUN_DIR/hydra/step_3" \
    "$@"

python3 -m abc_verl.cpu.summary "$ABC_VERL_TINY" --logs "$LOG_DIR" --checkpoints "$ABC_VERL_CKPT/abc_verl/$RECIPE" \
    --run-dir "$RUN_DIR" --backend "$BACKEND"

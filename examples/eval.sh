#!/usr/bin/env bash
# Avg@64 / Pass@k of every checkpoint of the 4B ABC-GRPO and GRPO runs (and optionally the base model) on AIME24,
# AIME25 and AMC23 with the paper's protocol (docs/design.md: n = 64, temperature 0.6, top_p 0.95, top_k 20,
# 4096 new tokens, seed 42): the paper's Avg@64 / Pass@k table and curves, for your own runs.
# Hardware: one node with 1-8 GPUs and vLLM (pip install 'abc-verl[gpu]'); one vLLM replica per visible GPU.
# Wall time: roughly 5-15 min per checkpoint for a 4B model on one H100 (100 problems x 64 samples of up to
# 4096 tokens; an estimate), divided by the number of GPUs. FSDP checkpoints are first merged to Hugging Face
# format with verl's model merger (about a minute each; kept under $OUT/merged, ~8 GB per 4B checkpoint).
# Re-running the same command skips every finished (checkpoint, benchmark) pair.
#   RUN_DIRS="$HOME/checkpoints/abc_verl/qwen3_1.7b_abc $HOME/checkpoints/abc_verl/qwen3_1.7b_grpo" bash examples/eval.sh
python3 -c 'import abc_verl, importlib.util as u; assert u.find_spec("verl")' 2>/dev/null || { echo "$0: no python3 \
with abc-verl on PATH: activate its venv (. .venv/bin/activate in the clone) or pip install -e ." >&2; exit 1; }
set -xeuo pipefail

CKPT=${ABC_VERL_CKPT:-$HOME/checkpoints}/abc_verl
RUN_DIRS=${RUN_DIRS:-"$CKPT/qwen3_4b_abc $CKPT/qwen3_4b_grpo"}  # trainer.default_local_dir of each run
BASE_MODEL=${BASE_MODEL:-}        # optional: a local Hugging Face folder of the base model, evaluated as well
OUT=${OUT:-$HOME/eval/abc_verl/qwen3_4b}
BENCHMARKS=${BENCHMARKS:-aime24,aime25,amc23}
N=${N:-64}
MAX_NEW_TOKENS=${MAX_NEW_TOKENS:-4096}
STEPS=${STEPS:-}                  # e.g. 67,134,201; empty: every global_step_* (verl steps = rollout steps)
WORKERS=${WORKERS:-8}             # grading processes

extra=()
if [ -n "$STEPS" ]; then extra+=(--steps "$STEPS"); fi

# shellcheck disable=SC2086  # RUN_DIRS is a space-separated list on purpose
abc-verl eval ${BASE_MODEL:+"$BASE_MODEL"} $RUN_DIRS \
    --out "$OUT" \
    --benchmarks "$BENCHMARKS" \
    --n "$N" \
    --max-new-tokens "$MAX_NEW_TOKENS" \
    --workers "$WORKERS" \
    "${extra[@]}"

# Results: $OUT/table.md, $OUT/table.csv, $OUT/pass_at_k.png, $OUT/over_training.png

#!/usr/bin/env bash
# Training and evaluation parquet files for the recipes: DAPO-Math-17k (from the Hugging Face hub) with the
# paper's training prompt, and AIME24 / AIME25 / AMC23 / HMMT Feb 2025 / MATH-500 (shipped with abc-verl)
# with its evaluation prompt. Hardware: any machine with network access; about a minute.
# Offline: TRAIN_FILE=/path/to/dapo.parquet examples/prepare_data.sh (a copy in the hub dataset's schema).
python3 -c 'import abc_verl, importlib.util as u; assert u.find_spec("verl")' 2>/dev/null || { echo "$0: no python3 \
with abc-verl on PATH: activate its venv (. .venv/bin/activate in the clone) or pip install -e ." >&2; exit 1; }
set -xeuo pipefail

ABC_VERL_DATA=${ABC_VERL_DATA:-$HOME/data/abc_verl}
TRAIN_FILE=${TRAIN_FILE:-}

abc-verl prepare-data --out-dir "$ABC_VERL_DATA" ${TRAIN_FILE:+--train-file "$TRAIN_FILE"} "$@"

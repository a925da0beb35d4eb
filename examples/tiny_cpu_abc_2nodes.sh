#!/usr/bin/env bash
# verl's real trainer on two Ray nodes of one machine, no GPU: starts a Ray head and a second Ray node (two
# raylets, each with its own logical CPUs, one logical GPU slot, its own Ray temp folder under $ABC_VERL_TINY/ray
# and a token of this cluster's own), then runs the tiny ABC-GRPO recipe (recipes/tiny_cpu_abc.yaml, HF rollout,
# CPU platform) with trainer.nnodes=2 trainer.n_gpus_per_node=1: one FSDP rank per node, gloo between them. Two
# steps and a checkpoint at step 2, then it stops the two nodes it started (no other Ray on the machine) and
# prints the run's summary. docs/multinode.md says what this proves and what it does not.
# The second node runs a Python environment without abc-verl (`python -m abc_verl.cpu.two_nodes bare-python`);
# the job ships the package to every worker through Ray's runtime_env (py_modules) and
# VERL_USE_EXTERNAL_MODULES=abc_verl, as on a cluster where abc-verl is not installed. SHIP_PACKAGE=0: both nodes
# run this environment (abc-verl installed, its entry point loads it).
# Each FSDP rank prints its Ray node, interpreter and copy of abc_verl, and its own ABC metrics per loss call
# ("abc-verl worker:" / "abc-verl loss:" lines, ABC_VERL_NODE_LOG=1, abc_verl/cpu/nodes.py).
# RESUME=1 continues from the experiment's last checkpoint instead of starting afresh; LOG_NAME names the
# launch's verl file log ($LOG_DIR/$LOG_NAME.jsonl). Hardware: 2 CPU cores, 6 GB of memory, no GPU. Wall time:
# 2-4 minutes on 2 shared cores.
#   examples/tiny_cpu_abc_2nodes.sh [hydra overrides...]
#   RESUME=1 LOG_NAME=resumed examples/tiny_cpu_abc_2nodes.sh trainer.total_training_steps=3
python3 -c 'import abc_verl, importlib.util as u; assert u.find_spec("verl")' 2>/dev/null || { echo "$0: no python3 \
with abc-verl on PATH: activate its venv (. .venv/bin/activate in the clone) or pip install -e ." >&2; exit 1; }
set -xeuo pipefail

RECIPE=${RECIPE:-tiny_cpu_abc}
RECIPES=${RECIPES:-$(python3 -c 'from abc_verl.check.recipes import recipes_dir; print(recipes_dir())')}
export ABC_VERL_TINY=${ABC_VERL_TINY:-$HOME/abc_verl_tiny}
export ABC_VERL_CKPT=${ABC_VERL_CKPT:-$ABC_VERL_TINY/checkpoints}
LOG_DIR=${LOG_DIR:-$ABC_VERL_TINY/logs_2nodes}
# the Ray temp folder of this cluster only: `ray.init()` elsewhere on the machine never finds it
RAY_TMP=${RAY_TMP:-$ABC_VERL_TINY/ray}
RAY_PORT=${RAY_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
# logical CPUs (not cores) of each node: Ray may place any of the trainer's actors (TaskRunner, TransferQueue, agent
# and reward workers) on either node, so each offers room for all of them beside its rank's bundle
HEAD_CPUS=${HEAD_CPUS:-16}
NODE2_CPUS=${NODE2_CPUS:-16}
SHIP_PACKAGE=${SHIP_PACKAGE:-1}
# verl's file log of this launch: $LOG_DIR/$LOG_NAME.jsonl (a resumed launch writes one of its own beside it)
LOG_NAME=${LOG_NAME:-two_nodes}
# Ray marks a node dead after this many missed health checks (1 s apart): a lost node ends the run in seconds
HEALTH_CHECKS=${HEALTH_CHECKS:-5}
export VERL_PLATFORM=cpu
export TOKENIZERS_PARALLELISM=false
export ABC_VERL_NODE_LOG=1
# each rank's placement bundle asks for the node's one logical GPU: one rank per node (abc_verl/cpu/platform.py)
export ABC_VERL_RAY_DEVICE_RESOURCE=GPU
export TQ_LOGGING_LEVEL=${TQ_LOGGING_LEVEL:-ERROR}
export PYTHONWARNINGS=${PYTHONWARNINGS:-ignore::UserWarning:verl.workers.engine}
export RAY_health_check_period_ms=1000 RAY_health_check_failure_threshold=$HEALTH_CHECKS
export RAY_DEDUP_LOGS=0

python3 -m abc_verl.cpu.tiny_run "$ABC_VERL_TINY"
# RESUME=1 continues from the experiment's last checkpoint (verl's trainer.resume_mode=auto); else a fresh start
if [ "${RESUME:-0}" != 1 ]; then rm -rf "$ABC_VERL_CKPT/abc_verl/${RECIPE}_2nodes" "$LOG_DIR"; fi
mkdir -p "$LOG_DIR" "$RAY_TMP"
# Ray's token authentication with a token of this cluster's own, not the shared ~/.ray/auth_token
export RAY_AUTH_MODE=token RAY_AUTH_TOKEN_PATH=$RAY_TMP/auth_token
(umask 077 && python3 -c 'import secrets; print(secrets.token_hex(32), end="")' >"$RAY_AUTH_TOKEN_PATH")
# the nodes and the driver run from $ABC_VERL_TINY: Ray puts the driver's folder on every worker's path, and from
# the clone node 2 would import abc_verl from its source tree
cd "$ABC_VERL_TINY"
ADDRESS=127.0.0.1:$RAY_PORT
NODE2_PYTHON=$(command -v python3)
SHIP=()
if [ "$SHIP_PACKAGE" = 1 ]; then
    NODE2_PYTHON=$(python3 -m abc_verl.cpu.two_nodes bare-python "$ABC_VERL_TINY/node2_env")
    if "$NODE2_PYTHON" -c 'import abc_verl' 2>/dev/null; then echo "abc_verl importable on node 2" >&2; exit 1; fi
    PACKAGE=$(python3 -c 'import abc_verl, os; print(os.path.dirname(abc_verl.__file__))')
    SHIP=("++ray_kwargs.ray_init.runtime_env.py_modules=['$PACKAGE']"
        "++ray_kwargs.ray_init.runtime_env.env_vars.VERL_USE_EXTERNAL_MODULES=abc_verl")
fi

# on exit, whatever happened: end the trainer and its watchdog, then the processes of this cluster (those naming
# $RAY_TMP), no other Ray's
TRAINER= WATCHDOG=
trap 'kill $TRAINER $WATCHDOG 2>/dev/null || true; python3 -m abc_verl.cpu.two_nodes stop "$RAY_TMP"' EXIT
python3 -m ray.scripts.scripts start --head --block --node-ip-address=127.0.0.1 --port="$RAY_PORT" \
    --temp-dir="$RAY_TMP/head" --num-cpus="$HEAD_CPUS" --num-gpus=1 --include-dashboard=false \
    >"$LOG_DIR/ray_head.log" 2>&1 &
python3 -m abc_verl.cpu.two_nodes wait "$ADDRESS" 1
"$NODE2_PYTHON" -m ray.scripts.scripts start --block --address="$ADDRESS" --node-ip-address=127.0.0.1 \
    --temp-dir="$RAY_TMP/node2" --num-cpus="$NODE2_CPUS" --num-gpus=1 >"$LOG_DIR/ray_node2.log" 2>&1 &
python3 -m abc_verl.cpu.two_nodes wait "$ADDRESS" 2

# verl's file logger runs in the TaskRunner, a worker of the cluster: its path goes by the job's runtime_env.
# The console output is kept too ($LOG_DIR/$LOG_NAME.out), for the per-rank report below.
python3 -m verl.trainer.main_ppo \
    --config-path "$RECIPES" --config-name "$RECIPE" \
    trainer.nnodes=2 trainer.n_gpus_per_node=1 \
    ++ray_kwargs.ray_init.address="$ADDRESS" ray_kwargs.ray_init.num_cpus=null ray_kwargs.ray_init.num_gpus=null \
    trainer.experiment_name="${RECIPE}_2nodes" hydra.run.dir="$ABC_VERL_TINY/hydra/two_nodes" \
    ++ray_kwargs.ray_init.runtime_env.env_vars.VERL_FILE_LOGGER_PATH="$LOG_DIR/$LOG_NAME.jsonl" \
    "${SHIP[@]}" "$@" > >(tee "$LOG_DIR/$LOG_NAME.out") 2>&1 &
TRAINER=$!
# watchdog: verl's v1 trainer does not notice a lost node (it polls its replay buffer for the lost rank's
# rollouts forever, verl/trainer/ppo/v1/replay_buffer.py:409); when Ray marks a node dead, this stops the trainer
python3 -m abc_verl.cpu.two_nodes watch "$ADDRESS" 2 "$TRAINER" &
WATCHDOG=$!
wait "$TRAINER"

python3 -m abc_verl.cpu.two_nodes stop "$RAY_TMP"
python3 -m abc_verl.cpu.node_report "$LOG_DIR/$LOG_NAME.out" "$LOG_DIR/$LOG_NAME.jsonl"
python3 -m abc_verl.cpu.summary "$ABC_VERL_TINY" --logs "$LOG_DIR" \
    --checkpoints "$ABC_VERL_CKPT/abc_verl/${RECIPE}_2nodes"

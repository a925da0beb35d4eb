"""Names abc-verl defines once: the loss mode and estimator verl looks up, the metric keys the loss logs, and
the environment variables it reads. No imports, so any module (and the grader subprocesses) can use it.
"""

# verl's policy loss and advantage estimator registered by abc_verl.plugin
LOSS_MODE = "abc"
ADV_ESTIMATOR = "grpo_paper"

# the four (sign of A, side of 1 of the ratio) quadrants; see abc_verl.objective
QUADRANTS = ("q1", "q2", "q3", "q4")

# metrics of loss "abc", as verl's logger shows them (verl's actor prefixes "actor/")
PG_CLIPFRAC = "actor/pg_clipfrac"  # tokens clipped in any quadrant (verl's own key)
PPO_KL = "actor/ppo_kl"
ABC_METRIC_PREFIX = "actor/abc/"
CLIPFRAC = {q: f"{ABC_METRIC_PREFIX}clipfrac_{q}" for q in QUADRANTS}  # fraction of ALL valid tokens
IS_WEIGHT_MEAN = f"{ABC_METRIC_PREFIX}rollout_is_weight_mean"  # only when verl passes rollout IS weights

# where `abc-verl prepare-data` writes and the paper recipes read the parquet files
DATA_DIR_ENV = "ABC_VERL_DATA"
DEFAULT_DATA_DIR = "~/data/abc_verl"

# environment variables of the reward (read per process, so verl's reward workers see the launcher's)
REWARD_TIMEOUT_ENV = "ABC_VERL_REWARD_TIMEOUT_S"
REWARD_WORKERS_ENV = "ABC_VERL_REWARD_WORKERS"
GRADER_MEM_ENV = "ABC_VERL_GRADER_MEM_MB"

# the lock file `abc_verl.files.folder_lock` keeps in an output folder while a command writes there
LOCK_FILE = ".abc-verl.lock"

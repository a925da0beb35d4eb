"""Names abc-verl defines once: the loss mode, estimator and reward manager verl looks up, the metric keys the
loss and the reward log, and the environment variables it reads. No imports, so any module (and the grader
subprocesses) can use it.
"""

# verl's policy loss and advantage estimator registered by abc_verl.plugin
LOSS_MODE = "abc"
ADV_ESTIMATOR = "grpo_paper"
# verl's reward manager registered by abc_verl.plugin: reward.reward_manager.name=abc_math
REWARD_MANAGER = "abc_math"

# the four (sign of A, side of 1 of the ratio) quadrants; see abc_verl.objective
QUADRANTS = ("q1", "q2", "q3", "q4")

# metrics of loss "abc", as verl's logger shows them (verl's actor prefixes "actor/")
PG_CLIPFRAC = "actor/pg_clipfrac"  # tokens clipped in any quadrant (verl's own key)
PPO_KL = "actor/ppo_kl"
ABC_METRIC_PREFIX = "actor/abc/"
CLIPFRAC = {q: f"{ABC_METRIC_PREFIX}clipfrac_{q}" for q in QUADRANTS}  # fraction of ALL valid tokens
IS_WEIGHT_MEAN = f"{ABC_METRIC_PREFIX}rollout_is_weight_mean"  # only when verl passes rollout IS weights
# mean |log w| of those weights: the rollout engine's log-prob gap to the actor's (exact below the TIS threshold)
IS_LOG_RATIO_ABS_MEAN = f"{ABC_METRIC_PREFIX}rollout_log_ratio_abs_mean"

# where `abc-verl prepare-data` writes and the paper recipes read the parquet files
DATA_DIR_ENV = "ABC_VERL_DATA"
DEFAULT_DATA_DIR = "~/data/abc_verl"

# environment variables of the reward (read per process, so verl's reward workers see the launcher's)
REWARD_TIMEOUT_ENV = "ABC_VERL_REWARD_TIMEOUT_S"
REWARD_WORKERS_ENV = "ABC_VERL_REWARD_WORKERS"
GRADER_MEM_ENV = "ABC_VERL_GRADER_MEM_MB"

# multi-node runs on CPU (examples/tiny_cpu_abc_2nodes.sh): the Ray resource each device slot's placement bundle
# asks for ("CPU" by default, "GPU" for one rank per node), and the opt-in trace of abc_verl.cpu.nodes ("1")
RAY_DEVICE_RESOURCE_ENV = "ABC_VERL_RAY_DEVICE_RESOURCE"
NODE_LOG_ENV = "ABC_VERL_NODE_LOG"

# verl's own variable for its loggers' level; abc_verl's loggers follow it (abc_verl.loggers)
VERL_LOGGING_LEVEL_ENV = "VERL_LOGGING_LEVEL"

# reward extra info of manager "abc_math", per response, besides compute_score's score / acc / pred / error.
# verl's validation logs each number per data source as val-aux/<data_source>/<key>/mean@<n> (the mean over
# prompts of the mean over their n responses); see abc_verl.rewards.manager.
NO_ANSWER = "no_answer"  # 1.0: the response has no extractable answer (none boxed, empty, special tokens only)
TRUNCATED = "truncated"  # 1.0: the response reached actor_rollout_ref.rollout.response_length tokens
GRADER_TIMEOUT = "grader_timeout"  # 1.0: the grader ran out of time (score 0)
GRADER_ERROR = "grader_error"  # 1.0: the grader failed otherwise (score 0)
BAD_INPUT = "bad_input"  # 1.0: no / non-text / unparsable ground truth, empty or special-tokens-only response
RESPONSE_TOKENS = "response_tokens"  # the response's length in tokens
RESPONSE_TOKENS_CORRECT = "response_tokens_correct"  # the length when correct, else None (left out of means)
RESPONSE_TOKENS_WRONG = "response_tokens_wrong"  # the length when wrong, else None
# why the score is what it is, in compute_score's result and the manager's extra info (text, not a metric): one of
# abc_verl.rewards.kinds.RewardKind
REWARD_KIND = "kind"
REWARD_DIAGNOSTICS = (
    NO_ANSWER,
    TRUNCATED,
    GRADER_TIMEOUT,
    GRADER_ERROR,
    BAD_INPUT,
    RESPONSE_TOKENS,
    RESPONSE_TOKENS_CORRECT,
    RESPONSE_TOKENS_WRONG,
)
VAL_REWARD_METRIC_PREFIX = "val-aux/"  # + f"{data_source}/{key}/mean@{n}": verl's validation metric of a key

# the lock file `abc_verl.files.folder_lock` keeps in an output folder while a command writes there
LOCK_FILE = ".abc-verl.lock"

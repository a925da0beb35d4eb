r"""Reward manager "abc_math" inside verl's real reward loop on CPU: verdicts equal compute_score's (and verl's naive
manager's with compute_score) on the reward test corpus, each diagnostic on hand-built batches with known counts,
each bad input scored 0 with its kind, and verl's own validation metrics of the diagnostics.

    pytest tests/test_reward_manager.py

verl's RewardLoopWorker (the class its reward workers run as Ray actors) is built directly in this process, with
the tiny recipe's composed config and the tiny offline tokenizer; real math-verify graders. About 30-60 s.
"""

import asyncio
import math

import pytest
from reward_corpus import CORPUS

from abc_verl.check.batch import reward_batch
from abc_verl.names import (
    BAD_INPUT,
    GRADER_ERROR,
    GRADER_TIMEOUT,
    NO_ANSWER,
    RESPONSE_TOKENS,
    RESPONSE_TOKENS_CORRECT,
    RESPONSE_TOKENS_WRONG,
    REWARD_DIAGNOSTICS,
    REWARD_KIND,
    REWARD_MANAGER,
    TRUNCATED,
)
from abc_verl.rewards import manager as abc_manager
from abc_verl.rewards.kinds import RewardKind
from abc_verl.rewards.reward import compute_score

RESPONSE_LENGTH = 16  # the tiny recipe's data.max_response_length
SCORE_KEYS = ("score", "acc", "pred", "error")  # compute_score's, besides the kind the manager may refine


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory):
    from abc_verl.cpu.tiny import build_tokenizer

    path = tmp_path_factory.mktemp("tokenizer")
    build_tokenizer().save_pretrained(path)
    return path


def compose(tokenizer_dir, *overrides: str):
    from abc_verl.check.recipes import compose_recipe, find_recipe

    return compose_recipe(find_recipe("tiny_cpu_abc"), [f"actor_rollout_ref.model.path={tokenizer_dir}", *overrides])


@pytest.fixture(scope="module")
def config(tokenizer_dir):
    return compose(tokenizer_dir)


@pytest.fixture(scope="module")
def tokenizer(tokenizer_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tokenizer_dir)


def encode(tokenizer, text: str) -> list[int]:
    return tokenizer.encode(text, add_special_tokens=False)


def run_reward_loop(config, tokenizer, responses, reward_models, sources=None) -> list[dict]:
    """verl's RewardLoopWorker.compute_score_batch over the batch: one `run_single` task per response."""
    from verl.experimental.reward_loop import RewardLoopWorker

    sources = sources or ["dapo_math_17k"] * len(responses)
    data = reward_batch(responses, reward_models, sources, tokenizer.pad_token_id, RESPONSE_LENGTH)

    async def go() -> list[dict]:
        worker = RewardLoopWorker(config)  # builds the manager through verl's load_reward_manager
        return await worker.compute_score_batch(data)

    return asyncio.run(go())


def test_registered_and_built_by_verls_reward_worker(config, tokenizer):
    from verl.experimental.reward_loop.reward_manager import get_reward_manager_cls

    assert get_reward_manager_cls(REWARD_MANAGER) is abc_manager.ABCMathRewardManager
    assert config.reward.reward_manager.name == REWARD_MANAGER and config.reward.custom_reward_function.path is None
    out = run_reward_loop(config, tokenizer, [encode(tokenizer, "So \\boxed{7}")], [{"ground_truth": "7"}])
    assert out[0]["reward_score"] == 1.0 and out[0]["reward_extra_info"][REWARD_KIND] == RewardKind.GRADED


def test_verdicts_equal_compute_score_and_verls_naive_manager_on_the_reward_corpus(tokenizer_dir, config, tokenizer):
    responses = [encode(tokenizer, response) for _, response, _ in CORPUS]
    golds = [{"ground_truth": gold} for gold, _, _ in CORPUS]
    assert [tokenizer.decode(ids, skip_special_tokens=True) for ids in responses] == [r for _, r, _ in CORPUS]
    ours = run_reward_loop(config, tokenizer, responses, golds)
    naive_config = compose(
        tokenizer_dir, "reward.reward_manager.name=naive", "reward.custom_reward_function.path=pkg://abc_verl.rewards"
    )
    naive = run_reward_loop(naive_config, tokenizer, responses, golds)
    for (gold, response, acc), got, theirs in zip(CORPUS, ours, naive, strict=True):
        info = got["reward_extra_info"]
        direct = compute_score("dapo_math_17k", response, gold)
        assert {k: info[k] for k in SCORE_KEYS} == {k: direct[k] for k in SCORE_KEYS}
        assert direct == {k: theirs["reward_extra_info"][k] for k in (*SCORE_KEYS, REWARD_KIND)}
        assert got["reward_score"] == theirs["reward_score"] == direct["score"], (gold, response)
        want = RewardKind.GRADED if direct["pred"] else RewardKind.NO_ANSWER
        want = RewardKind.GOLD_UNUSABLE if acc is None else RewardKind.EMPTY_RESPONSE if not response else want
        assert info[REWARD_KIND] == want, (gold, response, info)
        if response:  # the manager refines only what compute_score cannot see (here: no response at all)
            assert direct[REWARD_KIND] == want, (gold, response, direct)
    # the same keys for every response, as verl's reward loop requires (it takes the first response's keys)
    assert len({tuple(o["reward_extra_info"]) for o in ours}) == 1
    assert set(REWARD_DIAGNOSTICS) | {REWARD_KIND, *SCORE_KEYS} == set(ours[0]["reward_extra_info"])


def hand_built_batch(tokenizer) -> tuple[list[list[int]], list[RewardKind]]:
    """10 responses to gold "7": 3 right, 2 wrong, 2 without an answer, 1 cut at the length limit (no answer
    either), 1 empty, 1 of special tokens only."""
    e = lambda text: encode(tokenizer, text)  # noqa: E731
    im_end, im_start = tokenizer.convert_tokens_to_ids("<|im_end|>"), tokenizer.convert_tokens_to_ids("<|im_start|>")
    right = [e("so \\boxed{7}") + [im_end], e("\\boxed{7}"), e("Let x = 3. Then 2x + 1 = 7, so \\boxed{7}")[-14:]]
    wrong = [e("\\boxed{8}"), e("so the answer is \\boxed{12}")]
    none = [e("I do not know"), e("maybe 7")]
    cut = [e("0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18")[:RESPONSE_LENGTH]]
    responses = right + wrong + none + cut + [[], [im_start, im_end, tokenizer.pad_token_id]]
    kinds = [RewardKind.GRADED] * 5 + [RewardKind.NO_ANSWER] * 3
    return responses, kinds + [RewardKind.EMPTY_RESPONSE, RewardKind.SPECIAL_TOKENS_ONLY]


def test_each_diagnostic_on_a_hand_built_batch(config, tokenizer):
    responses, kinds = hand_built_batch(tokenizer)
    assert len(responses[7]) == RESPONSE_LENGTH and tokenizer.decode(responses[9], skip_special_tokens=True) == ""
    outputs = run_reward_loop(config, tokenizer, responses, [{"ground_truth": "7"}] * 10)
    infos = [o["reward_extra_info"] for o in outputs]
    assert [i[REWARD_KIND] for i in infos] == kinds
    count = {key: sum(i[key] for i in infos) for key in (NO_ANSWER, TRUNCATED, GRADER_TIMEOUT, GRADER_ERROR, BAD_INPUT)}
    # no answer: 2 without one + the cut one + empty + special tokens only = 5; bad input: the last two
    assert count == {NO_ANSWER: 5, TRUNCATED: 1, GRADER_TIMEOUT: 0, GRADER_ERROR: 0, BAD_INPUT: 2}
    assert [i["acc"] for i in infos] == [True] * 3 + [False] * 7
    lengths = [len(r) for r in responses]
    assert [i[RESPONSE_TOKENS] for i in infos] == lengths
    assert [i[RESPONSE_TOKENS_CORRECT] for i in infos] == lengths[:3] + [None] * 7
    assert [i[RESPONSE_TOKENS_WRONG] for i in infos] == [None] * 3 + lengths[3:]


def test_diagnostics_reach_verls_validation_metrics_per_data_source(config, tokenizer):
    """verl's v1 trainer turns each response's reward extra info into val-aux/<source>/<key>/mean@<n>; its metric
    method is called unbound here (it uses no trainer state), on the hand-built batch as 5 prompts x 2 samples."""
    from verl.trainer.ppo.v1.trainer_base import PPOTrainer

    responses, _ = hand_built_batch(tokenizer)
    outputs = run_reward_loop(config, tokenizer, responses, [{"ground_truth": "7"}] * 10, ["aime24"] * 10)
    infos = {"reward": [o["reward_score"] for o in outputs]}
    for key in outputs[0]["reward_extra_info"]:
        infos[key] = [o["reward_extra_info"][key] for o in outputs]
    uids = [f"p{i // 2}" for i in range(10)]
    metrics = PPOTrainer._val_metrics_update(None, ["aime24"] * 10, uids, infos, [1] * 10)
    # 5 prompts of 2: the mean over prompts of their 2-sample means is the mean over the 10 responses
    assert metrics["val-core/aime24/acc/mean@2"] == pytest.approx(3 / 10)
    assert metrics[f"val-aux/aime24/{NO_ANSWER}/mean@2"] == pytest.approx(5 / 10)
    assert metrics[f"val-aux/aime24/{TRUNCATED}/mean@2"] == pytest.approx(1 / 10)
    assert metrics[f"val-aux/aime24/{BAD_INPUT}/mean@2"] == pytest.approx(2 / 10)
    assert metrics[f"val-aux/aime24/{GRADER_TIMEOUT}/mean@2"] == 0.0
    # lengths of right answers: prompts p0 (2 right) and p1 (1 right, 1 wrong): mean@2 is p0's mean alone
    right_p0 = sum(map(len, responses[:2])) / 2
    assert metrics[f"val-aux/aime24/{RESPONSE_TOKENS_CORRECT}/mean@2"] == pytest.approx(right_p0)
    assert metrics[f"val-aux/aime24/{RESPONSE_TOKENS_CORRECT}/mean@1"] == pytest.approx(len(responses[2]))
    assert not [k for k in metrics if f"/{REWARD_KIND}/" in k or "/error/" in k]  # texts are not metrics


def test_a_grader_timeout_is_counted(tokenizer_dir, tokenizer):
    from abc_verl.rewards.reward import grader_pool

    assert grader_pool().warm_up(60)
    config = compose(tokenizer_dir, "+reward.reward_kwargs.timeout_s=0.3")
    # 0.3 s is below math-verify's own 1 s alarm: the caller's deadline ends it (as in test_rewards)
    out = run_reward_loop(config, tokenizer, [encode(tokenizer, "\\boxed{9^{9^{9^{9^{9}}}}}")], [{"ground_truth": "2"}])
    info = out[0]["reward_extra_info"]
    assert out[0]["reward_score"] == 0.0 and info[GRADER_TIMEOUT] == 1.0 and info[GRADER_ERROR] == 0.0, info
    assert info[REWARD_KIND] == RewardKind.GRADER_TIMEOUT and info["error"].startswith("timeout")


@pytest.mark.parametrize(
    ("kind", "flags"),
    [  # (no answer, grader timeout, grader error, bad input)
        (RewardKind.GRADED, (0, 0, 0, 0)),
        (RewardKind.OVER_CAPS, (0, 0, 0, 0)),  # an answer was given, just too big to grade: scored 0, no flag
        (RewardKind.NO_ANSWER, (1, 0, 0, 0)),
        (RewardKind.EMPTY_RESPONSE, (1, 0, 0, 1)),
        (RewardKind.SPECIAL_TOKENS_ONLY, (1, 0, 0, 1)),
        (RewardKind.GRADER_TIMEOUT, (0, 1, 0, 0)),
        (RewardKind.GRADER_ERROR, (0, 0, 1, 0)),
        (RewardKind.POISON_INPUT, (0, 0, 1, 0)),
        (RewardKind.INTERNAL_ERROR, (0, 0, 1, 0)),
        (RewardKind.GOLD_UNUSABLE, (0, 0, 0, 1)),
        (RewardKind.NO_GROUND_TRUTH, (0, 0, 0, 1)),
        (RewardKind.GOLD_NOT_TEXT, (0, 0, 0, 1)),
        (RewardKind.BAD_INPUT, (0, 0, 0, 1)),
    ],
)
def test_each_kind_sets_its_diagnostic_flags(kind, flags):
    """Every kind, including those this test cannot provoke on demand (a grader killed mid-call), read by type."""
    result = {"score": 0.0, "acc": False, "pred": "", "error": "any text", REWARD_KIND: kind.value}
    info = abc_manager.diagnostics(result, 3, 16)
    assert (info[NO_ANSWER], info[GRADER_TIMEOUT], info[GRADER_ERROR], info[BAD_INPUT]) == flags
    assert info[REWARD_KIND] == kind


def test_every_kind_has_its_flags_listed():
    assert len(RewardKind) == 13  # 9 from compute_score + 4 the manager sets: each in the table above


def test_bad_inputs_score_zero_with_their_kind_and_never_raise(config, tokenizer):
    boxed = encode(tokenizer, "so \\boxed{7}")
    cases = [
        (boxed, None, RewardKind.NO_GROUND_TRUTH),  # no reward_model at all
        (boxed, {}, RewardKind.NO_GROUND_TRUTH),  # no ground_truth
        (boxed, {"ground_truth": " "}, RewardKind.NO_GROUND_TRUTH),
        (boxed, {"ground_truth": math.nan}, RewardKind.NO_GROUND_TRUTH),
        (boxed, {"ground_truth": ["7"]}, RewardKind.GOLD_NOT_TEXT),  # compute_score would grade "['7']"
        (boxed, {"ground_truth": {"answer": "7"}}, RewardKind.GOLD_NOT_TEXT),
        (boxed, {"ground_truth": True}, RewardKind.GOLD_NOT_TEXT),
        ([], {"ground_truth": "7"}, RewardKind.EMPTY_RESPONSE),
        ([tokenizer.pad_token_id] * 3, {"ground_truth": "7"}, RewardKind.SPECIAL_TOKENS_ONLY),
    ]
    outputs = run_reward_loop(config, tokenizer, [c[0] for c in cases], [c[1] for c in cases])
    for (_, gold, kind), out in zip(cases, outputs, strict=True):
        info = out["reward_extra_info"]
        assert out["reward_score"] == 0.0 and info[REWARD_KIND] == kind and info[BAD_INPUT] == 1.0, (gold, info)
        # a bad gold is never graded; an empty text is, by compute_score, which finds no answer and no error
        response_kind = kind in (RewardKind.EMPTY_RESPONSE, RewardKind.SPECIAL_TOKENS_ONLY)
        assert info["error"] == ("" if response_kind else f"bad input: {kind}")
        assert info[NO_ANSWER] == response_kind
    # numbers are golds, as compute_score takes them (AMC23 stores 27.0)
    numbers = run_reward_loop(config, tokenizer, [boxed, boxed], [{"ground_truth": 7}, {"ground_truth": 7.0}])
    assert [o["reward_score"] for o in numbers] == [1.0, 1.0]


def test_configuration_errors_name_the_key(tokenizer_dir, tokenizer):
    with pytest.raises(ValueError, match=r"reward.reward_kwargs.timeout_s=0 must be"):
        run_reward_loop(compose(tokenizer_dir, "+reward.reward_kwargs.timeout_s=0"), tokenizer, [[5]], [{}])
    both = compose(tokenizer_dir, "reward.custom_reward_function.path=pkg://abc_verl.rewards")
    with pytest.raises(ValueError, match=r"reward.custom_reward_function.path='pkg://abc_verl.rewards' is set too"):
        run_reward_loop(both, tokenizer, [[5]], [{}])


def test_graders_boot_when_the_manager_is_built_not_at_the_first_slow_response(config):
    """verl builds the manager at trainer start; graders then boot during the first rollout, so the first
    responses that need math-verify do not wait for them (nor hold executor threads the others queue for)."""
    import time

    from verl.experimental.reward_loop import RewardLoopWorker

    from abc_verl.rewards import reward

    reward.shutdown_graders()
    assert reward._state.pool is None

    async def build() -> None:
        RewardLoopWorker(config)

    asyncio.run(build())
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (reward._state.pool and len(reward._state.pool._alive) == 2):
        time.sleep(0.1)
    assert reward._state.pool is not None and len(reward._state.pool._alive) == 2  # ABC_VERL_REWARD_WORKERS default

"""Grade responses with the project's reward checker (`abc_verl.rewards.reward.compute_score`) in worker processes.

    python -m abc_verl.evaluation.grade "so \\boxed{7}" 7          # one verdict, in this process

`workers` processes (spawn context: fresh interpreters, no state forked from threads or CUDA), each grading
chunks of responses in order; 1 grades in this process. The checker answers most responses in-thread in
microseconds (no answer, or integer answers) and sends the rest to its own math-verify grader subprocess.
Workers ignore Ctrl-C so that the parent alone stops the run: it cancels the chunks not yet started and
re-raises. The checker itself bounds the time of
every verdict and never raises; an exception is still recorded as a wrong answer with its error.
"""

import json
import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

from tqdm import tqdm

from abc_verl.evaluation.orphans import die_with_parent
from abc_verl.names import REWARD_WORKERS_ENV
from abc_verl.rewards.kinds import RewardKind

GRADED, INTERNAL_ERROR = str(RewardKind.GRADED), str(RewardKind.INTERNAL_ERROR)

Item = tuple[str, str, str]  # (data_source, response, gold)
CHUNK = 32  # responses per task: small enough for a smooth progress bar, large enough to amortise pickling


def grade(items: list[Item], workers: int = 1, desc: str = "grading") -> list[dict]:
    """One {"pred", "correct", "error", "kind"} per item, in order (kind: abc_verl.rewards.kinds.RewardKind)."""
    if not items:
        return []
    chunks = [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)]
    bar = tqdm(total=len(items), desc=desc, unit="sample", file=sys.stderr)
    results: list[dict] = []
    try:
        if workers <= 1:
            for chunk in chunks:
                results.extend(grade_chunk(chunk))
                bar.update(len(chunk))
            return results
        pool = ProcessPoolExecutor(min(workers, len(chunks)), mp_context=get_context("spawn"), initializer=_worker_init)
        try:
            for chunk_result in pool.map(grade_chunk, chunks):
                results.extend(chunk_result)
                bar.update(len(chunk_result))
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
        return results
    finally:
        bar.close()


def grade_chunk(chunk: list[Item]) -> list[dict]:
    from abc_verl.rewards.reward import compute_score

    return [_verdict(compute_score, *item) for item in chunk]


def _verdict(compute_score, data_source: str, response: str, gold: str) -> dict:
    try:
        out = compute_score(data_source=data_source, solution_str=response, ground_truth=gold)
    except Exception as e:  # the checker promises not to raise; if it does, the sample counts as wrong
        return {"pred": "", "correct": False, "error": f"{type(e).__name__}: {e}", "kind": INTERNAL_ERROR}
    if isinstance(out, dict):
        correct = bool(out["acc"]) if "acc" in out else float(out.get("score", 0.0)) > 0
        pred, error = str(out.get("pred") or ""), str(out.get("error") or "")
        return {"pred": pred, "correct": correct, "error": error, "kind": str(out.get("kind") or GRADED)}
    return {"pred": "", "correct": float(out) > 0, "error": "", "kind": GRADED}


def _worker_init() -> None:
    die_with_parent()  # a SIGKILLed eval would otherwise leave its workers waiting forever
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # One math-verify grader subprocess per worker: a worker grades one response at a time, so the checker's
    # default of two would only leave one idle.
    os.environ.setdefault(REWARD_WORKERS_ENV, "1")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    print(json.dumps(grade([("cli", sys.argv[1], sys.argv[2])])[0]))

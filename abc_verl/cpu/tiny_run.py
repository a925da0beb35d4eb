"""Inputs for verl's real trainer on CPU: a tiny Qwen3 that is sometimes right, and a small maths set, offline.

    python -m abc_verl.cpu.tiny_run OUT_DIR    # OUT_DIR/model (HF folder), OUT_DIR/data/{train.parquet,tiny_eval.jsonl}

Used by `examples/tiny_cpu_abc.sh` and `tests/test_e2e_cpu.py` (recipe `recipes/tiny_cpu_abc.yaml`).
The training set is single-digit sums in the hub schema (`prompt`, `solution`), turned into verl parquet by
`abc-verl prepare-data --train-file` with the paper's prompt. A random model never writes `\\boxed{}`, so every
reward would be 0, every advantage 0 and every clip fraction 0; the tiny random Qwen3 of `abc_verl.cpu.tiny` is
therefore first fitted for a few seconds to answer `\\boxed{<sum>}`, until sampled answers are right about
half of the time. GRPO groups then have reward spread, and the ABC loss has tokens to clip.
"""

import json
import sys
from pathlib import Path

N_PROBLEMS = 8
WARM_START_STEPS = 45  # sampled answers right about 40% of the time (60 steps: 85%)
WARM_START_LR = 3e-3
EVAL_FILE = "tiny_eval.jsonl"


def problems(n: int = N_PROBLEMS) -> list[dict[str, str]]:
    """`n` sums of two digits, in the hub dataset's schema; deterministic."""
    pairs = [(a, b) for a in range(1, 10) for b in range(1, 10) if a + b < 10][::3][:n]
    return [{"prompt": f"What is {a} + {b}?", "solution": str(a + b)} for a, b in pairs]


def write_data(out_dir: Path) -> Path:
    """OUT/data/train.parquet through `abc-verl prepare-data --train-file` (the paper's prompt); the folder."""
    from abc_verl.data import prepare as data

    data_dir = out_dir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    jsonl = data_dir / "tiny_math.jsonl"
    jsonl.write_text("".join(json.dumps(p) + "\n" for p in problems()), encoding="utf-8")
    # the same sums as an eval set (question, answer), for `abc-verl eval --benchmarks` on the run's checkpoints
    evals = [{"question": p["prompt"], "answer": p["solution"]} for p in problems()]
    (data_dir / EVAL_FILE).write_text("".join(json.dumps(e) + "\n" for e in evals), encoding="utf-8")
    if data.main(["--out-dir", str(data_dir), "--only", "train", "--train-file", str(jsonl)]) != 0:
        raise RuntimeError("abc-verl prepare-data failed on the tiny maths set")
    return data_dir


def warm_start(model_dir: Path, steps: int = WARM_START_STEPS, lr: float = WARM_START_LR) -> float:
    """Fit the model to answer each training prompt with `\\boxed{<sum>}`; returns the final loss."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from abc_verl.data.prompts import train_prompt

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    rows = []
    for p in problems():
        messages = [{"role": "user", "content": train_prompt(p["prompt"])}]
        prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        rows.append((prompt, f"\\boxed{{{p['solution']}}}<|im_end|>"))
    batch, labels = _sft_batch(tokenizer, rows)
    torch.manual_seed(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    model.train()
    for _ in range(steps):
        loss = model(**batch, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.save_pretrained(model_dir)
    return loss.item()


def _sft_batch(tokenizer, rows: list[tuple[str, str]]):
    """Right-padded input ids, attention mask, and labels that score only the answer tokens."""
    import torch

    encoded = [(tokenizer.encode(p), tokenizer.encode(a)) for p, a in rows]
    width = max(len(p) + len(a) for p, a in encoded)
    ids = torch.full((len(rows), width), tokenizer.pad_token_id, dtype=torch.long)
    labels = torch.full_like(ids, -100)
    mask = torch.zeros_like(ids)
    for i, (p, a) in enumerate(encoded):
        ids[i, : len(p) + len(a)] = torch.tensor(p + a)
        labels[i, len(p) : len(p) + len(a)] = torch.tensor(a)
        mask[i, : len(p) + len(a)] = 1
    return {"input_ids": ids, "attention_mask": mask}, labels


def build(out_dir: str | Path) -> tuple[Path, Path]:
    """The tiny model (fitted) and the data folder under `out_dir`: (model_dir, data_dir)."""
    from abc_verl.cpu.tiny import build_tiny_qwen3

    out = Path(out_dir)
    model_dir = build_tiny_qwen3(out / "model")
    loss = warm_start(model_dir)
    print(f"tiny model: {model_dir} (warm-start loss {loss:.3f})")
    return model_dir, write_data(out)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    build(sys.argv[1])

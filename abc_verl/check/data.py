"""Data checks of `abc-verl check`: the recipe's parquet files (schema, rows, a rendered prompt) and gold rows.

verl reads `data.train_files` / `data.val_files` as parquet with the columns of abc_verl.data.prepare (`abc-verl
prepare-data`); a file with another schema, or prompts longer than `data.max_prompt_length`, fails here
instead of in the first minutes on the cluster.
"""

from pathlib import Path
from typing import Any

from abc_verl.check.errors import CheckFailed, Skip
from abc_verl.data.benchmarks import BENCHMARKS
from abc_verl.data.prepare import TRAIN_FILE

REQUIRED = ("data_source", "reward_model")
SAMPLE = 256  # prompts measured per file when the tokenizer is available


def data_files(config: Any) -> list[tuple[str, Path]]:
    files = []
    for key in ("train_files", "val_files"):
        value = config.data.get(key)
        for item in [value] if isinstance(value, str) else list(value or []):
            files.append((f"data.{key}", Path(str(item)).expanduser()))
    return files


def check_parquet_files(config: Any) -> str:
    files = data_files(config)
    present = [(key, path) for key, path in files if path.exists()]
    if not present:
        folder = files[0][1].parent
        raise Skip(f"no data files yet (e.g. {files[0][1]}): run `abc-verl prepare-data --out-dir {folder}`")
    detail = _check_present(config, present)
    missing = [(key, path) for key, path in files if not path.exists()]
    if missing:
        # SKIP, not FAIL: the data belongs to the machine that trains, and `abc-verl check` also runs where the
        # recipe will not (a laptop; the README's main command checks the 1.7B recipe before the tiny CPU run,
        # which reads none of these files). A FAIL would stop such a run for a file it never reads; the line
        # still says the launch cannot start and the one command that completes the folder.
        raise Skip(f"{missing_files(missing)}\n        present: {detail}")
    return detail


def missing_files(missing: list[tuple[str, Path]]) -> str:
    """What is missing, that training cannot start without it, and the one command that writes it."""
    names = "; ".join(f"{key}: {path}" for key, path in missing)
    folder = missing[0][1].parent
    if any(path.name == TRAIN_FILE for _, path in missing):
        only = "--only train " if all(path.name == TRAIN_FILE for _, path in missing) else ""
        fix = (
            f"`abc-verl prepare-data {only}--out-dir {folder} --train-file PATH` (PATH: a local copy of "
            f"DAPO-Math-17k, .jsonl or .parquet), or with network `abc-verl prepare-data {only}--out-dir {folder}`"
        )
    elif all(path.stem in BENCHMARKS for _, path in missing):
        fix = f"`abc-verl prepare-data --only eval --out-dir {folder}` (no network needed)"
    else:
        fix = "`abc-verl prepare-data --help` to see how to write them"
    return f"missing {names}; training cannot start without {'it' if len(missing) == 1 else 'them'}: run {fix}"


def _check_present(config: Any, present: list[tuple[str, Path]]) -> str:
    """Schema, rows and prompt lengths of the files that exist: a bad one fails (CheckFailed)."""
    tokenizer, note = _tokenizer(config)
    prompt_key = config.data.prompt_key
    parts, sample = [], None
    for key, path in present:
        table = _read(key, path, prompt_key)
        rows = table.num_rows
        if rows == 0:
            raise CheckFailed(f"{key}: {path} has no rows")
        prompts = table.column(prompt_key).slice(0, SAMPLE).to_pylist()
        if tokenizer is not None:
            longest = max(
                len(tokenizer(_render(tokenizer, p, key, path), add_special_tokens=False).input_ids) for p in prompts
            )
            if longest > config.data.max_prompt_length:
                raise CheckFailed(
                    f"{key}: {path.name} has a {longest}-token prompt > data.max_prompt_length "
                    f"{config.data.max_prompt_length}"
                )
            sample = sample or _render(tokenizer, prompts[0], key, path)
        parts.append(f"{path.name} {rows:,} rows")
    detail = ", ".join(parts) + f"; {note}"
    if sample:
        detail += f"\n        first prompt rendered: {sample[:160]!r}"
    return detail


def _read(key: str, path: Path, prompt_key: str):
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as e:
        raise CheckFailed(f"{key}: {path} is not a readable parquet file ({e})") from None
    for column in (*REQUIRED, prompt_key):
        if column not in table.column_names:
            raise CheckFailed(f"{key}: {path} lacks column {column!r} (has {', '.join(table.column_names)})")
    return table


def _tokenizer(config: Any) -> tuple[Any, str]:
    """The model's tokenizer when it is on disk here (a local folder or the Hugging Face cache), else None."""
    from transformers import AutoTokenizer

    name = config.actor_rollout_ref.model.get("tokenizer_path") or config.actor_rollout_ref.model.path
    try:
        return AutoTokenizer.from_pretrained(str(name), local_files_only=True), f"prompts fit ({name} tokenizer)"
    except Exception:
        return None, f"prompt lengths not checked: tokenizer {name} not available offline"


def _render(tokenizer: Any, prompt: Any, key: str, path: Path) -> str:
    """The prompt as the model sees it: the chat template applied, generation prompt appended."""
    if not isinstance(prompt, list) or not all(isinstance(m, dict) and "content" in m for m in prompt):
        raise CheckFailed(f"{key}: {path.name} prompt is not a list of chat messages: {str(prompt)[:80]!r}")
    return tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=False)


def gold_rows(config: Any, n: int) -> tuple[list[dict], str]:
    """A few (data_source, answer) rows: from the training file when present, else the packaged AIME24."""
    train = data_files(config)[0][1]
    if train.exists():
        import pyarrow.parquet as pq

        table = pq.read_table(train, columns=["data_source", "reward_model"]).slice(0, n).to_pylist()
        return [
            {"data_source": r["data_source"], "answer": r["reward_model"]["ground_truth"]} for r in table
        ], train.name
    from abc_verl.data.benchmarks import load_benchmark

    problems = load_benchmark("aime24", limit=n).problems
    return [{"data_source": "aime24", "answer": p.answer} for p in problems], "packaged aime24"

r"""Write verl parquet files: the DAPO-Math-17k training set and five eval sets, with the paper's prompts.

    abc-verl prepare-data                                   # hub training set + packaged eval sets -> ~/data/abc_verl
    abc-verl prepare-data --only eval                       # eval sets only; needs no network
    abc-verl prepare-data --train-file dapo.parquet         # training set from a local jsonl/parquet copy
    abc-verl prepare-data --eval-file aime24=my_aime.jsonl  # one eval set from a local file

Outputs in --out-dir (default $ABC_VERL_DATA, else ~/data/abc_verl: where the paper recipes read them):
`train.parquet` (data_source "dapo_math_17k") and `<benchmark>.parquet` for aime24,
aime25, amc23, hmmt202502 and math500 (data_source = the benchmark name). Each row is verl's schema:
`data_source`, `prompt` ([{role, content}] chat messages; verl applies the model's chat template),
`ability` "math", `reward_model` {style "rule", ground_truth str}, `extra_info` {split, index, id}.

Prompts: `abc_verl.data.prompts` (the paper's training turn; `--train-prompt-role system` puts the instruction
in a system turn instead). Rows: `abc_verl.data.rows`; eval sets: `abc_verl.data.benchmarks`.

Input checks: a missing column fails with the column and the file named; rows without a problem or an
answer are skipped, repeated problems are dropped (both counted in the summary); answers become strings
(27.0 -> "27"). Files are written atomically under the output folder's lock (`abc_verl.files`): a second
prepare-data on the same folder fails at once naming the first, a full or read-only disk fails naming the path.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from abc_verl.data.benchmarks import BENCHMARKS, packaged_file
from abc_verl.data.rows import DataError, Table, build_rows, read_records
from abc_verl.files import FolderBusy, atomic_open, folder_lock, remove_temporaries
from abc_verl.names import DATA_DIR_ENV, DEFAULT_DATA_DIR

TRAIN_HUB_NAME, TRAIN_HUB_CONFIG, TRAIN_HUB_SPLIT = "open-r1/DAPO-Math-17k-Processed", "all", "train"
TRAIN_DATA_SOURCE = "dapo_math_17k"
TRAIN_FILE = "train.parquet"
_DAPO_ANSWER_FORMAT = 'Remember to put your answer on its own line after "Answer:"'
HUB_TIMEOUT_S = 15  # the hub's answer to one request; a dead network is refused or times out once, not six times


class HubError(DataError):
    """The training set could not be loaded from the hub (network, authentication, name)."""


def default_data_dir() -> Path:
    """$ABC_VERL_DATA, else ~/data/abc_verl: the folder the paper recipes read (recipes/paper_common.yaml)."""
    return Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR).expanduser()


def write_parquet(rows: list[dict], path: Path) -> None:
    """Write verl rows to `path` atomically: a reader sees the old file or the whole new one."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(rows)  # a bad row fails here, before anything is written
    with atomic_open(path, "wb") as fh:
        pq.write_table(table, fh)


def _load_train(args: argparse.Namespace) -> tuple[Iterable[dict], list[str], str]:
    if args.train_file:
        records, columns = read_records(Path(args.train_file))
        return records, columns, str(args.train_file)
    from datasets import load_dataset

    source = f"{args.train_dataset} (hub, config {args.train_config}, split {args.train_split})"
    try:
        probe_hub(args.train_dataset)
        dataset = load_dataset(args.train_dataset, args.train_config, split=args.train_split)
    except Exception as exc:  # network, auth or name errors all end the same way
        raise HubError(f"{source}: could not load ({type(exc).__name__}: {' '.join(str(exc).split())})") from None
    return dataset, list(dataset.column_names), source


def probe_hub(name: str) -> None:
    """One request for the dataset's hub page, before `datasets` starts: its first download retries a failed
    connection five times with back-off (huggingface_hub's http_backoff, 1 + 2 + 4 + 8 + 8 s: 24 s to say the
    network is down), and no setting of either library turns that off short of offline mode. With
    HF_HUB_OFFLINE=1 `datasets` reads its cache, so there is nothing to probe."""
    from huggingface_hub import HfApi, constants

    if not constants.is_offline_mode():
        HfApi().dataset_info(name, timeout=HUB_TIMEOUT_S)


def _eval_files(specs: list[str], names: list[str]) -> dict[str, Path]:
    files = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not path:
            raise DataError(f"--eval-file {spec!r}: expected NAME=PATH")
        if name not in names:
            raise DataError(f"--eval-file {spec!r}: {name!r} is not among --benchmarks ({', '.join(names)})")
        files[name] = Path(path)
    return files


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="abc-verl prepare-data", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=default_data_dir(),
        help=f"folder for the parquet files, where the recipes read them (${DATA_DIR_ENV}, else {DEFAULT_DATA_DIR})",
    )
    parser.add_argument("--only", choices=("train", "eval"), help="write only the training or only the eval sets")
    parser.add_argument("--train-dataset", default=TRAIN_HUB_NAME, help="Hugging Face hub dataset name")
    parser.add_argument("--train-config", default=TRAIN_HUB_CONFIG, help="hub dataset config (default: all)")
    parser.add_argument("--train-split", default=TRAIN_HUB_SPLIT, help="hub dataset split (default: train)")
    parser.add_argument("--train-file", help="local .jsonl/.parquet in the hub dataset's schema, instead of the hub")
    parser.add_argument(
        "--train-prompt-role", choices=("user", "system"), default="user", help="where the instruction goes"
    )
    parser.add_argument("--benchmarks", default=",".join(BENCHMARKS), help="comma-separated eval sets to write")
    parser.add_argument("--eval-file", action="append", default=[], metavar="NAME=PATH", help="local eval set file")
    return parser


def _prepare(args: argparse.Namespace, out_dir: Path) -> list[tuple[str, Table, Path]]:
    names = [name.strip() for name in args.benchmarks.split(",") if name.strip()]
    for name in names:
        packaged_file(name)
    local_evals = _eval_files(args.eval_file, names)
    jobs = []
    if args.only != "eval":
        from tqdm import tqdm

        records, columns, source = _load_train(args)
        records = tqdm(records, desc="train", unit=" rows", file=sys.stderr, disable=None)
        table = build_rows(
            records, columns, source, kind="train", data_source=TRAIN_DATA_SOURCE, prompt_role=args.train_prompt_role
        )
        jobs.append(("train", table, out_dir / TRAIN_FILE))
    if args.only != "train":
        for name in names:
            path = local_evals.get(name)
            if path is None:
                with resources.as_file(packaged_file(name)) as packaged:
                    records, columns = read_records(Path(packaged))
            else:
                records, columns = read_records(path)
            source = str(path) if path else f"packaged {name}.jsonl"
            table = build_rows(records, columns, source, kind="eval", data_source=name)
            jobs.append((name, table, out_dir / f"{name}.parquet"))
    for name, table, _ in jobs:
        if not table.rows:
            raise DataError(f"{table.source}: no usable rows for {name} (read {table.read})")
    return jobs


def _summary(jobs: list[tuple[str, Table, Path]]) -> str:
    head = f"{'set':<11} {'read':>6} {'no problem':>10} {'no answer':>9} {'duplicates':>10} {'written':>7}  file"
    lines = [head]
    for name, t, path in jobs:
        lines.append(
            f"{name:<11} {t.read:>6} {t.no_problem:>10} {t.no_answer:>9} {t.duplicates:>10} {len(t.rows):>7}  {path}"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """`abc-verl prepare-data`: returns 0 on success, 2 on bad input, 1 when the folder cannot be written or is
    in use by another process (message on stderr)."""
    args = build_parser().parse_args(argv)
    out_dir = Path(args.out_dir).expanduser()
    try:
        jobs = _prepare(args, out_dir)
    except HubError as exc:
        return _without_hub(args, argv, out_dir, exc)
    except DataError as exc:
        print(f"abc-verl prepare-data: error: {exc}", file=sys.stderr)
        return 2
    if not _write(jobs, out_dir, argv):
        return 1
    print(_summary(jobs))
    flagged = sum(_DAPO_ANSWER_FORMAT in p for name, t, _ in jobs if name == "train" for p in t.problems)
    if flagged:
        print(f"note: {flagged} training problems still carry DAPO's 'Answer:' instruction", file=sys.stderr)
    return 0


def _write(jobs: list[tuple[str, Table, Path]], out_dir: Path, argv: list[str]) -> bool:
    """Write each job's file under the folder's lock; False (message on stderr) when that fails."""
    try:  # the lock: a second prepare-data on this folder fails at once, naming this one
        with folder_lock(out_dir, shlex.join(["abc-verl", "prepare-data", *argv])):
            remove_temporaries(out_dir)
            for _, table, path in jobs:
                write_parquet(table.rows, path)
    except (OSError, FolderBusy) as exc:  # full or read-only disk, busy folder: files written before are intact
        print(f"abc-verl prepare-data: error: {exc}", file=sys.stderr)
        return False
    return True


def _without_hub(args: argparse.Namespace, argv: list[str], out_dir: Path, error: HubError) -> int:
    """The hub failed: write what needs no network (the eval sets, unless --only train), then say what was
    written and the two ways to the training file. Returns 2."""
    written = []
    if args.only is None:
        try:
            jobs = _prepare(argparse.Namespace(**{**vars(args), "only": "eval"}), out_dir)
        except DataError as exc:  # a bad --eval-file: said after the hub error
            print(f"abc-verl prepare-data: error: {exc}", file=sys.stderr)
            jobs = []
        if jobs and _write(jobs, out_dir, argv):
            written = [path.name for _, _, path in jobs]
    did = f"wrote {', '.join(written)} in {out_dir}" if written else f"wrote nothing in {out_dir}"
    folder = shlex.quote(str(out_dir))
    print(
        f"abc-verl prepare-data: error: {error}\n"
        f"  {did}; not written: {TRAIN_FILE}\n"
        f"  without network: abc-verl prepare-data --only train --out-dir {folder} --train-file PATH"
        "   (PATH: a local copy of DAPO-Math-17k, .jsonl or .parquet)\n"
        f"  the eval sets alone: abc-verl prepare-data --only eval --out-dir {folder}   (no network needed)",
        file=sys.stderr,
    )
    return 2

"""Find what to evaluate: Hugging Face model folders and verl checkpoints, merged with verl's own model merger.

    abc-verl eval Qwen3-4B-Base checkpoints/my_run --out eval_out   # base model + every global_step_* of a run

Accepted paths:
  - a Hugging Face model folder (config.json and *.safetensors / *.bin weights);
  - a verl run folder (`trainer.default_local_dir`): every `global_step_N/` in it, in step order;
  - one `global_step_N/` folder, or its `actor/` folder.
A checkpoint's `actor/huggingface/` is used as is when it holds weights (saved with `save_contents` including
`hf_model`); otherwise the FSDP shards `actor/model_world_size_W_rank_R.pt` are merged once with
`python -m verl.model_merger merge --backend fsdp --local_dir <actor> --target_dir <merged>` into
`<out>/merged/<run>/global_step_N`, which later runs reuse.
"""

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

STEP_DIR = re.compile(r"^global_step_(\d+)$")
WEIGHT_GLOBS = ("*.safetensors", "pytorch_model*.bin", "model*.bin")


@dataclass(frozen=True)
class Checkpoint:
    name: str  # unique label and output sub-folder: "<model>" or "<run>/global_step_N"
    run: str  # groups checkpoints of one training run in the plots
    step: int | None  # None for a plain model folder
    hf_dir: Path | None  # ready Hugging Face folder, None until merged
    actor_dir: Path | None  # FSDP shards to merge when hf_dir is None


def is_hf_model_dir(path: Path) -> bool:
    return (path / "config.json").is_file() and any(any(path.glob(g)) for g in WEIGHT_GLOBS)


def discover(paths: list[str], steps: list[int] | None = None) -> list[Checkpoint]:
    """Every checkpoint named by `paths`, checked for a usable format before any model is loaded."""
    found: list[Checkpoint] = []
    for raw in paths:
        found.extend(_discover_one(Path(raw)))
    if steps is not None:
        found = [c for c in found if c.step is None or c.step in steps]
        if not found:
            raise ValueError(f"no checkpoint with --steps {','.join(map(str, steps))} in {', '.join(paths)}")
    names = [c.name for c in found]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"two checkpoints share the name {', '.join(dupes)}: rename one folder or evaluate apart")
    return found


def _discover_one(path: Path) -> list[Checkpoint]:
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or directory")
    if not path.is_dir():
        raise ValueError(f"{path}: expected a model folder or a verl run folder, got a file")
    if is_hf_model_dir(path):
        return [Checkpoint(path.resolve().name, path.resolve().name, None, path.resolve(), None)]
    if path.name == "actor" and STEP_DIR.match(path.resolve().parent.name):
        path = path.resolve().parent
    match = STEP_DIR.match(path.resolve().name)
    if match:
        return [_step_checkpoint(path.resolve(), int(match.group(1)))]
    steps = sorted((int(m.group(1)), p) for p in path.iterdir() if p.is_dir() and (m := STEP_DIR.match(p.name)))
    if not steps:
        raise ValueError(
            f"{path}: not a Hugging Face model folder (config.json + *.safetensors/*.bin weights) "
            "and no verl checkpoints (global_step_*/actor) in it"
        )
    return [_step_checkpoint(p.resolve(), step) for step, p in steps]


def _step_checkpoint(step_dir: Path, step: int) -> Checkpoint:
    run = step_dir.parent.name
    name = f"{run}/{step_dir.name}"
    actor = step_dir / "actor"
    if is_hf_model_dir(actor / "huggingface"):
        return Checkpoint(name, run, step, actor / "huggingface", None)
    if (actor / "fsdp_config.json").is_file() and any(actor.glob("model_world_size_*_rank_0.pt")):
        if not (actor / "huggingface" / "config.json").is_file():
            raise ValueError(f"{actor}: FSDP shards but no huggingface/config.json, which verl's merger needs")
        return Checkpoint(name, run, step, None, actor)
    raise ValueError(
        f"{step_dir}: no Hugging Face weights in actor/huggingface/ and no FSDP shards "
        "(actor/fsdp_config.json + actor/model_world_size_*_rank_0.pt). Megatron checkpoints: convert with "
        "`python -m verl.model_merger merge --backend megatron --local_dir <step>/actor --target_dir <dir>` "
        "and pass <dir>"
    )


def merged_dir(ckpt: Checkpoint, merged_root: Path) -> Path:
    return merged_root / ckpt.name


def ensure_hf(ckpt: Checkpoint, merged_root: Path) -> Path:
    """The checkpoint's Hugging Face folder, running verl's FSDP merger once if needed."""
    if ckpt.hf_dir is not None:
        return ckpt.hf_dir
    target = merged_dir(ckpt, merged_root)
    if is_hf_model_dir(target):
        return target
    # The merger writes into a side folder that is renamed when complete: an interrupted merge leaves no
    # half-written model that a re-run would take for a finished one.
    tmp = target.with_name(target.name + ".merging")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    log = target.with_name(target.name + ".merge.log")
    cmd = [sys.executable, "-m", "verl.model_merger", "merge", "--backend", "fsdp"]
    cmd += ["--local_dir", str(ckpt.actor_dir), "--target_dir", str(tmp)]
    print(f"merging {ckpt.actor_dir} with verl's model merger (log: {log})", file=sys.stderr)
    with open(log, "w") as fh:
        proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT)
    if proc.returncode != 0 or not is_hf_model_dir(tmp):
        tail = "".join(log.read_text(errors="replace").splitlines(keepends=True)[-15:])
        raise RuntimeError(f"verl's model merger failed on {ckpt.actor_dir} (exit {proc.returncode}):\n{tail}")
    shutil.rmtree(target, ignore_errors=True)
    tmp.replace(target)
    return target

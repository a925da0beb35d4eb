"""The attention kernels a recipe trains with: flash-attn's when it imports, else PyTorch's sdpa.

The paper recipes set

    actor_rollout_ref.model.override_config.attn_implementation: ${abc_verl.attn_implementation:}

OmegaConf resolves it where verl resolves the config (`main_ppo`'s driver check, then the TaskRunner, whose
resolved config every worker receives), so a cluster without flash-attn trains with "sdpa" instead of failing
when the first worker loads the model. flash-attn has no wheel for the torch / CUDA that verl[vllm]==0.9.1 pins
(2.11 / 13.0), so it is an optional second install step (README, "GPU install").

Both give the same maths. Their cost differs: verl packs the sequences of a micro-batch into one row
(`use_remove_padding`); flash-attn's varlen kernel attends within each sequence (sum of n_i^2 work), while
sdpa gets a dense block-diagonal N x N mask from transformers (N^2 work and an N x N bool mask, 1 GiB at
N = 32768 tokens). Set the key to `flash_attention_2` or `sdpa` to choose yourself.

No verl import: `abc_verl.plugin` registers the resolver in every verl process, `abc-verl check` before it
composes a recipe.
"""

import functools
import importlib

from abc_verl.loggers import get_logger

RESOLVER = "abc_verl.attn_implementation"
FLASH, SDPA = "flash_attention_2", "sdpa"

logger = get_logger(__name__)


@functools.cache
def flash_attn_error() -> str | None:
    """None when flash-attn's CUDA kernels import here; else why not (not installed, built for another torch)."""
    try:
        importlib.import_module("flash_attn")
        importlib.import_module("flash_attn_2_cuda")
    except (ImportError, OSError) as e:  # OSError: a missing or mismatched CUDA library of a wrong wheel
        return f"{type(e).__name__}: {e}"
    return None


@functools.cache  # one answer, and one warning, per process
def attn_implementation() -> str:
    """`flash_attention_2` when flash-attn's kernels import in this process, else `sdpa` (with a warning)."""
    error = flash_attn_error()
    if error is None:
        return FLASH
    logger.warning("abc_verl: flash-attn not usable (%s); training attention falls back to sdpa", error)
    return SDPA


def register_resolver() -> None:
    """Make `${abc_verl.attn_implementation:}` resolvable in this process (idempotent)."""
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver(RESOLVER):
        OmegaConf.register_new_resolver(RESOLVER, attn_implementation)

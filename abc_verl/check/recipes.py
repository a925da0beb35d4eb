"""Recipe lookup, composition as `verl.trainer.main_ppo` does it, and the unknown-key check of `abc-verl check`.

Recipes ship in the wheel as `abc_verl/recipes/` (copied from the repository's `recipes/` at build time); a
source checkout installed with `pip install -e .` reads the repository's `recipes/` directly.
"""

import dataclasses
import difflib
from importlib import resources
from pathlib import Path
from typing import Any

# Mappings passed on as keyword arguments to another library: any key is allowed below these.
FREE_FORM = ("ray_kwargs.ray_init", "reward.custom_reward_function.reward_kwargs")


def recipes_dir() -> Path:
    """The folder of the shipped recipes: packaged copy in a wheel, else the source checkout's `recipes/`."""
    packaged = Path(str(resources.files("abc_verl") / "recipes"))
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "recipes"


def find_recipe(recipe: str) -> Path:
    """A recipe by file path, or by name among the shipped recipes; the error lists the names."""
    path = Path(recipe).expanduser()
    if recipe.endswith((".yaml", ".yml")) or path.is_file():
        if not path.is_file():
            raise FileNotFoundError(f"recipe file {recipe!r} not found")
        return path.resolve()
    shipped = recipes_dir()
    candidate = shipped / f"{recipe}.yaml"
    if candidate.is_file():
        return candidate
    names = sorted(p.stem for p in shipped.glob("qwen3_*_*.yaml"))
    raise FileNotFoundError(f"unknown recipe {recipe!r}; shipped recipes: {', '.join(names)}")


def compose_recipe(path: Path, overrides: list[str]) -> Any:
    """Compose like `main_ppo --config-path path.parent --config-name path.stem overrides...`; resolve it once so
    a broken interpolation fails here, naming its key."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from abc_verl.attention import register_resolver

    register_resolver()  # as the plugin does in every verl process
    with initialize_config_dir(config_dir=str(path.parent), version_base=None):
        config = compose(config_name=path.stem, overrides=list(overrides))
    OmegaConf.to_container(config, resolve=True)
    return config


def reference_config() -> dict:
    """verl's own ppo_trainer, composed from its package: the keys verl knows."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    config_dir = str(resources.files("verl") / "trainer" / "config")
    with initialize_config_dir(config_dir=config_dir, version_base=None):
        return OmegaConf.to_container(compose(config_name="ppo_trainer"), resolve=False)


def unknown_keys(config: Any) -> list[str]:
    """Keys of `config` that verl's ppo_trainer lacks (and no `_target_` dataclass declares), with suggestions.

    Hydra lets a recipe file add keys silently, and verl only rejects unknown keys in the sections it turns
    into dataclasses: a typo such as `trainer.save_freqq` would otherwise be ignored.
    """
    from omegaconf import OmegaConf

    found: list[str] = []
    _walk(OmegaConf.to_container(config, resolve=False), reference_config(), "", found)
    return found


def _walk(node: Any, ref: Any, path: str, found: list[str]) -> None:
    if not isinstance(node, dict) or not isinstance(ref, dict) or not ref or path.rstrip(".") in FREE_FORM:
        return  # a leaf, or a mapping verl leaves open
    allowed = set(ref) | _target_fields(node.get("_target_"))
    for key, value in node.items():
        if key in allowed:
            _walk(value, ref.get(key, {}), f"{path}{key}.", found)
        else:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (did you mean {path}{close[0]}?)" if close else ""
            found.append(f"{path}{key}: unknown key{hint}")


def _target_fields(target: Any) -> set[str]:
    """Field names of the dataclass a `_target_` names (our ABCPolicyLossConfig adds the eps_* widths)."""
    if not isinstance(target, str) or not target:
        return set()
    from hydra.utils import get_class

    try:
        cls = get_class(target)
    except Exception:
        return set()  # verl's validation reports a bad _target_ with its own message
    return {f.name for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else set()

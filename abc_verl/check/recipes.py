"""Recipe lookup, composition as `verl.trainer.main_ppo` does it, and the unknown-key check of `abc-verl check`.

Recipes ship in the wheel as `abc_verl/recipes/` (copied from the repository's `recipes/` at build time); a
source checkout installed with `pip install -e .` reads the repository's `recipes/` directly.
"""

import copy
import dataclasses
import difflib
import functools
import re
from importlib import resources
from pathlib import Path
from typing import Any

# Mappings passed on as keyword arguments to another library: any key is allowed below these. verl's reward
# managers read reward.reward_kwargs (DAPO's, abc_math's timeout_s) though ppo_trainer.yaml does not declare it.
FREE_FORM = ("ray_kwargs.ray_init", "reward.custom_reward_function.reward_kwargs", "reward.reward_kwargs")


def recipes_dir() -> Path:
    """The folder of the shipped recipes: packaged copy in a wheel, else the source checkout's `recipes/`."""
    packaged = Path(str(resources.files("abc_verl") / "recipes"))
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "recipes"


def find_recipe(recipe: str) -> Path:
    """A recipe by file path, or by name among the shipped recipes (`qwen3_1.7b_abc` or `qwen3_1.7b_abc.yaml`);
    the error suggests the closest shipped name, as the key check does for a misspelled key, and lists them."""
    path = Path(recipe).expanduser()
    if path.is_file():
        return path.resolve()
    name = recipe.removesuffix(".yaml").removesuffix(".yml")
    candidate = recipes_dir() / f"{name}.yaml"
    if candidate.is_file():  # a name, with or without .yaml, and no such file here: the shipped recipe
        return candidate
    names = shipped_recipes()
    close = difflib.get_close_matches(path.name.removesuffix(".yaml").removesuffix(".yml"), names, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    what = f"unknown recipe {recipe!r}" if name == recipe else f"no recipe file {recipe!r} here nor shipped"
    raise FileNotFoundError(f"{what}{hint}; shipped recipes: {', '.join(names)}")


def shipped_recipes() -> list[str]:
    """The recipes one launches (each sets hydra.searchpath); the bases they build on are not among them."""
    return sorted(p.stem for p in recipes_dir().glob("*.yaml") if "searchpath:" in p.read_text())


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
    """verl's own ppo_trainer, composed from its package: the keys verl knows (a copy: callers may change it)."""
    return copy.deepcopy(_reference_config())


@functools.cache  # composing it costs about as much as composing the recipe; it never changes in a process
def _reference_config() -> dict:
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
    fields, problem = _target_fields(node.get("_target_"))
    if problem:
        found.append(f"{path}_target_={node['_target_']!r}: {problem}")
    allowed = set(ref) | fields
    allowed |= {free.rpartition(".")[2] for free in FREE_FORM if free.rpartition(".")[0] == path.rstrip(".")}
    for key, value in node.items():
        if key in allowed:
            _walk(value, ref.get(key, {}), f"{path}{key}.", found)
        elif not problem:  # under a broken _target_ every field would look unknown: that one error says it
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (did you mean {path}{close[0]}?)" if close else ""
            if "_target_" in node and key not in ref:
                hint += f" (not a field of {path}_target_={node['_target_']!r})"
            found.append(f"{path}{key}: unknown key{hint}")


def _target_fields(target: Any) -> tuple[set[str], str | None]:
    """Field names of the dataclass a `_target_` names (our ABCPolicyLossConfig adds the eps_* widths), or
    why that `_target_` names no config class."""
    if target is None or target == "":
        return set(), None if target is None else "empty: name a config dataclass"
    if not isinstance(target, str):
        return set(), f"a {type(target).__name__}: must be the dotted name of a config dataclass"
    import logging

    from hydra.utils import get_class

    hydra_log = logging.getLogger("hydra.utils")  # it logs an ERROR with a traceback before raising
    level = hydra_log.level
    hydra_log.setLevel(logging.CRITICAL)
    try:
        cls = get_class(target)
    except Exception as e:
        return set(), f"cannot be imported as a class ({' '.join(str(e).split()[:24])})"
    finally:
        hydra_log.setLevel(level)
    if not dataclasses.is_dataclass(cls):
        return set(), f"{cls.__module__}.{cls.__name__} is not a config dataclass"
    return {f.name for f in dataclasses.fields(cls)}, None


def explain_override_error(error: BaseException, path: Path, overrides: list[str]) -> str | None:
    """One line for Hydra's two override refusals, naming the key and what to write instead; else None.

    Hydra refuses `key=v` when the recipe lacks the key (and suggests `+key=v`, which verl may then reject)
    and `+key=v` when the recipe has it already.
    """
    text = str(error)
    if bad := _unparsable(overrides):
        return bad
    if "interpolation" in text.lower() or "resolv" in text.lower():
        mine = [o for o in overrides if "${" in o]
        if mine:
            return f"{', '.join(mine)}: the interpolation does not resolve ({' '.join(text.split())})"
    if match := re.search(r"An item is already at '([^']+)'", text):
        key = match.group(1)
        value = _override_value(overrides, key)
        return f"{key} is set by the recipe already: write {key}={value} (no leading '+')"
    if match := re.search(r"Could not override '([^']+)'", text):
        key = match.group(1)
        value = _override_value(overrides, key)
        parent, _, leaf = key.rpartition(".")
        others = [o for o in overrides if o.lstrip("+~").partition("=")[0] != key]  # a `_target_=` among them counts
        allowed = _allowed_keys(compose_recipe(path, others), parent)
        if leaf in allowed:  # a field verl (or the _target_ class) knows, that this recipe does not set yet
            return f"{key} is not set by this recipe: write +{key}={value} to add it"
        close = difflib.get_close_matches(leaf, allowed, n=1)
        hint = f" (did you mean {parent + '.' if parent else ''}{close[0]}?)" if close else ""
        return f"{key}: unknown key{hint}; verl would reject it even as +{key}={value}"
    return None


def _unparsable(overrides: list[str]) -> str | None:
    """The first override Hydra's grammar cannot parse, named with Hydra's reason, or None."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    for item in overrides:
        try:
            parser.parse_override(item)
        except Exception as e:
            return (
                f"{item}: Hydra cannot parse this override ({' '.join(str(e).split()[:12])}); "
                "quote a value with special characters: key='...'"
            )
    return None


def _override_value(overrides: list[str], key: str) -> str:
    for item in overrides:
        name, sep, value = item.lstrip("+~").partition("=")
        if sep and name == key:
            return value
    return "VALUE"


def _allowed_keys(config: Any, parent: str) -> set[str]:
    """The keys verl's ppo_trainer and the `_target_` class allow under `parent` of the composed config."""
    from omegaconf import OmegaConf

    node, ref = OmegaConf.to_container(config, resolve=False), reference_config()
    for part in parent.split(".") if parent else []:
        node = node.get(part, {}) if isinstance(node, dict) else {}
        ref = ref.get(part, {}) if isinstance(ref, dict) else {}
    keys = set(ref) if isinstance(ref, dict) else set()
    keys |= set(node) if isinstance(node, dict) else set()
    return keys | _target_fields(node.get("_target_") if isinstance(node, dict) else None)[0]

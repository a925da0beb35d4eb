"""One rule for putting abc_verl's names into verl's registries (policy losses, advantage estimators, reward
managers): register unless the name is taken, keep what another module registered under it (with a warning), and
do nothing when the same module registered it before (a reload, a second import route)."""

from collections.abc import Callable, Mapping
from typing import Any

from abc_verl.loggers import get_logger

logger = get_logger(__name__)


def register_once(registry: Mapping[str, Any], register: Callable[[str], Callable], name: str, obj: Any) -> bool:
    """Register `obj` under `name` through verl's decorator `register`; True when this call added it.

    verl's own decorators raise (reward managers) or silently replace (losses, estimators) a taken name.
    """
    owner = registry.get(name)
    if owner is None:
        register(name)(obj)
        return True
    if owner.__module__ != obj.__module__:
        logger.warning("abc_verl: %r is already registered by %s; not replacing it", name, owner.__module__)
    return False

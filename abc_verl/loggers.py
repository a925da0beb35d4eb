"""abc_verl's loggers: their lines show in every verl process, even where an import has silenced the root logger.

vLLM's API server imports model_hosting_container_standards (vllm/entrypoints/serve/lora/api_router.py in vLLM
0.24.0 and 0.27.1), whose import sets the root logger and every root handler to ERROR unless
SAGEMAKER_CONTAINER_LOG_LEVEL or LOG_LEVEL says otherwise (its logging_config.configure_root_logger). verl imports
that server in the trainer's own process when the rollout is vLLM, which is where the advantage estimator runs:
its line on groups with zero reward spread vanished from every vLLM run, GPU runs included. A logger from
`get_logger` keeps a level of its own (VERL_LOGGING_LEVEL, else the default given, as verl's loggers do) and a
stderr handler that writes a record only when no root handler takes it: one line either way, and the root's
handlers (verl's, pytest's) keep everything they took before.
"""

import logging
import os

from abc_verl.names import VERL_LOGGING_LEVEL_ENV

FORMAT = "%(levelname)s:%(asctime)s:%(message)s"  # verl's own root format


class _WhenRootWillNot(logging.StreamHandler):
    """Writes to stderr the records that no handler of the root logger accepts (by its level)."""

    def emit(self, record: logging.LogRecord) -> None:
        if any(record.levelno >= handler.level for handler in logging.getLogger().handlers):
            return
        super().emit(record)


def get_logger(name: str, default_level: str = "WARNING") -> logging.Logger:
    """`logging.getLogger(name)` at level $VERL_LOGGING_LEVEL (else `default_level`), shown as said above."""
    logger = logging.getLogger(name)
    logger.setLevel(os.getenv(VERL_LOGGING_LEVEL_ENV, default_level))
    if not any(isinstance(h, _WhenRootWillNot) for h in logger.handlers):
        handler = _WhenRootWillNot()
        handler.setFormatter(logging.Formatter(FORMAT))
        logger.addHandler(handler)
    return logger

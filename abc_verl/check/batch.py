"""A batch as verl's reward loop hands it to a reward manager, built from token lists.

Used by the check's reward stage (`abc_verl.check.cli`), tests/test_reward_manager.py and
benchmarks/bench_reward_manager.py; not run by hand.
"""

from typing import Any

import numpy as np
import torch
from verl import DataProto


def reward_batch(
    responses: list[list[int]],
    reward_models: list[Any],
    data_sources: list[str],
    pad_id: int,
    response_length: int | None = None,
    prompt: tuple[int, ...] = (1, 2, 3),
) -> DataProto:
    """The batch verl's reward loop hands a manager: one prompt, right-padded responses, attention mask over
    prompt and response, and the rows' `reward_model` and `data_source`."""
    width = max([response_length or 0, *map(len, responses)], default=0) or 1
    ids = torch.full((len(responses), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(responses), len(prompt) + width), dtype=torch.long)
    mask[:, : len(prompt)] = 1
    for row, tokens in enumerate(responses):
        ids[row, : len(tokens)] = torch.tensor(tokens, dtype=torch.long)
        mask[row, len(prompt) : len(prompt) + len(tokens)] = 1
    prompts = torch.tensor([list(prompt)] * len(responses), dtype=torch.long).reshape(len(responses), len(prompt))

    def objects(values: list[Any]) -> np.ndarray:
        out = np.empty(len(values), dtype=object)  # element by element: numpy must not unpack dicts or lists
        for i, value in enumerate(values):
            out[i] = value
        return out

    return DataProto.from_dict(
        tensors={"prompts": prompts, "responses": ids, "attention_mask": mask},
        non_tensors={"reward_model": objects(reward_models), "data_source": objects(data_sources)},
    )

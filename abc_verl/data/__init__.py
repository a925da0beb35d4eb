"""The data verl trains and validates on, and the evaluation sets.

    prompts.py      the paper's training and evaluation prompts (and their rendering for a model)
    rows.py         jsonl / parquet records -> verl rows, with what was left out counted
    benchmarks.py   the packaged eval sets (eval_sets/) by name, or any file: the one benchmark loader
    responses.py    synthetic model responses to the eval problems, for the reward's benchmarks and fault tests
    prepare.py      `abc-verl prepare-data`: train.parquet and <benchmark>.parquet for the recipes

May import: the standard library, pyarrow / datasets, `abc_verl.files` and `abc_verl.rewards.verdict` (the gold
answer as the reward reads it); nothing of verl.
"""

"""`abc-verl eval`: Avg@k / Pass@k of models and verl checkpoints on the paper's benchmarks (DESIGN.md §5).

    abc-verl eval MODEL_OR_RUN_DIR [...] --out DIR      # generate, grade, table and plots
    abc-verl eval score --samples FILE.jsonl --out DIR  # re-grade saved responses, no model

Modules: metrics (pure maths), problems (benchmarks and prompt), checkpoints (model folders, verl's merger),
generate (vLLM on GPU, transformers on CPU), grade (the reward checker in worker processes),
results (atomic files, resume), report (table and plots), score (`eval score`), cli.
"""

"""`abc-verl plot`: entropy, reward and per-quadrant clipping over training, beside the paper's 1.7B runs.

    cli.py           the command: read runs, check them, write curves, summary and the figure
    logs.py          readers of verl's file logs, TRL trainer_state.json files and curve CSVs
    plot.py          the figure (matplotlib)
    paper_curves/    the paper's 1.7B ABC-GRPO and GRPO runs as curves (see its SOURCES.md)

May import: the standard library, matplotlib, `abc_verl.names`, `abc_verl.files` and
`abc_verl.evaluation.results` (the owner of eval result files); nothing of verl or torch.
"""

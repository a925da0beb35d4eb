"""`abc-verl eval`: Avg@k / Pass@k of models and verl checkpoints on the paper's benchmarks (docs/design.md,
"Evaluation protocol").

    abc-verl eval MODEL_OR_RUN_DIR [...] --out DIR      # generate, grade, table and plots
    abc-verl eval score --samples FILE.jsonl --out DIR  # re-grade saved responses, no model
    abc-verl compare A B --out DIR                      # paired comparison of two evaluated checkpoints

    cli.py          the command: what to evaluate, what is finished, one checkpoint at a time
    checkpoints.py  model folders and verl run folders; FSDP shards merged with verl's model merger
    generate.py     vLLM on GPU (fresh processes per checkpoint), transformers on CPU
    grade.py        the training reward's verdict, in worker processes
    orphans.py      worker processes die with the eval process, even when it is SIGKILLed
    metrics.py      Avg@k, Pass@k as the paper reports them, and the unbiased pass@k (pure maths)
    results.py      the one owner of result files: read, write, fingerprint, summarize a pair; resume
    report.py       table and plots; score.py: `eval score`
    stats.py        paired bootstrap intervals, sign-flip p-values, detectable differences, maj@k (pure maths)
    compare.py      `abc-verl compare A B`: which run is better, and how sure
    compare_write.py, compare_plot.py: its compare.md / .csv / .json and compare.png
    simulate.py     simulated pairs of runs like the paper's: coverage and resolution of compare (docs/compare.md)

May import: `abc_verl.data` (benchmarks, prompts), `abc_verl.rewards`, `abc_verl.files`, `abc_verl.cli` (the exit
statuses), the plot helpers of `abc_verl.dynamics.plot`; verl only through its model merger, run as a subprocess;
vLLM only inside its worker processes.
"""

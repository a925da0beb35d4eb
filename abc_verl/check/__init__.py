"""`abc-verl check` and `abc-verl info`: what must hold before a recipe is launched, tested on any machine.

    cli.py       the check's stages in order, one PASS / FAIL / SKIP line each; `main` of `abc-verl check`
    recipes.py   recipe lookup, composition as `main_ppo` does it, the unknown-key check
    launch.py    what the launch will use: trainer class, rollout backend, attention, CUDA build, Ray CPUs
    host.py      what stops a GPU node in its first minute: bf16 arch, /dev/shm, compiler, model, disk, memory
    memory.py    the per-GPU memory estimate of each phase (`estimate(config, gpu_memory_gib)`)
    memory_parts.py  its arithmetic: model shape (models.json or a config.json), recipe knobs, bytes per part
    gpus.py      run by examples/train.sh: fail in seconds when Ray lacks the GPUs a launch asks for
    data.py      the recipe's parquet files and gold answers
    batch.py     the batch verl's reward loop hands a reward manager, built from token lists
    engine.py    real optimizer steps of a loss through verl's FSDP2 engine on CPU (a tiny random Qwen3)
    errors.py    CheckFailed and Skip, raised by every stage
    info.py      `abc-verl info`: is the plugin registered in verl?

May import: verl, Hydra, Ray and every other part of abc_verl; nothing here is imported by the training path.
"""

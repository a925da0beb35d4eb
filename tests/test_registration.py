"""The plugin is registered in every process verl starts: `import verl` alone (entry point), the
VERL_USE_EXTERNAL_MODULES route, a real local Ray worker; registration is idempotent and leaves verl's
own modes alone; the CPU platform stays off unless asked for."""

import importlib
import os
import subprocess
import sys

import pytest

PROBE = (
    "import verl; from verl.trainer.ppo.core_algos import get_policy_loss_fn, get_adv_estimator_fn; "
    "from verl.experimental.reward_loop.reward_manager import get_reward_manager_cls; "
    "print(get_policy_loss_fn('abc').__module__, get_adv_estimator_fn('grpo_paper').__module__, "
    "get_reward_manager_cls('abc_math').__module__)"
)
REGISTERED = ["abc_verl.plugin", "abc_verl.plugin", "abc_verl.rewards.manager"]


def run_python(code: str, *flags: str, **env: str) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k not in ("VERL_PLATFORM", "VERL_USE_EXTERNAL_MODULES")}
    full_env.update(env)
    cmd = [sys.executable, *flags, "-c", code]
    return subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=300)


def test_import_verl_alone_registers_through_the_entry_point():
    result = run_python(PROBE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == REGISTERED


def test_deprecation_warnings_as_errors_do_not_stop_registration_half_way():
    """Ray raises a DeprecationWarning while verl's reward loop imports; as an error it once left "abc_math" out."""
    result = run_python(PROBE, "-W", "error::DeprecationWarning")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == REGISTERED


def test_a_plugin_that_fails_half_way_registers_nothing_and_says_so_on_stderr():
    code = (
        "import sys; sys.modules['abc_verl.rewards.manager'] = None\n"  # importing the manager raises ImportError
        "import verl; from verl.trainer.ppo.core_algos import ADV_ESTIMATOR_REGISTRY, POLICY_LOSS_REGISTRY\n"
        "print('abc' in POLICY_LOSS_REGISTRY, 'grpo_paper' in ADV_ESTIMATOR_REGISTRY)"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]
    assert "abc_verl: the plugin failed to load, so none of 'abc', 'grpo_paper', 'abc_math' is registered" in (
        result.stderr
    )


def test_verl_use_external_modules_registers_without_the_entry_point():
    result = run_python(PROBE, VERL_USE_EXTERNAL_PLUGINS="none", VERL_USE_EXTERNAL_MODULES="abc_verl")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == REGISTERED
    # and without either route nothing registers: the probe above really tests the route
    result = run_python(PROBE, VERL_USE_EXTERNAL_PLUGINS="none")
    assert result.returncode != 0 and "Unsupported loss mode: abc" in result.stderr


@pytest.mark.parametrize(
    "first",
    ["abc_verl.config", "abc_verl.plugin", "abc_verl.cpu.platform", "abc_verl.advantage", "abc_verl.rewards.manager"],
)
def test_registration_survives_any_import_order(first):
    """verl loads the plugin in the middle of `import verl`, maybe while one of our modules is importing verl."""
    result = run_python(f"import {first}; " + PROBE, VERL_PLATFORM="cpu")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-3:] == REGISTERED


def test_registration_is_idempotent_and_leaves_builtins_alone():
    from verl.experimental.reward_loop.reward_manager import NaiveRewardManager
    from verl.experimental.reward_loop.reward_manager.registry import REWARD_MANAGER
    from verl.trainer.ppo import core_algos

    import abc_verl.plugin
    from abc_verl.rewards.manager import ABCMathRewardManager

    before = dict(core_algos.POLICY_LOSS_REGISTRY), dict(core_algos.ADV_ESTIMATOR_REGISTRY), dict(REWARD_MANAGER)
    importlib.reload(abc_verl.plugin)  # a second registration from the same module must not raise
    assert core_algos.POLICY_LOSS_REGISTRY == before[0]
    assert core_algos.ADV_ESTIMATOR_REGISTRY == before[1]
    assert REWARD_MANAGER == before[2] and REWARD_MANAGER["abc_math"] is ABCMathRewardManager
    assert REWARD_MANAGER["naive"] is NaiveRewardManager
    assert core_algos.POLICY_LOSS_REGISTRY["vanilla"] is core_algos.compute_policy_loss_vanilla
    assert core_algos.ADV_ESTIMATOR_REGISTRY["grpo"] is core_algos.compute_grpo_outcome_advantage


def test_a_name_taken_by_another_module_is_not_replaced(caplog):
    from verl.trainer.ppo import core_algos

    import abc_verl.plugin

    def foreign(**kwargs):
        raise AssertionError

    saved = core_algos.POLICY_LOSS_REGISTRY["abc"]
    core_algos.POLICY_LOSS_REGISTRY["abc"] = foreign
    try:
        importlib.reload(abc_verl.plugin)
        assert core_algos.POLICY_LOSS_REGISTRY["abc"] is foreign
        assert "already registered" in caplog.text
    finally:
        core_algos.POLICY_LOSS_REGISTRY["abc"] = saved


def test_registered_inside_a_real_local_ray_worker():
    ray = pytest.importorskip("ray")

    @ray.remote(num_cpus=0)
    def probe() -> tuple[str, str, str, str]:
        import verl  # noqa: F401  # a fresh worker process: only verl's plugin discovery can register us
        from verl.experimental.reward_loop.reward_manager import get_reward_manager_cls
        from verl.trainer.ppo.core_algos import get_adv_estimator_fn, get_policy_loss_fn

        loss, adv = get_policy_loss_fn("abc").__module__, get_adv_estimator_fn("grpo_paper").__module__
        return loss, adv, get_reward_manager_cls("abc_math").__module__, str(os.getpid())

    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        *modules, pid = ray.get(probe.remote(), timeout=240)
    finally:
        ray.shutdown()
    assert modules == REGISTERED
    assert pid != str(os.getpid())


def test_info_command_reports_the_plugin_active():
    result = subprocess.run([sys.executable, "-m", "abc_verl.cli", "info"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS loss mode 'abc': abc_verl.plugin.compute_policy_loss_abc" in result.stdout
    assert "PASS adv estimator 'grpo_paper'" in result.stdout
    assert "PASS reward manager 'abc_math': abc_verl.rewards.manager.ABCMathRewardManager" in result.stdout


def test_cpu_platform_is_off_unless_asked_for():
    code = "import verl; from verl.plugin.platform import PlatformRegistry; print(PlatformRegistry.registered_names())"
    assert "'cpu'" not in run_python(code).stdout
    asked = run_python(
        code + "; from verl.utils.device import get_device_name; print(get_device_name())", VERL_PLATFORM="cpu"
    )
    assert asked.returncode == 0, asked.stderr
    assert asked.stdout.split()[-1] == "cpu"

"""The test session's isolation from the machine (tests/conftest.py): a new empty HOME, no ABC_VERL_* variable.

pytest tests/test_isolation.py
"""

import os
from pathlib import Path


def test_home_is_the_sessions_own_folder(test_home):
    assert Path.home() == test_home
    assert Path("~/data/abc_verl").expanduser() == test_home / "data" / "abc_verl"  # the recipes' default


def test_no_abc_verl_variable_reaches_a_test():
    assert [name for name in os.environ if name.startswith("ABC_VERL_")] == []


def test_the_default_data_folder_is_empty_for_the_default_check(test_home):
    from abc_verl.data.prepare import default_data_dir

    assert default_data_dir() == test_home / "data" / "abc_verl" and not default_data_dir().exists()

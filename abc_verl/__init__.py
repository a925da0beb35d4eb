"""abc-verl: ABC-GRPO (four-boundary clipping for GRPO, arXiv 2601.03895) as a verl plugin.

verl imports `abc_verl.plugin` itself (entry point "verl.plugins", or VERL_USE_EXTERNAL_MODULES=abc_verl),
which registers loss mode "abc" and advantage estimator "grpo_paper". Importing this package without verl
loaded stays light, so the pure-torch maths in `abc_verl.objective` works where verl is not installed.
"""

import sys

__version__ = "0.1.0"

if "verl" in sys.modules:  # imported by verl (VERL_USE_EXTERNAL_MODULES) or after it: register now
    from abc_verl import plugin as _plugin  # noqa: F401

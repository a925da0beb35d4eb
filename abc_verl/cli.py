"""The `abc-verl` command: one subcommand per job, each implemented by the module named below.

    abc-verl info                      # is the plugin active in verl? version, loss modes, estimators
    abc-verl check [recipe] [k=v ...]  # pre-flight check of a recipe on CPU
    abc-verl prepare-data ...          # training and eval parquet files for verl
    abc-verl eval ...                  # Avg@k / Pass@k of checkpoints; `abc-verl eval score` re-grades samples
    abc-verl compare A B --out DIR     # is B better than A? paired intervals, p-values, per-problem tables
    abc-verl plot ...                  # training-dynamics figure from verl / TRL logs

Each module exposes `main(argv: list[str]) -> int`; it is imported only when its subcommand runs. Every
subcommand follows EXIT_STATUS (shown by `abc-verl --help`).
"""

import importlib
import sys
from collections.abc import Callable

COMMANDS = {
    "info": ("abc_verl.check.info", "is the plugin active? version, loss modes and estimators registered in verl"),
    "check": ("abc_verl.check.cli", "pre-flight check of a recipe on CPU, before any GPU is touched"),
    "prepare-data": ("abc_verl.data.prepare", "write verl parquet files for training and evaluation"),
    "eval": ("abc_verl.evaluation.cli", "Avg@k / Pass@k of a model or of every checkpoint of a run"),
    "compare": ("abc_verl.evaluation.compare", "is run B better than run A? paired intervals and per-problem tables"),
    "plot": ("abc_verl.dynamics.cli", "entropy and per-quadrant clipping over training, beside the paper's runs"),
}


# where a newcomer starts: the README's two commands (in the clone, with its .venv active), then a command's own help
START = """
where to start (in the clone, with its .venv active; README.md):
  abc-verl check && examples/tiny_cpu_abc.sh   # the main job on CPU: pre-flight check, then ABC-GRPO on a tiny Qwen3
  pytest                                       # the tests (installed with pip install -e ".[test]")
a command's options and examples: abc-verl <command> --help
"""

EXIT_STATUS = """exit status, every command:
  0    done (every check passed)
  1    it ran and failed: a check FAILed, the plugin is not registered, the output folder is busy or unwritable
  2    wrong command line or input, found before any work (the message names the flag, key or file)
  130  interrupted (Ctrl-C); finished results are kept, and re-running resumes where a command can
"""


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {help_}" for name, (_, help_) in COMMANDS.items()]
    return "usage: abc-verl <command> [args...]\n\ncommands:\n" + "\n".join(lines) + "\n\n" + EXIT_STATUS + START


def exit_status(prog: str, body: Callable[[], int], interrupted: str = "interrupted") -> int:
    """`body()`'s status, with its errors turned into EXIT_STATUS's codes and one line on stderr (no traceback):
    a wrong command line or input (ValueError, a missing file) 2; a run that failed (a busy, full or read-only
    output folder, an engine that died: OSError, RuntimeError) 1; Ctrl-C 130."""
    try:
        return body()
    except KeyboardInterrupt:
        print(f"\n{prog}: {interrupted}", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError) as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    except (OSError, RuntimeError) as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(usage(), end="")
        return 0
    if argv[0] in ("-V", "--version"):
        from abc_verl import __version__

        print(f"abc-verl {__version__}")
        return 0
    if argv[0] not in COMMANDS:
        print(f"abc-verl: unknown command {argv[0]!r}\n\n{usage()}", end="", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[argv[0]][0])
    try:
        return module.main(argv[1:])
    except KeyboardInterrupt:
        print(f"\nabc-verl {argv[0]}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

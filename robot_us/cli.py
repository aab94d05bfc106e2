"""The ``robot-us`` command line: one module per subcommand under ``robot_us.commands``,
chosen from a registry. Command modules import heavy dependencies inside ``run`` only, so
``robot-us --help`` stays fast."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from robot_us import __version__

#: Subcommand name -> module (each module has ``HELP``, ``add_arguments(parser)`` and
#: ``run(args) -> int``).
COMMANDS: dict[str, str] = {
    "config": "robot_us.commands.config",
    "calibrate": "robot_us.commands.calibrate",
    "map-stroke": "robot_us.commands.map_stroke",
    "sim-scene": "robot_us.commands.sim_scene",
    "demo": "robot_us.commands.demo",
    "quality": "robot_us.commands.quality",
    "train-quality": "robot_us.commands.train_quality",
    "plan": "robot_us.commands.plan",
    "recording": "robot_us.commands.recording",
    "keys": "robot_us.commands.keys",
    "bringup": "robot_us.commands.bringup",
    "reconstruct": "robot_us.commands.reconstruct",
    "igtl": "robot_us.commands.igtl",
    "report": "robot_us.commands.report",
    "gui": "robot_us.commands.gui",
}


#: Exit codes: success, the command ran and failed (a scan that did not finish, a file
#: system or missing-dependency error), bad usage or input, and an internal error (a bug).
#: A run stopped by a signal exits with 128 + the signal number (130 SIGINT, 143 SIGTERM).
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INPUT = 2
EXIT_BUG = 70  # sysexits EX_SOFTWARE

#: Errors of bad input: the command's input or its arguments are wrong (exit 2). The
#: project's own input errors (ConfigError, FileFormatError, RecordingFormatError,
#: OutputExistsError ...) are ValueErrors; a missing input file is FileNotFoundError.
INPUT_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,
    LookupError,
    FileNotFoundError,
    IsADirectoryError,
    NotADirectoryError,
)


class CommandError(RuntimeError):
    """A command failed on bad input; the message is printed without a traceback."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="robot-us",
        description="Robotic ultrasound scanning: simulation, planning, force control, "
        "image quality.",
    )
    parser.add_argument("--version", action="version", version=f"robot-us {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``robot-us`` console script; returns the exit code. Errors are
    one line on stderr, never a traceback: input errors exit 2, failures 1, and an
    unexpected exception (a bug) 70 with the traceback written to a log file."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_INPUT
    name = f"robot-us {args.command}"
    try:
        return int(args._module.run(args) or 0)
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return 130
    except INPUT_ERRORS as exc:
        print(f"{name}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_INPUT
    except CommandError as exc:
        print(f"{name}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_FAILED
    except RecursionError:
        print(f"{name}: error: input nested too deeply to read", file=sys.stderr)
        return EXIT_INPUT
    except MemoryError:
        print(f"{name}: error: out of memory (is an input file far too large?)", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:
        print(f"{name}: error: {_os_error(exc)}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:
        if _is_device_failure(exc):
            print(f"{name}: error: {_one_line(exc)}", file=sys.stderr)
            return EXIT_FAILED
        log = _write_bug_report(name, argv)
        print(
            f"{name}: internal error (a bug, please report it): {type(exc).__name__}: "
            f"{_one_line(exc)}; traceback in {log}",
            file=sys.stderr,
        )
        return EXIT_BUG


def _is_device_failure(exc: BaseException) -> bool:
    """A device failed, did not answer or needs a missing vendor SDK (``BackendError``;
    its module is looked up only if loaded, so the command line starts without numpy)."""
    backends = sys.modules.get("robot_us.core.backends")
    return backends is not None and isinstance(exc, backends.BackendError)


def _one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line (what a KeyError's repr adds is dropped)."""
    text = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
    return " ".join(str(text).split()) or type(exc).__name__


def _os_error(exc: OSError) -> str:
    """``[what failed]: file`` of a file-system error."""
    what = exc.strerror or _one_line(exc)
    files = [f for f in (exc.filename, exc.filename2) if f is not None]
    return f"{what}: {' -> '.join(str(f) for f in files)}" if files else what


def _write_bug_report(name: str, argv: list[str] | None) -> str:
    """Write the current exception's traceback to a new temporary file; its path."""
    import tempfile
    import traceback

    fd, path = tempfile.mkstemp(prefix="robot-us-bug-", suffix=".log")
    with os.fdopen(fd, "w") as f:
        f.write(f"{name} (robot-us {__version__}, Python {sys.version.split()[0]})\n")
        f.write(f"argv: {sys.argv[1:] if argv is None else argv}\n\n")
        f.write(traceback.format_exc())
    return path


if __name__ == "__main__":
    sys.exit(main())

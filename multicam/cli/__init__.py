"""The ``multicam`` command line. Each sub-command lives in its own module of this package."""

from __future__ import annotations

import logging
import signal
import sys
import threading

import typer

from multicam.errors import MulticamError, Terminated

app = typer.Typer(
    name="multicam",
    help="Label players and the ball once on one camera; get their masks in every synchronized angle.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show the traceback of an unexpected error (for bug reports)."),
) -> None:
    """multicam: one SAM 2 state across every synchronized camera of a game."""


# Each module registers its commands on `app` when imported.
from multicam.cli import (  # noqa: E402,F401
    batch,
    calibrate,
    check,
    dashboard,
    eval,
    export,
    info,  # noqa: E402,F401
    models,
    positions,
    process,
    render,
    report,
    sync,  # noqa: E402,F401
    synth,  # noqa: E402,F401
)

_terminated_by: list[str] = []  # the signal that stopped this process, if one did


def _terminate(signum: int, _frame) -> None:
    name = signal.Signals(signum).name
    _terminated_by.append(name)
    raise Terminated(f"stopped by signal {name}")


def main() -> None:
    """Entry point: user errors are printed as one clear message, without a traceback.

    Exit status: the command's (``typer.Exit``), 2 for a user error, 1 for an unexpected error
    (one line and a crash log with the traceback, see :mod:`multicam.cli.guard`; ``--debug``
    shows it), 130 after Ctrl-C, 143 after SIGTERM. SIGTERM is handled like Ctrl-C, so a run stopped by ``kill`` or a job scheduler is
    closed as ``interrupted`` (resumable) rather than left ``running``.
    """
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    from multicam.cli import guard

    debug = guard.debug_requested(sys.argv[1:])

    def error(line: str) -> None:
        typer.secho(line, fg=typer.colors.RED, err=True)

    try:
        # without standalone mode typer returns the exit code of `typer.Exit` (130 for Ctrl-C)
        code = app(standalone_mode=False)
    except MulticamError as exc:
        if debug:
            guard.show_traceback(exc)
        error(f"error: {exc}")
        sys.exit(2)
    except KeyboardInterrupt:
        code = 130
    except SystemExit:
        raise
    except typer.Abort:
        sys.exit(1)
    except Exception as exc:  # usage errors of (typer's own copy of) click, then the rest
        if callable(getattr(exc, "show", None)) and isinstance(getattr(exc, "exit_code", None), int):
            exc.show()  # "Usage: ... Error: No such option: --fast", exit code 2
            sys.exit(exc.exit_code)
        message = guard.os_error_message(exc) if isinstance(exc, OSError) else None
        if debug:
            guard.show_traceback(exc)
            sys.exit(2 if message else 1)
        if message is not None:
            error(f"error: {message}")
            sys.exit(2)
        sys.exit(guard.report_crash(exc, sys.argv, error))
    if _terminated_by:
        typer.secho(f"interrupted: stopped by signal {_terminated_by[0]}", fg=typer.colors.YELLOW, err=True)
        sys.exit(128 + signal.SIGTERM)
    if code == 130:
        typer.secho("interrupted", fg=typer.colors.YELLOW, err=True)
    sys.exit(code if isinstance(code, int) else 0)

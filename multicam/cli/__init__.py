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
def _root() -> None:
    """multicam: one SAM 2 state across every synchronized camera of a game."""


# Each module registers its commands on `app` when imported.
from multicam.cli import (  # noqa: E402,F401  # noqa: E402,F401  # noqa: E402,F401
    dashboard,
    eval,
    export,
    info,  # noqa: E402,F401
    models,
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

    Exit status: the command's (``typer.Exit``), 2 for a user error, 130 after Ctrl-C, 143 after
    SIGTERM. SIGTERM is handled like Ctrl-C, so a run stopped by ``kill`` or a job scheduler is
    closed as ``interrupted`` (resumable) rather than left ``running``.
    """
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    try:
        # without standalone mode typer returns the exit code of `typer.Exit` (130 for Ctrl-C)
        code = app(standalone_mode=False)
    except MulticamError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        code = 130
    except SystemExit:
        raise
    except typer.Abort:
        sys.exit(1)
    except Exception as exc:  # usage errors: click's exceptions (typer >= 0.26 carries its own copy of click)
        show, exit_code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if callable(show) and isinstance(exit_code, int):
            show()
            sys.exit(exit_code)
        raise
    if _terminated_by:
        typer.secho(f"interrupted: stopped by signal {_terminated_by[0]}", fg=typer.colors.YELLOW, err=True)
        sys.exit(128 + signal.SIGTERM)
    if code == 130:
        typer.secho("interrupted", fg=typer.colors.YELLOW, err=True)
    sys.exit(code if isinstance(code, int) else 0)

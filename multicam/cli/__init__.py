"""The ``multicam`` command line. Each sub-command lives in its own module of this package."""

from __future__ import annotations

import logging
import sys

import typer

from multicam.errors import MulticamError

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
from multicam.cli import info  # noqa: E402,F401
from multicam.cli import models, process  # noqa: E402,F401
from multicam.cli import synth  # noqa: E402,F401
from multicam.cli import sync  # noqa: E402,F401
from multicam.cli import dashboard, render  # noqa: E402,F401
from multicam.cli import eval, export, report  # noqa: E402,F401


def main() -> None:
    """Entry point: user errors are printed as one clear message, without a traceback."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        app(standalone_mode=False)
    except MulticamError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.secho("interrupted", fg=typer.colors.YELLOW, err=True)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # click usage errors and friends
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            sys.exit(1)
        raise

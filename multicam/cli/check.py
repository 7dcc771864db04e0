"""``multicam check RUN``: is a run whole? Every masks line, frame counts against the manifest, and its state."""

from __future__ import annotations

from pathlib import Path

import typer

from multicam.cli import app


@app.command()
def check(run: Path = typer.Argument(..., help="The run directory (or ground-truth folder) to check.")) -> None:
    """Read every masks line and compare the frames with the manifest; say whether the run crashed and can resume.

    Exit status: 0 when the run is whole (complete or still running), 1 when it is incomplete or damaged.
    """
    from multicam.integrity import check_run

    result = check_run(run)
    typer.echo(f"{result.path}: {result.kind}, {result.verdict}")
    for cam in result.cameras:
        counted = "" if cam.frames_written is None else f", manifest says {cam.frames_written} written"
        typer.echo(f"  {cam.camera:<12} {cam.distinct:>6d} of {cam.frame_count} frames{counted}")
    for problem in result.problems:
        color = typer.colors.RED if problem.severity == "error" else typer.colors.YELLOW
        typer.secho(f"{problem.severity}: {problem}", fg=color, err=True)
    if result.errors or result.state not in ("complete", "running"):
        raise typer.Exit(1)

"""``multicam export RUN --format davis|coco|mot``: masks in standard formats for other tools."""

from __future__ import annotations

from pathlib import Path

import typer

from multicam.cli import app
from multicam.manifest import UNTRAINED_WARNING


@app.command()
def export(
    run: Path = typer.Argument(..., help="The run directory (or ground-truth folder) to export."),
    fmt: str = typer.Option(
        ..., "--format", "-f", help="davis (indexed PNGs), coco (JSON with RLE) or mot (MOTChallenge boxes)."
    ),
    out: Path | None = typer.Option(None, "--out", help="Output folder [default: RUN/export]."),
    camera: list[str] | None = typer.Option(None, "--camera", help="Only this camera (repeatable)."),
) -> None:
    """Write a run's masks as DAVIS PNGs, COCO JSON or MOTChallenge files, one set per camera."""
    from multicam.export import export as run_export
    from multicam.integrity import usable_run
    from multicam.progress import progress

    r, warnings = usable_run(run, what="export")
    for line in warnings:
        typer.secho(f"warning: {line}", fg=typer.colors.YELLOW, err=True)
    out_dir = out if out is not None else r.path / "export"
    fmt = fmt.lower()
    paths = []
    for path in progress(run_export(r, fmt, out_dir, camera or None), desc=f"export {fmt}", unit="file", leave=False):
        paths.append(path)
    if r.untrained:
        typer.secho(
            f"note: {UNTRAINED_WARNING}",
            fg=typer.colors.RED,
            bold=True,
        )
    typer.echo(f"wrote {len(paths)} {fmt} file(s) under {out_dir / fmt}")

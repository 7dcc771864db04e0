"""``multicam positions RUN``: every object's floor position, speed and distance (positions.csv)."""

from __future__ import annotations

from pathlib import Path

import typer

from multicam.cli import app


@app.command()
def positions(
    run: Path = typer.Argument(..., help="The run directory (or ground-truth folder)."),
    calibration: Path | None = typer.Option(
        None, "--calibration", help="calibration.json with K, R, t per camera (default: the game's)."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Folder for positions.csv (default: RUN; RUN/report for ground truth)."
    ),
    tolerance_m: float = typer.Option(
        1.0, "--tolerance-m", min=0.0, help="A camera this far (m) from the others is dropped."
    ),
) -> None:
    """Fuse every camera's view into floor positions per object and game-time step; the ball in 3-D."""
    from multicam.court.analysis import analyse_run, find_calibration, load_court, positions_path, write_positions
    from multicam.court.positions import PositionOptions
    from multicam.court.templates import CourtError
    from multicam.rundir import open_run

    r = open_run(run)
    cal = calibration if calibration is not None else find_calibration(r)
    if cal is None:
        raise CourtError(
            f"{run}: no calibration found for this run's game; run `multicam calibrate` or pass --calibration"
        )
    cameras, template = load_court(cal)
    analysis = analyse_run(r, cameras, template, PositionOptions(tolerance_m=tolerance_m))
    path = write_positions(analysis, positions_path(r, out))
    for note in analysis.notes:
        typer.secho(f"note: {note}", fg=typer.colors.YELLOW)
    rows = analysis.positions.rows
    typer.echo(
        f"{len(analysis.steps)} steps, {len({x.object_id for x in rows})} objects, cameras {list(analysis.positions.cameras)}"
    )
    for oid in sorted({x.object_id for x in rows}):
        tr = [x for x in analysis.positions.track(oid) if x.x_m is not None]
        if tr:
            top = max((x.speed_mps or 0.0) for x in tr)
            typer.echo(f"  {oid:>3} {tr[0].name:<12} {tr[-1].distance_m or 0:7.1f} m covered, top speed {top:5.1f} m/s")
    for m in analysis.moments:
        typer.echo(
            f"  identity: camera {m.camera} {m.kind.replace('_', ' ')} {m.object_id}/{m.other_id} "
            f"at {analysis.steps[m.start_step].time:.2f}-{analysis.steps[m.end_step].time:.2f} s"
        )
    typer.echo(f"wrote {path}")

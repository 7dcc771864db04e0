"""``multicam render RUN``: annotated per-camera videos and a synchronized mosaic (H.264 MP4)."""

from __future__ import annotations

from pathlib import Path

import typer

from multicam.cli import app


@app.command()
def render(
    run: Path = typer.Argument(..., help="Run directory (runs/<game>/<name>N) or a ground-truth folder."),
    out: Path = typer.Option(None, "--out", help="Output folder (default: RUN/render)."),
    camera: list[str] = typer.Option(None, "--camera", help="Only this camera (repeat for several)."),
    mosaic: bool = typer.Option(True, "--mosaic/--no-mosaic", help="Also write mosaic.mp4, all angles in sync."),
    court: bool = typer.Option(
        True, "--court/--no-court", help="Add the court seen from above to the mosaic when the game has a calibration."
    ),
    mosaic_width: int = typer.Option(
        1920, "--mosaic-width", min=0, help="Most pixels across the mosaic (tiles scaled to fit); 0: unscaled."
    ),
    gt: bool = typer.Option(False, "--gt", help="Draw the game's ground truth as thin white contours."),
    game: Path = typer.Option(None, "--game", help="Game file, when the run's manifest does not name it."),
    opacity: float = typer.Option(0.5, "--opacity", min=0.0, max=1.0, help="Mask fill opacity."),
    outline: bool = typer.Option(False, "--outline", help="Draw mask contours only, no fill."),
    boxes: bool = typer.Option(False, "--boxes", help="Also draw each object's box."),
) -> None:
    """Write one annotated video per camera and a synchronized mosaic of all angles, in one pass over the clips."""
    from multicam.integrity import usable_run
    from multicam.progress import progress
    from multicam.render import OverlayStyle, render_run

    opened, warnings = usable_run(run, what="render")
    for line in warnings:
        typer.secho(f"warning: {line}", fg=typer.colors.YELLOW, err=True)
    style = OverlayStyle(opacity=opacity, mode="outline" if outline else "fill", boxes=boxes)
    with progress(desc="render", unit="frame", leave=False) as bar:
        result = render_run(
            opened,
            out_dir=out,
            cameras=camera or None,
            with_mosaic=mosaic,
            with_ground_truth=gt,
            game_path=game,
            style=style,
            mosaic_width=mosaic_width,
            with_court=court,
            progress=lambda name, n: bar.update(n),
        )
    for line in result.notes:
        typer.secho(f"warning: {line}", fg=typer.colors.YELLOW, err=True)
    for video in result.videos:
        w, h = video.resolution_wh
        typer.echo(f"{video.path.stem:<12} {video.frame_count:>6d} frames  {w}x{h}  {video.fps:g} fps  -> {video.path}")
    rate = result.camera_frames / result.seconds if result.seconds > 0 else 0.0
    typer.echo(f"{result.camera_frames} camera frames in {result.seconds:.1f} s ({rate:.1f} frames/s)")

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
    gt: bool = typer.Option(False, "--gt", help="Draw the game's ground truth as thin white contours."),
    game: Path = typer.Option(None, "--game", help="Game file, when the run's manifest does not name it."),
    opacity: float = typer.Option(0.5, "--opacity", min=0.0, max=1.0, help="Mask fill opacity."),
    outline: bool = typer.Option(False, "--outline", help="Draw mask contours only, no fill."),
    boxes: bool = typer.Option(False, "--boxes", help="Also draw each object's box."),
) -> None:
    """Write one annotated video per camera and a synchronized mosaic of all angles."""
    from multicam.integrity import usable_run
    from multicam.progress import progress
    from multicam.render import OverlayStyle, plan_render, write_video

    opened, warnings = usable_run(run, what="render")
    for line in warnings:
        typer.secho(f"warning: {line}", fg=typer.colors.YELLOW, err=True)
    style = OverlayStyle(opacity=opacity, mode="outline" if outline else "fill", boxes=boxes)
    jobs = plan_render(
        opened,
        out_dir=out,
        cameras=camera or None,
        with_mosaic=mosaic,
        with_ground_truth=gt,
        game_path=game,
        style=style,
    )
    for job in jobs:
        frames = progress(job.frames(), total=job.total, desc=job.name, unit="frame", leave=False)
        result = write_video(frames, job.path, job.fps)
        w, h = result.resolution_wh
        typer.echo(f"{job.name:<12} {result.frame_count:>6d} frames  {w}x{h}  {result.fps:g} fps  -> {result.path}")

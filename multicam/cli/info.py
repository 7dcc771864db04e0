"""``multicam info GAME.yaml``: validate a game file and describe its cameras."""

from __future__ import annotations

from pathlib import Path

import typer

from multicam.cli import app


@app.command()
def info(game: Path = typer.Argument(..., help="The game file (YAML).")) -> None:
    """Validate a game file and print each camera's resolution, fps, frames, duration and offset."""
    from multicam.session import describe_overlap, open_game

    opened = open_game(game)
    cfg = opened.game.config
    typer.echo(f"game {cfg.name}  ({opened.game.path})")
    typer.echo(
        f"reference camera: {cfg.reference}   layout: {cfg.processing.layout}   "
        f"model: {cfg.model.checkpoint or cfg.model.name}"
    )
    header = (
        f"{'camera':<12} {'resolution':>11} {'fps':>7} {'frames':>7} {'duration':>9} {'offset':>9} audio  "
        f"overlap with the reference (game time)"
    )
    typer.echo(header)
    typer.echo("-" * len(header))
    for cam in opened.timeline.cameras:
        info_ = opened.clips[cam.name]
        w, h = info_.resolution_wh
        mark = " (ref)" if cam.name == cfg.reference else ""
        auto = " (auto)" if cam.name in opened.offsets_resolved else ""
        typer.echo(
            f"{cam.name + mark:<12} {f'{w}x{h}':>11} {info_.fps:>7.3f} {info_.frame_count:>7d} "
            f"{info_.duration:>8.2f}s {cam.offset:>+8.3f}s {'yes' if info_.has_audio else 'no ':<5}"
            f"  {describe_overlap(opened.timeline, cam.name)}{auto}"
        )
    objs = opened.prompts.merged()
    typer.echo(f"objects: {len(objs)}" + (": " + ", ".join(f"{o.id} {o.name}" for o in objs) if objs else ""))
    typer.echo(f"game time: {opened.timeline.start:.2f}s to {opened.timeline.end:.2f}s")

"""``multicam sync GAME.yaml``: estimate each camera's offset against the reference camera."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from multicam.cli import app


class _Method(str, Enum):
    auto = "auto"
    audio = "audio"
    visual = "visual"
    geometry = "geometry"


_HELP = (
    "Estimate each camera's offset (game time of its first frame) against the reference camera.\n\n"
    "Prints the offset in seconds and in reference frames, the confidence and the method used. "
    "Cameras whose offset is already a number are re-estimated and both values are shown. "
    "With --write the offsets are stored in the game file (comments and layout kept)."
)


@app.command(help=_HELP)
def sync(
    game: Path = typer.Argument(..., help="The game file (YAML)."),
    write: bool = typer.Option(
        False,
        "--write",
        help="Store the estimated offsets in the game file (comments and the rest of the file are kept).",
    ),
    method: _Method = typer.Option(
        _Method.auto,
        "--method",
        help="audio: the sound; visual: the pictures' motion; geometry: where the calibrated cameras see "
        "things on the floor; auto: the sound when both clips have some, else the pictures.",
    ),
    max_offset: float | None = typer.Option(
        None, "--max-offset", min=0.001, help="Largest |offset| (s) to consider; default: any."
    ),
    min_confidence: float | None = typer.Option(
        None, "--min-confidence", min=0.0, max=1.0, help="Refuse answers below this confidence (0..1)."
    ),
    camera: list[str] | None = typer.Option(
        None, "--camera", "-c", help="Only this camera (repeat for several); default: all."
    ),
) -> None:
    """Estimate each camera's offset (game time of its first frame) against the reference camera."""
    from multicam.clips import probe_clip
    from multicam.errors import ClipError
    from multicam.game import load_game
    from multicam.sync import SyncError, SyncOptions, SyncResult, estimate_offsets, write_offsets
    from multicam.sync.estimate import DEFAULT_MIN_CONFIDENCE

    loaded = load_game(game)
    cfg = loaded.config
    names = list(camera) if camera else [n for n in cfg.camera_names if n != cfg.reference]
    for name in names:
        cfg.camera(name)  # unknown names: a clear GameFileError
    names = [n for n in names if n != cfg.reference]
    if not names:
        typer.echo(f"nothing to synchronize: the only camera named is the reference {cfg.reference!r}")
        return
    infos = {}
    for name in [cfg.reference, *names]:
        try:
            infos[name] = probe_clip(loaded.video_path(name))
        except ClipError as exc:
            raise ClipError(f"camera {name!r}: {exc}") from None
    options = SyncOptions(
        method=method.value,
        max_offset=max_offset,
        min_confidence=DEFAULT_MIN_CONFIDENCE if min_confidence is None else min_confidence,
    )
    results = estimate_offsets(loaded, infos, names, options, on_error="collect")

    ref_fps = infos[cfg.reference].fps
    typer.echo(f"reference camera: {cfg.reference} ({ref_fps:.3f} fps)   method: {options.method}")
    header = f"{'camera':<12} {'offset':>10} {'ref frames':>10} {'confidence':>10} {'method':>15}   game file"
    typer.echo(header)
    typer.echo("-" * (len(header) + 12))
    failures: list[SyncError] = []
    for name in names:
        written = cfg.camera(name).offset
        in_file = "auto" if written == "auto" else f"{float(written):+.4f}s"
        r = results[name]
        if isinstance(r, SyncResult):
            diff_ms = round(1000 * (r.offset - float(written)), 1) + 0.0 if written != "auto" else 0.0
            diff = "" if written == "auto" else f" (differs by {diff_ms:+.1f} ms)"
            typer.echo(
                f"{name:<12} {r.offset:>+9.4f}s {r.offset_frames:>+10.2f} {r.confidence:>10.2f} "
                f"{r.method:>15}   {in_file}{diff}"
            )
            for note in r.notes:
                typer.echo(f"{'':<12} note: {note}")
        else:
            failures.append(r)
            typer.echo(f"{name:<12} {'-':>10} {'-':>10} {'-':>10} {'-':>15}   {in_file}   (not synchronized)")
    if write:
        done = {n: r.offset for n, r in results.items() if isinstance(r, SyncResult)}
        if done:
            write_offsets(loaded.path, done)
            typer.echo(f"wrote the offsets of {', '.join(done)} to {loaded.path}")
        if failures:
            typer.echo("left unchanged: " + ", ".join(n for n, r in results.items() if isinstance(r, SyncError)))
    if failures:
        raise SyncError("\n".join(str(f) for f in failures))

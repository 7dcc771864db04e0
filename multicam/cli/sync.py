"""``multicam sync GAME.yaml``: estimate each camera's offset against the reference camera."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from multicam.cli import app

if TYPE_CHECKING:
    from multicam.game import Game
    from multicam.sync import SyncError, SyncResult


class _Method(str, Enum):
    auto = "auto"
    audio = "audio"
    visual = "visual"
    geometry = "geometry"


_HELP = (
    "Estimate each camera's offset (game time of its first frame) against the reference camera.\n\n"
    "Prints the offset in seconds and in reference frames, the confidence and the method used. "
    "Cameras whose offset is already a number are re-estimated and both values are shown. "
    "With --write the offsets are stored in the game file (comments and layout kept). "
    "With --from RUN the calibrated cameras' offsets are refined from that run's masks instead."
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
        None,
        "--max-offset",
        min=0.001,
        help="Largest |offset| (s) to consider; default: any. With --from: largest change (s) from the "
        "run's offset; default 1.",
    ),
    min_confidence: float | None = typer.Option(
        None, "--min-confidence", min=0.0, max=1.0, help="Refuse answers below this confidence (0..1)."
    ),
    camera: list[str] | None = typer.Option(
        None, "--camera", "-c", help="Only this camera (repeat for several); default: all."
    ),
    from_run: Path | None = typer.Option(
        None,
        "--from",
        help="A complete run (or ground-truth folder) of this game: refine the calibrated cameras' offsets "
        "from the floor positions of its masks, near the offsets it was made with.",
    ),
) -> None:
    """Estimate each camera's offset (game time of its first frame) against the reference camera."""
    from multicam.clips import probe_clip
    from multicam.errors import ClipError
    from multicam.game import load_game
    from multicam.sync import SyncOptions, estimate_offsets
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
    if from_run is not None:
        if method != _Method.auto:
            raise typer.BadParameter("--from uses the run's masks; leave out --method", param_hint="--method")
        results, ref_fps, label = _from_run(loaded, names, from_run, max_offset, min_confidence)
        _report(loaded, names, results, ref_fps, label, write)
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
    _report(loaded, names, results, infos[cfg.reference].fps, options.method, write)


def _report(
    loaded: Game,
    names: list[str],
    results: Mapping[str, SyncResult | SyncError],
    ref_fps: float,
    label: str,
    write: bool,
) -> None:
    """Print the table of offsets, store them with ``write``; raise the failures as one SyncError."""
    from multicam.sync import SyncError, SyncResult, write_offsets

    cfg = loaded.config
    typer.echo(f"reference camera: {cfg.reference} ({ref_fps:.3f} fps)   method: {label}")
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


def _from_run(
    loaded: Game, names: list[str], path: Path, max_offset: float | None, min_confidence: float | None
) -> tuple[dict[str, SyncResult | SyncError], float, str]:
    """Open the run at ``path``, check it belongs to the game, and refine ``names`` from its masks.

    Returns ``(results, reference fps, method label)``.

    Raises:
        RunDirError: not a run, a run of another game, not complete, or without the reference camera.
        SyncError: the game file names no calibration file.
    """
    from multicam.errors import RunDirError
    from multicam.rundir import open_run
    from multicam.sync import CameraMasks, SyncError, offsets_from_run
    from multicam.sync.estimate import DEFAULT_MIN_CONFIDENCE, calibration_homographies
    from multicam.sync.refine import DEFAULT_WINDOW_S

    cfg = loaded.config
    run = open_run(path)
    if run.game_name != cfg.name:
        raise RunDirError(
            f"--from {path}: a run of the game {run.game_name!r}, not of {cfg.name!r} ({loaded.path}); "
            "pass a run of this game"
        )
    if not run.is_complete:
        raise RunDirError(
            f"--from {path}: the run is {run.status}, not complete; finish it first "
            f"(multicam process --resume {path}) or pass a complete run"
        )
    if cfg.reference not in run.cameras:
        raise RunDirError(
            f"--from {path}: the run has no masks of the reference camera {cfg.reference!r} "
            f"(it has {', '.join(sorted(run.cameras))})"
        )
    calibration = loaded.calibration_path  # a file that is named but missing: load_game said so
    if calibration is None:
        raise SyncError(
            f"--from {path}: the game file {loaded.path} names no calibration file; the masks' floor "
            "positions need the cameras' calibration (multicam calibrate)"
        )
    present = [n for n in [cfg.reference, *names] if n in run.cameras]
    homographies = calibration_homographies(calibration, {n: run.cameras[n].resolution_wh for n in present})
    cameras = {
        n: CameraMasks(
            frames=run.iter_frames(n),
            fps=run.cameras[n].fps,
            offset=run.cameras[n].offset,
            homography=homographies.get(n),
        )
        for n in present
    }
    results = offsets_from_run(
        cfg.reference,
        cameras,
        names,
        window_s=DEFAULT_WINDOW_S if max_offset is None else max_offset,
        min_confidence=DEFAULT_MIN_CONFIDENCE if min_confidence is None else min_confidence,
    )
    return results, run.cameras[cfg.reference].fps, f"geometry (masks of {path})"

"""``multicam calibrate GAME``: calibrate the cameras on the court, or import a calibration."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import typer

from multicam.cli import app

_HELP = (
    "Calibrate the game's cameras against a court template and write calibration.json.\n\n"
    "From clicks: --template NAME --points CLICKS.yaml (at least 4 named landmarks per camera; "
    "see `multicam calibrate --list-templates`). From a file you have: --import FILE (OpenCV "
    "FileStorage .yml/.xml, anipose .toml or JSON), placed on the court with --floor FLOOR.yaml or "
    "with landmarks clicked in 2 or more cameras. Nothing is written when anything is wrong."
)


@app.command(help=_HELP)
def calibrate(
    game: Path = typer.Argument(None, help="The game file (YAML)."),
    template: str | None = typer.Option(
        None, "--template", "-t", help="Court template: a shipped name or your own YAML file."
    ),
    points: Path | None = typer.Option(None, "--points", "-p", help="Landmark clicks per camera (YAML)."),
    import_file: Path | None = typer.Option(
        None, "--import", help="A calibration you have: OpenCV .yml/.yaml/.xml, anipose .toml or .json."
    ),
    floor: Path | None = typer.Option(
        None, "--floor", help="With --import: 3+ points known in the file's frame and on the court (YAML)."
    ),
    camera_name: str | None = typer.Option(
        None, "--camera", help="With a single-camera OpenCV file: the game camera it is for."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Where to write (default: the game's calibration file, else calibration.json beside it)."
    ),
    max_error_px: float | None = typer.Option(
        None, "--max-error-px", min=0.0, help="Largest RMS reprojection error (px) (default: 1 % of the diagonal)."
    ),
    focal_px: float | None = typer.Option(
        None, "--focal-px", min=0.0, help="Known focal length (px) for every clicked camera (default: estimated)."
    ),
    list_templates: bool = typer.Option(False, "--list-templates", help="List the shipped templates and exit."),
) -> None:
    from multicam.court.templates import CourtError, builtin_templates, load_template

    if list_templates:
        for name in builtin_templates():
            t = load_template(name)
            typer.echo(f"{name:<18} {t.length_m:g} x {t.width_m:g} m, {len(t.landmarks)} landmarks  {t.description}")
        return
    if game is None:
        raise CourtError("give the game file: multicam calibrate GAME.yaml --template NAME --points CLICKS.yaml")
    if points is None and import_file is None:
        raise CourtError("give --points CLICKS.yaml (with --template) or --import FILE; see multicam calibrate --help")
    _run(game, template, points, import_file, floor, camera_name, out, max_error_px, focal_px)


def _existing(path: Path) -> tuple[dict, object]:
    """The fully calibrated cameras and the court of an existing calibration file (empty, None when unreadable)."""
    import json

    from multicam.court.analysis import court_template_for
    from multicam.court.camera import cameras_from_json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cameras_from_json(data), court_template_for(data) if (
            "template" in data or "court_size_m" in data
        ) else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}, None


def _open_game(path: Path):
    """The game (config and folder) without requiring its calibration file to exist yet."""
    from pydantic import ValidationError

    from multicam.errors import GameFileError
    from multicam.game import Game, GameConfig, format_validation_error, read_yaml

    data = read_yaml(path, "game file")
    if not isinstance(data, dict):
        raise GameFileError(f"{path}: a game file is a YAML mapping (name:, reference:, cameras: ...)")
    try:
        return Game(GameConfig.model_validate(data), path)
    except ValidationError as exc:
        raise GameFileError(format_validation_error(exc, str(path))) from None


def _run(game_path, template_spec, points, import_file, floor, camera_name, out, max_error_px, focal_px) -> None:  # noqa: C901
    from multicam.clips import probe_clip
    from multicam.court.calibrate import CalibrationOptions, calibrate_camera
    from multicam.court.files import (
        calibration_content,
        check_resolutions,
        load_clicks,
        load_floor,
        place_on_court,
        set_game_calibration,
        write_calibration,
    )
    from multicam.court.importers import read_calibration
    from multicam.court.templates import CourtError, load_template

    game = _open_game(game_path)
    sizes = {c: tuple(probe_clip(game.video_path(c)).resolution_wh) for c in game.config.camera_names}
    clicks = load_clicks(points) if points is not None else None
    spec = template_spec or (clicks.template if clicks is not None else None)
    template = load_template(spec) if spec else None
    if clicks is not None:
        if template is None:
            raise CourtError(f"{points}: no template; pass --template NAME or add 'template: NAME' to the file")
        unknown = [c for c in clicks.cameras if c not in sizes]
        if unknown:
            raise CourtError(f"{points}: camera(s) {unknown} are not in the game; its cameras are {list(sizes)}")
    fits = {}
    rel_cal = game.config.calibration
    target = Path(out) if out is not None else (game.calibration_path or game.root / "calibration.json")
    kept, previous_court = _existing(target)
    if template is None and kept:
        template = previous_court  # an import without --template keeps the court of the calibration it updates
    if import_file is not None:
        cameras = read_calibration(import_file, camera_name)
        if camera_name is not None:
            if len(cameras) != 1:
                raise CourtError(f"{import_file}: --camera is for a file with one camera; it has {sorted(cameras)}")
            if camera_name not in sizes:
                raise CourtError(f"--camera {camera_name}: not a camera of the game; its cameras are {list(sizes)}")
            cameras = {camera_name: dataclasses.replace(next(iter(cameras.values())), name=camera_name)}
        unknown = [c for c in cameras if c not in sizes]
        check_resolutions({**{c: k for c, k in kept.items() if c in sizes}, **cameras}, sizes, str(import_file))
        cameras = {c: k for c, k in cameras.items() if c in sizes}
        cameras, placement = place_on_court(cameras, template, load_floor(floor) if floor else None, clicks)
        source = f"imported from {Path(import_file).name}"
        if unknown:
            typer.secho(
                f"note: camera(s) {unknown} of {import_file} are not in the game; skipped", fg=typer.colors.YELLOW
            )
    else:
        placement = None
        cameras = {}
        for cam, cc in clicks.cameras.items():
            opts = CalibrationOptions(max_error_px=max_error_px, focal_px=cc.focal_px or focal_px)
            try:
                fits[cam] = calibrate_camera(cam, template, cc.points, sizes[cam], opts)
            except CourtError as exc:
                raise CourtError(f"{points}: {exc}") from None
            cameras[cam] = fits[cam].camera
        source = f"clicked landmarks ({Path(points).name})"
    kept = {c: k for c, k in kept.items() if c in sizes and c not in cameras and tuple(k.resolution_wh) == sizes[c]}
    content = calibration_content({**cameras, **kept}, template, source, fits, placement)
    missing = [c for c in sizes if c not in cameras and c not in kept]
    write_calibration(target, content)
    typer.echo(
        f"calibration of {len(cameras)} camera(s) ({source})" + (f", template {template.name}" if template else "")
    )
    for cam, fit in fits.items():
        typer.echo(
            f"  {cam:<12} focal {fit.camera.focal_px:8.1f} px{' (estimated)' if fit.focal_estimated else ''}  "
            f"error {fit.rms_px:.2f} px, {fit.rms_m:.3f} m over {len(fit.residuals)} landmarks"
        )
        for r in fit.residuals:
            typer.echo(
                f"      {r.name:<28} {r.error_px:6.2f} px  {r.error_m:6.3f} m{'' if r.inlier else '  (left out)'}"
            )
        for w in fit.warnings:
            typer.secho(f"  warning: {cam}: {w}", fg=typer.colors.YELLOW)
    if placement is not None:
        if placement["method"] == "as_is":
            typer.secho(f"note: {placement['note']}", fg=typer.colors.YELLOW)
        else:
            typer.echo(
                f"  placed on the court from {len(placement['points'])} points: error {placement['rms_m']:.3f} m RMS"
            )
    if kept:
        typer.echo(f"  kept camera(s) {sorted(kept)} from the previous {target.name}")
    if missing:
        typer.secho(f"warning: camera(s) {missing} not calibrated (no clicks)", fg=typer.colors.YELLOW)
    typer.echo(f"wrote {target}")
    if rel_cal is None and out is None and set_game_calibration(game.path, target.name):
        typer.echo(f"added 'calibration: {target.name}' to {game.path}")

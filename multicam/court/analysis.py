"""A run on the court: positions, identity moments and the summary the report shows (the I/O edge)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from multicam.court.camera import CameraModel
from multicam.court.identity import IdentityMoment, IdentityOptions, identity_moments
from multicam.court.positions import (
    PositionOptions,
    Positions,
    Step,
    compute_positions,
    floor_estimates,
    read_tracks,
    steps_from_run,
    write_positions_csv,
)
from multicam.court.templates import CourtError, CourtTemplate, load_template

POSITIONS_FILE = "positions.csv"


@dataclass(frozen=True)
class CourtAnalysis:
    """Positions and identity moments of a run.

    Attributes:
        positions: per object and step.
        steps: the game-time steps (each camera's frame at each).
        moments: identity moments found by geometry.
        template: the court drawn in pictures.
        disagreement: ``{camera: [(time, median distance (m) of its objects from the fused positions)]}``.
        notes: what was skipped and why.
    """

    positions: Positions
    steps: tuple[Step, ...]
    moments: tuple[IdentityMoment, ...]
    template: CourtTemplate
    disagreement: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def court_template_for(calibration: dict) -> CourtTemplate:
    """The court of a calibration: its ``template``, else FIBA basketball for a 28 x 15 m court, else a rectangle."""
    name = calibration.get("template")
    if isinstance(name, str):
        try:
            return load_template(name)
        except CourtError:
            pass
    size = calibration.get("court_size_m") or [28.0, 15.0]
    length, width = float(size[0]), float(size[1])
    if (length, width) == (28.0, 15.0):
        return load_template("basketball_fiba")
    corners = {"corner_left_near": (0, 0), "corner_right_near": (length, 0), "corner_right_far": (length, width)}
    corners["corner_left_far"] = (0, width)
    return CourtTemplate(
        name="rectangle",
        length_m=length,
        width_m=width,
        landmarks=corners,
        lines=(((0, 0), (length, 0), (length, width), (0, width), (0, 0)), ((length / 2, 0), (length / 2, width))),
    )


def usable_cameras(run, cameras: dict[str, CameraModel]) -> tuple[dict[str, CameraModel], tuple[str, ...]]:
    """The run's cameras that the calibration fits (same name and frame size), and a note for each one left out."""
    notes = []
    usable = {}
    for name, info in run.cameras.items():
        cam = cameras.get(name)
        if cam is None:
            notes.append(f"camera {name} is not in the calibration; left out of positions")
        elif tuple(cam.resolution_wh) != tuple(info.resolution_wh):
            notes.append(
                f"camera {name}: calibration is for {cam.resolution_wh}, the run's frames are {info.resolution_wh}; left out"
            )
        else:
            usable[name] = cam
    return usable, tuple(notes)


def run_steps(run) -> list[Step]:
    """The run's game-time steps from its tracks.csv (none without one)."""
    tracks = read_tracks(run.path / "tracks.csv") if (run.path / "tracks.csv").is_file() else {}
    return steps_from_run(run, tracks)


def run_positions(
    run, cameras: dict[str, CameraModel], options: PositionOptions | None = None
) -> tuple[Positions, tuple[str, ...]]:
    """The fused floor positions of a run's objects, and what was left out (no identity moments: for pictures)."""
    usable, notes = usable_cameras(run, cameras)
    names = {i: o.name for i, o in run.objects.items()}
    return compute_positions(usable, run_steps(run), names, options or PositionOptions()), notes


def analyse_run(
    run,
    cameras: dict[str, CameraModel],
    template: CourtTemplate,
    position_options: PositionOptions | None = None,
    identity_options: IdentityOptions | None = None,
) -> CourtAnalysis:
    """Positions and identity moments of a run whose cameras are calibrated."""
    popts = position_options or PositionOptions()
    usable, notes = usable_cameras(run, cameras)
    steps = run_steps(run)
    names = {i: o.name for i, o in run.objects.items()}
    positions = compute_positions(usable, steps, names, popts)
    airborne = {n.lower() for n in popts.airborne}
    exclude = frozenset(i for i, n in names.items() if n.lower() in airborne)
    estimates = [
        {
            c: {i: xy for i, xy in e.items() if i not in exclude}
            for c, e in floor_estimates(usable, s.observations).items()
        }
        for s in steps
    ]
    moments = identity_moments(estimates, run.reference, identity_options, exclude)
    fused = {
        (r.step, r.object_id): (r.x_m, r.y_m)
        for r in positions.rows
        if r.x_m is not None and r.object_id not in exclude
    }
    disagreement: dict[str, list[tuple[float, float]]] = {}
    for k, (s, est) in enumerate(zip(steps, estimates)):
        for cam, by in est.items():
            d = [
                np.hypot(xy[0] - fused[(k, i)][0], xy[1] - fused[(k, i)][1]) for i, xy in by.items() if (k, i) in fused
            ]
            if d:
                disagreement.setdefault(cam, []).append((s.time, float(np.median(d))))
    return CourtAnalysis(positions, tuple(steps), tuple(moments), template, disagreement, notes)


def find_calibration(run, game_calibration: Path | None = None) -> Path | None:
    """The calibration file of a run's game, if one can be found.

    Looked up in order: ``game_calibration`` (the loaded game file's ``calibration``, when the caller has
    it), the ``calibration`` of the game as the run's manifest recorded it (relative to the game file),
    then ``manifest.calibration`` relative to the run directory (ground truth writes
    ``../calibration.json``), then ``calibration.json`` in the run directory's parent.
    """
    candidates = [] if game_calibration is None else [Path(game_calibration)]
    game_path, game = run.game_path(), run.manifest.game_config
    rel = None if game is None else game.calibration
    if rel is not None:
        if rel.is_absolute():
            candidates.append(rel)
        elif game_path:
            candidates.append(game_path.parent / rel)
    own = run.manifest.calibration
    if own:
        candidates.append(run.path / own)
    candidates.append(run.path.parent / "calibration.json")
    for c in candidates:
        if c.is_file():
            return c.resolve()
    return None


def load_court(calibration_path: Path) -> tuple[dict[str, CameraModel], CourtTemplate]:
    """Cameras and court template of a calibration file."""
    from multicam.court.files import load_cameras

    cams = load_cameras(calibration_path)
    data = json.loads(Path(calibration_path).read_text(encoding="utf-8"))
    return cams, court_template_for(data)


def positions_path(run, out_dir: Path | None = None) -> Path:
    """Where positions.csv goes: the run directory, or ``out_dir`` for ground truth (which holds the true positions)."""
    if out_dir is not None:
        return Path(out_dir) / POSITIONS_FILE
    if run.kind == "ground_truth":
        return run.path / "report" / POSITIONS_FILE
    return run.path / POSITIONS_FILE


def write_positions(analysis: CourtAnalysis, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_positions_csv(path, analysis.positions)
    return path

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


def analyse_run(
    run,
    cameras: dict[str, CameraModel],
    template: CourtTemplate,
    position_options: PositionOptions | None = None,
    identity_options: IdentityOptions | None = None,
) -> CourtAnalysis:
    """Positions and identity moments of a run whose cameras are calibrated."""
    popts = position_options or PositionOptions()
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
    tracks = read_tracks(run.path / "tracks.csv") if (run.path / "tracks.csv").is_file() else {}
    steps = steps_from_run(run, tracks)
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
    return CourtAnalysis(positions, tuple(steps), tuple(moments), template, disagreement, tuple(notes))


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


def summary_json(
    analysis: CourtAnalysis, names: dict[int, str], times: dict[str, dict[int, float]] | None = None
) -> dict:
    """The report's ``court`` section: per-object tracks and totals, disagreement, identity moments."""
    objects = {}
    for oid in sorted({r.object_id for r in analysis.positions.rows}):
        tr = [r for r in analysis.positions.track(oid) if r.x_m is not None]
        if not tr:
            continue
        speeds = [r.speed_mps for r in tr if r.speed_mps is not None]
        spreads = [r.spread_m for r in tr if r.spread_m is not None]
        objects[str(oid)] = {
            "name": names.get(oid, f"object {oid}"),
            "steps": len(tr),
            "distance_m": round(tr[-1].distance_m or 0.0, 2),
            "max_speed_mps": round(max(speeds), 2) if speeds else None,
            "median_spread_m": round(float(np.median(spreads)), 3) if spreads else None,
            "dropped_steps": sum(1 for r in tr if r.dropped),
            "time": [round(r.time, 3) for r in tr],
            "x_m": [round(r.x_m, 3) for r in tr],
            "y_m": [round(r.y_m, 3) for r in tr],
            "z_m": [round(r.z_m, 3) if r.z_m is not None else None for r in tr],
        }
    return {
        "available": True,
        "template": analysis.template.name,
        "court_size_m": [analysis.template.length_m, analysis.template.width_m],
        "lines": [np.round(p, 3).tolist() for p in analysis.template.polylines(step_deg=10)],
        "objects": objects,
        "disagreement": {
            c: {"time": [round(t, 3) for t, _ in v], "median_m": [round(d, 3) for _, d in v]}
            for c, v in analysis.disagreement.items()
        },
        "identity": [
            {
                "camera": m.camera,
                "kind": m.kind,
                "object_id": m.object_id,
                "other_object_id": m.other_id,
                "start_frame": analysis.steps[m.start_step].frames.get(m.camera),
                "end_frame": analysis.steps[m.end_step].frames.get(m.camera),
                "time": round(analysis.steps[m.start_step].time, 4),
                "end_time": round(analysis.steps[m.end_step].time, 4),
                "steps": m.steps,
                "max_distance_m": round(m.max_own_m, 3) if np.isfinite(m.max_own_m) else None,
            }
            for m in analysis.moments
        ],
        "notes": list(analysis.notes),
    }

"""Positions on the floor: every camera's estimate, fused robustly, with speed and distance; the ball in 3-D.

Per object and game-time step (the reference camera's processed frames):

* each camera's own estimate: its mask's foot point (``tracks.csv``) mapped to the floor through the
  camera's calibration (lens distortion undone first);
* the fused position: the mean of the estimates within ``tolerance_m`` of their median; a camera
  farther away is dropped and named in ``dropped``; with two cameras that disagree, both are kept,
  the step is marked ``disagree``;
* airborne objects (the ball) are triangulated from 2 or more cameras' mask centres (linear DLT on
  undistorted pixels, from the largest set of cameras whose reprojection errors stay within
  ``max_ball_error_px``; the others are ``dropped``), giving their height ``z_m``;
* speed and distance covered come from the fused track smoothed by a Savitzky-Golay filter
  (quadratic over ``smooth_s``); steps more than ``max_gap_s`` apart start a new segment (no distance across gaps).

See docs/guide/calibration.md for the columns of positions.csv.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from multicam.court.camera import CameraModel
from multicam.court.importers import triangulate
from multicam.io import atomic_path


class PositionOptions(BaseModel):
    """Thresholds of the positions."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tolerance_m: float = Field(default=1.0, gt=0, description="A camera farther than this from the median is dropped.")
    airborne: tuple[str, ...] = Field(default=("ball",), description="Object names triangulated in 3-D.")
    max_ball_error_px: float = Field(default=8.0, gt=0, description="Reprojection error (px) that drops a camera.")
    smooth_s: float = Field(default=0.4, gt=0, description="Smoothing window (s) for speed and distance.")
    max_gap_s: float = Field(default=0.5, gt=0, description="Steps farther apart than this break a track.")


@dataclass(frozen=True)
class Observation:
    """One object in one camera frame, as tracks.csv has it (pixels)."""

    foot_xy: tuple[float, float]
    centroid_xy: tuple[float, float]
    box_xyxy: tuple[float, float, float, float]


@dataclass(frozen=True)
class Step:
    """One game-time step: the time, each camera's frame at it, and the objects seen in those frames."""

    time: float
    frames: dict[str, int]
    observations: dict[str, dict[int, Observation]]


@dataclass(frozen=True)
class Fused:
    """One object's fused floor position at one step.

    Attributes:
        xy: fused ``(x, y)`` metres.
        used: cameras averaged.
        dropped: cameras farther than the tolerance from the median.
        spread_m: largest distance of a used camera's estimate from ``xy``.
        disagree: two cameras only, farther apart than the tolerance (nobody to break the tie).
    """

    xy: tuple[float, float]
    used: tuple[str, ...]
    dropped: tuple[str, ...]
    spread_m: float
    disagree: bool = False


def fuse_floor(estimates: Mapping[str, tuple[float, float]], tolerance_m: float) -> Fused | None:
    """Robust fusion of the cameras' floor estimates of one object; None without any."""
    names = [n for n in sorted(estimates) if np.all(np.isfinite(estimates[n]))]
    if not names:
        return None
    pts = np.array([estimates[n] for n in names], dtype=np.float64)
    if len(names) == 2:
        d = float(np.linalg.norm(pts[0] - pts[1]))
        c = pts.mean(axis=0)
        return Fused((float(c[0]), float(c[1])), tuple(names), (), d / 2, disagree=d > tolerance_m)
    med = np.median(pts, axis=0)
    keep = np.linalg.norm(pts - med, axis=1) <= tolerance_m
    if not keep.any():
        keep[np.argmin(np.linalg.norm(pts - med, axis=1))] = True
    c = pts[keep].mean(axis=0)
    spread = float(np.linalg.norm(pts[keep] - c, axis=1).max())
    return Fused(
        (float(c[0]), float(c[1])),
        tuple(n for n, k in zip(names, keep) if k),
        tuple(n for n, k in zip(names, keep) if not k),
        spread,
    )


def triangulate_robust(
    cameras: Mapping[str, CameraModel], pixels: Mapping[str, tuple[float, float]], max_error_px: float
) -> tuple[np.ndarray, tuple[str, ...], tuple[str, ...], float] | None:
    """A 3-D point from 2+ cameras: ``(xyz, used, dropped, max reprojection error px)``; None with fewer than 2."""
    from itertools import combinations

    names = [c for c in sorted(pixels) if c in cameras]
    if len(names) < 2:
        return None
    best = None
    for size in range(len(names), 1, -1):  # the most cameras that agree within max_error_px
        for subset in combinations(names, size):
            xyz = triangulate([cameras[c] for c in subset], [pixels[c] for c in subset])
            err = max(float(np.linalg.norm(cameras[c].project(xyz[None])[0] - pixels[c])) for c in subset)
            if best is None or err < best[3]:
                best = (xyz, subset, tuple(c for c in names if c not in subset), err)
        if best[3] <= max_error_px:
            break
    return best


@dataclass(frozen=True)
class PositionRow:
    """One row of positions.csv (see the module docstring)."""

    step: int
    time: float
    object_id: int
    name: str
    x_m: float | None
    y_m: float | None
    z_m: float | None
    used: tuple[str, ...]
    dropped: tuple[str, ...]
    spread_m: float | None
    disagree: bool
    per_camera: dict[str, tuple[float, float]] = field(default_factory=dict)
    speed_mps: float | None = None
    distance_m: float | None = None


@dataclass(frozen=True)
class Positions:
    """Every object's positions over the game-time steps."""

    cameras: tuple[str, ...]
    rows: tuple[PositionRow, ...]

    def track(self, object_id: int) -> list[PositionRow]:
        return [r for r in self.rows if r.object_id == object_id]


def floor_estimates(
    cameras: Mapping[str, CameraModel], obs: Mapping[str, Mapping[int, Observation]]
) -> dict[str, dict[int, tuple[float, float]]]:
    """``{camera: {object: (x, y)}}``: each camera's foot points on the floor (feet cut by the image's bottom skipped)."""
    out: dict[str, dict[int, tuple[float, float]]] = {}
    for cam, by_obj in obs.items():
        if cam not in cameras or not by_obj:
            continue
        h = cameras[cam].resolution_wh[1]
        ids = [i for i, o in by_obj.items() if o.box_xyxy[3] < h]
        if not ids:
            continue
        xy = cameras[cam].image_to_floor(np.array([by_obj[i].foot_xy for i in ids]))
        out[cam] = {i: (float(p[0]), float(p[1])) for i, p in zip(ids, xy) if np.all(np.isfinite(p))}
    return out


def compute_positions(
    cameras: Mapping[str, CameraModel],
    steps: Sequence[Step],
    names: Mapping[int, str],
    options: PositionOptions | None = None,
) -> Positions:
    """Positions of every object at every step.

    Args:
        cameras: calibrated cameras (the others are ignored).
        steps: the game-time steps in time order (:func:`steps_from_run`).
        names: object names (the airborne ones are triangulated).
        options: thresholds.
    """
    opts = options or PositionOptions()
    airborne = {n.lower() for n in opts.airborne}
    cams = tuple(c for c in cameras if any(c in s.observations for s in steps)) or tuple(cameras)
    rows: list[PositionRow] = []
    for k, step in enumerate(steps):
        t, obs = step.time, step.observations
        est = floor_estimates(cameras, obs)
        ids = sorted({i for by in obs.values() for i in by})
        for oid in ids:
            name = names.get(oid, f"object {oid}")
            if name.lower() in airborne:
                px = {c: obs[c][oid].centroid_xy for c in obs if oid in obs[c] and c in cameras}
                tri = triangulate_robust(cameras, px, opts.max_ball_error_px)
                if tri is None:
                    rows.append(PositionRow(k, t, oid, name, None, None, None, tuple(px), (), None, False))
                    continue
                xyz, used, dropped, err = tri
                rows.append(
                    PositionRow(
                        k, t, oid, name, float(xyz[0]), float(xyz[1]), float(xyz[2]), used, dropped, None, False
                    )
                )
                continue
            per = {c: e[oid] for c, e in est.items() if oid in e}
            f = fuse_floor(per, opts.tolerance_m)
            if f is None:
                continue
            rows.append(
                PositionRow(k, t, oid, name, f.xy[0], f.xy[1], 0.0, f.used, f.dropped, f.spread_m, f.disagree, per)
            )
    return Positions(cams, tuple(add_motion(rows, opts)))


def add_motion(rows: Sequence[PositionRow], options: PositionOptions) -> list[PositionRow]:
    """Rows with ``speed_mps`` and ``distance_m`` (cumulative per object) filled from the smoothed track."""
    import dataclasses

    from scipy.signal import savgol_filter

    out = list(rows)
    by_obj: dict[int, list[int]] = {}
    for k, r in enumerate(out):
        if r.x_m is not None:
            by_obj.setdefault(r.object_id, []).append(k)
    for idx in by_obj.values():
        t = np.array([out[k].time for k in idx])
        xyz = np.array([[out[k].x_m, out[k].y_m, out[k].z_m or 0.0] for k in idx])
        seg_start = np.r_[0, np.nonzero(np.diff(t) > options.max_gap_s)[0] + 1, len(t)]
        total = 0.0
        for a, b in zip(seg_start[:-1], seg_start[1:]):
            ts, ps = t[a:b], xyz[a:b]
            if len(ts) >= 2:
                dt = float(np.median(np.diff(ts))) or 1e-3
                win = min(int(round(options.smooth_s / dt)) | 1, len(ts) - (1 - len(ts) % 2))
                smooth = savgol_filter(ps, win, 2, axis=0, mode="interp") if win >= 5 else ps
                vel = np.gradient(smooth, ts, axis=0)
                step = np.r_[0.0, np.linalg.norm(np.diff(smooth, axis=0), axis=1)]
            else:
                vel, step = np.zeros((len(ts), 3)), np.zeros(len(ts))
            for j, k in enumerate(range(a, b)):
                total += float(step[j])
                out[idx[k]] = dataclasses.replace(
                    out[idx[k]], speed_mps=float(np.linalg.norm(vel[j])), distance_m=total
                )
    return out


# -- files -----------------------------------------------------------------------------------
COLUMNS = (
    "step",
    "time",
    "object_id",
    "name",
    "x_m",
    "y_m",
    "z_m",
    "cameras",
    "used",
    "dropped",
    "disagree",
    "spread_m",
    "speed_mps",
    "distance_m",
)


def positions_columns(cameras: Sequence[str]) -> list[str]:
    return [*COLUMNS, *(f"{axis}_{c}" for c in cameras for axis in ("x", "y"))]


def write_positions_csv(path: Path, positions: Positions) -> None:
    """Write positions.csv atomically (see :func:`multicam.io.atomic_path`)."""

    def num(v: float | None, nd: int = 3) -> str:
        return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{nd}f}"

    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(positions_columns(positions.cameras))
        for r in positions.rows:
            w.writerow(
                [
                    r.step,
                    f"{r.time:.4f}",
                    r.object_id,
                    r.name,
                    num(r.x_m),
                    num(r.y_m),
                    num(r.z_m),
                    len(r.used),
                    ";".join(r.used),
                    ";".join(r.dropped),
                    int(r.disagree),
                    num(r.spread_m),
                    num(r.speed_mps, 2),
                    num(r.distance_m, 2),
                    *(num(r.per_camera[c][i]) if c in r.per_camera else "" for c in positions.cameras for i in (0, 1)),
                ]
            )


def read_tracks(path: Path) -> dict[str, dict[int, dict[int, Observation]]]:
    """``{camera: {frame: {object_id: Observation}}}`` from a run's tracks.csv."""
    out: dict[str, dict[int, dict[int, Observation]]] = {}
    with Path(path).open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            try:
                o = Observation(
                    (float(row["foot_x"]), float(row["foot_y"])),
                    (float(row["centroid_x"]), float(row["centroid_y"])),
                    (float(row["x0"]), float(row["y0"]), float(row["x1"]), float(row["y1"])),
                )
                out.setdefault(row["camera"], {}).setdefault(int(row["frame"]), {})[int(row["object_id"])] = o
            except (KeyError, TypeError, ValueError):
                continue
    return out


def steps_from_run(run, tracks: dict[str, dict[int, dict[int, Observation]]] | None = None) -> list[Step]:
    """The game-time steps of a run: the reference camera's processed frames.

    Every other camera contributes its frame nearest to that game time (``Timeline.frame_at``).
    """
    cams = run.cameras
    timeline = run.timeline()
    reference = timeline.reference
    tracks = tracks if tracks is not None else read_tracks(run.path / "tracks.csv")
    ref_frames = sorted(tracks.get(reference, {}))
    if not ref_frames:  # nothing in the reference camera: step along the first camera that has frames
        reference = next((c for c in cams if tracks.get(c)), reference)
        ref_frames = sorted(tracks.get(reference, {}))
    steps = []
    for f in ref_frames:
        t = timeline.camera(reference).time_of(f)
        obs, frames = {}, {}
        for c in cams:
            fc = timeline.camera(c).frame_at(t)
            if fc is not None and fc in tracks.get(c, {}):
                obs[c] = tracks[c][fc]
                frames[c] = fc
        steps.append(Step(t, frames, obs))
    return steps

"""Build the consistency report of a run directory (or of ground truth) from its masks.

:func:`build_report` reads the run's masks camera by camera, feeds them to the pure checks of
:mod:`multicam.report.checks` and returns a JSON-ready :class:`Report`. The ground check needs a
:class:`~multicam.report.calibration.Calibration`; the appearance check needs the video clips
(``{camera: path}``); both are skipped, with a note saying why, when absent.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np

from multicam.geometry import apply_homography, foot_point_xy
from multicam.manifest import UNTRAINED_WARNING
from multicam.masks import FrameMasks, decode_rle
from multicam.report import checks
from multicam.report.calibration import Calibration
from multicam.report.record import (
    AppearanceMatchRecord,
    AppearanceSection,
    CameraAgreement,
    CameraScore,
    CameraSummary,
    GroundFlag,
    GroundObject,
    GroundSection,
    GroundTrack,
    JumpRecord,
    MomentRecord,
    ObjectScore,
    ObjectSummary,
    OverlapRecord,
    PairScore,
    PresenceEntry,
    ReportOptions,
    ReportRecord,
    Scores,
    SegmentRecord,
    StabilityEntry,
    SwapRecord,
)
from multicam.rundir import CameraInfo, Run, now_iso
from multicam.timeline import Timeline


@dataclass(frozen=True)
class Moment:
    """A moment an analyst should review.

    Attributes:
        camera: the camera to look at.
        frame: its 0-based frame where the problem starts; ``end_frame`` where it ends (inclusive).
        end_frame: last frame of the problem.
        time: game time (s) of ``frame``.
        object_id: the object concerned; ``other_object_id`` the second one for overlaps and swaps.
        other_object_id: the second object, or None.
        kind: ``lost``, ``low_score``, ``jump``, ``overlap``, ``swap``, ``ground``, ``appearance`` or ``never_seen``.
        reason: one sentence for a person.
        severity: 0..1, higher first.
    """

    camera: str
    frame: int
    end_frame: int
    time: float
    object_id: int
    other_object_id: int | None
    kind: str
    reason: str
    severity: float

    def to_json(self) -> dict:
        return {
            "camera": self.camera,
            "time": round(self.time, 4),
            "frame": self.frame,
            "end_frame": self.end_frame,
            "object_id": self.object_id,
            "other_object_id": self.other_object_id,
            "kind": self.kind,
            "reason": self.reason,
            "severity": round(self.severity, 4),
        }


@dataclass(frozen=True)
class Report:
    """A run's consistency report.

    Attributes:
        record: the content of ``report.json`` (:class:`ReportRecord`).
        moments: the review list, most severe first.
    """

    record: ReportRecord
    moments: tuple[Moment, ...] = field(default_factory=tuple)

    @cached_property
    def data(self) -> dict[str, Any]:
        """The JSON-ready content of ``report.json``."""
        return self.record.to_json()

    @property
    def untrained(self) -> bool:
        return self.record.untrained

    @property
    def overall_score(self) -> float | None:
        return self.record.scores.overall

    def below(self, threshold: float) -> list[str]:
        """Descriptions of every object or camera score below ``threshold``."""
        out = []
        for oid, o in self.record.scores.objects.items():
            if o.score is not None and o.score < threshold:
                out.append(f"object {oid} ({o.name}): {o.score:.3f}")
        for cam, c in self.record.scores.cameras.items():
            if c.score is not None and c.score < threshold:
                out.append(f"camera {cam}: {c.score:.3f}")
        return out


# -- reading -------------------------------------------------------------------------------
ObjectMasks = dict[int, tuple[dict, tuple | None, int, float | None]]  # {id: (rle, box, area, score)}
Components = dict[tuple[str, int], dict[str, float | None]]  # {(camera, object id): {component: 0..1}}


@dataclass(frozen=True)
class CameraData:
    """One camera's masks as the checks read them: processed frames in order, their times and objects."""

    name: str
    resolution_wh: tuple[int, int]
    frames: list[int]
    times: list[float]
    objects: list[ObjectMasks]


@dataclass(frozen=True)
class RunData:
    """What the checks read from a run: every camera's masks, the objects and the time line.

    Attributes:
        cameras: per camera (run order), its masks.
        reference: the reference camera (the first camera when the run's is unknown).
        ids: every object id of the manifest or the masks, sorted.
        names: per id, its name (``object N`` when the manifest does not name it).
        teams: per id, its team or None.
        timeline: the run's cameras on the game clock.
    """

    cameras: dict[str, CameraData]
    reference: str
    ids: list[int]
    names: dict[int, str]
    teams: dict[int, str | None]
    timeline: Timeline

    def time_of(self, camera: str, frame: int) -> float:
        """Game time of a camera's frame (as written in the run when it was processed)."""
        d = self.cameras[camera]
        k = _index(d.frames, frame)
        return d.times[k] if k is not None else self.timeline.camera(camera).time_of(frame)

    def label(self, object_id: int) -> str:
        return f"{object_id} ({self.names[object_id]})"

    def moment(
        self,
        camera: str,
        frames: tuple[int, int],
        object_id: int,
        kind: str,
        reason: str,
        severity: float,
        other: int | None = None,
    ) -> Moment:
        """A moment to review from ``frames`` ``(start, end)`` of a camera (its time: the start frame's)."""
        start, end = frames
        return Moment(camera, start, end, self.time_of(camera, start), object_id, other, kind, reason, severity)


def _read_camera(run: Run, camera: str) -> CameraData:
    by_frame: dict[int, FrameMasks] = run.frames(camera)
    frames = sorted(by_frame)
    cam = run.cameras[camera]
    return CameraData(
        name=camera,
        resolution_wh=cam.resolution_wh,
        frames=frames,
        times=[by_frame[f].time for f in frames],
        objects=[
            {o.object_id: (o.rle, o.box_xyxy, o.area, o.score) for o in by_frame[f].objects if o.area > 0}
            for f in frames
        ],
    )


def read_run_data(run: Run) -> RunData:
    """Read a run's masks for the checks."""
    cams_info = run.cameras
    cameras = {c: _read_camera(run, c) for c in cams_info}
    objects_info = run.objects
    ids = sorted(set(objects_info) | {i for d in cameras.values() for fo in d.objects for i in fo})
    return RunData(
        cameras=cameras,
        reference=run.reference if run.reference in cams_info else next(iter(cams_info)),
        ids=ids,
        names={i: (objects_info[i].name if i in objects_info else f"object {i}") for i in ids},
        teams={i: (objects_info[i].team if i in objects_info else None) for i in ids},
        timeline=run.timeline(),
    )


def _read_foot_points(run: Run) -> dict[tuple[str, int, int], tuple[float, float]]:
    """``{(camera, frame, object_id): (foot_x, foot_y)}`` from tracks.csv (empty if absent)."""
    path = run.path / "tracks.csv"
    out: dict[tuple[str, int, int], tuple[float, float]] = {}
    if not path.is_file():
        return out
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            try:
                out[(row["camera"], int(row["frame"]), int(row["object_id"]))] = (
                    float(row["foot_x"]),
                    float(row["foot_y"]),
                )
            except (KeyError, TypeError, ValueError):
                continue
    return out


# -- building ------------------------------------------------------------------------------
def build_report(
    run: Run,
    options: ReportOptions | None = None,
    calibration: Calibration | None = None,
    clips: Mapping[str, Path] | None = None,
    calibration_note: str | None = None,
) -> Report:
    """Run every consistency check on a run and gather the results.

    Args:
        run: the run (or ground truth) to check.
        options: thresholds (defaults: :class:`ReportOptions`).
        calibration: ground homographies; without it the ground check is skipped.
        clips: ``{camera: video path}``; cameras without a clip get no appearance check.
        calibration_note: why no calibration is given (shown in the report).
    """
    opts = options or ReportOptions()
    data = read_run_data(run)
    per_camera = {cam: check_camera(data, cam, opts) for cam in data.cameras}
    components: Components = {(cam, oid): c for cam, cc in per_camera.items() for oid, c in cc.components.items()}
    feet = _read_foot_points(run) if calibration is not None else {}
    ground = ground_check(data, opts, calibration, feet, calibration_note)
    appearance = appearance_check(data, opts, clips or {})
    for found in (ground.components, appearance.components):
        for key, values in found.items():
            if key in components:
                components[key].update(values)
    moments = [m for cc in per_camera.values() for m in cc.moments] + ground.moments + appearance.moments
    moments.sort(key=lambda m: (-m.severity, m.time, m.camera, m.object_id))
    warnings = [UNTRAINED_WARNING] if run.untrained else []
    if run.status != "complete":
        warnings.append(f"the run's status is {run.status!r}: it may be missing frames")
    record = ReportRecord(
        created_at=now_iso(),
        run=str(run.path),
        kind=run.kind,
        status=run.status,
        game=run.game_name,
        reference=data.reference,
        untrained=run.untrained,
        warnings=warnings,
        notes=appearance.notes,
        settings=opts,
        cameras={c: camera_summary(d, run.cameras[c]) for c, d in data.cameras.items()},
        objects={str(i): ObjectSummary(name=data.names[i], team=data.teams[i]) for i in data.ids},
        scores=scores_of(data, components),
        presence={cam: cc.presence for cam, cc in per_camera.items()},
        stability={cam: cc.stability for cam, cc in per_camera.items()},
        overlaps=[o for cc in per_camera.values() for o in cc.overlaps],
        swaps=[s for cc in per_camera.values() for s in cc.swaps],
        ground=ground.section,
        appearance=appearance.section,
        review=[MomentRecord(**m.to_json()) for m in moments],
    )
    return Report(record=record, moments=tuple(moments))


def camera_summary(d: CameraData, info: CameraInfo) -> CameraSummary:
    return CameraSummary(
        resolution_wh=info.resolution_wh,
        fps=info.fps,
        frame_count=info.frame_count,
        offset=info.offset,
        frames_processed=len(d.frames),
        first_frame=d.frames[0] if d.frames else None,
        last_frame=d.frames[-1] if d.frames else None,
    )


def scores_of(data: RunData, components: Components) -> Scores:
    """Each (camera, object) pair's score from its components, and the means per object, camera and run."""
    pairs = []
    for cam in data.cameras:
        for oid in data.ids:
            comp = components.get((cam, oid), {})
            pairs.append(
                PairScore(
                    camera=cam,
                    object_id=oid,
                    score=_r(checks.combine_components(comp)),
                    components={k: _r(v) for k, v in comp.items()},
                )
            )
    return _aggregate(pairs, list(data.cameras), data.ids, data.names)


# -- temporal checks, camera by camera -------------------------------------------------------
@dataclass(frozen=True)
class CameraCheck:
    """The temporal checks of one camera: presence, stability, overlaps, swaps.

    Attributes:
        components: per object id, its score components in this camera.
        moments: what to review, in the order found.
    """

    presence: dict[str, PresenceEntry]
    stability: dict[str, StabilityEntry]
    overlaps: list[OverlapRecord]
    swaps: list[SwapRecord]
    components: dict[int, dict[str, float | None]]
    moments: list[Moment]


@dataclass(frozen=True)
class ObjectCheck:
    """The temporal checks of one object in one camera."""

    presence: PresenceEntry
    stability: StabilityEntry
    components: dict[str, float | None]
    moments: list[Moment]


def check_camera(data: RunData, camera: str, opts: ReportOptions) -> CameraCheck:
    """Presence, stability, overlaps and swaps of every object in one camera."""
    d = data.cameras[camera]
    transitions = [
        checks.transition(d.frames[k], d.frames[k - 1], d.objects[k], d.objects[k - 1]) for k in range(1, len(d.frames))
    ]
    swaps = [s for t in transitions for s in checks.find_swaps(t, opts.swap_iou_margin)]
    overlaps = [o for f, objs in zip(d.frames, d.objects) for o in checks.find_overlaps(f, objs, opts.overlap_fraction)]
    per_object = {oid: check_object(data, camera, oid, opts, transitions, overlaps, swaps) for oid in data.ids}
    overlap_records, overlap_moments = overlap_check(data, camera, overlaps)
    swap_records, swap_moments = swap_check(data, camera, swaps)
    return CameraCheck(
        presence={str(oid): o.presence for oid, o in per_object.items()},
        stability={str(oid): o.stability for oid, o in per_object.items()},
        overlaps=overlap_records,
        swaps=swap_records,
        components={oid: o.components for oid, o in per_object.items()},
        moments=[m for o in per_object.values() for m in o.moments] + overlap_moments + swap_moments,
    )


def check_object(
    data: RunData,
    camera: str,
    oid: int,
    opts: ReportOptions,
    transitions: list[checks.Transition],
    overlaps: list[checks.Overlap],
    swaps: list[checks.Swap],
) -> ObjectCheck:
    """Presence (lost, low score), stability (jumps), exclusivity and identity of one object in one camera."""
    d = data.cameras[camera]
    present = [oid in fo for fo in d.objects]
    border = [oid in fo and checks.box_touches_border(fo[oid][1], d.resolution_wh) for fo in d.objects]
    scores = [fo[oid][3] if oid in fo else None for fo in d.objects]
    lost = checks.lost_segments(d.frames, present, border)
    low = checks.low_score_segments(d.frames, scores, opts.low_score)
    presence = presence_entry(d.frames, present, scores, lost, low)
    ious, jumps = checks.stability(transitions, oid, opts.jump_iou, opts.jump_area_ratio, opts.jump_min_area)
    stability = StabilityEntry(
        transitions=len(ious),
        mean_iou=_r(np.mean(ious)) if ious else None,
        min_iou=_r(min(ious)) if ious else None,
        jumps=[
            JumpRecord(
                frame=j.frame,
                time=_r(data.time_of(camera, j.frame)),
                iou=_r(j.iou),
                area_ratio=_r(j.area_ratio),
                reason=j.reason,
            )
            for j in jumps
        ],
    )
    if presence.present_frames == 0:
        is_ref = camera == data.reference
        return ObjectCheck(presence, stability, {"continuity": 0.0} if is_ref else {}, [never_seen(data, camera, oid)])
    present_frames = [f for f, p in zip(d.frames, present) if p]
    after_first = len(d.frames) - d.frames.index(present_frames[0])
    n_present = len(present_frames)
    overlap_frames = {o.frame for o in overlaps if oid in o.object_ids}
    components: dict[str, float | None] = {
        "continuity": 1 - sum(s.frames for s in lost if not s.at_border) / after_first if after_first else None,
        "confidence": (1 - sum(s.frames for s in low) / n_present) if any(s is not None for s in scores) else None,
        "stability": (1 - len(jumps) / len(ious)) if ious else None,
        "exclusivity": 1 - len(overlap_frames) / n_present,
        "identity": 1 - checks.swapped_frames(present_frames, swaps, oid) / n_present,
    }
    fps = data.timeline.camera(camera).fps
    moments = (
        [lost_moment(data, camera, oid, s, fps) for s in lost]
        + [low_score_moment(data, camera, oid, s) for s in low]
        + [jump_moment(data, camera, oid, j) for j in jumps]
    )
    return ObjectCheck(presence, stability, components, moments)


def presence_entry(
    frames: list[int],
    present: list[bool],
    scores: list[float | None],
    lost: list[checks.Segment],
    low: list[checks.Segment],
) -> PresenceEntry:
    """Where an object has a mask among a camera's processed frames."""
    segs = checks.presence_segments(frames, present)
    valid_scores = [s for s in scores if s is not None]
    return PresenceEntry(
        present_frames=sum(present),
        processed_frames=len(frames),
        first_frame=segs[0].start_frame if segs else None,
        last_frame=segs[-1].end_frame if segs else None,
        segments=[SegmentRecord(**s.to_json()) for s in segs],
        lost=[SegmentRecord(**s.to_json()) for s in lost],
        low_score=[SegmentRecord(**s.to_json()) for s in low],
        mean_score=_r(np.mean(valid_scores)) if valid_scores else None,
    )


def never_seen(data: RunData, camera: str, oid: int) -> Moment:
    d = data.cameras[camera]
    return Moment(
        camera,
        d.frames[0] if d.frames else 0,
        d.frames[-1] if d.frames else 0,
        data.time_of(camera, d.frames[0]) if d.frames else 0.0,
        oid,
        None,
        "never_seen",
        f"object {data.label(oid)} never appears in camera {camera}",
        0.9 if camera == data.reference else 0.3,
    )


def lost_moment(data: RunData, camera: str, oid: int, s: checks.Segment, fps: float) -> Moment:
    seconds = s.frames / fps
    severity = (0.4 + 0.5 * min(1.0, seconds / 2.0)) * (0.4 if s.at_border else 1.0)
    where = " after touching the image border (probably left the view)" if s.at_border else ""
    back = "until the end" if s.kind == "end" else f"for {s.frames} frames ({seconds:.2f} s)"
    reason = f"object {data.label(oid)} lost {back}{where}"
    return data.moment(camera, (s.start_frame, s.end_frame), oid, "lost", reason, severity)


def low_score_moment(data: RunData, camera: str, oid: int, s: checks.Segment) -> Moment:
    reason = f"object {data.label(oid)} has a low score for {s.frames} frame(s)"
    return data.moment(camera, (s.start_frame, s.end_frame), oid, "low_score", reason, 0.3)


def jump_moment(data: RunData, camera: str, oid: int, j: checks.Jump) -> Moment:
    what = f"area changes x{j.area_ratio:.1f}" if j.reason == "area" else f"IoU with the previous mask is {j.iou:.2f}"
    reason = f"mask of {data.label(oid)} jumps: {what}"
    return data.moment(camera, (j.frame, j.frame), oid, "jump", reason, 0.6 - 0.3 * min(j.iou, 1.0))


def overlap_check(
    data: RunData, camera: str, overlaps: list[checks.Overlap]
) -> tuple[list[OverlapRecord], list[Moment]]:
    """Overlapping frames of the same pair merged into runs, each with a moment to review."""
    records, moments = [], []
    for run_ in _merge_overlaps(overlaps):
        a, b = run_["object_ids"]
        time = data.time_of(camera, run_["start_frame"])
        records.append(OverlapRecord(camera=camera, time=_r(time), **run_))
        reason = (
            f"objects {data.label(a)} and {data.label(b)} claim the same pixels "
            f"(up to {run_['max_fraction']:.0%} of the smaller mask, {run_['frames']} frame(s))"
        )
        frames = (run_["start_frame"], run_["end_frame"])
        moments.append(data.moment(camera, frames, a, "overlap", reason, 0.3 + 0.5 * run_["max_fraction"], b))
    return records, moments


def swap_check(data: RunData, camera: str, swaps: list[checks.Swap]) -> tuple[list[SwapRecord], list[Moment]]:
    """Each identity swap as a record and a moment to review."""
    records, moments = [], []
    for s in swaps:
        a, b = s.object_ids
        time = data.time_of(camera, s.frame)
        records.append(
            SwapRecord(
                camera=camera,
                frame=s.frame,
                time=_r(time),
                object_ids=[a, b],
                by=s.by,
                straight=_r(s.straight),
                crossed=_r(s.crossed),
            )
        )
        reason = f"objects {data.label(a)} and {data.label(b)} exchange identities (by {s.by})"
        moments.append(data.moment(camera, (s.frame, s.frame), a, "swap", reason, 1.0, b))
    return records, moments


# -- ground check --------------------------------------------------------------------------
Section = TypeVar("Section", GroundSection, AppearanceSection)


@dataclass(frozen=True)
class CheckResult(Generic[Section]):
    """A cross-camera check's report section, the score component it gives each (camera, object) it
    compared, its moments to review and its notes."""

    section: Section
    components: Components = field(default_factory=dict)
    moments: list[Moment] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


Positions = dict[int, dict[int, tuple[float, float]]]  # {object id: {frame: (x_m, y_m)}}


def ground_check(
    data: RunData,
    opts: ReportOptions,
    calibration: Calibration | None,
    feet: Mapping[tuple[str, int, int], tuple[float, float]],
    calibration_note: str | None = None,
) -> CheckResult[GroundSection]:
    """Do the calibrated cameras put each object at the same place on the ground?

    Args:
        feet: ``{(camera, frame, object_id): (x, y)}`` foot points (tracks.csv); a missing one is
            computed from the mask.
    """
    if calibration is None:
        reason = calibration_note or "no calibration file (pass --calibration FILE)"
        return CheckResult(GroundSection(tolerance_m=opts.tolerance_m, reason=reason))
    usable, missing = usable_cameras(data, calibration)
    reason = f"no usable homography for camera(s) {sorted(missing)}" if missing else None
    base = {
        "available": len(usable) >= 2,
        "calibration": str(calibration.path),
        "tolerance_m": opts.tolerance_m,
        "court_size_m": list(calibration.court_size_m) if calibration.court_size_m else None,
    }
    if len(usable) < 2:
        reason = (reason or "") + "; the ground check needs at least two calibrated cameras"
        return CheckResult(GroundSection(**base, reason=reason))
    airborne = {n.lower() for n in opts.airborne}
    excluded = [i for i in data.ids if data.names[i].lower() in airborne]
    positions: dict[str, Positions] = {}
    tracks: dict[str, dict[str, GroundTrack]] = {}
    for cam in usable:
        positions[cam], tracks[cam] = ground_positions(data.cameras[cam], calibration.image_to_ground[cam], feet)
    tallies, flagged_by_key = compare_on_ground(data, usable, positions, opts.tolerance_m, excluded)
    objects = {str(oid): t.record(oid not in excluded) for oid, t in tallies.items()}
    components = {
        (c, oid): {"ground": cc.agree / cc.compared}
        for oid, t in tallies.items()
        if oid not in excluded
        for c, cc in t.cameras.items()
        if cc.compared
    }
    flagged, moments = ground_flags(data, flagged_by_key, opts.tolerance_m)
    section = GroundSection(
        **base, reason=reason, excluded_objects=excluded, objects=objects, flagged=flagged, tracks=tracks
    )
    return CheckResult(section, components, moments)


def usable_cameras(data: RunData, calibration: Calibration) -> tuple[list[str], list[str]]:
    """``(usable, missing)``: cameras with a homography for the masks' resolution, and the others."""
    usable, missing = [], []
    for c, d in data.cameras.items():
        res = (calibration.resolution_wh or {}).get(c)
        if c not in calibration.image_to_ground or res is not None and tuple(res) != tuple(d.resolution_wh):
            missing.append(c)
        else:
            usable.append(c)
    missing.sort(key=lambda c: c in calibration.image_to_ground)  # no homography first, then wrong size
    return usable, missing


def ground_positions(
    d: CameraData, image_to_ground: np.ndarray, feet: Mapping[tuple[str, int, int], tuple[float, float]]
) -> tuple[Positions, dict[str, GroundTrack]]:
    """Every object's ground position in every frame of one camera (hidden feet left out of the positions)."""
    positions: Positions = {}
    tracks: dict[str, dict[str, list]] = {}
    for f, t, objs in zip(d.frames, d.times, d.objects):
        for oid, (rle, box, _area, _score) in objs.items():
            if box is None or box[3] >= d.resolution_wh[1]:
                continue  # cut by the bottom edge: the foot is not visible
            foot = feet.get((d.name, f, oid))
            if foot is None:
                foot = foot_point_xy(decode_rle(rle))
            if foot is None:
                continue
            hidden = checks.foot_hidden(foot, [v[1] for k, v in objs.items() if k != oid and v[1] is not None])
            gx, gy = apply_homography(image_to_ground, np.array([foot]))[0]
            if not hidden:
                positions.setdefault(oid, {})[f] = (float(gx), float(gy))
            tr = tracks.setdefault(str(oid), {"frame": [], "time": [], "x_m": [], "y_m": [], "hidden": []})
            for key, value in (("frame", f), ("hidden", hidden), ("time", _r(t)), ("x_m", _r(gx)), ("y_m", _r(gy))):
                tr[key].append(value)
    return positions, {oid: GroundTrack(**tr) for oid, tr in tracks.items()}


@dataclass
class _GroundTally:
    """How often one object was compared on the ground, flagged, and how far apart the cameras put it."""

    cameras: dict[str, CameraAgreement]
    compared: int = 0
    flagged: int = 0
    spreads: list[float] = field(default_factory=list)

    def add(self, ag: checks.GroundAgreement) -> None:
        self.compared += 1
        self.spreads.append(ag.spread_m)
        self.flagged += int(ag.flagged)
        for c in ag.positions:
            cc = self.cameras[c]
            self.cameras[c] = CameraAgreement(compared=cc.compared + 1, agree=cc.agree + int(c not in ag.outliers))

    def record(self, scored: bool) -> GroundObject:
        return GroundObject(
            compared=self.compared,
            flagged=self.flagged,
            cameras=self.cameras,
            median_spread_m=_r(np.median(self.spreads)),
            max_spread_m=_r(max(self.spreads)),
            scored=scored,
        )


FlagItem = tuple[int, int, float, float]  # (reference tick, camera frame, game time, spread m)


def compare_on_ground(
    data: RunData, usable: list[str], positions: dict[str, Positions], tolerance_m: float, excluded: list[int]
) -> tuple[dict[int, _GroundTally], dict[tuple[int, str], list[FlagItem]]]:
    """Compare the cameras' ground positions at each frame of the reference camera (or the first usable one).

    Returns the tally per object, and per (object, camera) blamed the moments it disagreed.
    """
    ref = data.reference if data.reference in usable else usable[0]
    tallies: dict[int, _GroundTally] = {}
    flagged_by_key: dict[tuple[int, str], list[FlagItem]] = {}
    for tick, f_ref in enumerate(data.cameras[ref].frames):
        t = data.timeline.camera(ref).time_of(f_ref)
        frames_at = {c: data.timeline.camera(c).frame_at(t) for c in usable}
        for oid in data.ids:
            pos = {
                c: positions[c][oid][fc]
                for c, fc in frames_at.items()
                if fc is not None and oid in positions[c] and fc in positions[c][oid]
            }
            ag = checks.ground_agreement(t, oid, pos, tolerance_m)
            if ag is None:
                continue
            tallies.setdefault(oid, _GroundTally(cameras={c: CameraAgreement() for c in usable})).add(ag)
            if ag.flagged and oid not in excluded:
                for c in [c for c in ag.outliers if c != ref] or list(ag.outliers):
                    flagged_by_key.setdefault((oid, c), []).append((tick, frames_at[c], t, ag.spread_m))
    return tallies, flagged_by_key


def ground_flags(
    data: RunData, flagged_by_key: Mapping[tuple[int, str], list[FlagItem]], tolerance_m: float
) -> tuple[list[GroundFlag], list[Moment]]:
    """Disagreements close in time merged into one flag (and one moment) each."""
    flags, moments = [], []
    for (oid, cam), items in sorted(flagged_by_key.items()):
        for group in _consecutive(items):
            _, f0, t0, _ = group[0]
            f1 = group[-1][1]
            worst = max(it[3] for it in group)
            flags.append(
                GroundFlag(
                    camera=cam,
                    object_id=oid,
                    start_frame=f0,
                    end_frame=f1,
                    time=_r(t0),
                    moments=len(group),
                    max_spread_m=_r(worst),
                )
            )
            moments.append(
                Moment(
                    cam,
                    f0,
                    f1,
                    t0,
                    oid,
                    None,
                    "ground",
                    f"camera {cam} puts {data.label(oid)} {worst:.1f} m away from the other cameras "
                    f"(tolerance {tolerance_m:g} m, {t_span(group)})",
                    0.5 + 0.4 * min(1.0, (worst - tolerance_m) / (2 * tolerance_m)),
                )
            )
    return flags, moments


# -- appearance check ----------------------------------------------------------------------
@dataclass(frozen=True)
class CameraColours:
    """Colour histograms of one camera's objects over a few sampled frames."""

    histograms: dict[int, np.ndarray]  # objects with enough pixels
    pixels: dict[int, int]
    frames_sampled: int


def appearance_check(data: RunData, opts: ReportOptions, clips: Mapping[str, Path]) -> CheckResult[AppearanceSection]:
    """Does each object look (colour histograms) like itself in the reference camera rather than like another?"""
    if opts.appearance_samples == 0:
        return CheckResult(AppearanceSection(reason="disabled (appearance_samples = 0)"))
    reference = data.reference
    if reference not in clips:
        reason = (
            f"the reference camera's clip ({reference}) was not found: the game's clips are needed "
            "for colour histograms"
        )
        return CheckResult(AppearanceSection(reason=reason))
    colours: dict[str, CameraColours] = {}
    notes: list[str] = []
    for cam, d in data.cameras.items():
        if cam not in clips:
            notes.append(f"appearance: no clip for camera {cam}, skipped")
            continue
        found = camera_colours(d, clips[cam], opts)
        if isinstance(found, str):
            notes.append(f"appearance: {found}")
        else:
            colours[cam] = found
    frames_sampled = {cam: c.frames_sampled for cam, c in colours.items()}
    if reference not in colours:
        reason = f"the reference camera's clip ({reference}) could not be read"
        return CheckResult(AppearanceSection(reason=reason, frames_sampled=frames_sampled), notes=notes)
    records, components, moments = [], {}, []
    for cam, c in colours.items():
        if cam == reference:
            continue
        for m in checks.appearance_matches(cam, c.histograms, colours[reference].histograms, opts.appearance_margin):
            record, moment = appearance_match(data, m, c.pixels.get(m.object_id, 0))
            records.append(record)
            if not math.isnan(m.score):
                components[(cam, m.object_id)] = {"appearance": m.score}
            if moment is not None:
                moments.append(moment)
    section = AppearanceSection(available=True, frames_sampled=frames_sampled, matches=records)
    return CheckResult(section, components, moments, notes)


def camera_colours(d: CameraData, clip_path: Path, opts: ReportOptions) -> CameraColours | str:
    """Histograms of a camera's objects on up to ``appearance_samples`` frames; a note (str) when skipped."""
    from multicam.clips import Clip
    from multicam.errors import ClipError

    try:
        clip = Clip(clip_path, cache_size=2)
    except ClipError as exc:
        return f"camera {d.name} skipped ({exc})"
    if tuple(clip.info.resolution_wh) != tuple(d.resolution_wh):
        return f"camera {d.name}'s clip is {clip.info.resolution_wh}, the masks {d.resolution_wh}; skipped"
    hists: dict[int, np.ndarray] = {}
    pixels: dict[int, int] = {}
    with clip:
        candidates = [k for k, fo in enumerate(d.objects) if fo and d.frames[k] < clip.info.frame_count]
        picks = _spread_pick(candidates, opts.appearance_samples)
        try:
            for k in picks:
                image = clip.frame(d.frames[k])
                for oid, (rle, _box, _area, _score) in d.objects[k].items():
                    mask = decode_rle(rle)
                    hists[oid] = hists.get(oid, 0) + checks.color_histogram(image, mask)
                    pixels[oid] = pixels.get(oid, 0) + int(mask.sum())
        except ClipError as exc:
            return f"camera {d.name} skipped ({exc})"
    enough = {o: h for o, h in hists.items() if pixels[o] >= opts.appearance_min_pixels}
    return CameraColours(histograms=enough, pixels=pixels, frames_sampled=len(picks))


def appearance_match(
    data: RunData, m: checks.AppearanceMatch, pixels: int
) -> tuple[AppearanceMatchRecord, Moment | None]:
    """One object's colour match as a record, and a moment to review when another object matches better."""
    teams = data.teams
    teammate = (
        m.best_other is not None
        and teams.get(m.object_id) is not None
        and teams.get(m.best_other) == teams.get(m.object_id)
    )
    record = AppearanceMatchRecord(
        camera=m.camera,
        object_id=m.object_id,
        own=_r(m.own),
        best_other=m.best_other,
        best_other_similarity=_r(m.best_other_similarity),
        same_team=teammate,
        flagged=m.flagged,
        score=_r(m.score),
        pixels=pixels,
        similarity={str(k): _r(v) for k, v in m.similarity.items()},
    )
    if not m.flagged:
        return record, None
    d = data.cameras[m.camera]
    first = next(f for f, fo in zip(d.frames, d.objects) if m.object_id in fo)
    reason = (
        f"in camera {m.camera}, {data.label(m.object_id)} looks more like {data.label(m.best_other)} in "
        f"{data.reference} ({m.best_other_similarity:.2f} vs {m.own:.2f})" + (" - a teammate" if teammate else "")
    )
    severity = 0.4 if teammate else 0.7
    return record, data.moment(m.camera, (first, first), m.object_id, "appearance", reason, severity, m.best_other)


# -- helpers -------------------------------------------------------------------------------
def t_span(group: list[tuple]) -> str:
    """``"1.20-1.64 s"`` for a group of ``(tick, frame, time, ...)`` items, or ``"at 1.20 s"``."""
    t0, t1 = group[0][2], group[-1][2]
    return f"at {t0:.2f} s" if len(group) == 1 else f"{t0:.2f}-{t1:.2f} s"


def _aggregate(pairs: list[PairScore], cameras: list[str], ids: list[int], names: dict[int, str]) -> Scores:
    def mean(vals):
        vals = [v for v in vals if v is not None]
        return _r(float(np.mean(vals))) if vals else None

    objects = {}
    for oid in ids:
        rows = [p for p in pairs if p.object_id == oid]
        objects[str(oid)] = ObjectScore(
            name=names[oid], score=mean(p.score for p in rows), cameras={p.camera: p.score for p in rows}
        )
    cams = {c: CameraScore(score=mean(p.score for p in pairs if p.camera == c)) for c in cameras}
    return Scores(overall=mean(p.score for p in pairs), objects=objects, cameras=cams, pairs=pairs)


def _merge_overlaps(overlaps: list[checks.Overlap]) -> Iterator[dict]:
    """Consecutive frames where the same pair overlaps, as one entry each."""
    by_pair: dict[tuple[int, int], list[checks.Overlap]] = {}
    for o in overlaps:
        by_pair.setdefault(o.object_ids, []).append(o)
    for pair, items in sorted(by_pair.items()):
        items.sort(key=lambda o: o.frame)
        group = [items[0]]
        for o in items[1:]:
            if o.frame == group[-1].frame + 1:
                group.append(o)
            else:
                yield _overlap_run(pair, group)
                group = [o]
        yield _overlap_run(pair, group)


def _overlap_run(pair: tuple[int, int], group: list[checks.Overlap]) -> dict:
    return {
        "object_ids": list(pair),
        "start_frame": group[0].frame,
        "end_frame": group[-1].frame,
        "frames": len(group),
        "max_fraction": _r(max(o.fraction for o in group)),
        "max_pixels": max(o.pixels for o in group),
    }


def _consecutive(items: list[tuple], max_gap: int = 2) -> Iterator[list]:
    """Group items sorted by their first field (a tick index) where ticks are at most ``max_gap`` apart."""
    items = sorted(items)
    group = [items[0]]
    for it in items[1:]:
        if it[0] - group[-1][0] <= max_gap:
            group.append(it)
        else:
            yield group
            group = [it]
    yield group


def _spread_pick(candidates: list[int], n: int) -> list[int]:
    """Up to ``n`` items spread evenly over ``candidates``."""
    if len(candidates) <= n:
        return candidates
    idx = np.linspace(0, len(candidates) - 1, n).round().astype(int)
    return sorted({candidates[i] for i in idx})


def _index(frames: list[int], frame: int) -> int | None:
    import bisect

    k = bisect.bisect_left(frames, frame)
    return k if k < len(frames) and frames[k] == frame else None


def _r(v: float | None, nd: int = 4) -> float | None:
    if v is None:
        return None
    v = float(v)
    return None if math.isnan(v) or math.isinf(v) else round(v, nd)

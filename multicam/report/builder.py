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
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from multicam.geometry import apply_homography, foot_point_xy
from multicam.manifest import UNTRAINED_WARNING
from multicam.masks import FrameMasks, decode_rle
from multicam.report import checks
from multicam.report.calibration import Calibration
from multicam.rundir import Run, now_iso

REPORT_FORMAT = "multicam-report"
REPORT_FORMAT_VERSION = 1


class ReportOptions(BaseModel):
    """Thresholds of the consistency checks."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tolerance_m: float = Field(default=1.0, gt=0, description="Ground spread (m) above which cameras disagree.")
    low_score: float = Field(default=1.0, description="Object score logit below which a present object is flagged.")
    jump_iou: float = Field(default=0.3, ge=0, le=1, description="Consecutive-mask IoU below which a mask jumps.")
    jump_area_ratio: float = Field(default=3.0, gt=1, description="Area change factor that counts as a jump.")
    jump_min_area: int = Field(default=100, ge=0, description="Pixels the larger mask needs for an area jump.")
    overlap_fraction: float = Field(
        default=0.2, gt=0, le=1, description="Shared share of the smaller mask that flags an overlap."
    )
    swap_iou_margin: float = Field(default=0.2, ge=0, description="IoU margin of the exchanged assignment.")
    appearance_samples: int = Field(default=12, ge=0, description="Frames per camera sampled for colours.")
    appearance_margin: float = Field(
        default=0.05, ge=0, description="Similarity margin by which another object must match better."
    )
    appearance_min_pixels: int = Field(default=50, ge=1, description="Mask pixels needed for a colour histogram.")
    airborne: tuple[str, ...] = Field(
        default=("ball",),
        description="Object names whose foot point is not on the ground (plotted, not flagged or scored).",
    )


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
        data: the JSON-ready content of ``report.json`` (the README documents every field).
        moments: the review list, most severe first.
    """

    data: dict[str, Any]
    moments: tuple[Moment, ...] = field(default_factory=tuple)

    @property
    def untrained(self) -> bool:
        return bool(self.data.get("untrained"))

    @property
    def overall_score(self) -> float | None:
        return self.data["scores"]["overall"]

    def below(self, threshold: float) -> list[str]:
        """Descriptions of every object or camera score below ``threshold``."""
        out = []
        for oid, o in self.data["scores"]["objects"].items():
            if o["score"] is not None and o["score"] < threshold:
                out.append(f"object {oid} ({o['name']}): {o['score']:.3f}")
        for cam, c in self.data["scores"]["cameras"].items():
            if c["score"] is not None and c["score"] < threshold:
                out.append(f"camera {cam}: {c['score']:.3f}")
        return out


# -- reading -------------------------------------------------------------------------------
@dataclass
class _CameraData:
    name: str
    resolution_wh: tuple[int, int]
    frames: list[int]
    times: list[float]
    objects: list[dict[int, tuple[dict, tuple | None, int, float | None]]]  # per frame {id: (rle, box, area, score)}


def _read_camera(run: Run, camera: str) -> _CameraData:
    by_frame: dict[int, FrameMasks] = run.frames(camera)
    frames = sorted(by_frame)
    cam = run.cameras[camera]
    return _CameraData(
        name=camera,
        resolution_wh=cam.resolution_wh,
        frames=frames,
        times=[by_frame[f].time for f in frames],
        objects=[
            {o.object_id: (o.rle, o.box_xyxy, o.area, o.score) for o in by_frame[f].objects if o.area > 0}
            for f in frames
        ],
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
    cams_info = run.cameras
    camera_names = list(cams_info)
    reference = run.reference if run.reference in cams_info else camera_names[0]
    objects_info = run.objects
    data_by_cam = {c: _read_camera(run, c) for c in camera_names}
    ids = sorted(set(objects_info) | {i for d in data_by_cam.values() for fo in d.objects for i in fo})
    names = {i: (objects_info[i].name if i in objects_info else f"object {i}") for i in ids}
    teams = {i: (objects_info[i].team if i in objects_info else None) for i in ids}
    timeline = run.timeline()
    notes: list[str] = []
    moments: list[Moment] = []

    def time_of(cam: str, frame: int) -> float:
        d = data_by_cam[cam]
        k = _index(d.frames, frame)
        return d.times[k] if k is not None else timeline.camera(cam).time_of(frame)

    def label(i: int) -> str:
        return f"{i} ({names[i]})"

    presence: dict[str, dict[str, Any]] = {}
    stability_out: dict[str, dict[str, Any]] = {}
    overlaps_out: list[dict] = []
    swaps_out: list[dict] = []
    components: dict[tuple[str, int], dict[str, float | None]] = {}
    for cam in camera_names:
        d = data_by_cam[cam]
        presence[cam] = {}
        stability_out[cam] = {}
        transitions = [
            checks.transition(d.frames[k], d.frames[k - 1], d.objects[k], d.objects[k - 1])
            for k in range(1, len(d.frames))
        ]
        cam_swaps = [s for t in transitions for s in checks.find_swaps(t, opts.swap_iou_margin)]
        cam_overlaps = [
            o for f, objs in zip(d.frames, d.objects) for o in checks.find_overlaps(f, objs, opts.overlap_fraction)
        ]
        for oid in ids:
            present = [oid in fo for fo in d.objects]
            border = [oid in fo and checks.box_touches_border(fo[oid][1], d.resolution_wh) for fo in d.objects]
            scores = [fo[oid][3] if oid in fo else None for fo in d.objects]
            segs = checks.presence_segments(d.frames, present)
            lost = checks.lost_segments(d.frames, present, border)
            low = checks.low_score_segments(d.frames, scores, opts.low_score)
            n_present = sum(present)
            valid_scores = [s for s in scores if s is not None]
            presence[cam][str(oid)] = {
                "present_frames": n_present,
                "processed_frames": len(d.frames),
                "first_frame": segs[0].start_frame if segs else None,
                "last_frame": segs[-1].end_frame if segs else None,
                "segments": [s.to_json() for s in segs],
                "lost": [s.to_json() for s in lost],
                "low_score": [s.to_json() for s in low],
                "mean_score": _r(np.mean(valid_scores)) if valid_scores else None,
            }
            ious, jumps = checks.stability(transitions, oid, opts.jump_iou, opts.jump_area_ratio, opts.jump_min_area)
            stability_out[cam][str(oid)] = {
                "transitions": len(ious),
                "mean_iou": _r(np.mean(ious)) if ious else None,
                "min_iou": _r(min(ious)) if ious else None,
                "jumps": [
                    {
                        "frame": j.frame,
                        "time": _r(time_of(cam, j.frame)),
                        "iou": _r(j.iou),
                        "area_ratio": _r(j.area_ratio),
                        "reason": j.reason,
                    }
                    for j in jumps
                ],
            }
            present_frames = [f for f, p in zip(d.frames, present) if p]
            comp: dict[str, float | None] = {}
            if n_present == 0:
                is_ref = cam == reference
                moments.append(
                    Moment(
                        cam,
                        d.frames[0] if d.frames else 0,
                        d.frames[-1] if d.frames else 0,
                        time_of(cam, d.frames[0]) if d.frames else 0.0,
                        oid,
                        None,
                        "never_seen",
                        f"object {label(oid)} never appears in camera {cam}",
                        0.9 if is_ref else 0.3,
                    )
                )
                components[(cam, oid)] = {"continuity": 0.0} if is_ref else {}
                continue
            first_pos = d.frames.index(present_frames[0])
            after_first = len(d.frames) - first_pos
            lost_frames = sum(s.frames for s in lost if not s.at_border)
            comp["continuity"] = 1 - lost_frames / after_first if after_first else None
            comp["confidence"] = (1 - sum(s.frames for s in low) / n_present) if valid_scores else None
            comp["stability"] = (1 - len(jumps) / len(ious)) if ious else None
            overlap_frames = {o.frame for o in cam_overlaps if oid in o.object_ids}
            comp["exclusivity"] = 1 - len(overlap_frames) / n_present
            comp["identity"] = 1 - checks.swapped_frames(present_frames, cam_swaps, oid) / n_present
            components[(cam, oid)] = comp
            fps = cams_info[cam].fps
            for s in lost:
                seconds = s.frames / fps
                sev = (0.4 + 0.5 * min(1.0, seconds / 2.0)) * (0.4 if s.at_border else 1.0)
                where = " after touching the image border (probably left the view)" if s.at_border else ""
                back = "until the end" if s.kind == "end" else f"for {s.frames} frames ({seconds:.2f} s)"
                moments.append(
                    Moment(
                        cam,
                        s.start_frame,
                        s.end_frame,
                        time_of(cam, s.start_frame),
                        oid,
                        None,
                        "lost",
                        f"object {label(oid)} lost {back}{where}",
                        sev,
                    )
                )
            for s in low:
                moments.append(
                    Moment(
                        cam,
                        s.start_frame,
                        s.end_frame,
                        time_of(cam, s.start_frame),
                        oid,
                        None,
                        "low_score",
                        f"object {label(oid)} has a low score for {s.frames} frame(s)",
                        0.3,
                    )
                )
            for j in jumps:
                what = (
                    f"area changes x{j.area_ratio:.1f}"
                    if j.reason == "area"
                    else f"IoU with the previous mask is {j.iou:.2f}"
                )
                moments.append(
                    Moment(
                        cam,
                        j.frame,
                        j.frame,
                        time_of(cam, j.frame),
                        oid,
                        None,
                        "jump",
                        f"mask of {label(oid)} jumps: {what}",
                        0.6 - 0.3 * min(j.iou, 1.0),
                    )
                )
        for run_ in _merge_overlaps(cam_overlaps):
            a, b = run_["object_ids"]
            overlaps_out.append({"camera": cam, "time": _r(time_of(cam, run_["start_frame"])), **run_})
            moments.append(
                Moment(
                    cam,
                    run_["start_frame"],
                    run_["end_frame"],
                    time_of(cam, run_["start_frame"]),
                    a,
                    b,
                    "overlap",
                    f"objects {label(a)} and {label(b)} claim the same pixels "
                    f"(up to {run_['max_fraction']:.0%} of the smaller mask, {run_['frames']} frame(s))",
                    0.3 + 0.5 * run_["max_fraction"],
                )
            )
        for s in cam_swaps:
            a, b = s.object_ids
            swaps_out.append(
                {
                    "camera": cam,
                    "frame": s.frame,
                    "time": _r(time_of(cam, s.frame)),
                    "object_ids": [a, b],
                    "by": s.by,
                    "straight": _r(s.straight),
                    "crossed": _r(s.crossed),
                }
            )
            moments.append(
                Moment(
                    cam,
                    s.frame,
                    s.frame,
                    time_of(cam, s.frame),
                    a,
                    b,
                    "swap",
                    f"objects {label(a)} and {label(b)} exchange identities (by {s.by})",
                    1.0,
                )
            )

    ground = _ground_check(
        run,
        opts,
        calibration,
        calibration_note,
        data_by_cam,
        timeline,
        reference,
        ids,
        names,
        teams,
        components,
        moments,
        time_of,
        label,
    )
    appearance = _appearance_check(
        opts, clips or {}, data_by_cam, reference, ids, teams, components, moments, time_of, label, notes
    )

    pair_scores = []
    for cam in camera_names:
        for oid in ids:
            comp = components.get((cam, oid), {})
            pair_scores.append(
                {
                    "camera": cam,
                    "object_id": oid,
                    "score": _r(checks.combine_components(comp)),
                    "components": {k: _r(v) for k, v in comp.items()},
                }
            )
    scores = _aggregate(pair_scores, camera_names, ids, names)
    moments.sort(key=lambda m: (-m.severity, m.time, m.camera, m.object_id))
    untrained = run.untrained
    warnings = [UNTRAINED_WARNING] if untrained else []
    if run.status != "complete":
        warnings.append(f"the run's status is {run.status!r}: it may be missing frames")
    data = {
        "format": REPORT_FORMAT,
        "format_version": REPORT_FORMAT_VERSION,
        "created_at": now_iso(),
        "run": str(run.path),
        "kind": run.kind,
        "status": run.status,
        "game": run.game_name,
        "reference": reference,
        "untrained": untrained,
        "warnings": warnings,
        "notes": notes,
        "settings": opts.model_dump(mode="json"),
        "cameras": {
            c: {
                "resolution_wh": list(cams_info[c].resolution_wh),
                "fps": cams_info[c].fps,
                "frame_count": cams_info[c].frame_count,
                "offset": cams_info[c].offset,
                "frames_processed": len(data_by_cam[c].frames),
                "first_frame": data_by_cam[c].frames[0] if data_by_cam[c].frames else None,
                "last_frame": data_by_cam[c].frames[-1] if data_by_cam[c].frames else None,
            }
            for c in camera_names
        },
        "objects": {str(i): {"name": names[i], "team": teams[i]} for i in ids},
        "scores": scores,
        "presence": presence,
        "stability": stability_out,
        "overlaps": overlaps_out,
        "swaps": swaps_out,
        "ground": ground,
        "appearance": appearance,
        "review": [m.to_json() for m in moments],
    }
    return Report(data=data, moments=tuple(moments))


def _ground_check(  # noqa: C901
    run,
    opts,
    calibration,
    calibration_note,
    data_by_cam,
    timeline,
    reference,
    ids,
    names,
    teams,
    components,
    moments,
    time_of,
    label,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "available": False,
        "reason": None,
        "calibration": None,
        "tolerance_m": opts.tolerance_m,
        "court_size_m": None,
        "excluded_objects": [],
        "objects": {},
        "flagged": [],
        "tracks": {},
    }
    if calibration is None:
        out["reason"] = calibration_note or "no calibration file (pass --calibration FILE)"
        return out
    missing = [c for c in data_by_cam if c not in calibration.image_to_ground]
    usable = [c for c in data_by_cam if c in calibration.image_to_ground]
    if calibration.resolution_wh:
        for c in list(usable):
            res = calibration.resolution_wh.get(c)
            if res is not None and tuple(res) != tuple(data_by_cam[c].resolution_wh):
                usable.remove(c)
                missing.append(c)
    out.update(
        available=len(usable) >= 2,
        calibration=str(calibration.path),
        court_size_m=list(calibration.court_size_m) if calibration.court_size_m else None,
    )
    if missing:
        out["reason"] = f"no usable homography for camera(s) {sorted(missing)}"
    if len(usable) < 2:
        out["reason"] = (out["reason"] or "") + "; the ground check needs at least two calibrated cameras"
        return out
    airborne = {n.lower() for n in opts.airborne}
    excluded = [i for i in ids if names[i].lower() in airborne]
    out["excluded_objects"] = excluded
    feet = _read_foot_points(run)
    # ground position of every object in every frame of every usable camera
    positions: dict[str, dict[int, dict[int, tuple[float, float]]]] = {}
    for cam in usable:
        d = data_by_cam[cam]
        h = calibration.image_to_ground[cam]
        w_img, h_img = d.resolution_wh
        positions[cam] = {}
        tracks: dict[str, dict[str, list]] = {}
        for f, t, objs in zip(d.frames, d.times, d.objects):
            for oid, (rle, box, _area, _score) in objs.items():
                if box is None or box[3] >= h_img:
                    continue  # cut by the bottom edge: the foot is not visible
                foot = feet.get((cam, f, oid))
                if foot is None:
                    foot = foot_point_xy(decode_rle(rle))
                if foot is None:
                    continue
                hidden = checks.foot_hidden(foot, [v[1] for k, v in objs.items() if k != oid and v[1] is not None])
                gx, gy = apply_homography(h, np.array([foot]))[0]
                if not hidden:
                    positions[cam].setdefault(oid, {})[f] = (float(gx), float(gy))
                tr = tracks.setdefault(str(oid), {"frame": [], "time": [], "x_m": [], "y_m": [], "hidden": []})
                tr["frame"].append(f)
                tr["hidden"].append(hidden)
                tr["time"].append(_r(t))
                tr["x_m"].append(_r(gx))
                tr["y_m"].append(_r(gy))
        out["tracks"][cam] = tracks
    ref = reference if reference in usable else usable[0]
    per_obj: dict[int, dict[str, Any]] = {}
    flagged_by_key: dict[tuple[int, str], list[tuple[int, int, float, float]]] = {}
    for tick, f_ref in enumerate(data_by_cam[ref].frames):
        t = timeline.camera(ref).time_of(f_ref)
        frames_at = {c: timeline.camera(c).frame_at(t) for c in usable}
        for oid in ids:
            pos = {
                c: positions[c][oid][fc]
                for c, fc in frames_at.items()
                if fc is not None and oid in positions[c] and fc in positions[c][oid]
            }
            ag = checks.ground_agreement(t, oid, pos, opts.tolerance_m)
            if ag is None:
                continue
            o = per_obj.setdefault(
                oid,
                {
                    "compared": 0,
                    "flagged": 0,
                    "spreads": [],
                    "cameras": {c: {"compared": 0, "agree": 0} for c in usable},
                },
            )
            o["compared"] += 1
            o["spreads"].append(ag.spread_m)
            if ag.flagged:
                o["flagged"] += 1
            for c in ag.positions:
                o["cameras"][c]["compared"] += 1
                if c not in ag.outliers:
                    o["cameras"][c]["agree"] += 1
            if ag.flagged and oid not in excluded:
                blame = [c for c in ag.outliers if c != ref] or list(ag.outliers)
                for c in blame:
                    flagged_by_key.setdefault((oid, c), []).append((tick, frames_at[c], t, ag.spread_m))
    for oid, o in per_obj.items():
        spreads = o.pop("spreads")
        o.update(median_spread_m=_r(np.median(spreads)), max_spread_m=_r(max(spreads)), scored=oid not in excluded)
        if oid not in excluded:
            for c, cc in o["cameras"].items():
                if cc["compared"] and (c, oid) in components:
                    components[(c, oid)]["ground"] = cc["agree"] / cc["compared"]
        out["objects"][str(oid)] = o
    for (oid, cam), items in sorted(flagged_by_key.items()):
        for group in _consecutive(items):
            _, f0, t0, _ = group[0]
            f1 = group[-1][1]
            worst = max(it[3] for it in group)
            out["flagged"].append(
                {
                    "camera": cam,
                    "object_id": oid,
                    "start_frame": f0,
                    "end_frame": f1,
                    "time": _r(t0),
                    "moments": len(group),
                    "max_spread_m": _r(worst),
                }
            )
            sev = 0.5 + 0.4 * min(1.0, (worst - opts.tolerance_m) / (2 * opts.tolerance_m))
            moments.append(
                Moment(
                    cam,
                    f0,
                    f1,
                    t0,
                    oid,
                    None,
                    "ground",
                    f"camera {cam} puts {label(oid)} {worst:.1f} m away from the other cameras "
                    f"(tolerance {opts.tolerance_m:g} m, {t_span(group)})",
                    sev,
                )
            )
    return out


def _appearance_check(  # noqa: C901
    opts, clips, data_by_cam, reference, ids, teams, components, moments, time_of, label, notes
) -> dict[str, Any]:
    out: dict[str, Any] = {"available": False, "reason": None, "frames_sampled": {}, "matches": []}
    if opts.appearance_samples == 0:
        out["reason"] = "disabled (appearance_samples = 0)"
        return out
    if reference not in clips:
        out["reason"] = (
            f"the reference camera's clip ({reference}) was not found: the game's clips are needed "
            "for colour histograms"
        )
        return out
    from multicam.clips import Clip
    from multicam.errors import ClipError

    hists: dict[str, dict[int, np.ndarray]] = {}
    counts: dict[str, dict[int, int]] = {}
    for cam, d in data_by_cam.items():
        if cam not in clips:
            notes.append(f"appearance: no clip for camera {cam}, skipped")
            continue
        try:
            clip = Clip(clips[cam], cache_size=2)
        except ClipError as exc:
            notes.append(f"appearance: camera {cam} skipped ({exc})")
            continue
        if tuple(clip.info.resolution_wh) != tuple(d.resolution_wh):
            notes.append(
                f"appearance: camera {cam}'s clip is {clip.info.resolution_wh}, the masks {d.resolution_wh}; skipped"
            )
            continue
        with clip:
            candidates = [k for k, fo in enumerate(d.objects) if fo and d.frames[k] < clip.info.frame_count]
            picks = _spread_pick(candidates, opts.appearance_samples)
            h_cam: dict[int, np.ndarray] = {}
            n_cam: dict[int, int] = {}
            try:
                for k in picks:
                    image = clip.frame(d.frames[k])
                    for oid, (rle, _box, _area, _score) in d.objects[k].items():
                        mask = decode_rle(rle)
                        h_cam[oid] = h_cam.get(oid, 0) + checks.color_histogram(image, mask)
                        n_cam[oid] = n_cam.get(oid, 0) + int(mask.sum())
            except ClipError as exc:
                notes.append(f"appearance: camera {cam} skipped ({exc})")
                continue
        hists[cam] = {o: h for o, h in h_cam.items() if n_cam[o] >= opts.appearance_min_pixels}
        counts[cam] = n_cam
        out["frames_sampled"][cam] = len(picks)
    if reference not in hists:
        out["reason"] = f"the reference camera's clip ({reference}) could not be read"
        return out
    out["available"] = True
    for cam, h in hists.items():
        if cam == reference:
            continue
        for m in checks.appearance_matches(cam, h, hists[reference], opts.appearance_margin):
            teammate = (
                m.best_other is not None
                and teams.get(m.object_id) is not None
                and teams.get(m.best_other) == teams.get(m.object_id)
            )
            out["matches"].append(
                {
                    "camera": cam,
                    "object_id": m.object_id,
                    "own": _r(m.own),
                    "best_other": m.best_other,
                    "best_other_similarity": _r(m.best_other_similarity),
                    "same_team": teammate,
                    "flagged": m.flagged,
                    "score": _r(m.score),
                    "pixels": counts[cam].get(m.object_id, 0),
                    "similarity": {str(k): _r(v) for k, v in m.similarity.items()},
                }
            )
            if (cam, m.object_id) in components and not math.isnan(m.score):
                components[(cam, m.object_id)]["appearance"] = m.score
            if m.flagged:
                d = data_by_cam[cam]
                first = next(f for f, fo in zip(d.frames, d.objects) if m.object_id in fo)
                moments.append(
                    Moment(
                        cam,
                        first,
                        first,
                        time_of(cam, first),
                        m.object_id,
                        m.best_other,
                        "appearance",
                        f"in camera {cam}, {label(m.object_id)} looks more like {label(m.best_other)} in {reference} "
                        f"({m.best_other_similarity:.2f} vs {m.own:.2f})" + (" - a teammate" if teammate else ""),
                        0.4 if teammate else 0.7,
                    )
                )
    return out


# -- helpers -------------------------------------------------------------------------------
def t_span(group: list[tuple]) -> str:
    """``"1.20-1.64 s"`` for a group of ``(tick, frame, time, ...)`` items, or ``"at 1.20 s"``."""
    t0, t1 = group[0][2], group[-1][2]
    return f"at {t0:.2f} s" if len(group) == 1 else f"{t0:.2f}-{t1:.2f} s"


def _aggregate(pair_scores: list[dict], cameras: list[str], ids: list[int], names: dict[int, str]) -> dict:
    def mean(vals):
        vals = [v for v in vals if v is not None]
        return _r(float(np.mean(vals))) if vals else None

    objects = {}
    for oid in ids:
        rows = [p for p in pair_scores if p["object_id"] == oid]
        objects[str(oid)] = {
            "name": names[oid],
            "score": mean(p["score"] for p in rows),
            "cameras": {p["camera"]: p["score"] for p in rows},
        }
    cams = {c: {"score": mean(p["score"] for p in pair_scores if p["camera"] == c)} for c in cameras}
    return {"overall": mean(p["score"] for p in pair_scores), "objects": objects, "cameras": cams, "pairs": pair_scores}


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

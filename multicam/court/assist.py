"""Prompt assist by geometry: the reference camera's box prompts projected into every other camera.

For each box prompt on the reference camera, the box's bottom centre is the object's nearest foot;
it goes to the floor through the reference camera's calibration and ``foot_to_centre_m`` further
away from that camera (the body's centre), and a box of the object's size
(its height and width measured from the reference box at that spot; ``person_height_m`` and
``person_width_m`` when that looks wrong) standing there is projected into every other camera at
the same game time. That camera's frame gets a derived box prompt for the object,
unless it is ambiguous: the box overlaps the derived box of another object prompted within
``window_s`` with IoU above ``max_iou`` or is more than ``max_cover`` covered by it (one behind
the other in that camera), the object's feet may be hidden by another object in the reference
camera, or less than ``min_inside`` of it is inside the image (or the object stands behind the
camera).
Airborne objects (the ball) are skipped: their height is unknown from one camera.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from multicam.court.camera import CameraModel
from multicam.manifest import DerivedPrompt, DerivedPrompts, SkippedPrompt


class AssistOptions(BaseModel):
    """Sizes and thresholds of the derived prompts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    person_height_m: float = Field(default=1.9, gt=0)
    person_width_m: float = Field(default=0.7, gt=0)
    max_iou: float = Field(default=0.5, ge=0, le=1, description="Derived boxes overlapping more are skipped.")
    min_inside: float = Field(default=0.9, gt=0, le=1, description="Share of the box that must be in the image.")
    size_from_box: bool = Field(default=True, description="Size each box from the reference box (else the defaults).")
    max_cover: float = Field(
        default=0.5, gt=0, le=1, description="Skip when another object's box covers more than this share of this one."
    )
    foot_to_centre_m: float = Field(
        default=0.15, ge=0, description="From the box's bottom (the nearest foot) back to the body's centre (m)."
    )
    window_s: float = Field(default=0.25, ge=0, description="Prompts this close in time are compared for overlap.")
    airborne: tuple[str, ...] = ("ball",)


@dataclass(frozen=True)
class SourcePrompt:
    """A box prompt on the reference camera."""

    object_id: int
    name: str
    time: float
    frame: int
    box_xyxy: tuple[float, float, float, float]


def _skip(source: SourcePrompt, camera: str, reason: str) -> SkippedPrompt:
    return SkippedPrompt(object_id=source.object_id, camera=camera, time=source.time, reason=reason)


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of two ``(x0, y0, x1, y1)`` boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def object_size(cam: CameraModel, box_xyxy: Sequence[float], floor_xy: Sequence[float]) -> tuple[float, float]:
    """``(height_m, width_m)`` of an object standing at ``floor_xy`` whose box in ``cam`` is ``box_xyxy``.

    The height is where the ray through the box's top centre passes the vertical line at ``floor_xy``;
    the width is the box's pixel width at the object's depth.
    """
    x0, y0, x1, y1 = box_xyxy
    top = cam.undistort(np.array([[(x0 + x1) / 2, y0]]))[0]
    d = cam.R.T @ np.linalg.solve(cam.K, np.array([top[0], top[1], 1.0]))
    c = cam.position_m
    p = np.asarray(floor_xy, dtype=np.float64)
    s = float((p - c[:2]) @ d[:2] / max(float(d[:2] @ d[:2]), 1e-12))
    height = c[2] + s * d[2]
    depth = float(cam.depth(np.array([[p[0], p[1], max(height, 0.0) / 2]]))[0])
    width = (x1 - x0) * depth / cam.focal_px
    return float(height), float(width)


def foot_hidden(source: SourcePrompt, sources: Sequence[SourcePrompt], margin: float = 2.0) -> bool:
    """Whether the bottom of a reference box may be cut by another object standing in front of it.

    True when the point just below the box's bottom centre lies inside the box of another object
    prompted on the same frame whose bottom is lower in the picture (nearer the camera).
    """
    x0, _, x1, y1 = source.box_xyxy
    fx, fy = (x0 + x1) / 2, y1
    return any(
        o.object_id != source.object_id
        and o.frame == source.frame
        and o.box_xyxy[0] <= fx < o.box_xyxy[2]
        and o.box_xyxy[1] <= fy + margin
        and o.box_xyxy[3] > fy
        for o in sources
    )


def box_cover(a: Sequence[float], b: Sequence[float]) -> float:
    """Share of box ``a`` that box ``b`` covers."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    area = (a[2] - a[0]) * (a[3] - a[1])
    return ix * iy / area if area > 0 else 0.0


def person_box(
    cam: CameraModel, floor_xy: Sequence[float], options: AssistOptions, size: tuple[float, float] | None = None
) -> tuple[float, ...] | None:
    """The image box ``(x0, y0, x1, y1)`` of a person-sized box standing at ``floor_xy``; None when behind the camera.

    ``size`` is ``(height_m, width_m)`` (default: ``options.person_height_m`` and ``person_width_m``).
    """
    h, w = size or (options.person_height_m, options.person_width_m)
    r = w / 2
    x, y = float(floor_xy[0]), float(floor_xy[1])
    corners = np.array([[x + dx, y + dy, z] for dx in (-r, r) for dy in (-r, r) for z in (0.0, h)])
    if np.any(cam.depth(corners) <= 0.1):
        return None
    uv = cam.project(corners)
    return float(uv[:, 0].min()), float(uv[:, 1].min()), float(uv[:, 0].max()), float(uv[:, 1].max())


def _inside(box: Sequence[float], wh: tuple[int, int]) -> float:
    w, h = wh
    area = (box[2] - box[0]) * (box[3] - box[1])
    if area <= 0:
        return 0.0
    clipped = (min(max(box[0], 0), w), min(max(box[1], 0), h), min(max(box[2], 0), w), min(max(box[3], 0), h))
    return (clipped[2] - clipped[0]) * (clipped[3] - clipped[1]) / area


def _sizes(ref: CameraModel, sources: Sequence[SourcePrompt], feet: np.ndarray, opts: AssistOptions) -> list:
    """Each object's ``(height_m, width_m)`` from its reference box, within sane bounds of the defaults."""
    sizes = []
    for s, xy in zip(sources, feet):  # each object's own size from its reference box, within sane bounds
        size = (opts.person_height_m, opts.person_width_m)
        if opts.size_from_box and np.all(np.isfinite(xy)):
            h, w = object_size(ref, s.box_xyxy, xy)
            if 0.5 * opts.person_height_m <= h <= 1.4 * opts.person_height_m:
                size = (h, float(np.clip(w, 0.4 * opts.person_width_m, 1.5 * opts.person_width_m)))
        sizes.append(size)
    return sizes


def derive_prompts(
    sources: Sequence[SourcePrompt],
    cameras: Mapping[str, CameraModel],
    reference: str,
    frame_at: Callable[[str, float], int | None],
    options: AssistOptions | None = None,
) -> tuple[list[DerivedPrompt], list[SkippedPrompt]]:
    """Derived box prompts for every other calibrated camera, and the ones skipped with why."""
    opts = options or AssistOptions()
    airborne = {n.lower() for n in opts.airborne}
    ref = cameras[reference]
    derived: list[DerivedPrompt] = []
    skipped: list[SkippedPrompt] = []
    if not sources:
        return derived, skipped
    feet = ref.image_to_floor(np.array([[(s.box_xyxy[0] + s.box_xyxy[2]) / 2, s.box_xyxy[3]] for s in sources]))
    if opts.foot_to_centre_m and len(feet):  # the box's bottom is the nearest foot: the body stands behind it
        away = feet - ref.position_m[:2]
        feet = feet + opts.foot_to_centre_m * away / np.maximum(np.linalg.norm(away, axis=1, keepdims=True), 1e-9)
    hidden = [foot_hidden(s, sources) for s in sources]
    sizes = _sizes(ref, sources, feet, opts)
    for cam_name, cam in cameras.items():
        if cam_name == reference:
            continue
        boxes: dict[int, tuple] = {}  # source index -> (floor xy, box)
        for k, (s, xy) in enumerate(zip(sources, feet)):
            if hidden[k]:
                skipped.append(_skip(s, cam_name, "its feet may be hidden in the reference"))
            elif s.name.lower() in airborne:
                skipped.append(_skip(s, cam_name, "airborne object (height unknown)"))
            elif not np.all(np.isfinite(xy)):
                skipped.append(_skip(s, cam_name, "the box's bottom is above the horizon"))
            else:
                box = person_box(cam, xy, opts, sizes[k])
                if box is None or _inside(box, cam.resolution_wh) < opts.min_inside:
                    skipped.append(_skip(s, cam_name, "outside the image"))
                else:
                    boxes[k] = (xy, box)
        for k, (xy, box) in boxes.items():
            s = sources[k]
            near = [
                b
                for j, (_, b) in boxes.items()
                if sources[j].object_id != s.object_id and abs(sources[j].time - s.time) <= opts.window_s
            ]
            worst = max((box_iou(box, b) for b in near), default=0.0)
            cover = max((box_cover(box, b) for b in near), default=0.0)
            if worst > opts.max_iou or cover > opts.max_cover:
                why = f"IoU {worst:.2f} with" if worst > opts.max_iou else f"{cover:.0%} covered by"
                skipped.append(_skip(s, cam_name, f"ambiguous ({why} another object)"))
                continue
            frame = frame_at(cam_name, s.time)
            if frame is None:
                skipped.append(_skip(s, cam_name, "the camera's clip does not cover this time"))
                continue
            derived.append(
                DerivedPrompt(
                    object_id=s.object_id,
                    camera=cam_name,
                    frame=frame,
                    time=s.time,
                    box_xyxy=box,
                    floor_xy=(float(xy[0]), float(xy[1])),
                    source_frame=s.frame,
                )
            )
    return derived, skipped


def assist_game_prompts(
    opened, layout, prompts: list, options: AssistOptions | None = None
) -> tuple[list, DerivedPrompts]:
    """Derived prompts for a game whose ``processing.prompt_assist`` is ``geometry`` (the pipeline's edge).

    Args:
        opened: the :class:`multicam.session.OpenGame`.
        layout: its sequence layout.
        prompts: the resolved :class:`multicam.layout.FramePrompt` list.

    Returns:
        ``(prompts with the derived ones added, manifest record)``; an object that already has a
        prompt on a camera's frame keeps it (no derived prompt there).

    Raises:
        GameFileError: the game has no calibration with full cameras.
    """
    from multicam.court.files import load_cameras
    from multicam.court.templates import CourtError
    from multicam.errors import GameFileError
    from multicam.layout import FramePrompt

    game = opened.game
    if game.calibration_path is None:
        raise GameFileError(
            f"{game.path}: processing.prompt_assist: geometry needs a calibration; run `multicam calibrate` first"
        )
    try:
        cameras = load_cameras(game.calibration_path)
    except CourtError as exc:
        raise GameFileError(f"{game.path}: processing.prompt_assist: {exc}") from None
    sizes = {n: tuple(i.resolution_wh) for n, i in opened.clips.items()}
    cameras = {n: c for n, c in cameras.items() if n in sizes and tuple(c.resolution_wh) == sizes[n]}
    reference = opened.reference
    if reference not in cameras:
        raise GameFileError(
            f"{game.path}: processing.prompt_assist: the reference camera {reference!r} is not calibrated "
            "at its clip's size"
        )
    names = {o.id: o.name for o in opened.prompts.merged()}
    timeline = opened.timeline
    sources = [
        SourcePrompt(
            p.object_id, names.get(p.object_id, ""), timeline.camera(reference).time_of(p.frame), p.frame, p.box_xyxy
        )
        for p in prompts
        if p.camera == reference and p.box_xyxy is not None
    ]
    derived, skipped = derive_prompts(sources, cameras, reference, lambda c, t: timeline.camera(c).frame_at(t), options)
    taken = {(p.object_id, p.camera, p.frame) for p in prompts}
    kept = [d for d in derived if (d.object_id, d.camera, d.frame) not in taken]
    extra = [
        FramePrompt(
            object_id=d.object_id,
            camera=d.camera,
            frame=d.frame,
            index=layout.index_of(d.camera, d.frame),
            positive=(),
            negative=(),
            box_xyxy=tuple(round(v, 1) for v in d.box_xyxy),
            resolution_wh=sizes[d.camera],
        )
        for d in kept
    ]
    record = DerivedPrompts(calibration=str(game.calibration_path), prompts=kept, skipped=skipped)
    return sorted([*prompts, *extra], key=lambda fp: (fp.index, fp.object_id)), record

"""Cross-camera consistency checks: pure functions over masks, points and histograms.

Each check takes plain data (frame indices, COCO RLE masks, boxes, scores, points, histograms)
and returns frozen results; nothing here reads files. :mod:`multicam.report.builder` feeds them
from a run directory.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from multicam.evaluation.identity import rle_iou_matrix


# -- presence ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Segment:
    """A run of frames, both ends inclusive.

    Attributes:
        start_frame: first frame of the run.
        end_frame: last frame of the run.
        kind: ``"gap"`` (the object comes back after it) or ``"end"`` (it never comes back);
            ``"present"`` for presence runs; ``"low_score"`` for low-score runs.
        frames: number of frames in the run.
        at_border: for lost segments, whether the object's last mask before it touched the image
            border (the object probably left the view).
    """

    start_frame: int
    end_frame: int
    kind: str
    frames: int
    at_border: bool = False

    def to_json(self) -> dict:
        return {
            "start_frame": self.start_frame,
            "end_frame": self.end_frame,
            "kind": self.kind,
            "frames": self.frames,
            "at_border": self.at_border,
        }


def true_runs(values: Sequence[bool]) -> list[tuple[int, int]]:
    """``(start, end)`` positions (inclusive) of every run of True values."""
    runs = []
    start = None
    for i, v in enumerate(values):
        if v and start is None:
            start = i
        elif not v and start is not None:
            runs.append((start, i - 1))
            start = None
    if start is not None:
        runs.append((start, len(values) - 1))
    return runs


def presence_segments(frames: Sequence[int], present: Sequence[bool]) -> list[Segment]:
    """Runs of frames where an object is present (``frames`` in order, same length as ``present``)."""
    _same_length(frames, present)
    return [Segment(frames[a], frames[b], "present", b - a + 1) for a, b in true_runs(present)]


def lost_segments(
    frames: Sequence[int], present: Sequence[bool], touches_border: Sequence[bool] | None = None
) -> list[Segment]:
    """Runs of frames where an object that was present before is absent.

    A run is a ``"gap"`` when the object is present again after it, ``"end"`` when it never comes
    back. Absence before the first appearance is not a loss. ``touches_border[i]`` says whether the
    mask at position ``i`` touches the image border (sets ``at_border`` of the following loss).
    """
    _same_length(frames, present)
    out = []
    for a, b in true_runs([not p for p in present]):
        if a == 0:
            continue  # not seen yet
        kind = "gap" if b < len(present) - 1 else "end"
        border = bool(touches_border[a - 1]) if touches_border is not None else False
        out.append(Segment(frames[a], frames[b], kind, b - a + 1, border))
    return out


def low_score_segments(frames: Sequence[int], scores: Sequence[float | None], threshold: float) -> list[Segment]:
    """Runs of frames where an object is present with a score below ``threshold`` (None = no score)."""
    _same_length(frames, scores)
    low = [s is not None and not math.isnan(s) and s < threshold for s in scores]
    return [Segment(frames[a], frames[b], "low_score", b - a + 1) for a, b in true_runs(low)]


def box_touches_border(box_xyxy: Sequence[float] | None, resolution_wh: tuple[int, int], margin: int = 1) -> bool:
    """Whether a box (exclusive max) lies within ``margin`` pixels of the image border."""
    if box_xyxy is None:
        return False
    x0, y0, x1, y1 = box_xyxy
    w, h = resolution_wh
    return x0 < margin or y0 < margin or x1 > w - margin or y1 > h - margin


# -- temporal stability, overlaps and swaps ------------------------------------------------
@dataclass(frozen=True)
class Transition:
    """Two consecutive frames of one camera, for the temporal checks.

    Attributes:
        frame: the later frame; ``prev_frame`` the earlier one.
        prev_frame: the earlier frame.
        ids: objects present in both frames, shape ``(N,)``.
        iou: ``iou[i, j]`` = IoU of object ``ids[i]`` now with object ``ids[j]`` before, ``(N, N)``.
        area_prev: areas before, ``(N,)``; ``area_now`` areas now, ``(N,)``.
        centroid_prev: ``(N, 2)`` centroids ``(x, y)`` before (box centres); ``centroid_now`` now.
    """

    frame: int
    prev_frame: int
    ids: tuple[int, ...]
    iou: np.ndarray
    area_prev: np.ndarray
    area_now: np.ndarray
    centroid_prev: np.ndarray
    centroid_now: np.ndarray


def transition(frame: int, prev_frame: int, now: Mapping[int, tuple], prev: Mapping[int, tuple]) -> Transition:
    """Build a :class:`Transition` from ``{id: (rle, box_xyxy, area, ...)}`` of the two frames."""
    ids = tuple(sorted(set(now) & set(prev)))
    iou = rle_iou_matrix([now[i][0] for i in ids], [prev[i][0] for i in ids])

    def centres(d):
        return np.array(
            [[(d[i][1][0] + d[i][1][2]) / 2, (d[i][1][1] + d[i][1][3]) / 2] for i in ids], dtype=np.float64
        ).reshape(-1, 2)

    return Transition(
        frame=frame,
        prev_frame=prev_frame,
        ids=ids,
        iou=iou,
        area_prev=np.array([prev[i][2] for i in ids], dtype=np.float64),
        area_now=np.array([now[i][2] for i in ids], dtype=np.float64),
        centroid_prev=centres(prev),
        centroid_now=centres(now),
    )


@dataclass(frozen=True)
class Jump:
    """A sudden change of one object's mask between consecutive frames.

    Attributes:
        frame: the frame where the new mask appears.
        object_id: the object.
        iou: IoU with its previous mask.
        area_ratio: larger area over smaller area of the two masks.
        reason: ``"iou"`` (the mask moved or changed shape) or ``"area"`` (it grew or shrank).
    """

    frame: int
    object_id: int
    iou: float
    area_ratio: float
    reason: str


def stability(
    transitions: Sequence[Transition],
    object_id: int,
    jump_iou: float = 0.3,
    jump_area_ratio: float = 3.0,
    min_area: float = 100.0,
) -> tuple[list[float], list[Jump]]:
    """One object's IoU between consecutive masks, and the flagged jumps.

    A transition is a jump when the area changes by more than ``jump_area_ratio`` (and the larger
    mask has at least ``min_area`` pixels: tiny masks change size with every pixel), or when the
    IoU falls below ``jump_iou`` while the object's median IoU is at least twice that (objects
    that are always small and fast, like a ball, do not jump every frame).

    Returns:
        ``(ious, jumps)``: the IoU of every transition where the object is in both frames, in order.
    """
    ious: list[tuple[int, float, float, bool]] = []
    for t in transitions:
        if object_id in t.ids:
            k = t.ids.index(object_id)
            a, b = t.area_prev[k], t.area_now[k]
            ratio = max(a, b) / max(min(a, b), 1.0)
            ious.append((t.frame, float(t.iou[k, k]), float(ratio), max(a, b) >= min_area))
    values = [v for _, v, _, _ in ious]
    median = float(np.median(values)) if values else 1.0
    jumps = []
    for frame, iou, ratio, big_enough in ious:
        if ratio > jump_area_ratio and big_enough:
            jumps.append(Jump(frame, object_id, iou, ratio, "area"))
        elif iou < jump_iou and median >= 2 * jump_iou:
            jumps.append(Jump(frame, object_id, iou, ratio, "iou"))
    return values, jumps


@dataclass(frozen=True)
class Swap:
    """Two objects whose masks exchange ids between consecutive frames.

    Attributes:
        frame: the frame where the ids are exchanged.
        object_ids: the two objects ``(a, b)``, ``a < b``.
        straight: how well each id follows itself (sum of IoUs, or of centroid distances in
            pixels when ``by == "centroid"``).
        crossed: the same for the exchanged assignment.
        by: ``"iou"`` or ``"centroid"`` (used when the masks do not overlap between frames).
    """

    frame: int
    object_ids: tuple[int, int]
    straight: float
    crossed: float
    by: str


def find_swaps(t: Transition, iou_margin: float = 0.2, distance_ratio: float = 0.5) -> list[Swap]:
    """Pairs of objects whose masks clearly fit the other's previous mask better than their own.

    By IoU: each mask overlaps the other's previous mask more than its own, and the exchanged
    assignment's IoU sum beats the straight one by ``iou_margin``. When none of the four masks
    overlap, by centroid: the exchanged distance sum is below ``distance_ratio`` times the
    straight one, and each centroid is nearer to the other's previous centroid.
    """
    swaps = []
    n = len(t.ids)
    for i in range(n):
        for j in range(i + 1, n):
            ii, jj, ij, ji = t.iou[i, i], t.iou[j, j], t.iou[i, j], t.iou[j, i]
            if max(ii, jj, ij, ji) > 0:
                straight, crossed = ii + jj, ij + ji
                if ij > ii and ji > jj and crossed >= straight + iou_margin:
                    swaps.append(Swap(t.frame, (t.ids[i], t.ids[j]), float(straight), float(crossed), "iou"))
                continue
            cp, cn = t.centroid_prev, t.centroid_now
            d_ii = float(np.linalg.norm(cn[i] - cp[i]))
            d_jj = float(np.linalg.norm(cn[j] - cp[j]))
            d_ij = float(np.linalg.norm(cn[i] - cp[j]))
            d_ji = float(np.linalg.norm(cn[j] - cp[i]))
            straight, crossed = d_ii + d_jj, d_ij + d_ji
            if d_ij < d_ii and d_ji < d_jj and crossed < distance_ratio * straight:
                swaps.append(Swap(t.frame, (t.ids[i], t.ids[j]), straight, crossed, "centroid"))
    return swaps


def swapped_frames(frames: Sequence[int], swaps: Sequence[Swap], object_id: int) -> int:
    """How many of ``frames`` an object spends with its id exchanged.

    Every swap of a pair toggles that pair's state; an object counts as exchanged while any of its
    pairs is (an exchange undone by a second swap ends it).
    """
    toggles: dict[int, list[int]] = {}
    for s in swaps:
        if object_id in s.object_ids:
            toggles.setdefault(s.frame, []).append(s.object_ids[0] + s.object_ids[1] - object_id)
    state: set[int] = set()
    count = 0
    for f in frames:
        for other in toggles.get(f, []):
            state ^= {other}
        if state:
            count += 1
    return count


@dataclass(frozen=True)
class Overlap:
    """Two objects claiming the same pixels in one frame.

    Attributes:
        frame: the frame.
        object_ids: the two objects ``(a, b)``, ``a < b``.
        pixels: shared pixels.
        fraction: shared pixels over the smaller mask's area.
    """

    frame: int
    object_ids: tuple[int, int]
    pixels: int
    fraction: float


def find_overlaps(frame: int, objects: Mapping[int, tuple], min_fraction: float = 0.2) -> list[Overlap]:
    """Pairs of objects in one frame (``{id: (rle, box_xyxy, area, ...)}``) sharing at least
    ``min_fraction`` of the smaller mask."""
    ids = sorted(i for i, v in objects.items() if v[1] is not None and v[2] > 0)
    out = []
    for a_pos, a in enumerate(ids):
        for b in ids[a_pos + 1 :]:
            ba, bb = objects[a][1], objects[b][1]
            if ba[0] >= bb[2] or bb[0] >= ba[2] or ba[1] >= bb[3] or bb[1] >= ba[3]:
                continue  # boxes apart
            iou = float(rle_iou_matrix([objects[a][0]], [objects[b][0]])[0, 0])
            area_a, area_b = objects[a][2], objects[b][2]
            shared = iou * (area_a + area_b) / (1 + iou)
            fraction = shared / min(area_a, area_b)
            if fraction >= min_fraction:
                out.append(Overlap(frame, (a, b), int(round(shared)), float(fraction)))
    return out


# -- ground positions across cameras ---------------------------------------------------------
def foot_hidden(foot_xy: tuple[float, float], others_xyxy: Sequence[Sequence[float]], margin: float = 2.0) -> bool:
    """Whether an object's foot point may be hidden behind another object.

    True when the point just below the foot (``margin`` pixels) lies inside another object's box
    whose bottom is lower in the image (that object stands in front and may cover the feet).
    """
    fx, fy = foot_xy
    return any(x0 <= fx < x1 and y0 <= fy + margin and y1 > fy for x0, y0, x1, y1 in others_xyxy)


@dataclass(frozen=True)
class GroundAgreement:
    """Where the cameras put one object on the ground at one synchronized moment.

    Attributes:
        time: game time (s).
        object_id: the object.
        positions: ``{camera: (x_m, y_m)}`` of the cameras that see it (at least two).
        spread_m: largest distance between two cameras' positions (m).
        deviation_m: ``{camera: distance}`` to the median of the other cameras' positions (m).
        outliers: when flagged, the cameras that agree (within the tolerance) with fewer other
            cameras than the best-agreeing one does; every camera when none agree (two cameras).
        flagged: whether ``spread_m`` exceeds the tolerance.
    """

    time: float
    object_id: int
    positions: dict[str, tuple[float, float]]
    spread_m: float
    deviation_m: dict[str, float]
    outliers: tuple[str, ...]
    flagged: bool


def ground_agreement(
    time: float, object_id: int, positions: Mapping[str, tuple[float, float]], tolerance_m: float
) -> GroundAgreement | None:
    """Compare the cameras' ground positions of one object at one moment; None with fewer than two."""
    names = sorted(positions)
    if len(names) < 2:
        return None
    pts = np.array([positions[n] for n in names], dtype=np.float64)
    diff = pts[:, None, :] - pts[None, :, :]
    spread = float(np.sqrt((diff**2).sum(-1)).max())
    deviation = {}
    for k, n in enumerate(names):
        others = np.delete(pts, k, axis=0)
        deviation[n] = float(np.linalg.norm(pts[k] - np.median(others, axis=0)))
    flagged = spread > tolerance_m
    outliers: tuple[str, ...] = ()
    if flagged:
        dist = np.sqrt((diff**2).sum(-1))
        partners = ((dist <= tolerance_m).sum(1) - 1).tolist()  # other cameras within tolerance
        best = max(partners)
        outliers = tuple(n for n, k in zip(names, partners) if best == 0 or k < best)
    return GroundAgreement(
        time=float(time),
        object_id=object_id,
        positions={n: (float(p[0]), float(p[1])) for n, p in zip(names, pts)},
        spread_m=spread,
        deviation_m=deviation,
        outliers=outliers,
        flagged=flagged,
    )


# -- appearance ------------------------------------------------------------------------------
HIST_BINS = (8, 4, 4)  # hue, saturation, value


def color_histogram(image_rgb: np.ndarray, mask: np.ndarray, bins: tuple[int, int, int] = HIST_BINS) -> np.ndarray:
    """Unnormalised HSV colour histogram of the pixels inside a mask, flattened to ``(prod(bins),)``.

    ``image_rgb`` is ``(H, W, 3)`` uint8, ``mask`` boolean ``(H, W)``.
    """
    import cv2

    if image_rgb.shape[:2] != mask.shape:
        raise ValueError(f"image {image_rgb.shape[:2]} and mask {mask.shape} sizes differ")
    if not mask.any():
        return np.zeros(int(np.prod(bins)), dtype=np.float64)
    hsv = cv2.cvtColor(np.ascontiguousarray(image_rgb), cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], mask.astype(np.uint8), list(bins), [0, 180, 0, 256, 0, 256])
    return hist.reshape(-1).astype(np.float64)


def bhattacharyya(p: np.ndarray, q: np.ndarray) -> float:
    """Bhattacharyya coefficient of two histograms (normalised here): 1 identical, 0 disjoint; NaN if empty."""
    sp, sq = float(np.sum(p)), float(np.sum(q))
    if sp <= 0 or sq <= 0:
        return math.nan
    return float(np.sum(np.sqrt((np.asarray(p) / sp) * (np.asarray(q) / sq))))


@dataclass(frozen=True)
class AppearanceMatch:
    """How one object looks in one camera compared with every object in the reference camera.

    Attributes:
        camera: the camera.
        object_id: the object.
        similarity: ``{object_id: coefficient}`` against each object's reference-camera histogram.
        own: similarity with itself in the reference (NaN when not comparable).
        best_other: the other object that matches best (None if none).
        best_other_similarity: its similarity.
        flagged: whether another object matches better than itself by more than the margin.
    """

    camera: str
    object_id: int
    similarity: dict[int, float]
    own: float
    best_other: int | None
    best_other_similarity: float
    flagged: bool

    @property
    def score(self) -> float:
        """``own / max(similarity)`` in 0..1 (1 when the object matches itself best); NaN if unknown."""
        vals = [v for v in self.similarity.values() if not math.isnan(v)]
        if math.isnan(self.own) or not vals or max(vals) <= 0:
            return math.nan
        return min(1.0, self.own / max(vals))


def appearance_matches(
    camera: str, histograms: Mapping[int, np.ndarray], reference: Mapping[int, np.ndarray], margin: float = 0.05
) -> list[AppearanceMatch]:
    """Compare each object's histogram in a camera with every object's histogram in the reference."""
    out = []
    for oid in sorted(histograms):
        sims = {rid: bhattacharyya(histograms[oid], h) for rid, h in sorted(reference.items())}
        own = sims.get(oid, math.nan)
        others = {k: v for k, v in sims.items() if k != oid and not math.isnan(v)}
        best = max(others, key=others.get) if others else None
        best_sim = others[best] if best is not None else math.nan
        flagged = best is not None and not math.isnan(own) and best_sim > own + margin
        out.append(AppearanceMatch(camera, oid, sims, own, best, best_sim, flagged))
    return out


# -- scores ----------------------------------------------------------------------------------
def combine_components(components: Mapping[str, float | None]) -> float | None:
    """Summary score: the product of the available components (each 0..1); None if there are none."""
    vals = [float(v) for v in components.values() if v is not None and not math.isnan(v)]
    if not vals:
        return None
    return float(np.clip(np.prod(vals), 0.0, 1.0))


def _same_length(a: Sequence, b: Sequence) -> None:
    if len(a) != len(b):
        raise ValueError(f"expected sequences of the same length, got {len(a)} and {len(b)}")

"""Geometric synchronization: the offset at which two calibrated cameras put the players on the same floor spots.

Every camera of a game sees the same floor. With each camera's image-to-floor homography (a
calibration), an object's foot point in one camera and the same object's foot point in another
land on the same floor spot (metres) *when the two clips are aligned in time*; at any other offset
the players have moved on and the two cameras disagree. :func:`geometric_offset` scans candidate
offsets and returns the one with the smallest floor-position disagreement, its cost curve and a
confidence.

Input is each camera's foot points per frame (:class:`FootTracks`), from masks (ground truth, or a
first run's masks; object ids shared between cameras). From the pictures alone, without masks,
:mod:`multicam.sync.occupancy` compares the cameras' floor occupancy instead (it reads
:class:`FootTracks` of contact pixels, without ids). With ids, the disagreement is the floor
distance between the two cameras' positions of each object; without ids, the symmetric chamfer
distance between the two sets of floor points. Distances are truncated at ``truncate_m`` so that
a missed, merged or airborne object (the ball) cannot dominate. The camera's points are
interpolated between its two nearest frames (objects matched by id, or by nearest floor point),
so the cost is a continuous function of the offset and the minimum falls between frames.

Everything here is a pure function (numpy only).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from multicam.geometry import foot_point_xy
from multicam.masks import FrameMasks
from multicam.sync.correlation import MethodEstimate, needed_overlap
from multicam.sync.errors import SyncError

TRUNCATE_M = 2.0  # floor distances above this count as this much (a missed or merged object)
LINK_M = 1.0  # without ids: a point moves at most this far between two frames to be interpolated
COARSE_STEP_FRAMES = 0.5  # scan step (reference frames) over the whole range
FINE_STEP_FRAMES = 0.05  # refinement step around the best coarse offset
# confidence = clip((depth - DEPTH_FLOOR) / DEPTH_SPAN) * clip((1 - rival) / RIVAL_SPAN): see geometric_confidence
DEPTH_FLOOR, DEPTH_SPAN = 0.15, 0.25
RIVAL_SPAN = 0.5
BASELINE_EXCLUDE_S = 0.5  # the baseline cost is read this far (s) or further from the minimum


@dataclass(frozen=True)
class FootTracks:
    """Where a clip's objects touch the floor, frame by frame (image pixels).

    Attributes:
        times_s: clip time (s after its first frame) of each frame, increasing, shape ``(F,)``.
        frame: the frame (index into ``times_s``) of each point, shape ``(M,)`` int.
        xy: image foot point ``(x, y)`` of each point in pixels of the calibrated resolution, shape ``(M, 2)``.
        ids: object id of each point, shape ``(M,)`` int; -1 everywhere when unknown (contact pixels).
        fps: the clip's frame rate.
    """

    times_s: np.ndarray
    frame: np.ndarray
    xy: np.ndarray
    ids: np.ndarray
    fps: float

    @classmethod
    def from_frames(
        cls, times_s, points: list[np.ndarray], fps: float, ids: list[np.ndarray] | None = None
    ) -> FootTracks:
        """From per-frame lists: ``points[f]`` is ``(K_f, 2)``, ``ids[f]`` is ``(K_f,)`` (None: unknown)."""
        times = np.asarray(times_s, dtype=np.float64)
        if len(points) != len(times):
            raise ValueError(f"one point array per frame: {len(times)} times, {len(points)} point arrays")
        frame = np.concatenate([np.full(len(p), f, dtype=np.int64) for f, p in enumerate(points)] or [np.zeros(0)])
        xy = np.concatenate([np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in points] or [np.zeros((0, 2))])
        if ids is None:
            idv = np.full(len(xy), -1, dtype=np.int64)
        else:
            idv = np.concatenate([np.asarray(i, dtype=np.int64).reshape(-1) for i in ids] or [np.zeros(0)])
        return cls(times_s=times, frame=frame.astype(np.int64), xy=xy, ids=idv.astype(np.int64), fps=float(fps))

    @property
    def has_ids(self) -> bool:
        return bool(len(self.ids)) and bool(np.all(self.ids >= 0))

    def frames_between(self, first: int, stop: int) -> FootTracks:
        """Frames ``first`` to ``stop - 1`` (clip times kept as they are, frame indices from 0)."""
        keep = (self.frame >= first) & (self.frame < stop)
        return FootTracks(self.times_s[first:stop], self.frame[keep] - first, self.xy[keep], self.ids[keep], self.fps)

    def scaled(self, sx: float, sy: float, dx: float = 0.0, dy: float = 0.0) -> FootTracks:
        """The same points in another pixel frame: ``(x * sx + dx, y * sy + dy)`` (a resize and a crop)."""
        xy = self.xy * np.array([sx, sy]) + np.array([dx, dy])
        return FootTracks(self.times_s, self.frame, xy, self.ids, self.fps)


def foot_tracks_from_masks(frames: Iterable[FrameMasks], fps: float) -> FootTracks:
    """Foot points (with object ids) of a camera's masks, e.g. a run's or the ground truth's.

    Frame ``i`` is placed at clip time ``i / fps`` (not at the masks' game time, which already
    assumes an offset). Each mask's foot point is :func:`multicam.geometry.foot_point_xy`.
    """
    by_frame: dict[int, tuple[list, list]] = {}
    last = -1
    for fm in frames:
        pts, ids = by_frame.setdefault(fm.frame, ([], []))
        last = max(last, fm.frame)
        for obj in fm.objects:
            foot = foot_point_xy(obj.decode())
            if foot is not None:
                pts.append(foot)
                ids.append(obj.object_id)
    n = last + 1
    points = [np.asarray(by_frame.get(i, ([], []))[0], dtype=np.float64).reshape(-1, 2) for i in range(n)]
    ids = [np.asarray(by_frame.get(i, ([], []))[1], dtype=np.int64) for i in range(n)]
    return FootTracks.from_frames(np.arange(n) / float(fps), points, fps, ids)


def to_floor(h_image_to_floor: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Image points to floor metres; returns ``(floor_xy (M, 2), ok (M,))``, ``ok`` False above the horizon."""
    pts = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    hom = np.concatenate([pts, np.ones((len(pts), 1))], axis=1) @ np.asarray(h_image_to_floor, dtype=np.float64).T
    w = hom[:, 2]
    ok = np.abs(w) > 1e-12
    out = np.full((len(pts), 2), np.nan)
    out[ok] = hom[ok, :2] / w[ok, None]
    # a point above the horizon maps to the floor "behind" the camera: the sign of w flips
    if ok.any():
        sign = np.sign(np.median(w[ok]))
        ok &= np.sign(w) == sign
    ok &= np.all(np.isfinite(out), axis=1)
    return out, ok


def _padded(tracks: FootTracks, floor: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per frame, floor points ``(F, K, 2)`` (NaN padding) and ids ``(F, K)`` (-2 padding)."""
    n_frames = len(tracks.times_s)
    frame = tracks.frame[ok]
    counts = np.bincount(frame, minlength=n_frames) if len(frame) else np.zeros(n_frames, dtype=np.int64)
    k = max(int(counts.max()) if len(counts) else 0, 1)
    pts = np.full((n_frames, k, 2), np.nan)
    ids = np.full((n_frames, k), -2, dtype=np.int64)
    order = np.argsort(frame, kind="stable")
    frame = frame[order]
    slot = np.arange(len(frame)) - np.searchsorted(frame, frame, side="left")
    pts[frame, slot] = floor[ok][order]
    ids[frame, slot] = tracks.ids[ok][order]
    return pts, ids


def _segments(pts: np.ndarray, ids: np.ndarray, by_id: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each pair of consecutive frames, every point of the first with its position in the second.

    Returns ``(start (F, K, 2), end (F, K, 2), ids (F, K))``: a point without a partner in the next
    frame keeps its position (``end = start``); the last frame's points stand still.
    """
    end = pts.copy()
    if len(pts) > 1:
        a, b = pts[:-1], pts[1:]
        if by_id:
            same = (ids[:-1, :, None] == ids[1:, None, :]) & (ids[:-1, :, None] >= 0)
            has = same.any(axis=2)
            j = np.argmax(same, axis=2)
        else:
            d = np.linalg.norm(a[:, :, None, :] - b[:, None, :, :], axis=3)
            d = np.where(np.isnan(d), np.inf, d)
            j = np.argmin(d, axis=2)
            has = np.take_along_axis(d, j[:, :, None], axis=2)[:, :, 0] <= LINK_M
        partner = np.take_along_axis(b, j[:, :, None].repeat(2, axis=2), axis=1)
        end[:-1] = np.where(has[:, :, None], partner, a)
    return pts, end, ids


@dataclass(frozen=True)
class _Prepared:
    ref_pts: np.ndarray
    ref_ids: np.ndarray
    ref_times: np.ndarray
    cam_start: np.ndarray
    cam_end: np.ndarray
    cam_ids: np.ndarray
    cam_times: np.ndarray
    by_id: bool
    truncate_m: float


def _cost(p: _Prepared, offset: float, min_frames: int) -> tuple[float, int]:
    """Mean floor disagreement (m) at one offset, and on how many reference frames it rests."""
    u = p.ref_times - offset  # the camera's clip time at each reference frame
    inside = (u >= p.cam_times[0]) & (u <= p.cam_times[-1])
    if inside.sum() < max(min_frames, 1):
        return np.inf, int(inside.sum())
    u = u[inside]
    k = np.clip(np.searchsorted(p.cam_times, u, side="right") - 1, 0, len(p.cam_times) - 1)
    nxt = np.minimum(k + 1, len(p.cam_times) - 1)
    span = p.cam_times[nxt] - p.cam_times[k]
    alpha = np.where(span > 0, (u - p.cam_times[k]) / np.where(span > 0, span, 1.0), 0.0)
    cam = p.cam_start[k] + alpha[:, None, None] * (p.cam_end[k] - p.cam_start[k])  # (n, K2, 2)
    ref = p.ref_pts[inside]  # (n, K1, 2)
    ref_ok = ~np.isnan(ref[:, :, 0])
    cam_ok = ~np.isnan(cam[:, :, 0])
    pair_ok = ref_ok[:, :, None] & cam_ok[:, None, :]
    if p.by_id:
        pair_ok &= (p.ref_ids[inside][:, :, None] == p.cam_ids[k][:, None, :]) & (p.ref_ids[inside][:, :, None] >= 0)
    if not pair_ok.any():
        return np.inf, 0
    diff = ref[:, :, None, :] - cam[:, None, :, :]  # (n, K1, K2, 2)
    if p.by_id:
        pairs = diff[pair_ok]
    else:  # each reference point with its nearest camera point
        dist = np.where(pair_ok, np.linalg.norm(np.nan_to_num(diff), axis=3), np.inf)
        j = np.argmin(dist, axis=2)
        near = np.take_along_axis(dist, j[:, :, None], axis=2)[:, :, 0] <= p.truncate_m
        pairs = np.take_along_axis(diff, j[:, :, None, None].repeat(2, axis=3), axis=2)[:, :, 0][near & ref_ok]
    if len(pairs) == 0:
        return np.inf, 0
    # a constant shift between the cameras' floor points (foot points sit a little towards each
    # camera) is not a time offset: remove it, then take the median remaining distance
    shift = np.median(pairs, axis=0)
    if p.by_id:
        residual = np.linalg.norm(pairs - shift, axis=1)
    else:
        dist = np.linalg.norm(np.nan_to_num(diff - shift), axis=3)
        dist = np.where(pair_ok, dist, np.inf)
        both = ref_ok.any(axis=1) & cam_ok.any(axis=1)
        residual = np.concatenate([dist.min(axis=2)[ref_ok & both[:, None]], dist.min(axis=1)[cam_ok & both[:, None]]])
    residual = np.minimum(residual, p.truncate_m)
    return float(np.median(residual)), int(pair_ok.any(axis=(1, 2)).sum())


def geometric_confidence(
    offsets: np.ndarray, costs: np.ndarray, best: int, basin_s: float
) -> tuple[float, float, float]:
    """Confidence 0..1 of a cost curve's minimum, with its ``depth`` and ``rival`` scores.

    ``baseline`` is the median cost of the offsets more than ``BASELINE_EXCLUDE_S`` (0.5 s) from the
    minimum: what unaligned clips give.
    ``depth`` = 1 - min / baseline: 0 when the best offset is no better than chance, near 1 when the
    cameras agree exactly. ``rival`` = (baseline - the lowest cost beyond the minimum's basin,
    ``basin_s`` either side) / (baseline - min): near 1 when another offset fits almost as well, 0
    when nothing beyond the basin beats the baseline (or the basin fills the range).
    confidence = clip((depth - DEPTH_FLOOR) / DEPTH_SPAN, 0, 1) * clip((1 - rival) / RIVAL_SPAN, 0, 1):
    depth 0.4 or more and a rival at most half as deep give 1; a rival as deep as the minimum gives 0.
    Calibrated on the synthetic test set (``benchmarks/sync_accuracy.py``): right answers have depth
    0.45-0.95 and rival 0.2-0.6, unrelated clips depth below 0.15.
    """
    finite = np.isfinite(costs)
    distance = np.abs(offsets - offsets[best])
    away = finite & (distance > BASELINE_EXCLUDE_S)
    if away.sum() < 3:
        return 0.0, 0.0, 1.0
    baseline = float(np.median(costs[away]))
    gain = baseline - float(costs[best])
    if not baseline > 0 or not gain > 0:
        return 0.0, 0.0, 1.0
    depth = float(np.clip(gain / baseline, 0.0, 1.0))
    beyond = finite & (distance > basin_s)
    rival = float(np.clip((baseline - costs[beyond].min()) / gain, 0.0, 1.0)) if beyond.any() else 0.0
    confidence = float(
        np.clip((depth - DEPTH_FLOOR) / DEPTH_SPAN, 0.0, 1.0) * np.clip((1.0 - rival) / RIVAL_SPAN, 0.0, 1.0)
    )
    return confidence, depth, rival


@dataclass(frozen=True)
class GeometricSync:
    """The geometric answer and its cost curve.

    Attributes:
        estimate: the offset (s), confidence and scores (``peak`` = depth, ``second_peak`` = rival,
            ``psr`` = the minimum cost in metres) as a :class:`MethodEstimate` with method ``"geometry"``.
        offsets: candidate offsets (s) of the coarse scan, shape ``(L,)``.
        costs: mean floor disagreement (m) at each, ``inf`` where the clips do not overlap enough, shape ``(L,)``.
        cost_m: the disagreement at the chosen offset (m).
    """

    estimate: MethodEstimate
    offsets: np.ndarray
    costs: np.ndarray
    cost_m: float


def geometric_offset(
    ref: FootTracks,
    cam: FootTracks,
    h_ref: np.ndarray,
    h_cam: np.ndarray,
    *,
    center: float | None = None,
    window_s: float | None = None,
    scan_s: float | None = None,
    max_offset: float | None = None,
    min_overlap_s: float = 1.0,
    truncate_m: float = TRUNCATE_M,
) -> GeometricSync:
    """The camera's offset against the reference that minimises their floor-position disagreement.

    The whole range of offsets that leave ``min_overlap_s`` of overlap (lowered for short
    clips), or only ``center ± scan_s`` of it (long clips), is scanned every half reference frame
    (for the confidence's baseline); the minimum is
    picked within ``center ± window_s`` when both are given (a refinement around a first
    estimate), then refined every 0.05 frame within ±1 frame, with a parabola through the finest
    three costs.

    Args:
        ref, cam: foot points of the reference and the camera (ids used when both have them).
        h_ref, h_cam: ``(3, 3)`` image-to-floor homographies for the pixel frames of ``ref.xy`` and ``cam.xy``.
        center, window_s: restrict the answer to ``|offset - center| <= window_s``.
        scan_s: with ``center``, scan only ``|offset - center| <= scan_s`` (at least ``window_s``;
            give it a margin beyond ``window_s`` so the confidence has a baseline).
        max_offset: restrict the answer to ``|offset| <= max_offset``.
        min_overlap_s: shortest shared stretch (s).
        truncate_m: floor distances above this count as this much.

    Raises:
        SyncError: a clip has no usable foot points, or no offset leaves enough overlap.
    """
    for what, tr in (("reference", ref), ("camera", cam)):
        if len(tr.times_s) < 2 or len(tr.xy) == 0:
            raise SyncError(f"the {what} clip has no foot points to place on the floor")
    by_id = ref.has_ids and cam.has_ids
    f_ref, ok_ref = to_floor(h_ref, ref.xy)
    f_cam, ok_cam = to_floor(h_cam, cam.xy)
    ref_pts, ref_ids = _padded(ref, f_ref, ok_ref)
    cam_pts, cam_ids = _padded(cam, f_cam, ok_cam)
    start, end, cam_ids = _segments(cam_pts, cam_ids, by_id)
    p = _Prepared(ref_pts, ref_ids, ref.times_s, start, end, cam_ids, cam.times_s, by_id, truncate_m)

    dt = 1.0 / ref.fps
    offsets, min_frames = candidate_offsets(ref, cam, min_overlap_s, COARSE_STEP_FRAMES)
    if center is not None and scan_s is not None:
        offsets = offsets[np.abs(offsets - center) <= max(scan_s, window_s or 0.0) + 1e-9]
    costs = np.array([_cost(p, o, min_frames)[0] for o in offsets])

    allowed = np.isfinite(costs)
    if max_offset is not None:
        allowed &= np.abs(offsets) <= max_offset
    if center is not None and window_s is not None:
        allowed &= np.abs(offsets - center) <= window_s + 1e-9
    if not allowed.any():
        raise SyncError("no offset leaves enough overlap with floor positions in both clips")
    best = int(np.argmin(np.where(allowed, costs, np.inf)))
    fine = offsets[best] + np.arange(-1.0, 1.0 + 1e-9, FINE_STEP_FRAMES) * dt
    keep = np.ones(len(fine), dtype=bool)
    if max_offset is not None:
        keep &= np.abs(fine) <= max_offset
    if center is not None and window_s is not None:
        keep &= np.abs(fine - center) <= window_s + 1e-9
    fine = fine[keep] if keep.any() else offsets[best : best + 1]
    fine_costs = np.array([_cost(p, o, min_frames)[0] for o in fine])
    j = int(np.argmin(fine_costs))
    offset = float(fine[j])
    if 0 < j < len(fine) - 1 and np.all(np.isfinite(fine_costs[j - 1 : j + 2])):
        y0, y1, y2 = fine_costs[j - 1 : j + 2]
        denom = y0 - 2 * y1 + y2
        if denom > 0:
            offset += float(np.clip(0.5 * (y0 - y2) / denom, -0.5, 0.5)) * FINE_STEP_FRAMES * dt
    cost_m = float(fine_costs[j])
    confidence, depth, rival = geometric_confidence(offsets, costs, best, _basin_s(offsets, costs, best))
    estimate = MethodEstimate(
        method="geometry",
        offset=offset,
        confidence=confidence,
        peak=depth,
        second_peak=rival,
        psr=cost_m,
        overlap_s=shared_seconds(ref, cam, offset),
        resolution_s=FINE_STEP_FRAMES * dt,
    )
    return GeometricSync(estimate=estimate, offsets=offsets, costs=costs, cost_m=cost_m)


def candidate_offsets(
    ref: FootTracks, cam: FootTracks, min_overlap_s: float, step_frames: float
) -> tuple[np.ndarray, int]:
    """Offsets (s) every ``step_frames`` reference frames over the whole range where the clips meet,
    and the fewest shared reference frames an offset must rest on (``min_overlap_s``, lowered for short clips:
    :func:`~multicam.sync.correlation.needed_overlap`)."""
    dt = 1.0 / ref.fps
    len_ref = ref.times_s[-1] - ref.times_s[0] + dt
    len_cam = cam.times_s[-1] - cam.times_s[0] + 1.0 / cam.fps
    need = needed_overlap(min_overlap_s, len_ref, len_cam)
    min_frames = max(int(np.floor(need * ref.fps)) - 1, 2)
    lo = ref.times_s[0] - cam.times_s[-1] - 1.0 / cam.fps
    hi = ref.times_s[-1] - cam.times_s[0] + dt
    return np.arange(np.floor(lo / dt) * dt, hi + dt, step_frames * dt), min_frames


def shared_seconds(ref: FootTracks, cam: FootTracks, offset: float) -> float:
    """Seconds of the reference the camera's clip covers at ``offset`` (one reference frame included), 0 for none."""
    span = min(ref.times_s[-1], cam.times_s[-1] + offset) - max(ref.times_s[0], cam.times_s[0] + offset)
    return float(max(span + 1.0 / ref.fps, 0.0))


def _basin_s(offsets: np.ndarray, costs: np.ndarray, best: int) -> float:
    """Half-width (s) of the minimum's basin, at least 3 reference frames.

    From the minimum outwards, the basin reaches past where the cost first climbs halfway to the
    curve's median, and on to where it stops rising (a rival minimum lies beyond a ridge).
    """
    finite = np.isfinite(costs)
    step = float(offsets[1] - offsets[0]) if len(offsets) > 1 else 0.0
    baseline = float(np.median(costs[finite])) if finite.any() else 0.0
    half = 0.5 * (costs[best] + baseline)
    widths = []
    for direction in (-1, 1):
        i = best
        while 0 <= i + direction < len(costs) and finite[i + direction] and costs[i + direction] < half:
            i += direction
        while 0 <= i + direction < len(costs) and finite[i + direction] and costs[i + direction] >= costs[i]:
            i += direction
        widths.append(abs(i - best) * step)
    return max(*widths, 6 * step) + 1e-9


__all__ = [
    "FootTracks",
    "GeometricSync",
    "candidate_offsets",
    "foot_tracks_from_masks",
    "geometric_confidence",
    "geometric_offset",
    "shared_seconds",
    "to_floor",
]

"""Geometric synchronization from the pictures: the offset at which two calibrated cameras see things touch the floor at the same spots.

Each clip's contact pixels (:func:`multicam.sync.foreground.read_contact_points`: the bottom rows
of what differs from the background, feet and shadows) go through the camera's image-to-floor
homography and are counted per frame on a grid of floor cells: a top-down *occupancy map* per
frame. Two cameras' maps of the same moment agree where the feet are, whatever the angles; at any
other time the players have moved on. Unlike foot points of segmented blobs, nothing has to be
told apart: players that overlap in one picture still put their feet on the map, and the bottom
edge of a silhouette has no bias towards the camera that a blob's lowest point has.

The score of a candidate offset is the normalised correlation between the reference's maps and
the camera's maps at the same game time (its two nearest frames blended), over the shared frames,
after each clip's average map is removed (what stands still, or where play usually is, does not
depend on the offset). Maps are smoothed by a Gaussian of ``SIGMA_M`` so the score varies smoothly.
The whole range of offsets is scanned every half reference frame, the best refined every 0.05
frame within one frame, with a parabola through the three best.

Contact pixels do not sit exactly on the same floor spot in every camera: the lowest pixels of a
silhouette are the foot nearest to the camera, and the near edge of its shadow. A constant shift
between two cameras' maps is not a time offset, but when play drifts one way it pulls the best
offset by a fraction of a frame. So, at the first answer, the shift (within ``MAX_SHIFT_M``) that
best lines up the two cameras' maps is measured (:func:`floor_shift`, summed cross-correlation of
the shared frames, sub-cell by parabolas), the camera's points are moved by it, and the offset is
searched again within ``REFINE_FRAMES`` of the first. See :func:`occupancy_confidence` for how much
to trust the answer.

Cost: the counts are sparse; only the camera's maps are smoothed (by the two Gaussians combined,
``sigma * sqrt(2)``: ``<K a, K b> = <a, K K b>``), and every (reference frame, camera frame)
product is computed once. :data:`MAX_PAIRS` bounds that table: for longer clips the camera is
compared with a few stretches of the reference, spread over it, and the most confident answer is
kept. Everything here is a pure function (numpy and scipy).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage, sparse

from multicam.sync.correlation import MethodEstimate, parabolic_offset
from multicam.sync.errors import SyncError
from multicam.sync.geometric import FootTracks, candidate_offsets, shared_seconds, to_floor

SIGMA_M = 0.15  # Gaussian smoothing of the occupancy maps (m)
CELL_M = 0.1  # floor cell (m), made larger when the shared floor would need more than MAX_CELLS
MAX_CELLS = 120_000
MARGIN_M = 1.0  # the grid reaches this far beyond where both cameras see contact points
EXTENT_PERCENTILES = (1.0, 99.0)  # ... measured between these percentiles (points near the horizon run far)
MAX_PAIRS = 40_000_000  # reference frames x camera frames held at once (4 bytes each)
LONG_WINDOWS = 3  # longer clips: this many stretches of the reference, spread over it, are tried
MIN_WINDOW_S = 30.0  # ... each at least this long, else the camera's clip is too long to sync
CHUNK_FRAMES = 64  # camera frames smoothed at a time
STILL_FRACTION = 1e-4  # a frame whose mean-removed map keeps less than this fraction of a map's energy is still
COARSE_STEP_FRAMES = 0.5  # scan step (reference frames) over the whole range
FINE_STEP_FRAMES = 0.05  # refinement step around the best coarse offset
MAX_SHIFT_M = 0.75  # largest floor shift between two cameras' contact points that is corrected
REFINE_FRAMES = 2.0  # after the shift, the offset is searched again within this many reference frames
FAR_S = 0.5  # the null distribution of the score is read this far (s) or further from the peak
MIN_FAR_OFFSETS = 10  # ... from at least this many offsets, else the confidence is 0
# confidence = significance * strength * uniqueness, see occupancy_confidence
Z_FLOOR, Z_SPAN = 4.0, 1.0
SCORE_FLOOR, SCORE_SPAN = 0.1, 0.05
GAP_FLOOR, GAP_SPAN = 1.0, 1.0


@dataclass(frozen=True)
class FloorGrid:
    """A grid of square floor cells: cell ``(row, col)`` covers ``origin + (col, row) * cell_m`` onwards.

    Attributes:
        origin_xy: floor point (m) of the grid's first corner, shape ``(2,)``.
        cell_m: side of a cell (m).
        shape_hw: ``(rows, cols)``.
    """

    origin_xy: np.ndarray
    cell_m: float
    shape_hw: tuple[int, int]

    @property
    def size(self) -> int:
        return self.shape_hw[0] * self.shape_hw[1]

    def cell_index(self, floor_xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Flat cell index of each floor point ``(M, 2)``, and whether it falls on the grid."""
        ij = np.floor((np.asarray(floor_xy, dtype=np.float64) - self.origin_xy) / self.cell_m)
        ij = np.nan_to_num(ij, nan=-1.0, posinf=-1.0, neginf=-1.0)
        rows, cols = self.shape_hw
        ok = (ij[:, 0] >= 0) & (ij[:, 0] < cols) & (ij[:, 1] >= 0) & (ij[:, 1] < rows)
        flat = np.where(ok, ij[:, 1] * cols + ij[:, 0], 0).astype(np.int64)
        return flat, ok


def shared_floor_grid(
    a_xy: np.ndarray, b_xy: np.ndarray, cell_m: float = CELL_M, margin_m: float = MARGIN_M, max_cells: int = MAX_CELLS
) -> FloorGrid:
    """The grid over the floor where both point sets lie (percentile boxes, intersected, plus a margin).

    Raises:
        SyncError: a set is empty, or the two areas do not overlap.
    """
    if len(a_xy) == 0 or len(b_xy) == 0:
        raise SyncError("no contact points on the floor in one of the clips (nothing moves, or it is all out of view)")
    lo_p, hi_p = EXTENT_PERCENTILES
    lo = np.maximum(np.percentile(a_xy, lo_p, axis=0), np.percentile(b_xy, lo_p, axis=0)) - margin_m
    hi = np.minimum(np.percentile(a_xy, hi_p, axis=0), np.percentile(b_xy, hi_p, axis=0)) + margin_m
    extent = hi - lo
    if np.any(extent <= 2 * margin_m):
        raise SyncError(
            "the two cameras see contact points on different parts of the floor: check that both are in the "
            "calibration with the right homography"
        )
    cell = max(float(cell_m), float(np.sqrt(extent[0] * extent[1] / max_cells)))
    shape = (int(np.ceil(extent[1] / cell)), int(np.ceil(extent[0] / cell)))
    return FloorGrid(origin_xy=lo, cell_m=cell, shape_hw=shape)


def _counts(tracks: FootTracks, floor_xy: np.ndarray, ok: np.ndarray, grid: FloorGrid) -> sparse.csr_matrix:
    """Contact points per frame and cell, ``(frames, cells)`` sparse."""
    cell, on_grid = grid.cell_index(floor_xy)
    keep = ok & on_grid
    data = np.ones(int(keep.sum()), dtype=np.float32)
    shape = (len(tracks.times_s), grid.size)
    return sparse.csr_matrix((data, (tracks.frame[keep], cell[keep])), shape=shape, dtype=np.float32)


def _smooth(maps: np.ndarray, grid: FloorGrid, sigma_m: float) -> np.ndarray:
    """Gaussian smoothing of flat maps ``(n, cells)`` (or one map ``(cells,)``) on the grid."""
    shape = maps.shape[:-1] + grid.shape_hw
    sigma = sigma_m / grid.cell_m
    out = ndimage.gaussian_filter(
        maps.reshape(shape), (0,) * (len(shape) - 2) + (sigma, sigma), mode="constant", truncate=3.0
    )
    return out.reshape(maps.shape)


@dataclass(frozen=True)
class _Gram:
    """Products of the mean-removed, smoothed maps: ``pairs[i, j] = <A_i, B_j>``, ``ref_sq[i] = |A_i|^2``, ``cam_sq[j] = |B_j|^2``."""

    pairs: np.ndarray
    ref_sq: np.ndarray
    cam_sq: np.ndarray


def _gram(a: sparse.csr_matrix, b: sparse.csr_matrix, grid: FloorGrid, sigma_m: float) -> _Gram:
    both = sigma_m * np.sqrt(2.0)  # K^T K of a Gaussian is the Gaussian of sigma * sqrt(2)
    a_mean = np.asarray(a.mean(axis=0)).ravel()
    b_mean = np.asarray(b.mean(axis=0)).ravel()
    kk_a_mean = _smooth(a_mean, grid, both)
    kk_b_mean = _smooth(b_mean, grid, both)
    a_dot_kkb_mean = a @ kk_b_mean  # (Fa,)
    a_dot_kka_mean = a @ kk_a_mean
    const = float(a_mean @ kk_b_mean)
    ref_sq = np.zeros(a.shape[0])
    for i0 in range(0, a.shape[0], CHUNK_FRAMES):
        block = a[i0 : i0 + CHUNK_FRAMES]
        kk = _smooth(block.toarray(), grid, both)
        ref_sq[i0 : i0 + CHUNK_FRAMES] = np.asarray(block.multiply(kk).sum(axis=1)).ravel()
    ref_raw = ref_sq.copy()
    ref_sq += -2.0 * a_dot_kka_mean + float(a_mean @ kk_a_mean)
    pairs = np.empty((a.shape[0], b.shape[0]), dtype=np.float32)
    cam_sq = np.zeros(b.shape[0])
    cam_raw = np.zeros(b.shape[0])
    for j0 in range(0, b.shape[0], CHUNK_FRAMES):
        block = b[j0 : j0 + CHUNK_FRAMES]
        kk = _smooth(block.toarray(), grid, both)  # (n, cells)
        pairs[:, j0 : j0 + len(kk)] = np.asarray(a @ kk.T) - a_dot_kkb_mean[:, None] - (kk @ a_mean)[None, :] + const
        raw = np.asarray(block.multiply(kk).sum(axis=1)).ravel()
        cam_raw[j0 : j0 + len(kk)] = raw
        cam_sq[j0 : j0 + len(kk)] = raw - 2.0 * (block @ kk_b_mean) + float(b_mean @ kk_b_mean)
    # a frame no different from the clip's average map has nothing but rounding left
    ref_sq = np.where(ref_sq > STILL_FRACTION * ref_raw.mean(), ref_sq, 0.0)
    cam_sq = np.where(cam_sq > STILL_FRACTION * cam_raw.mean(), cam_sq, 0.0)
    for what, energy in (("reference", ref_sq), ("camera", cam_sq)):
        if not energy.any():
            raise SyncError(f"nothing moves on the floor in the {what} clip (its contact points never change)")
    return _Gram(pairs=pairs, ref_sq=ref_sq, cam_sq=cam_sq)


def _score(g: _Gram, ref_times: np.ndarray, cam_times: np.ndarray, offset: float, min_frames: int) -> float:
    """Normalised correlation of the maps at one offset (NaN when fewer than ``min_frames`` are shared)."""
    u = ref_times - offset  # the camera's clip time at each reference frame
    inside = (u >= cam_times[0]) & (u <= cam_times[-1])
    if inside.sum() < max(min_frames, 1):
        return float("nan")
    i = np.nonzero(inside)[0]
    u = u[inside]
    k = np.clip(np.searchsorted(cam_times, u, side="right") - 1, 0, len(cam_times) - 1)
    nxt = np.minimum(k + 1, len(cam_times) - 1)
    span = cam_times[nxt] - cam_times[k]
    alpha = np.where(span > 0, (u - cam_times[k]) / np.where(span > 0, span, 1.0), 0.0)
    num = float(((1.0 - alpha) * g.pairs[i, k] + alpha * g.pairs[i, nxt]).sum())
    den = float(np.sqrt(g.ref_sq[i].sum() * ((1.0 - alpha) * g.cam_sq[k] + alpha * g.cam_sq[nxt]).sum()))
    return num / den if den > 0 else float("nan")


def _nearest_frames(ref_times: np.ndarray, cam_times: np.ndarray, offset: float) -> tuple[np.ndarray, np.ndarray]:
    """The reference frames the camera covers at ``offset``, and the camera's nearest frame to each."""
    u = ref_times - offset
    inside = np.nonzero((u >= cam_times[0]) & (u <= cam_times[-1]))[0]
    nearest = np.clip(np.searchsorted(cam_times, u[inside]), 1, len(cam_times) - 1)
    nearest -= (u[inside] - cam_times[nearest - 1]) < (cam_times[nearest] - u[inside])
    return inside, nearest


def floor_shift(
    a: sparse.csr_matrix,
    b: sparse.csr_matrix,
    ref_times: np.ndarray,
    cam_times: np.ndarray,
    offset: float,
    grid: FloorGrid,
    sigma_m: float = SIGMA_M,
    max_shift_m: float = MAX_SHIFT_M,
) -> np.ndarray:
    """The floor shift ``(dx, dy)`` (m) to add to the camera's points so its maps line up best with the reference's.

    Over the frames the clips share at ``offset`` (the camera's nearest frame to each reference
    frame), the sum of the smoothed, mean-removed maps' cross-correlations (FFT) is maximised
    within ``max_shift_m``, refined below a cell by a parabola along each axis. Zeros when the
    clips share no frame.
    """
    ref_i, cam_j = _nearest_frames(ref_times, cam_times, offset)
    rows, cols = grid.shape_hw
    if len(ref_i) == 0:
        return np.zeros(2)
    a_mean = np.asarray(a.mean(axis=0)).ravel()
    b_mean = np.asarray(b.mean(axis=0)).ravel()
    padded = (2 * rows, 2 * cols)
    total = np.zeros((2 * rows, cols + 1), dtype=np.complex128)
    for k0 in range(0, len(ref_i), CHUNK_FRAMES):
        maps_a = _smooth(a[ref_i[k0 : k0 + CHUNK_FRAMES]].toarray() - a_mean, grid, sigma_m)
        maps_b = _smooth(b[cam_j[k0 : k0 + CHUNK_FRAMES]].toarray() - b_mean, grid, sigma_m)
        fa = np.fft.rfft2(maps_a.reshape(-1, rows, cols), s=padded)
        fb = np.fft.rfft2(maps_b.reshape(-1, rows, cols), s=padded)
        total += (fa * np.conj(fb)).sum(axis=0)
    corr = np.fft.fftshift(np.fft.irfft2(total, s=padded))  # corr[rows + dy, cols + dx]: B moved by (dx, dy) cells
    reach = int(np.ceil(max_shift_m / grid.cell_m))
    dy, dx = np.mgrid[-reach : reach + 1, -reach : reach + 1]
    window = corr[np.clip(rows + dy, 0, 2 * rows - 1), np.clip(cols + dx, 0, 2 * cols - 1)]
    window = np.where(np.hypot(dx, dy) * grid.cell_m <= max_shift_m, window, -np.inf)
    jy, jx = np.unravel_index(int(np.argmax(window)), window.shape)
    sub_x = parabolic_offset(*window[jy, jx - 1 : jx + 2]) if 0 < jx < 2 * reach else 0.0
    sub_y = parabolic_offset(*window[jy - 1 : jy + 2, jx]) if 0 < jy < 2 * reach else 0.0
    return np.array([dx[jy, jx] + sub_x, dy[jy, jx] + sub_y]) * grid.cell_m


def occupancy_confidence(offsets: np.ndarray, scores: np.ndarray, best: int) -> tuple[float, float, float]:
    """Confidence 0..1 of a score curve's peak, with its ``z`` and the best far score.

    The scores more than ``FAR_S`` (0.5 s) from the peak are what unaligned clips give: ``z`` =
    (peak - their median) / their standard deviation, ``z_far`` the same for the best of them.
    significance = clip((z - 4) / 1), strength = clip((peak - 0.1) / 0.05) (a normalised
    correlation of unrelated play stayed under 0.13), uniqueness = clip((z - z_far - 1) / 1): a
    second peak within 1 standard deviation of the first makes the answer ambiguous.
    confidence = significance * strength * uniqueness. Set on the synthetic games of
    ``benchmarks/sync_accuracy.py``: over seeds 0-19 unrelated play (another game seen by the same
    cameras) reached a correlation of 0.13 and z 7.4 (z alone does not tell), right answers
    correlations of 0.13 to 0.55 and a gap z - z_far above 1.8.

    Returns:
        ``(confidence, z, far_score)``; ``(0, 0, nan)`` when fewer than ``MIN_FAR_OFFSETS`` far offsets were scored.
    """
    finite = np.isfinite(scores)
    far = finite & (np.abs(offsets - offsets[best]) > FAR_S)
    if far.sum() < MIN_FAR_OFFSETS:
        return 0.0, 0.0, float("nan")
    median, std = float(np.median(scores[far])), float(np.std(scores[far]))
    peak, far_best = float(scores[best]), float(scores[far].max())
    if not std > 0:
        return 0.0, 0.0, far_best
    z, z_far = (peak - median) / std, (far_best - median) / std
    significance = np.clip((z - Z_FLOOR) / Z_SPAN, 0.0, 1.0)
    strength = np.clip((peak - SCORE_FLOOR) / SCORE_SPAN, 0.0, 1.0)
    uniqueness = np.clip((z - z_far - GAP_FLOOR) / GAP_SPAN, 0.0, 1.0)
    return float(significance * strength * uniqueness), float(z), far_best


@dataclass(frozen=True)
class OccupancySync:
    """The answer and its score curve.

    Attributes:
        estimate: offset (s) and confidence as a :class:`MethodEstimate` with method ``"geometry"``
            (``peak`` = the score at the offset, ``second_peak`` = the best score more than 0.5 s
            away, ``psr`` = the peak's z).
        offsets: candidate offsets (s) of the coarse scan, shape ``(L,)``.
        scores: normalised correlation of the occupancy maps at each (NaN: too little overlap),
            with the camera's points moved by ``floor_shift_m``, shape ``(L,)``.
        floor_shift_m: ``(dx, dy)`` (m) added to the camera's floor points (see :func:`floor_shift`).
        grid: the floor grid the maps were counted on.
    """

    estimate: MethodEstimate
    offsets: np.ndarray
    scores: np.ndarray
    floor_shift_m: np.ndarray
    grid: FloorGrid


@dataclass(frozen=True)
class _Scan:
    offset: float
    score: float
    offsets: np.ndarray
    scores: np.ndarray
    best: int


def _scan(g: _Gram, ref: FootTracks, cam: FootTracks, min_overlap_s: float, limits: list[tuple[float, float]]) -> _Scan:
    """Score every offset, pick the best within all ``limits`` (``(center, half_width)`` each), refine it."""
    dt = 1.0 / ref.fps
    offsets, min_frames = candidate_offsets(ref, cam, min_overlap_s, COARSE_STEP_FRAMES)
    scores = np.array([_score(g, ref.times_s, cam.times_s, o, min_frames) for o in offsets])

    def within(values: np.ndarray) -> np.ndarray:
        ok = np.ones(len(values), dtype=bool)
        for center, half in limits:
            ok &= np.abs(values - center) <= half + 1e-9
        return ok

    allowed = np.isfinite(scores) & within(offsets)
    if not allowed.any():
        raise SyncError("no offset leaves enough overlap with contact points in both clips")
    best = int(np.argmax(np.where(allowed, scores, -np.inf)))
    fine = offsets[best] + np.arange(-1.0, 1.0 + 1e-9, FINE_STEP_FRAMES) * dt
    fine = fine[within(fine)] if within(fine).any() else offsets[best : best + 1]
    fine_scores = np.array([_score(g, ref.times_s, cam.times_s, o, min_frames) for o in fine])
    fine_scores = np.where(np.isfinite(fine_scores), fine_scores, -np.inf)
    j = int(np.argmax(fine_scores))
    offset = float(fine[j])
    if 0 < j < len(fine) - 1:
        offset += parabolic_offset(*fine_scores[j - 1 : j + 2]) * FINE_STEP_FRAMES * dt
    return _Scan(offset=offset, score=float(fine_scores[j]), offsets=offsets, scores=scores, best=best)


def occupancy_offset(
    ref: FootTracks,
    cam: FootTracks,
    h_ref: np.ndarray,
    h_cam: np.ndarray,
    *,
    center: float | None = None,
    window_s: float | None = None,
    max_offset: float | None = None,
    min_overlap_s: float = 1.0,
    sigma_m: float = SIGMA_M,
    max_shift_m: float = MAX_SHIFT_M,
) -> OccupancySync:
    """The camera's offset against the reference at which their floor occupancy maps agree best.

    Args:
        ref, cam: contact points of the reference and the camera (:func:`multicam.sync.foreground.read_contact_points`).
        h_ref, h_cam: ``(3, 3)`` image-to-floor homographies for the pixel frames of ``ref.xy`` and ``cam.xy``.
        center, window_s: restrict the answer to ``|offset - center| <= window_s`` (a refinement
            of another estimate; the whole range is still scored, for the confidence).
        max_offset: restrict the answer to ``|offset| <= max_offset``.
        min_overlap_s: shortest shared stretch (s), lowered to half the shorter clip when that is less.
        sigma_m: smoothing of the maps (m).
        max_shift_m: largest floor shift between the cameras' points that is corrected (0: none).

    Raises:
        SyncError: a clip has no contact points on the floor, the cameras' floor areas do not
            overlap, the camera's clip is too long to compare with 30 s of the reference, or no
            offset leaves enough overlap.
    """
    for what, tr in (("reference", ref), ("camera", cam)):
        if len(tr.times_s) < 2 or len(tr.xy) == 0:
            raise SyncError(f"the {what} clip shows nothing moving on the floor (no contact points)")
    if len(ref.times_s) * len(cam.times_s) > MAX_PAIRS:
        return _windowed(
            ref,
            cam,
            h_ref,
            h_cam,
            center=center,
            window_s=window_s,
            max_offset=max_offset,
            min_overlap_s=min_overlap_s,
            sigma_m=sigma_m,
            max_shift_m=max_shift_m,
        )
    f_ref, ok_ref = to_floor(h_ref, ref.xy)
    f_cam, ok_cam = to_floor(h_cam, cam.xy)
    grid = shared_floor_grid(f_ref[ok_ref], f_cam[ok_cam])
    counts_ref = _counts(ref, f_ref, ok_ref, grid)
    counts_cam = _counts(cam, f_cam, ok_cam, grid)
    limits: list[tuple[float, float]] = []
    if max_offset is not None:
        limits.append((0.0, max_offset))
    if center is not None and window_s is not None:
        limits.append((center, window_s))
    first = _scan(_gram(counts_ref, counts_cam, grid, sigma_m), ref, cam, min_overlap_s, limits)
    shift = np.zeros(2)
    scan = first
    if max_shift_m > 0:
        shift = floor_shift(counts_ref, counts_cam, ref.times_s, cam.times_s, first.offset, grid, sigma_m, max_shift_m)
        if np.any(shift != 0):
            moved = _counts(cam, f_cam + shift, ok_cam, grid)
            near = [*limits, (first.offset, REFINE_FRAMES / ref.fps)]
            scan = _scan(_gram(counts_ref, moved, grid, sigma_m), ref, cam, min_overlap_s, near)
    confidence, z, far_best = occupancy_confidence(scan.offsets, scan.scores, scan.best)
    dt = 1.0 / ref.fps
    estimate = MethodEstimate(
        method="geometry",
        offset=scan.offset,
        confidence=confidence,
        peak=scan.score,
        second_peak=far_best,
        psr=z,
        overlap_s=shared_seconds(ref, cam, scan.offset),
        resolution_s=FINE_STEP_FRAMES * dt,
    )
    return OccupancySync(estimate=estimate, offsets=scan.offsets, scores=scan.scores, floor_shift_m=shift, grid=grid)


def _windowed(ref: FootTracks, cam: FootTracks, h_ref: np.ndarray, h_cam: np.ndarray, **options) -> OccupancySync:
    """Long clips: the camera against ``LONG_WINDOWS`` stretches of the reference, each as long as
    ``MAX_PAIRS`` allows, spread from its start to its end; the most confident answer is kept."""
    frames = MAX_PAIRS // len(cam.times_s)
    if frames < MIN_WINDOW_S * ref.fps:
        raise SyncError(
            f"the camera's clip is too long ({len(cam.times_s)} frames) to compare with even {MIN_WINDOW_S:g} s "
            f"of the reference ({MAX_PAIRS:,} frame pairs at most): cut it to the stretch the reference "
            "filmed, or write the offset in the game file"
        )
    starts = np.unique(np.linspace(0, len(ref.times_s) - frames, LONG_WINDOWS).round().astype(int))
    best: OccupancySync | None = None
    refusals: list[SyncError] = []
    for first in starts:
        try:
            found = occupancy_offset(ref.frames_between(int(first), int(first) + frames), cam, h_ref, h_cam, **options)
        except SyncError as exc:
            refusals.append(exc)
            continue
        if best is None or (found.estimate.confidence, found.estimate.peak) > (
            best.estimate.confidence,
            best.estimate.peak,
        ):
            best = found
    if best is None:
        raise refusals[-1]
    estimate = replace(best.estimate, overlap_s=shared_seconds(ref, cam, best.estimate.offset))
    return replace(best, estimate=estimate)


__all__ = ["FloorGrid", "OccupancySync", "floor_shift", "occupancy_confidence", "occupancy_offset", "shared_floor_grid"]

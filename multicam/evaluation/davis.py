"""DAVIS video-segmentation measures: region similarity J, boundary accuracy F and their statistics.

These reproduce the official DAVIS evaluation (davis2017-evaluation: ``db_eval_iou``,
``db_eval_boundary`` with ``f_measure`` and ``_seg2bmap``, ``db_statistics``) without scikit-image:

- J is the intersection over union of the two masks (1 when both are empty).
- F is the F-measure of the two masks' boundaries, a boundary pixel counting as matched when the
  other boundary lies within ``ceil(bound_th * image diagonal)`` pixels (a disk, as
  ``skimage.morphology.disk``, applied with ``cv2.dilate``). Both boundaries empty gives 1.
- Mean is the mean over frames, Recall the share of frames above 0.5 and Decay the mean of the
  first quarter of the frames minus the mean of the last quarter.

All functions are pure: boolean ``(H, W)`` arrays in, numbers out.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

BOUND_TH = 0.008  # boundary tolerance as a fraction of the image diagonal (DAVIS default)


def region_similarity(gt: np.ndarray, pred: np.ndarray, void: np.ndarray | None = None) -> float:
    """J: IoU of two boolean ``(H, W)`` masks, ignoring ``void`` pixels; 1.0 when the union is empty."""
    gt, pred = _check_pair(gt, pred)
    keep = np.ones_like(gt) if void is None else ~np.asarray(void, dtype=bool)
    union = int(np.count_nonzero((gt | pred) & keep))
    if union == 0:
        return 1.0
    return float(np.count_nonzero(gt & pred & keep)) / union


def boundary_tolerance_px(shape_hw: tuple[int, int], bound_th: float = BOUND_TH) -> int:
    """Boundary tolerance in pixels: ``bound_th`` itself when >= 1, else ``ceil(bound_th * diagonal)``."""
    if bound_th >= 1:
        return int(bound_th)
    return int(math.ceil(bound_th * math.hypot(shape_hw[0], shape_hw[1])))


def seg2bmap(seg: np.ndarray) -> np.ndarray:
    """One-pixel-wide boundary of a boolean ``(H, W)`` mask, as DAVIS's ``_seg2bmap``.

    A pixel is on the boundary when it differs from its east, south or south-east neighbour
    (the last row compares east only, the last column south only, the corner never).
    """
    seg = np.asarray(seg, dtype=bool)
    e = np.zeros_like(seg)
    s = np.zeros_like(seg)
    se = np.zeros_like(seg)
    e[:, :-1] = seg[:, 1:]
    s[:-1, :] = seg[1:, :]
    se[:-1, :-1] = seg[1:, 1:]
    b = (seg ^ e) | (seg ^ s) | (seg ^ se)
    b[-1, :] = seg[-1, :] ^ e[-1, :]
    b[:, -1] = seg[:, -1] ^ s[:, -1]
    b[-1, -1] = False
    return b


def disk(radius: int) -> np.ndarray:
    """``(2r+1, 2r+1)`` uint8 disk: 1 where ``x^2 + y^2 <= r^2`` (as ``skimage.morphology.disk``)."""
    return _disk(int(radius)).copy()


@functools.lru_cache(maxsize=16)
def _disk(radius: int) -> np.ndarray:
    coords = np.arange(-radius, radius + 1)
    x, y = np.meshgrid(coords, coords)
    return ((x**2 + y**2) <= radius**2).astype(np.uint8)


def boundary_measure(
    gt: np.ndarray, pred: np.ndarray, void: np.ndarray | None = None, bound_th: float = BOUND_TH
) -> float:
    """F: boundary F-measure of a predicted mask against the ground truth (both boolean ``(H, W)``).

    The tolerance comes from the full image size; the computation runs on the smallest window
    holding both masks (plus a margin), which gives the same value as the full frame.
    """
    gt, pred = _check_pair(gt, pred)
    bound_pix = boundary_tolerance_px(gt.shape, bound_th)
    if void is not None:
        keep = ~np.asarray(void, dtype=bool)
        gt, pred = gt & keep, pred & keep
    window = _union_window(gt, pred, margin=2)
    if window is None:
        return 1.0  # both masks empty: both boundaries empty
    ys, xs = window
    gt_b = seg2bmap(gt[ys, xs])
    fg_b = seg2bmap(pred[ys, xs])
    n_fg = int(np.count_nonzero(fg_b))
    n_gt = int(np.count_nonzero(gt_b))
    if n_fg == 0 and n_gt == 0:
        return 1.0
    if n_fg == 0 or n_gt == 0:
        return 0.0  # precision or recall is 0 (DAVIS sets the other to 1)
    kernel = _disk(bound_pix)
    fg_dil = cv2.dilate(fg_b.astype(np.uint8), kernel).astype(bool)
    gt_dil = cv2.dilate(gt_b.astype(np.uint8), kernel).astype(bool)
    precision = np.count_nonzero(fg_b & gt_dil) / n_fg
    recall = np.count_nonzero(gt_b & fg_dil) / n_gt
    if precision + recall == 0:
        return 0.0
    return float(2 * precision * recall / (precision + recall))


@dataclass(frozen=True)
class Statistics:
    """Statistics of one measure (J or F) over a sequence of frames.

    Attributes:
        mean: mean over frames (NaN frames ignored).
        recall: share of frames whose value is above 0.5.
        decay: mean of the first quarter of the frames minus mean of the last quarter.
        n_frames: number of frames.
    """

    mean: float
    recall: float
    decay: float
    n_frames: int

    def to_json(self) -> dict[str, float | int | None]:
        return {
            "mean": _num(self.mean),
            "recall": _num(self.recall),
            "decay": _num(self.decay),
            "n_frames": self.n_frames,
        }


def statistics(per_frame: Sequence[float] | np.ndarray) -> Statistics:
    """Mean, Recall and Decay of per-frame values, as DAVIS's ``db_statistics`` (4 quantile bins).

    Empty input gives NaN for all three. Unlike the official code, the bin edges are not cast to
    ``uint8``, so sequences longer than 255 frames get correct bins too (identical otherwise).
    """
    values = np.asarray(per_frame, dtype=np.float64).reshape(-1)
    n = int(values.size)
    if n == 0 or np.all(np.isnan(values)):
        return Statistics(math.nan, math.nan, math.nan, n)
    valid = ~np.isnan(values)
    mean = float(values[valid].mean())
    with np.errstate(invalid="ignore"):
        recall = float((values > 0.5).mean())  # as DAVIS: NaN frames count as below 0.5
    ids = (np.round(np.linspace(1, n, 5) + 1e-10) - 1).astype(np.int64)
    bins = [values[ids[i] : ids[i + 1] + 1] for i in range(4)]
    decay = _nanmean(bins[0]) - _nanmean(bins[3])
    return Statistics(mean, recall, decay, n)


@dataclass(frozen=True)
class SequenceScores:
    """J and F of one object over one sequence of frames.

    Attributes:
        frames: frame indices evaluated, shape ``(N,)``.
        j: per-frame J, shape ``(N,)``.
        f: per-frame F, shape ``(N,)``.
        j_stats: Mean/Recall/Decay of J.
        f_stats: Mean/Recall/Decay of F.
    """

    frames: tuple[int, ...]
    j: tuple[float, ...]
    f: tuple[float, ...]
    j_stats: Statistics
    f_stats: Statistics

    @property
    def jf_mean(self) -> float:
        """J&F: the mean of J-Mean and F-Mean."""
        return (self.j_stats.mean + self.f_stats.mean) / 2

    def to_json(self, per_frame: bool = True) -> dict:
        out: dict = {"J": self.j_stats.to_json(), "F": self.f_stats.to_json(), "J&F": _num(self.jf_mean)}
        if per_frame:
            out["per_frame"] = {
                "frame": list(self.frames),
                "J": [_num(v) for v in self.j],
                "F": [_num(v) for v in self.f],
            }
        return out


def frame_scores(gt: np.ndarray, pred: np.ndarray, bound_th: float = BOUND_TH) -> tuple[float, float]:
    """``(J, F)`` of one frame."""
    return region_similarity(gt, pred), boundary_measure(gt, pred, bound_th=bound_th)


def sequence_scores(frames: Sequence[int], j: Sequence[float], f: Sequence[float]) -> SequenceScores:
    """Bundle per-frame J and F (same length as ``frames``) with their statistics."""
    if not (len(frames) == len(j) == len(f)):
        raise ValueError(f"frames, j and f must have the same length, got {len(frames)}, {len(j)}, {len(f)}")
    return SequenceScores(
        frames=tuple(int(v) for v in frames),
        j=tuple(float(v) for v in j),
        f=tuple(float(v) for v in f),
        j_stats=statistics(j),
        f_stats=statistics(f),
    )


# -- helpers -------------------------------------------------------------------------------
def _check_pair(gt: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    gt = np.asarray(gt, dtype=bool)
    pred = np.asarray(pred, dtype=bool)
    if gt.ndim != 2 or gt.shape != pred.shape:
        raise ValueError(f"masks must be 2-D with the same shape, got {gt.shape} and {pred.shape}")
    return gt, pred


def _union_window(a: np.ndarray, b: np.ndarray, margin: int) -> tuple[slice, slice] | None:
    rows = np.flatnonzero(a.any(axis=1) | b.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(a.any(axis=0) | b.any(axis=0))
    h, w = a.shape
    return (
        slice(max(int(rows[0]) - margin, 0), min(int(rows[-1]) + 1 + margin, h)),
        slice(max(int(cols[0]) - margin, 0), min(int(cols[-1]) + 1 + margin, w)),
    )


def _nanmean(values: np.ndarray) -> float:
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else math.nan


def _num(value: float) -> float | None:
    """JSON-safe float: NaN becomes None."""
    return None if value is None or math.isnan(value) else float(value)

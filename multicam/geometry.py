"""Mask geometry: pure functions over boolean ``(H, W)`` masks and point arrays."""

from __future__ import annotations

import numpy as np


def centroid_xy(mask: np.ndarray) -> tuple[float, float] | None:
    """Mean ``(x, y)`` of the mask's pixels (pixel centres at +0.5); None when empty."""
    ys, xs = np.nonzero(mask)
    if xs.size == 0:
        return None
    return float(xs.mean()) + 0.5, float(ys.mean()) + 0.5


def foot_point_xy(mask: np.ndarray, band: float = 0.1) -> tuple[float, float] | None:
    """Where the object touches the ground: ``(x, y)`` at the bottom of the mask.

    ``x`` is the mean column of the pixels in the lowest ``band`` fraction of the mask's
    height, ``y`` the bottom edge of the mask (exclusive max row). None when empty.
    """
    ys, xs = np.nonzero(mask)
    if xs.size == 0:
        return None
    y_max = int(ys.max())
    height = y_max - int(ys.min()) + 1
    low = ys >= y_max - max(int(round(band * height)), 0)
    return float(xs[low].mean()) + 0.5, float(y_max + 1)


def apply_homography(h: np.ndarray, points_xy: np.ndarray) -> np.ndarray:
    """Map ``(N, 2)`` points through a 3x3 homography; returns ``(N, 2)``."""
    pts = np.asarray(points_xy, dtype=np.float64).reshape(-1, 2)
    hom = np.concatenate([pts, np.ones((len(pts), 1))], axis=1) @ np.asarray(h, dtype=np.float64).T
    return hom[:, :2] / hom[:, 2:3]

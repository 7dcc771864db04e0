"""Foot points from the pictures alone: what differs from a static camera's background, where it touches the floor.

For geometric synchronization without masks. The background is the per-pixel median of frames
spread over the clip; in every frame, pixels that differ from it by more than a threshold
(colour distance) are foreground; a vertical closing joins a player's parts (shirt, shorts,
legs); each connected component of a plausible size gives one foot point: its bottom edge, at
the mean column of its lowest rows. Points are in the clip's full-resolution pixels, the frame
the calibration's homographies expect. Needs a camera that does not move.

:func:`foreground_foot_points` is pure (one frame); :func:`read_foot_points` decodes a clip (PyAV).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from multicam.errors import ClipError
from multicam.sync.geometric import FootTracks
from multicam.sync.visual import small_frames

DEFAULT_WIDTH = 320  # px: frames are analysed at this width (points are scaled back)
BACKGROUND_FRAMES = 60  # frames spread over the clip for the median background
THRESHOLD = 45.0  # colour distance (0..441) above which a pixel is foreground
MIN_AREA_FRACTION = 2e-5  # components smaller than this fraction of the frame are noise
MAX_AREA_FRACTION = 0.05  # ... larger ones are lighting changes or the camera moving


def foreground_foot_points(frame: np.ndarray, background: np.ndarray, threshold: float = THRESHOLD) -> np.ndarray:
    """Foot points ``(K, 2)`` (x, y in this frame's pixels) of the foreground components of one frame.

    Args:
        frame, background: ``(H, W, 3)`` uint8 (or ``(H, W)``) pictures of one size.
        threshold: colour distance above which a pixel is foreground.
    """
    diff = frame.astype(np.float32) - background.astype(np.float32)
    dist = np.sqrt((diff * diff).sum(axis=2)) if diff.ndim == 3 else np.abs(diff)
    fg = (dist > threshold).astype(np.uint8)
    h, w = fg.shape
    # compression speckles: a 2x2 opening, anchored so that nothing shifts
    square = np.ones((2, 2), np.uint8)
    fg = cv2.dilate(cv2.erode(fg, square, anchor=(0, 0)), square, anchor=(1, 1))
    tall = max(3, int(round(h / 40)) | 1)
    fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (3, tall)))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    area = stats[1:, cv2.CC_STAT_AREA]
    good = np.nonzero((area >= max(MIN_AREA_FRACTION * h * w, 3)) & (area <= MAX_AREA_FRACTION * h * w))[0] + 1
    out = np.zeros((len(good), 2))
    for row, label in enumerate(good):
        top, height = stats[label, cv2.CC_STAT_TOP], stats[label, cv2.CC_STAT_HEIGHT]
        bottom = top + height
        band = max(1, int(round(0.15 * height)))
        ys, xs = np.nonzero(labels[bottom - band : bottom] == label)
        out[row] = (xs.mean() + 0.5, bottom)
    return out


def read_foot_points(path: str | Path, width: int = DEFAULT_WIDTH, threshold: float = THRESHOLD) -> FootTracks:
    """Decode a clip twice (background, then foot points) into :class:`FootTracks` without ids.

    Raises:
        ClipError: the file cannot be opened or decoded, or has no video stream.
    """

    def frames():
        return small_frames(path, width, "rgb24", min_size=16)

    kept: list[np.ndarray] = []
    stride = 1
    for i, frame in enumerate(frames()):
        if i % stride == 0:
            kept.append(frame.pixels)
            if len(kept) > 2 * BACKGROUND_FRAMES:
                kept, stride = kept[::2], stride * 2
    if not kept:
        raise ClipError(f"{path}: the video has no frames")
    background = np.median(np.stack(kept), axis=0).astype(np.uint8)
    times, points = [], []
    rate, scale = 25.0, (1.0, 1.0)
    for frame in frames():
        times.append(frame.time)
        points.append(foreground_foot_points(frame.pixels, background, threshold))
        rate, scale = frame.fps, frame.scale
    return FootTracks.from_frames(times, points, rate).scaled(*scale)


__all__ = ["foreground_foot_points", "read_foot_points"]

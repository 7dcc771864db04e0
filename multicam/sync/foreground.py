"""Where things touch the floor, from the pictures alone: the lowest rows of what differs from a static background.

For geometric synchronization without masks (:mod:`multicam.sync.occupancy`). The background is
the per-pixel median of frames spread over the clip; in every frame, pixels that differ from it
by more than a threshold (colour distance) are foreground, cleaned of compression speckles by a
2x2 opening. A foreground pixel is a *contact pixel* when one of the few pixels below it is
background: the bottom rows of every vertical run of foreground, i.e. feet on the floor (and the
edges of shadows, which lie on the floor too). Nothing is segmented into objects, so players that
overlap in the picture still give their feet. Points are in the clip's full-resolution pixels,
the frame the calibration's homographies expect. Needs a camera that does not move.

:func:`foreground_mask` and :func:`contact_pixels` are pure (one frame); :func:`read_contact_points`
decodes a clip (PyAV).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from multicam.errors import ClipError
from multicam.sync.geometric import FootTracks
from multicam.sync.visual import small_frames

DEFAULT_WIDTH = 320  # px: frames are analysed at this width at most (points are scaled back)
MIN_SIZE = 16  # px: ... and at least this wide and tall
BACKGROUND_FRAMES = 60  # frames spread over the clip for the median background (60 to 120)
THRESHOLD = 45.0  # colour distance (0..441) above which a pixel is foreground
CONTACT_ROWS = 0.015  # the lowest rows of each foreground run kept, as a fraction of the picture height (>= 1 row)
MAX_FOREGROUND_FRACTION = 0.25  # a frame with more foreground than this is a lighting change or a moved camera


def foreground_mask(frame: np.ndarray, background: np.ndarray, threshold: float = THRESHOLD) -> np.ndarray:
    """Pixels of ``frame`` whose colour differs from ``background`` by more than ``threshold``, ``(H, W)`` bool.

    Isolated pixels are dropped by a 2x2 opening (anchored so that nothing shifts).

    Args:
        frame, background: ``(H, W, 3)`` uint8 (or ``(H, W)``) pictures of one size.
        threshold: colour distance above which a pixel is foreground.
    """
    diff = frame.astype(np.float32) - background.astype(np.float32)
    dist = np.sqrt((diff * diff).sum(axis=2)) if diff.ndim == 3 else np.abs(diff)
    fg = (dist > threshold).astype(np.uint8)
    square = np.ones((2, 2), np.uint8)
    return cv2.dilate(cv2.erode(fg, square, anchor=(0, 0)), square, anchor=(1, 1)).astype(bool)


def contact_pixels(foreground: np.ndarray, rows: int) -> np.ndarray:
    """Centres ``(x, y)`` of the foreground pixels within ``rows`` of the bottom of their vertical run, ``(K, 2)``.

    A pixel is kept when one of the ``rows`` pixels below it is background (or below the picture).
    Empty when more than ``MAX_FOREGROUND_FRACTION`` of the picture is foreground (not objects on
    a floor but the light or the camera changing).
    """
    fg = np.asarray(foreground, dtype=bool)
    if fg.size == 0 or fg.mean() > MAX_FOREGROUND_FRACTION:
        return np.zeros((0, 2))
    rows = max(int(rows), 1)
    # all of the `rows` pixels below are foreground <=> the pixel is not a contact pixel
    below_all = np.ones_like(fg)
    for step in range(1, rows + 1):
        shifted = np.zeros_like(fg)
        shifted[:-step] = fg[step:]
        below_all &= shifted
    ys, xs = np.nonzero(fg & ~below_all)
    return np.column_stack([xs + 0.5, ys + 0.5]).astype(np.float64)


def read_contact_points(
    path: str | Path, width: int = DEFAULT_WIDTH, threshold: float = THRESHOLD, rows_fraction: float = CONTACT_ROWS
) -> FootTracks:
    """Decode a clip twice (background, then contact pixels) into :class:`FootTracks` without ids.

    Raises:
        ClipError: the file cannot be opened or decoded, or has no video stream.
    """

    def frames():
        return small_frames(path, width, "rgb24", min_size=MIN_SIZE)

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
    rows = max(1, int(round(rows_fraction * background.shape[0])))
    times, points = [], []
    rate, scale = 25.0, (1.0, 1.0)
    for frame in frames():
        times.append(frame.time)
        points.append(contact_pixels(foreground_mask(frame.pixels, background, threshold), rows))
        rate, scale = frame.fps, frame.scale
    return FootTracks.from_frames(times, points, rate).scaled(*scale)


__all__ = ["contact_pixels", "foreground_mask", "read_contact_points"]

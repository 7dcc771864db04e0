"""Visual synchronization: align two clips by how much their pictures change over time.

For clips without usable sound. Each clip becomes a *motion energy* curve: the mean absolute
difference between consecutive small grey frames, placed at the midpoint time of the two
frames. Cameras looking at the same play see motion start and stop together, so their curves
rise and fall together even from different angles. The curves are resampled to a common rate
(clips may have different frame rates), high-pass filtered to keep the changes rather than the
overall level, and aligned by normalised cross-correlation with a parabolic sub-sample peak.

Decoding (:func:`read_motion_energy`) is the only I/O here; the rest are pure functions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from multicam.clips import open_container, video_stream
from multicam.errors import ClipError
from multicam.sync.correlation import (
    MethodEstimate,
    method_estimate,
    no_lag_message,
    normalized_xcorr,
    overlap_for,
    pick_peak,
    search_mask,
)
from multicam.sync.errors import SyncError

DEFAULT_RATE = 200.0  # Hz: the common rate of the motion curves
DEFAULT_WIDTH = 96  # px: width of the grey frames the motion is measured on
STATIC_LEVEL = 20.0  # grey levels: pictures that never depart further from their median show nothing moving
KEPT_FRAMES = 400  # at most this many small frames are kept to measure that
PSR_FLOOR, PSR_SPAN = 3.0, 6.0  # smooth motion curves have few independent lags: a lower noise floor


@dataclass(frozen=True)
class MotionCurve:
    """A clip's motion energy over time.

    Attributes:
        values: mean absolute grey-level change between consecutive frames (0..255), shape ``(N,)``.
        times_s: clip time (s after the first frame) of each value: the midpoint of its two frames, shape ``(N,)``.
        fps: the clip's frame rate.
        change_level: how far the most changing pixels stray from the clip's median picture: the
            median over frames of the 99.9th percentile of ``|frame - median frame|`` (grey levels).
            Sensor noise and compression stay within a few levels; anything that moves goes far
            beyond. None when unknown.
    """

    values: np.ndarray
    times_s: np.ndarray
    fps: float
    change_level: float | None = None

    @property
    def is_static(self) -> bool:
        """True when nothing moves: fewer than 3 values, a constant curve, or a low :attr:`change_level`."""
        if len(self.values) < 3 or float(np.std(self.values)) == 0.0:
            return True
        return self.change_level is not None and self.change_level < STATIC_LEVEL


def change_level(frames: np.ndarray) -> float:
    """Median over frames of the 99.9th percentile of ``|frame - median frame|``.

    Args:
        frames: grey frames, shape ``(N, H, W)``.

    Returns:
        Grey levels; 0 for no frames.
    """
    frames = np.asarray(frames, dtype=np.float32)
    if len(frames) == 0:
        return 0.0
    deviation = np.abs(frames - np.median(frames, axis=0)).reshape(len(frames), -1)
    return float(np.median(np.percentile(deviation, 99.9, axis=1)))


def motion_energy(frames: Iterable[np.ndarray]) -> np.ndarray:
    """Mean absolute difference of consecutive grey frames.

    Args:
        frames: grey frames, each ``(H, W)`` of one shape (any numeric dtype).

    Returns:
        ``(N - 1,)`` float64 for N frames: value ``i`` compares frames ``i`` and ``i + 1``.
    """
    out: list[float] = []
    prev: np.ndarray | None = None
    for frame in frames:
        cur = np.asarray(frame, dtype=np.float32)
        if prev is not None:
            if cur.shape != prev.shape:
                raise ValueError(f"frames must share one shape, got {prev.shape} then {cur.shape}")
            out.append(float(np.mean(np.abs(cur - prev))))
        prev = cur
    return np.asarray(out, dtype=np.float64)


def read_motion_energy(path: str | Path, width: int = DEFAULT_WIDTH) -> MotionCurve:
    """Decode a clip (PyAV) into small grey frames and measure its motion energy.

    Frame times come from the stream's timestamps, so variable frame rates are handled.

    Raises:
        ClipError: the file cannot be opened or decoded, or has no video stream.
    """
    import av

    path = Path(path)
    container = open_container(path)
    try:
        stream = video_stream(container, path)
        stream.thread_type = "AUTO"
        rate = float(stream.average_rate or stream.guessed_rate or 0) or 25.0
        start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        w0, h0 = stream.codec_context.width, stream.codec_context.height
        w = max(8, min(int(width), w0))
        h = max(8, int(round(h0 * w / w0)))
        times: list[float] = []
        kept: list[np.ndarray] = []  # every `stride`-th frame, for the change level
        stride = 1

        def frames():
            nonlocal stride, kept
            for i, frame in enumerate(container.decode(stream)):
                times.append(float(frame.time) - start if frame.time is not None else i / rate)
                grey = frame.reformat(width=w, height=h, format="gray", interpolation="AREA").to_ndarray()
                if i % stride == 0:
                    kept.append(grey)
                    if len(kept) > KEPT_FRAMES:
                        kept, stride = kept[::2], stride * 2
                yield grey

        try:
            values = motion_energy(frames())
        except av.error.FFmpegError as exc:
            raise ClipError(f"{path}: the video cannot be decoded ({exc}); the file may be corrupt") from exc
    finally:
        container.close()
    t = np.asarray(times, dtype=np.float64)
    mid = 0.5 * (t[1:] + t[:-1]) if len(t) > 1 else np.zeros(0)
    return MotionCurve(values=values, times_s=mid, fps=rate, change_level=change_level(np.asarray(kept)))


def resample_curve(times_s: np.ndarray, values: np.ndarray, rate: float) -> tuple[np.ndarray, float]:
    """Linear interpolation of an irregularly timed curve onto a regular grid.

    Args:
        times_s: increasing sample times, shape ``(N,)``; values: shape ``(N,)``.
        rate: samples per second of the grid.

    Returns:
        ``(samples, start_s)``: grid values ``(M,)`` at times ``start_s + j / rate`` from the first time to the last.
    """
    times_s = np.asarray(times_s, dtype=np.float64)
    if len(times_s) == 0:
        return np.zeros(0), 0.0
    n = int(np.floor((times_s[-1] - times_s[0]) * rate + 1e-9)) + 1
    grid = times_s[0] + np.arange(n) / rate
    return np.interp(grid, times_s, np.asarray(values, dtype=np.float64)), float(times_s[0])


def highpass(values: np.ndarray, window: int) -> np.ndarray:
    """``values`` minus their moving average over ``window`` samples (edges: nearest), shape kept."""
    values = np.asarray(values, dtype=np.float64)
    if window <= 1 or len(values) == 0:
        return values - (values.mean() if len(values) else 0.0)
    return values - ndimage.uniform_filter1d(values, size=int(window), mode="nearest")


def visual_offset(
    ref: MotionCurve,
    cam: MotionCurve,
    *,
    max_offset: float | None = None,
    min_overlap_s: float = 2.0,
    rate: float = DEFAULT_RATE,
    highpass_s: float = 2.0,
) -> MethodEstimate:
    """The camera's offset against the reference from their motion energy curves.

    Raises:
        SyncError: a clip is static (nothing moves) or no offset satisfies the limits.
    """
    for what, curve in (("reference", ref), ("camera", cam)):
        if curve.is_static:
            level = (
                ""
                if curve.change_level is None
                else (f"; its pixels stray {curve.change_level:.0f} grey levels at most from the median picture")
            )
            raise SyncError(f"the {what} clip's video is static (nothing moves{level})")
    a, start_a = resample_curve(ref.times_s, ref.values, rate)
    b, start_b = resample_curve(cam.times_s, cam.values, rate)
    window = int(round(highpass_s * rate))
    a, b = highpass(a, window), highpass(b, window)
    corr, lags = normalized_xcorr(a, b)
    # short overlaps correlate well by chance: weigh each lag by the square root of its overlap
    overlap = overlap_for(lags, len(a), len(b))
    corr = corr * np.sqrt(overlap / max(int(overlap.max()), 1))
    base = start_a - start_b
    valid = search_mask(lags, len(a), len(b), rate, base, max_offset, min_overlap_s)
    est = pick_peak(
        corr,
        lags,
        valid,
        min_exclusion=int(round(rate / min(ref.fps, cam.fps))),
        psr_floor=PSR_FLOOR,
        psr_span=PSR_SPAN,
    )
    if est is None:
        raise SyncError(no_lag_message(max_offset, min_overlap_s))
    return method_estimate("visual", est, base, rate, len(a), len(b))


__all__ = [
    "MotionCurve",
    "change_level",
    "highpass",
    "motion_energy",
    "read_motion_energy",
    "resample_curve",
    "visual_offset",
]

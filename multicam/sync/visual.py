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

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy import ndimage, special

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
WARMUP_STEPS = 5  # the first motion values of a clip are dropped (encoder warm-up)
NOISE_GATE = 3.0  # motion energy ignores pixel changes below this multiple of the median change
NULL_SHIFTS = 32  # circular shifts of the camera's curve that give the correlation's null distribution
# Confidence = P(the answer is within a frame), a logistic model of the evidence (MotionEvidence) fitted by
# benchmarks/visual_confidence.py on seeds 0-14 of benchmarks/sync_accuracy.py (rows in
# benchmarks/results/visual_confidence_fit/, output in benchmarks/results/visual_confidence.json; a test holds
# these numbers to it)
CONFIDENCE_INTERCEPT = -7.46
CONFIDENCE_WEIGHTS = (6.64, 0.46, 0.28)  # per MotionEvidence.features(): peak, sidelobe ratio, null z
SIDELOBE_CAP, NULL_Z_RANGE = 12.0, (-3.0, 10.0)  # the features are clipped to these: beyond, no more evidence
# a rival peak within this much of the answer's (correlation) shares the probability with it: a steady rhythm
# matches at every period, and the evidence cannot tell which one is right (no such case in the fitted rows)
RIVAL_GAP = 0.02


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


@dataclass(frozen=True)
class MotionEvidence:
    """What two motion curves say for their best lag.

    Attributes:
        peak: the correlation there (weighted by overlap, :func:`weighted_xcorr`), -1..1.
        sidelobe: peak-to-sidelobe ratio: (peak - mean) / std of the correlation outside the peak's main lobe.
        null_z: the peak's z-score against the best values the curves reach out of step (:func:`null_maxima`).
        second_peak: the best correlation outside the peak's main lobe (the best rival lag).
    """

    peak: float
    sidelobe: float
    null_z: float
    second_peak: float

    def features(self) -> np.ndarray:
        """``(peak, sidelobe, null_z)``, clipped to where more of each stops adding evidence, shape ``(3,)``."""
        sidelobe = self.sidelobe if np.isfinite(self.sidelobe) else 0.0
        return np.array(
            [
                float(np.clip(self.peak, -1.0, 1.0)),
                float(np.clip(sidelobe, 0.0, SIDELOBE_CAP)),
                float(np.clip(self.null_z, *NULL_Z_RANGE)),
            ]
        )


def motion_confidence(
    evidence: MotionEvidence,
    intercept: float = CONFIDENCE_INTERCEPT,
    weights: tuple[float, ...] = CONFIDENCE_WEIGHTS,
) -> float:
    """The probability that a motion answer is within a frame of the truth, 0..1.

    A logistic model, ``p = 1 / (1 + exp(-(intercept + weights . evidence.features())))``, whose
    default coefficients were fitted on the synthetic test set's design seeds (see the module
    constants; how it does on held-out seeds: ``docs/benchmarks/sync-accuracy.md``). A rival lag
    whose correlation comes within :data:`RIVAL_GAP` of the peak shares the probability with it:
    ``p / (1 + r)``, ``r = clip(1 - (peak - second_peak) / RIVAL_GAP, 0, 1)``, so an answer with a
    rival as good is never trusted (under 0.5).
    """
    if len(weights) != 3:
        raise ValueError(f"motion_confidence needs 3 weights (peak, sidelobe, null z), got {len(weights)}")
    p = float(special.expit(intercept + float(np.dot(weights, evidence.features()))))
    gap = evidence.peak - evidence.second_peak
    rival = float(np.clip(1.0 - gap / RIVAL_GAP, 0.0, 1.0)) if np.isfinite(gap) else 0.0
    return p / (1.0 + rival)


def null_z(peak: float, null: np.ndarray) -> float:
    """``(peak - mean(null)) / std(null)``: how far the peak stands above what chance reaches; 0 for fewer than 2 values."""
    null = np.asarray(null, dtype=np.float64)
    if len(null) < 2:
        return 0.0
    mean = float(null.mean())
    std = max(float(null.std()), 1e-6 * max(abs(mean), 1e-6), 1e-9)
    return (peak - mean) / std


def motion_energy(frames: Iterable[np.ndarray], gate: float = 0.0) -> np.ndarray:
    """Mean absolute difference of consecutive grey frames, above a noise gate, plus the change of brightness.

    Each pixel counts ``max(|difference| - g, 0)`` with ``g = gate * median |difference|`` of that
    frame pair: sensor noise and compression flicker (which pulses at every key frame, in step
    with the encoder rather than the play) change every pixel a little and are gated out; what
    moves changes a few pixels a lot and stays. With a gate, the absolute change of the mean
    grey level is added: a flash, a light switched on or a cut changes every pixel at once, and
    is an event every camera sees.

    Args:
        frames: grey frames, each ``(H, W)`` of one shape (any numeric dtype).
        gate: multiple of the median absolute difference subtracted from every pixel's (0: none).

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
            diff = np.abs(cur - prev)
            if gate > 0:
                flash = abs(float(cur.mean()) - float(prev.mean()))
                out.append(float(np.mean(np.maximum(diff - gate * float(np.median(diff)), 0.0))) + flash)
            else:
                out.append(float(np.mean(diff)))
        prev = cur
    return np.asarray(out, dtype=np.float64)


@dataclass(frozen=True)
class SmallFrame:
    """One decoded frame, reduced: clip ``time`` (s), ``key`` frame flag, ``pixels``, the clip's ``fps``
    and ``scale`` ``(sx, sy)`` from these pixels to the clip's."""

    time: float
    key: bool
    pixels: np.ndarray
    fps: float
    scale: tuple[float, float]


def small_size(resolution_wh: tuple[int, int], width: int, min_size: int = 8) -> tuple[int, int]:
    """``(w, h)`` :func:`small_frames` scales pictures of ``resolution_wh`` to: ``width`` wide at most, aspect kept."""
    w0, h0 = resolution_wh
    w = max(min_size, min(int(width), w0))
    return w, max(min_size, int(round(h0 * w / w0)))


def small_frames(path: str | Path, width: int, pixel_format: str = "gray", min_size: int = 8) -> Iterator[SmallFrame]:
    """Decode a clip (PyAV) into frames ``width`` px wide (never wider than the clip), in ``pixel_format``.

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
        w, h = small_size((w0, h0), width, min_size)
        for i, frame in enumerate(container.decode(stream)):
            time = float(frame.time) - start if frame.time is not None else i / rate
            pixels = frame.reformat(width=w, height=h, format=pixel_format, interpolation="AREA").to_ndarray()
            yield SmallFrame(time, bool(frame.key_frame), pixels, rate, (w0 / w, h0 / h))
    except av.error.FFmpegError as exc:
        raise ClipError(f"{path}: the video cannot be decoded ({exc}); the file may be corrupt") from exc
    finally:
        container.close()


def read_motion_energy(path: str | Path, width: int = DEFAULT_WIDTH) -> MotionCurve:
    """Decode a clip (:func:`small_frames`, grey) and measure its motion energy.

    Raises:
        ClipError: the file cannot be opened or decoded, or has no video stream.
    """
    times: list[float] = []
    keys: list[bool] = []
    kept: list[np.ndarray] = []  # every `stride`-th frame, for the change level
    stride = 1
    rate = 25.0

    def frames():
        nonlocal stride, kept, rate
        for i, frame in enumerate(small_frames(path, width)):
            times.append(frame.time)
            keys.append(frame.key)
            rate = frame.fps
            if i % stride == 0:
                kept.append(frame.pixels)
                if len(kept) > KEPT_FRAMES:
                    kept, stride = kept[::2], stride * 2
            yield frame.pixels

    values = motion_energy(frames(), gate=NOISE_GATE)
    t = np.asarray(times, dtype=np.float64)
    mid = 0.5 * (t[1:] + t[:-1]) if len(t) > 1 else np.zeros(0)
    values, mid = drop_encoder_steps(values, mid, np.asarray(keys, dtype=bool))
    return MotionCurve(values=values, times_s=mid, fps=rate, change_level=change_level(np.asarray(kept)))


def drop_encoder_steps(values: np.ndarray, times_s: np.ndarray, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Motion values without the encoder's own rhythm.

    Encoders settle their quality over the first frames (a burst of change at the start of every
    clip, which would align any two clips at offset 0): the first ``WARMUP_STEPS`` values are
    dropped. Within each group of pictures the quality rises and falls again in step with the
    key frames (often every 1 or 2 s, the same in clips of one camera model), which would align
    clips by their key frames: the steps into and out of a key frame are dropped, and the
    typical value at each position within a group (median over the groups) is subtracted. The
    curve is resampled later, so dropped values are bridged by interpolation. Key frames are
    ignored when more than half the frames are key frames (intra-only codecs) or there are
    fewer than 3 groups.

    Args:
        values, times_s: ``(N - 1,)`` motion values and times of N frames; key: ``(N,)`` key-frame flags.
    """
    values = np.asarray(values, dtype=np.float64)
    if len(key) != len(values) + 1 or len(values) <= 2 * WARMUP_STEPS:
        return values, times_s
    bad = np.zeros(len(values), dtype=bool)
    bad[:WARMUP_STEPS] = True
    step_key = np.asarray(key[1:], dtype=bool)  # step i ends on frame i + 1
    if step_key.mean() <= 0.5 and step_key.sum() >= 3:
        frames = np.arange(len(key))
        last_key = np.maximum.accumulate(np.where(np.asarray(key, dtype=bool), frames, 0))
        phase = frames[1:] - last_key[1:]  # frames since the last key frame, at the end of each step
        bad |= step_key  # the step into a key frame
        bad[1:] |= step_key[:-1]  # and the step out of it
        typical = np.zeros(int(phase.max()) + 1)
        for p in range(len(typical)):
            at = (phase == p) & ~bad
            typical[p] = np.median(values[at]) if at.sum() >= 3 else np.nan
        level = np.nanmedian(typical) if np.isfinite(typical).any() else 0.0
        values = values - np.nan_to_num(typical[phase] - level)
    return values[~bad], times_s[~bad]


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


@dataclass(frozen=True)
class VisualMatch:
    """:func:`visual_match`'s answer: the ``estimate`` (its ``psr`` the sidelobe ratio) and the ``evidence`` it rests on."""

    estimate: MethodEstimate
    evidence: MotionEvidence


def visual_match(
    ref: MotionCurve,
    cam: MotionCurve,
    *,
    max_offset: float | None = None,
    min_overlap_s: float = 1.0,
    rate: float = DEFAULT_RATE,
    highpass_s: float = 2.0,
    null_shifts: int = NULL_SHIFTS,
) -> VisualMatch:
    """The camera's offset against the reference from their motion energy curves, with its evidence.

    The curves are resampled to ``rate``, high-passed (``highpass_s`` moving average removed) and
    correlated (:func:`weighted_xcorr`) over every lag that leaves ``min_overlap_s`` of overlap
    (lowered to half the shorter clip when that is less, so clips of 100 frames or even 1 s are searched too); the peak is refined by a
    parabola. Its evidence: the peak correlation, the sidelobe ratio (how far it stands above the
    correlation at every other lag), its z-score against what the same curves reach out of step
    (:func:`null_maxima`) and the best rival lag; the confidence is :func:`motion_confidence` of that.

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
    corr, lags = weighted_xcorr(a, b)
    base = start_a - start_b
    valid = search_mask(lags, len(a), len(b), rate, base, max_offset, min_overlap_s)
    est = pick_peak(corr, lags, valid, min_exclusion=int(round(rate / min(ref.fps, cam.fps))))
    if est is None:
        raise SyncError(no_lag_message(max_offset, min_overlap_s))
    evidence = MotionEvidence(
        peak=est.peak,
        sidelobe=est.psr,
        null_z=null_z(est.peak, null_maxima(a, b, valid, shifts=null_shifts)),
        second_peak=est.second_peak,
    )
    est = replace(est, confidence=motion_confidence(evidence))
    return VisualMatch(method_estimate("visual", est, base, rate, len(a), len(b)), evidence)


def visual_offset(
    ref: MotionCurve, cam: MotionCurve, *, max_offset: float | None = None, min_overlap_s: float = 1.0
) -> MethodEstimate:
    """:func:`visual_match`'s estimate alone, with its default rate, high-pass and null."""
    return visual_match(ref, cam, max_offset=max_offset, min_overlap_s=min_overlap_s).estimate


def weighted_xcorr(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`normalized_xcorr` weighted by the square root of each lag's overlap (short overlaps correlate by chance)."""
    corr, lags = normalized_xcorr(a, b)
    overlap = overlap_for(lags, len(a), len(b))
    return corr * np.sqrt(overlap / max(int(overlap.max()), 1)), lags


def null_maxima(
    a: np.ndarray, b: np.ndarray, valid: np.ndarray, shifts: int = NULL_SHIFTS, seed: int = 0
) -> np.ndarray:
    """Best correlation over the ``valid`` lags when ``b`` is circularly shifted out of step, ``shifts`` times.

    A shifted curve keeps its own rhythm (how smooth, how bursty) but no longer shares any moment
    with ``a``: its best value over the searched lags is what chance alone reaches.

    Returns:
        ``(shifts,)`` values (empty when ``b`` is too short to shift).
    """
    if len(b) < 8 or shifts <= 0:
        return np.zeros(0)
    rng = np.random.default_rng(seed)
    out = []
    for shift in rng.integers(len(b) // 4, 3 * len(b) // 4 + 1, size=shifts):
        corr, _ = weighted_xcorr(a, np.roll(b, int(shift)))
        out.append(float(corr[valid].max()))
    return np.asarray(out)


__all__ = [
    "MotionCurve",
    "MotionEvidence",
    "SmallFrame",
    "VisualMatch",
    "change_level",
    "highpass",
    "motion_confidence",
    "motion_energy",
    "null_maxima",
    "null_z",
    "read_motion_energy",
    "resample_curve",
    "small_frames",
    "small_size",
    "visual_match",
    "visual_offset",
    "weighted_xcorr",
]

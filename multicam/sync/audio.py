"""Audio synchronization: decode a clip's sound (PyAV) and align two tracks by GCC-PHAT (scipy).

Decoding is the only I/O here (:func:`decode_audio`); :func:`audio_offset` is a pure function
of two :class:`AudioTrack` arrays.

Timing: every sample is placed on the clip's own clock, whose zero is the clip's first video
frame (the video stream's start time, as :class:`multicam.clips.Clip` counts frames), using the
decoded frames' timestamps. The decoder drops the AAC encoder's priming samples when the
container says how many there are (MP4 edit lists, as FFmpeg and most cameras write them); when
it keeps them, their timestamps put them before the first real sample, so the sound still lands
at its time. A track whose first sample comes later than its first picture gets a positive
``start_s``. Priming that a file does not declare at all is the same for every clip of one
encoder and cancels out in the offset.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy import signal as sp_signal

from multicam.clips import open_container
from multicam.errors import ClipError
from multicam.sync.correlation import (
    PSR_FLOOR,
    MethodEstimate,
    gcc_phat,
    method_estimate,
    no_lag_message,
    pick_peak,
    search_mask,
)
from multicam.sync.errors import SyncError

DEFAULT_SAMPLE_RATE = 16000
SILENCE_RMS = 1e-4  # about -80 dBFS
MAX_FFT_SAMPLES = 2**25  # both tracks together (35 min at 16 kHz); longer: a lower rate first
REFINE_S = 30.0  # seconds of overlap used to refine a lower-rate match at the full rate


@dataclass(frozen=True)
class AudioTrack:
    """A clip's sound as mono float samples on the clip's clock.

    Attributes:
        samples: mono samples in -1..1, shape ``(N,)`` float32.
        sample_rate: samples per second.
        start_s: clip time (s after the clip's first video frame) of ``samples[0]``.
    """

    samples: np.ndarray
    sample_rate: int
    start_s: float = 0.0

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate

    @property
    def rms(self) -> float:
        return float(np.sqrt(np.mean(np.square(self.samples, dtype=np.float64)))) if len(self.samples) else 0.0

    @property
    def is_silent(self) -> bool:
        """True when the track is empty or below about -80 dBFS throughout."""
        return self.rms < SILENCE_RMS


def decode_audio(path: str | Path, sample_rate: int = DEFAULT_SAMPLE_RATE) -> AudioTrack | None:
    """Decode a clip's first audio stream to mono float32 at ``sample_rate`` (PyAV's resampler).

    Returns:
        The track, or None when the clip has no audio stream.

    Raises:
        ClipError: the file cannot be opened or its audio cannot be decoded.
    """
    import av

    path = Path(path)
    container = open_container(path)
    try:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        video_start = 0.0
        if container.streams.video:
            vs = container.streams.video[0]
            if vs.start_time is not None and vs.time_base is not None:
                video_start = float(vs.start_time * vs.time_base)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        chunks: list[np.ndarray] = []
        first_time: float | None = None
        written = 0

        def take(frames) -> None:
            nonlocal first_time, written
            for out in frames:
                data = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                if out.pts is not None and out.time_base is not None:
                    t = float(out.pts * out.time_base)
                    if first_time is None:
                        first_time = t
                    gap = int(round((t - first_time) * sample_rate)) - written
                    if gap > 0:  # a hole in the stream: keep later samples at their time
                        chunks.append(np.zeros(gap, np.float32))
                        written += gap
                chunks.append(data)
                written += len(data)

        try:
            for frame in container.decode(stream):
                take(resampler.resample(frame))
            take(resampler.resample(None))
        except av.error.FFmpegError as exc:
            raise ClipError(f"{path}: the audio cannot be decoded ({exc}); the file may be corrupt") from exc
    finally:
        container.close()
    samples = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    start = (first_time if first_time is not None else 0.0) - video_start
    return AudioTrack(samples=samples, sample_rate=sample_rate, start_s=start)


def audio_offset(
    ref: AudioTrack,
    cam: AudioTrack,
    *,
    max_offset: float | None = None,
    min_overlap_s: float = 1.0,
    beta: float = 0.8,
    max_fft_samples: int = MAX_FFT_SAMPLES,
) -> MethodEstimate:
    """The camera's offset against the reference from their sound (GCC-PHAT + parabolic peak).

    An event heard at reference clip time ``t_r`` and camera clip time ``t_c`` gives the camera's
    offset ``t_r - t_c``. Only offsets with at least ``min_overlap_s`` seconds of shared sound
    (or the shorter track's length, if less) and ``|offset| <= max_offset`` are searched.

    Long tracks (together more than ``max_fft_samples``) are first matched whole at a lower rate
    (anti-aliased decimation), which bounds memory; the offset found is then refined at the full
    rate on an excerpt of up to ``REFINE_S`` seconds of their overlap.

    Args:
        beta: PHAT exponent (1 = full phase transform; 0.8 keeps a little of the spectrum's
            weight, which makes chance matches of single short sounds less likely).

    Raises:
        SyncError: a track is silent or no offset satisfies the limits.
        ValueError: the tracks' sample rates differ.
    """
    if ref.sample_rate != cam.sample_rate:
        raise ValueError(f"audio tracks must share a sample rate, got {ref.sample_rate} and {cam.sample_rate}")
    for what, track in (("reference", ref), ("camera", cam)):
        if track.is_silent:
            raise SyncError(f"the {what} clip's audio is silent (RMS {track.rms:.1e})")
    rate = ref.sample_rate
    base = ref.start_s - cam.start_s  # the offset of lag k is base + k / rate
    factor = int(np.ceil((len(ref.samples) + len(cam.samples)) / max_fft_samples))
    if factor <= 1:
        return _gcc_offset(ref.samples, cam.samples, rate, base, max_offset, min_overlap_s, beta)
    coarse = _gcc_offset(
        sp_signal.resample_poly(ref.samples, 1, factor),
        sp_signal.resample_poly(cam.samples, 1, factor),
        rate / factor,
        base,
        max_offset,
        min_overlap_s,
        beta,
    )
    fine = _refine(ref.samples, cam.samples, rate, (coarse.offset - base) * rate, 2 * factor, beta)
    if fine is None:
        return coarse
    return replace(coarse, offset=base + fine / rate, resolution_s=1.0 / rate)


def _gcc_offset(
    ref: np.ndarray,
    cam: np.ndarray,
    rate: float,
    base: float,
    max_offset: float | None,
    min_overlap_s: float,
    beta: float,
) -> MethodEstimate:
    corr, lags = gcc_phat(ref, cam, beta=beta)
    valid = search_mask(lags, len(ref), len(cam), rate, base, max_offset, min_overlap_s)
    est = pick_peak(corr, lags, valid, min_exclusion=int(round(0.005 * rate)))
    if est is None:
        raise SyncError(no_lag_message(max_offset, min_overlap_s))
    return method_estimate("audio", est, base, rate, len(ref), len(cam))


def _refine(ref: np.ndarray, cam: np.ndarray, rate: float, lag: float, slack: int, beta: float) -> float | None:
    """The lag (samples, sub-sample) near ``lag`` (within ``slack`` samples) from an excerpt of the overlap.

    None when the excerpt is too short or its peak does not stand out (the coarse lag is kept).
    """
    k = int(round(lag))
    lo, hi = max(0, -k), min(len(cam), len(ref) - k)  # overlapping camera samples
    length = min(hi - lo, int(REFINE_S * rate))
    if length < int(0.5 * rate):
        return None
    start = lo + (hi - lo - length) // 2
    excerpt = cam[start : start + length]
    seg_lo = max(start + k - slack, 0)
    segment = ref[seg_lo : start + k + length + slack]
    corr, lags = gcc_phat(segment, excerpt, beta=beta)
    expected = start + k - seg_lo  # the coarse lag within the segment
    est = pick_peak(corr, lags, np.abs(lags - expected) <= slack)
    if est is None or est.peak <= 0 or est.psr < PSR_FLOOR:
        return None
    return float(seg_lo - start + est.lag)


__all__ = ["AudioTrack", "decode_audio", "audio_offset"]

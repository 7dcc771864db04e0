"""Cross-correlation and peak analysis shared by the audio and visual methods. Pure functions, no I/O.

Convention: for two signals sampled at the same rate, ``ref`` and ``sig``, a lag ``k`` (in samples)
means ``sig[n]`` lines up with ``ref[n + k]``. Every correlation here returns ``corr`` and ``lags``
arrays of the same length with ``corr[i]`` the match score at lag ``lags[i]``, for all lags with at
least one overlapping sample: ``lags = -(len(sig) - 1) .. len(ref) - 1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import fft as sp_fft
from scipy import signal as sp_signal

PSR_FLOOR = 5.0  # a peak this far above the sidelobes is what noise alone gives over many lags
PSR_SPAN = 10.0  # ... and this much more makes it fully significant


def peak_confidence(
    peak: float, second_peak: float, psr: float, *, psr_floor: float = PSR_FLOOR, psr_span: float = PSR_SPAN
) -> float:
    """Confidence 0..1 of a correlation peak: ``sqrt(uniqueness * significance)``.

    uniqueness = ``1 - second_peak / peak``; significance = ``(psr - psr_floor) / psr_span``; both
    clipped to 0..1. ``psr_floor`` is about what unrelated signals reach (it depends on how many
    independent lags are searched: smooth curves have fewer than white ones).
    """
    if not peak > 0:
        return 0.0
    uniqueness = float(np.clip(1.0 - max(second_peak, 0.0) / peak, 0.0, 1.0))
    significance = float(np.clip((psr - psr_floor) / psr_span, 0.0, 1.0)) if np.isfinite(psr) else 1.0
    return float(np.sqrt(uniqueness * significance))


@dataclass(frozen=True)
class PeakEstimate:
    """The best lag of a correlation curve and how much to trust it.

    Attributes:
        lag: lag of the peak in samples, with sub-sample (parabolic) interpolation.
        peak: correlation value at the peak (integer lag).
        second_peak: highest value outside the peak's main lobe (0 when there is none).
        psr: peak-to-sidelobe ratio: ``(peak - mean) / std`` of the searched lags outside the main lobe.
        confidence: 0..1, the geometric mean of two scores: uniqueness ``1 - second_peak / peak``
            (is there another answer nearly as good?) and significance ``(psr - psr_floor) / psr_span``
            clipped to 0..1 (does the peak stand out of the noise floor at all?). 0 when the peak is
            not positive.
        searched: how many lags were searched.
    """

    lag: float
    peak: float
    second_peak: float
    psr: float
    confidence: float
    searched: int


@dataclass(frozen=True)
class MethodEstimate:
    """One method's answer for one camera against the reference.

    Attributes:
        method: ``"audio"`` or ``"visual"``.
        offset: game time (s) of the camera's first frame, i.e. its offset against the reference.
        confidence: 0..1, see :class:`multicam.sync.correlation.PeakEstimate`.
        peak: the correlation peak's value.
        second_peak: the highest value outside the peak's main lobe.
        psr: peak-to-sidelobe ratio.
        overlap_s: seconds of signal both clips share at that offset.
        resolution_s: spacing of the correlated samples (s).
    """

    method: str
    offset: float
    confidence: float
    peak: float
    second_peak: float
    psr: float
    overlap_s: float
    resolution_s: float


def lags_for(len_ref: int, len_sig: int) -> np.ndarray:
    """Lags (samples) of a full cross-correlation: ``-(len_sig - 1) .. len_ref - 1``.

    Returns:
        Shape ``(len_ref + len_sig - 1,)`` int64.
    """
    return np.arange(-(len_sig - 1), len_ref, dtype=np.int64)


def overlap_for(lags: np.ndarray, len_ref: int, len_sig: int) -> np.ndarray:
    """Number of overlapping samples at each lag, same shape as ``lags``."""
    return np.minimum(len_sig, len_ref - lags) - np.maximum(0, -lags)


def gcc_phat(ref: np.ndarray, sig: np.ndarray, *, beta: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Generalised cross-correlation with phase transform (GCC-PHAT) of two 1-D signals.

    The cross-spectrum is divided by its magnitude to the power ``beta`` (1 = full PHAT: every
    frequency counts the same, so short broadband events such as clicks give a sharp peak
    even under loud, coloured background noise).

    Args:
        ref: reference signal, shape ``(Nr,)``.
        sig: the other signal, shape ``(Ns,)``, same sample rate.
        beta: PHAT exponent in 0..1 (0 = plain cross-correlation).

    Returns:
        ``(corr, lags)`` each of shape ``(Nr + Ns - 1,)``.
    """
    # long signals in single precision: half the memory, and plenty for locating a peak
    dtype = np.float32 if np.size(ref) + np.size(sig) > 2**22 else np.float64
    ref = np.asarray(ref, dtype=dtype)
    sig = np.asarray(sig, dtype=dtype)
    if ref.ndim != 1 or sig.ndim != 1:
        raise ValueError(f"gcc_phat needs 1-D signals, got shapes {ref.shape} and {sig.shape}")
    lags = lags_for(len(ref), len(sig))
    if len(ref) == 0 or len(sig) == 0:
        return np.zeros(len(lags)), lags
    n = sp_fft.next_fast_len(len(ref) + len(sig) - 1, real=True)
    cross = sp_fft.rfft(ref, n) * np.conj(sp_fft.rfft(sig, n))
    mag = np.abs(cross)
    if beta > 0:
        floor = max(float(mag.max()) * 1e-12, float(np.finfo(mag.dtype).tiny))
        cross /= np.maximum(mag, floor) ** beta
    del mag
    full = sp_fft.irfft(cross, n)
    # full[k] = sum_n ref[n + k] * sig[n]; negative lags wrap around to the end.
    corr = np.concatenate([full[n - (len(sig) - 1) :], full[: len(ref)]]) if len(sig) > 1 else full[: len(ref)]
    return corr, lags


def normalized_xcorr(ref: np.ndarray, sig: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Normalised cross-correlation: at each lag, the Pearson correlation of the overlapping parts.

    Unlike a globally normalised correlation it does not favour lags with a long overlap, so
    clips of different lengths compare fairly. Lags where either overlapping part is constant
    get 0.

    Args:
        ref: shape ``(Nr,)``; sig: shape ``(Ns,)``, same sample rate.

    Returns:
        ``(corr, lags)`` each of shape ``(Nr + Ns - 1,)``, ``corr`` in -1..1.
    """
    a = np.asarray(ref, dtype=np.float64)
    b = np.asarray(sig, dtype=np.float64)
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"normalized_xcorr needs 1-D signals, got shapes {a.shape} and {b.shape}")
    lags = lags_for(len(a), len(b))
    if len(a) == 0 or len(b) == 0:
        return np.zeros(len(lags)), lags
    # centre first: the sums below are then small and well conditioned
    a = a - a.mean()
    b = b - b.mean()
    ones_a, ones_b = np.ones_like(a), np.ones_like(b)

    def xc(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        # scipy's correlate(x, y)[j] = sum_n x[n + j - (len(y) - 1)] * y[n]: the lag order of `lags`
        return sp_signal.correlate(x, y, mode="full", method="fft")

    count = overlap_for(lags, len(a), len(b)).astype(np.float64)
    s_ab = xc(a, b)
    s_a, s_aa = xc(a, ones_b), xc(a * a, ones_b)
    s_b, s_bb = xc(ones_a, b), xc(ones_a, b * b)
    cov = s_ab - s_a * s_b / count
    var_a = s_aa - s_a * s_a / count
    var_b = s_bb - s_b * s_b / count
    scale = np.sqrt(np.clip(var_a, 0, None) * np.clip(var_b, 0, None))
    tiny = 1e-9 * max(float(np.dot(a, a)), 1e-300) * max(float(np.dot(b, b)), 1e-300) / (len(a) * len(b))
    ok = scale > np.sqrt(tiny)
    corr = np.zeros_like(cov)
    corr[ok] = np.clip(cov[ok] / scale[ok], -1.0, 1.0)
    return corr, lags


def parabolic_offset(y_minus: float, y_zero: float, y_plus: float) -> float:
    """Sub-sample position (-0.5..0.5) of the vertex of the parabola through three equally spaced points."""
    denom = y_minus - 2.0 * y_zero + y_plus
    if denom >= 0 or not np.isfinite(denom):  # not a maximum: keep the sample itself
        return 0.0
    return float(np.clip(0.5 * (y_minus - y_plus) / denom, -0.5, 0.5))


def main_lobe(corr: np.ndarray, index: int, valid: np.ndarray) -> tuple[int, int]:
    """``(first, last)`` indices of the peak's main lobe.

    The lobe reaches down to the first local minimum on each side, and at least twice as far as
    the curve stays above half the peak (so ripples on a broad peak's flanks stay inside it).
    """
    peak = corr[index]
    lo = index
    while lo - 1 >= 0 and valid[lo - 1] and corr[lo - 1] <= corr[lo]:
        lo -= 1
    hi = index
    while hi + 1 < len(corr) and valid[hi + 1] and corr[hi + 1] <= corr[hi]:
        hi += 1
    half_lo = index
    while half_lo - 1 >= 0 and valid[half_lo - 1] and corr[half_lo - 1] > 0.5 * peak:
        half_lo -= 1
    half_hi = index
    while half_hi + 1 < len(corr) and valid[half_hi + 1] and corr[half_hi + 1] > 0.5 * peak:
        half_hi += 1
    lo = min(lo, index - 2 * (index - half_lo))
    hi = max(hi, index + 2 * (half_hi - index))
    return max(lo, 0), min(hi, len(corr) - 1)


def pick_peak(
    corr: np.ndarray,
    lags: np.ndarray,
    valid: np.ndarray | None = None,
    *,
    min_exclusion: int = 0,
    psr_floor: float = PSR_FLOOR,
    psr_span: float = PSR_SPAN,
) -> PeakEstimate | None:
    """The highest peak among the ``valid`` lags, refined to sub-sample precision, with its confidence.

    The confidence (:func:`peak_confidence`) compares the peak with the highest value outside its
    main lobe (and outside ``min_exclusion`` samples either side) and with the spread of all those
    values: a unique peak far above the noise floor scores near 1; a correlation of unrelated
    signals, whose best peak barely stands out of the others, scores near 0.

    Args:
        corr: correlation values, shape ``(L,)``.
        lags: their lags in samples, shape ``(L,)``.
        valid: boolean mask ``(L,)`` of lags allowed to hold the answer (default: all).
        min_exclusion: samples either side of the peak never counted as a second peak.
        psr_floor: see :func:`peak_confidence`.
        psr_span: see :func:`peak_confidence`.

    Returns:
        The estimate, or None when no lag is valid.
    """
    corr = np.asarray(corr, dtype=np.float64)
    valid = np.ones(len(corr), dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
    if len(corr) != len(lags) or len(valid) != len(corr):
        raise ValueError(f"corr, lags and valid must have the same length, got {len(corr)}, {len(lags)}, {len(valid)}")
    searched = int(valid.sum())
    if searched == 0:
        return None
    masked = np.where(valid, corr, -np.inf)
    i = int(np.argmax(masked))
    peak = float(corr[i])
    frac = 0.0
    if 0 < i < len(corr) - 1 and valid[i - 1] and valid[i + 1]:
        frac = parabolic_offset(corr[i - 1], corr[i], corr[i + 1])
    lo, hi = main_lobe(corr, i, valid)
    lo, hi = min(lo, i - min_exclusion), max(hi, i + min_exclusion)
    side = valid.copy()
    side[max(lo, 0) : hi + 1] = False
    if side.any():
        rest = corr[side]
        second = float(rest.max())
        std = float(rest.std())
        psr = (peak - float(rest.mean())) / std if std > 0 else (np.inf if peak > rest.mean() else 0.0)
    else:
        second, psr = 0.0, 0.0
    confidence = peak_confidence(peak, second, float(psr), psr_floor=psr_floor, psr_span=psr_span)
    return PeakEstimate(
        lag=float(lags[i]) + frac,
        peak=peak,
        second_peak=second,
        psr=float(psr),
        confidence=confidence,
        searched=searched,
    )


SHORT_CLIP_OVERLAP = 0.5  # a clip shorter than the overlap asked for may be matched on this share of itself


def needed_overlap(min_overlap: float, len_ref: float, len_sig: float) -> float:
    """The overlap an answer must rest on: ``min_overlap``, lowered to half the shorter clip when that is less.

    Two clips of 1 s with a 1 s minimum could otherwise only be matched when they start together;
    with half of the shorter one, they may be up to half a second apart. Any unit (s or samples).
    """
    return min(float(min_overlap), SHORT_CLIP_OVERLAP * min(float(len_ref), float(len_sig)))


def search_mask(
    lags: np.ndarray,
    len_ref: int,
    len_sig: int,
    rate: float,
    base: float,
    max_offset: float | None,
    min_overlap_s: float,
) -> np.ndarray:
    """Which lags may hold the answer: enough overlap, and an offset ``base + lag / rate`` within ``max_offset``.

    ``min_overlap_s`` is lowered for short signals (:func:`needed_overlap`). Shape ``lags.shape``.
    """
    overlap = overlap_for(lags, len_ref, len_sig)
    need = int(np.ceil(needed_overlap(min_overlap_s * rate, len_ref, len_sig) - 1e-9))
    valid = overlap >= max(need, 1)
    if max_offset is not None:
        valid &= np.abs(base + lags / rate) <= max_offset
    return valid


def no_lag_message(max_offset: float | None, min_overlap_s: float) -> str:
    """Why no lag could be searched, for a :class:`SyncError`."""
    if max_offset is not None:
        return f"no offset within ±{max_offset:g} s leaves {min_overlap_s:g} s of overlap (raise --max-offset?)"
    return f"the clips are too short to overlap by {min_overlap_s:g} s"


def method_estimate(
    method: str, est: PeakEstimate, base: float, rate: float, len_ref: int, len_sig: int
) -> MethodEstimate:
    """A :class:`MethodEstimate` from a peak whose lag ``k`` means offset ``base + k / rate``."""
    k = int(round(est.lag))
    overlap = float(overlap_for(np.array([k]), len_ref, len_sig)[0]) / rate
    return MethodEstimate(
        method=method,
        offset=base + est.lag / rate,
        confidence=est.confidence,
        peak=est.peak,
        second_peak=est.second_peak,
        psr=est.psr,
        overlap_s=overlap,
        resolution_s=1.0 / rate,
    )

"""Cross-correlation, sub-sample peaks and confidence on signals made here (no I/O)."""

from __future__ import annotations

import numpy as np
import pytest

from multicam.sync.correlation import (
    gcc_phat,
    lags_for,
    main_lobe,
    needed_overlap,
    normalized_xcorr,
    overlap_for,
    parabolic_offset,
    peak_confidence,
    pick_peak,
    search_mask,
)


def impulse_train(n: int, count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.zeros(n)
    x[rng.choice(n, count, replace=False)] = rng.uniform(0.5, 1.0, count)
    return x


def fractional_shift(x: np.ndarray, shift: float) -> np.ndarray:
    """``y[n] = x[n - shift]`` for a band-limited ``x`` (circular, via the FFT)."""
    freqs = np.fft.rfftfreq(len(x))
    return np.fft.irfft(np.fft.rfft(x) * np.exp(-2j * np.pi * freqs * shift), len(x))


@pytest.mark.parametrize("correlate", [gcc_phat, normalized_xcorr])
@pytest.mark.parametrize("start, length", [(0, 4000), (1234, 3000), (3000, 2500), (500, 6000)])
def test_lag_of_a_shifted_noisy_excerpt(correlate, start, length):
    """sig[n] = ref[n + start]: the peak is at lag ``start``, also when sig runs past ref's end."""
    rng = np.random.default_rng(start)
    ref = impulse_train(6000, 60, seed=1) + 0.05 * rng.normal(size=6000)
    padded = np.concatenate([ref, np.zeros(length)])
    sig = padded[start : start + length] + 0.05 * rng.normal(size=length)
    corr, lags = correlate(ref, sig)
    valid = overlap_for(lags, len(ref), len(sig)) >= 1000
    est = pick_peak(corr, lags, valid)
    assert est.lag == pytest.approx(start, abs=0.5)
    assert est.confidence > 0.5


@pytest.mark.parametrize("shift", [-37.25, -3.5, 0.3, 12.75])
def test_sub_sample_lag_by_parabolic_interpolation(shift):
    rng = np.random.default_rng(7)
    # band-limited noise: low-pass so the correlation peak spans a few samples
    base = np.convolve(rng.normal(size=4096), np.hanning(9), mode="same")
    ref = base
    sig = fractional_shift(base, -shift)  # sig[n] = ref[n + shift]
    corr, lags = normalized_xcorr(ref[200:-200], sig[200:-200])
    est = pick_peak(corr, lags, overlap_for(lags, 3696, 3696) >= 1000)
    assert est.lag == pytest.approx(shift, abs=0.15)
    assert est.lag != round(est.lag) or shift == round(shift)


@pytest.mark.parametrize("len_ref, len_sig", [(0, 0), (0, 5), (5, 0), (1, 1), (3, 7)])
def test_correlation_shapes_including_empty(len_ref, len_sig):
    ref, sig = np.arange(len_ref, dtype=float), np.ones(len_sig)
    for correlate in (gcc_phat, normalized_xcorr):
        corr, lags = correlate(ref, sig)
        assert corr.shape == lags.shape == (max(len_ref + len_sig - 1, 0),)
        assert np.all(np.isfinite(corr))
    assert np.array_equal(lags_for(len_ref, len_sig), np.arange(-(len_sig - 1), len_ref))


def test_correlations_reject_2d_input():
    with pytest.raises(ValueError, match="1-D"):
        gcc_phat(np.zeros((2, 3)), np.zeros(3))
    with pytest.raises(ValueError, match="1-D"):
        normalized_xcorr(np.zeros(3), np.zeros((3, 1)))


def test_normalized_xcorr_is_pearson_of_the_overlap_and_zero_for_constant_parts():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=50), rng.normal(size=30)
    corr, lags = normalized_xcorr(a, b)
    for k in (-10, 0, 7, 20, 49):
        i = int(np.where(lags == k)[0][0])
        lo, hi = max(0, -k), min(len(b), len(a) - k)
        if hi - lo >= 3:
            expected = np.corrcoef(a[lo + k : hi + k], b[lo:hi])[0, 1]
            assert corr[i] == pytest.approx(expected, abs=1e-9)
    flat, _ = normalized_xcorr(a, np.ones(30))
    assert np.all(flat == 0)


@pytest.mark.parametrize("lag, expected", [(-4, 1), (-2, 3), (0, 5), (3, 5), (5, 3), (7, 1)])
def test_overlap_for(lag, expected):
    assert overlap_for(np.array([lag]), 8, 5)[0] == expected


@pytest.mark.parametrize(
    "ys, expected",
    [
        ((1.0, 2.0, 1.0), 0.0),
        ((0.0, 1.0, 0.5), 1 / 6),  # vertex of the parabola through (-1, 0), (0, 1), (1, 0.5)
        ((0.5, 1.0, 0.0), -1 / 6),
        ((1.0, 1.0, 1.0), 0.0),  # flat: no vertex
        ((1.0, 0.0, 1.0), 0.0),  # a minimum, not a peak
    ],
)
def test_parabolic_offset(ys, expected):
    assert parabolic_offset(*ys) == pytest.approx(expected)


def test_pick_peak_none_when_no_lag_is_valid():
    corr, lags = np.array([0.1, 0.5, 0.2]), np.array([-1, 0, 1])
    assert pick_peak(corr, lags, np.zeros(3, bool)) is None
    assert pick_peak(np.zeros(0), np.zeros(0, int)) is None
    with pytest.raises(ValueError, match="same length"):
        pick_peak(corr, lags[:2])


def test_confidence_high_for_one_peak_and_low_for_two_equal_ones_or_noise():
    rng = np.random.default_rng(1)
    noise = 0.02 * rng.normal(size=2001)
    lags = np.arange(-1000, 1001)
    one = noise.copy()
    one[1300] = 1.0
    two = one.copy()
    two[400] = 1.0
    unique, twin, plain = (pick_peak(c, lags) for c in (one, two, noise))
    assert unique.lag == pytest.approx(300, abs=0.05) and unique.confidence > 0.9
    assert twin.confidence < 0.1
    assert plain.confidence < 0.3
    assert peak_confidence(0.0, 0.0, 100.0) == 0.0
    assert peak_confidence(-1.0, -2.0, 100.0) == 0.0


def test_main_lobe_covers_a_broad_peak_with_ripples():
    x = np.linspace(-10, 10, 201)
    corr = np.exp(-(x**2) / 8) + 0.01 * np.sin(40 * x)
    lo, hi = main_lobe(corr, 100, np.ones(201, bool))
    assert lo < 100 - 20 and hi > 100 + 20  # beyond the ripples next to the top


@pytest.mark.parametrize("max_offset, expected", [(None, 15), (0.5, 11), (2.0, 15), (0.05, 1)])
def test_search_mask(max_offset, expected):
    lags = lags_for(10, 6)  # -5 .. 9
    valid = search_mask(lags, 10, 6, rate=10.0, base=0.0, max_offset=max_offset, min_overlap_s=0.1)
    assert valid.sum() == expected


@pytest.mark.parametrize(
    "min_overlap, len_ref, len_sig, expected",
    [
        (1.0, 10.0, 4.0, 1.0),  # long clips: the minimum asked for
        (1.0, 1.5, 4.0, 0.75),  # a clip shorter than twice the minimum: half of it
        (1.0, 1.0, 1.0, 0.5),  # two 1 s clips may be half a second apart
        (0.2, 1.0, 1.0, 0.2),
        (1.0, 0.0, 4.0, 0.0),  # an empty clip
    ],
)
def test_needed_overlap(min_overlap, len_ref, len_sig, expected):
    assert needed_overlap(min_overlap, len_ref, len_sig) == pytest.approx(expected)


def test_search_mask_of_two_short_signals_reaches_half_their_length():
    """Two 1 s signals at 10 Hz with 1 s asked for: lags up to +-5 samples leave the 5 needed."""
    lags = lags_for(10, 10)
    valid = search_mask(lags, 10, 10, rate=10.0, base=0.0, max_offset=None, min_overlap_s=1.0)
    assert lags[valid].tolist() == list(range(-5, 6))


def test_long_signals_use_single_precision_and_keep_the_lag():
    """Over 2**22 samples together the transform runs in float32; the peak stays put."""
    ref = impulse_train(3_000_000, 400, seed=3)
    sig = ref[1_000_003:2_500_000] + 0.01 * np.random.default_rng(4).normal(size=1_499_997)
    corr, lags = gcc_phat(ref, sig, beta=0.8)
    assert corr.dtype == np.float32
    est = pick_peak(corr, lags)
    assert est.lag == pytest.approx(1_000_003, abs=0.5) and est.confidence > 0.5

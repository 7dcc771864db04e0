"""Visual sync: motion energy curves, resampling, and offsets of clips without sound."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from multicam.sync import visual
from multicam.sync.errors import SyncError
from multicam.sync.visual import (
    MotionCurve,
    MotionEvidence,
    change_level,
    drop_encoder_steps,
    highpass,
    motion_confidence,
    motion_energy,
    null_maxima,
    null_z,
    read_motion_energy,
    resample_curve,
    visual_match,
    visual_offset,
)

ROOT = Path(__file__).resolve().parents[2]


def square_frames(count: int, step: int) -> list[np.ndarray]:
    frames = []
    for i in range(count):
        img = np.zeros((20, 40), np.uint8)
        img[5:15, 2 + i * step : 12 + i * step] = 200
        frames.append(img)
    return frames


@pytest.mark.parametrize(
    "frames, expected",
    [
        ([], []),
        ([np.zeros((4, 4))], []),
        ([np.zeros((4, 4)), np.zeros((4, 4))], [0.0]),
        ([np.zeros((4, 4)), np.full((4, 4), 3.0), np.full((4, 4), 1.0)], [3.0, 2.0]),
        (square_frames(3, 2), [2 * 2 * 10 * 200 / 800, 2 * 2 * 10 * 200 / 800]),  # two 2-px strips of 10 rows
    ],
)
def test_motion_energy(frames, expected):
    assert np.allclose(motion_energy(frames), expected)


def test_motion_energy_rejects_mixed_shapes():
    with pytest.raises(ValueError, match="one shape"):
        motion_energy([np.zeros((4, 4)), np.zeros((4, 5))])


@pytest.mark.parametrize(
    "times, rate, expected_len, expected_start",
    [
        ([], 10.0, 0, 0.0),
        ([0.5], 10.0, 1, 0.5),
        ([0.0, 1.0], 10.0, 11, 0.0),
        ([0.02, 0.06, 0.1], 100.0, 9, 0.02),
    ],
)
def test_resample_curve(times, rate, expected_len, expected_start):
    values = np.arange(len(times), dtype=float)
    out, start = resample_curve(np.array(times), values, rate)
    assert len(out) == expected_len and start == pytest.approx(expected_start)
    if expected_len > 1:
        assert out[0] == 0 and out[-1] == pytest.approx(values[-1])  # linear between the ends


def test_highpass_removes_slow_trends():
    t = np.arange(1000) / 100
    fast = np.sin(2 * np.pi * 3 * t)
    out = highpass(fast + 5 * t, window=101)
    assert np.abs(out[200:800] - fast[200:800]).max() < 0.1
    assert highpass(np.zeros(0), 10).shape == (0,)


def test_static_curves_are_refused():
    t = np.arange(100) / 25
    moving = MotionCurve(np.abs(np.sin(np.arange(100.0))), t, 25.0, change_level=150.0)
    flat = MotionCurve(np.zeros(100), t, 25.0)
    noisy_still = MotionCurve(np.abs(np.sin(np.arange(100.0))), t, 25.0, change_level=6.0)
    assert flat.is_static and noisy_still.is_static and not moving.is_static
    assert MotionCurve(np.zeros(0), np.zeros(0), 25.0).is_static
    with pytest.raises(SyncError, match="camera clip's video is static"):
        visual_offset(moving, noisy_still)
    with pytest.raises(SyncError, match="reference clip's video is static"):
        visual_offset(flat, moving)


@pytest.mark.parametrize(
    "frames, expected",
    [
        (np.zeros((0, 4, 4)), 0.0),
        (np.full((5, 4, 4), 7.0), 0.0),
        (np.stack([np.zeros((10, 100))] * 4 + [np.full((10, 100), 50.0)]), 0.0),  # median over frames
    ],
)
def test_change_level(frames, expected):
    assert change_level(frames) == pytest.approx(expected)


def test_change_level_of_written_clips(sync_clips):
    still = read_motion_energy(sync_clips("still", offset=2.0, duration=3.0, static=True, silent=True))
    moving = read_motion_energy(sync_clips("loud", offset=-2.1234, duration=6.0, fps=30, view=1, audio_rate=44100))
    assert still.is_static and still.change_level < 20
    assert not moving.is_static and moving.change_level > 50


def test_read_motion_energy_times_are_frame_midpoints(sync_clips):
    curve = read_motion_energy(sync_clips("mv", offset=0.0, duration=2.0, fps=30, audio=False))
    assert curve.fps == pytest.approx(30)
    # 60 frames, 59 steps, the first 5 dropped (encoder warm-up); 2 key frames after the first are too few to drop
    assert len(curve.values) == len(curve.times_s) == 54
    assert curve.times_s[0] == pytest.approx(5.5 / 30) and np.allclose(np.diff(curve.times_s), 1 / 30)


@pytest.mark.parametrize(
    "offset, duration, fps, view",
    [
        (-2.0, 10.0, 30, 1),
        (2.5, 10.0, 24, 2),
    ],
)
def test_visual_offset_within_one_frame(sync_clips, offset, duration, fps, view):
    """No sound: the blobs' bursts of motion, seen from another view at another frame rate."""
    ref = read_motion_energy(sync_clips("ref12", offset=0.0, duration=12.0, fps=25))
    cam = read_motion_energy(sync_clips("vcam", offset=offset, duration=duration, fps=fps, view=view, audio=False))
    est = visual_offset(ref, cam)
    assert est.method == "visual"
    assert abs(est.offset - offset) < 1 / fps
    assert est.confidence >= 0.5


@pytest.mark.parametrize("offset", [14.0, -9.0])
def test_visual_offset_without_overlap_has_low_confidence(sync_clips, offset):
    ref = read_motion_energy(sync_clips("ref12", offset=0.0, duration=12.0, fps=25))
    cam = read_motion_energy(sync_clips("vcam", offset=offset, duration=7.0, fps=30, view=3, audio=False))
    assert visual_offset(ref, cam).confidence < 0.5


def test_visual_max_offset_without_any_overlap_is_an_error(sync_clips):
    ref = read_motion_energy(sync_clips("ref12", offset=0.0, duration=12.0, fps=25))
    cam = read_motion_energy(sync_clips("vcam", offset=2.5, duration=10.0, fps=24, view=2, audio=False))
    assert visual_offset(ref, cam, max_offset=5.0).offset == pytest.approx(2.5, abs=1 / 24)
    far = MotionCurve(cam.values, cam.times_s + 60.0, cam.fps)
    with pytest.raises(SyncError, match="max-offset"):
        visual_offset(ref, far, max_offset=5.0)


@pytest.mark.parametrize(
    "peak, null, expected",
    [
        (0.9, [0.4, 0.5, 0.6, 0.5], (0.9 - 0.5) / np.std([0.4, 0.5, 0.6, 0.5])),
        (0.5, [0.4, 0.5, 0.6, 0.5], 0.0),  # no better than chance
        (0.3, [0.4, 0.5, 0.6, 0.5], (0.3 - 0.5) / np.std([0.4, 0.5, 0.6, 0.5])),  # worse than chance: negative
        (0.9, [0.5], 0.0),  # too few null values
        (0.9, [], 0.0),
    ],
)
def test_null_z(peak, null, expected):
    assert null_z(peak, np.array(null)) == pytest.approx(expected)


def test_null_z_of_a_constant_null_is_large_but_finite():
    assert 1e3 < null_z(0.9, np.full(8, 0.5)) < np.inf


@pytest.mark.parametrize(
    "evidence, low, high",
    [
        (
            MotionEvidence(peak=0.93, sidelobe=9.7, null_z=2.2, second_peak=0.6),
            0.95,
            1.0,
        ),  # shared bursts of motion (blobs scene)
        (MotionEvidence(peak=0.3, sidelobe=2.5, null_z=0.0, second_peak=0.25), 0.0, 0.05),  # what unrelated clips give
        (
            MotionEvidence(peak=0.6, sidelobe=4.5, null_z=1.5, second_peak=0.4),
            0.05,
            0.5,
        ),  # a weak match: doubtful, not 0
        (
            MotionEvidence(peak=0.6, sidelobe=float("nan"), null_z=1.5, second_peak=0.4),
            0.0,
            0.05,
        ),  # no sidelobe ratio: no evidence
        (MotionEvidence(peak=-0.5, sidelobe=0.0, null_z=-3.0, second_peak=-0.6), 0.0, 0.001),
        (MotionEvidence(peak=0.93, sidelobe=9.7, null_z=2.2, second_peak=0.93), 0.45, 0.5),  # a rival as good: halved
        (MotionEvidence(peak=0.93, sidelobe=9.7, null_z=2.2, second_peak=0.92), 0.6, 0.7),  # one nearly as good
    ],
)
def test_motion_confidence(evidence, low, high):
    assert low <= motion_confidence(evidence) <= high


@pytest.mark.parametrize(
    "field, values",
    [
        ("peak", [0.5, 0.7, 0.9]),
        ("sidelobe", [2.0, 4.0, 6.0, 8.0, 12.0]),
        ("null_z", [-2.0, 0.0, 2.0, 5.0]),
        ("second_peak", [0.6, 0.595, 0.59, 0.585]),  # the rival further below (from RIVAL_GAP on, no effect)
    ],
)
def test_motion_confidence_grows_with_each_piece_of_evidence(field, values):
    base = MotionEvidence(peak=0.6, sidelobe=5.0, null_z=1.0, second_peak=0.4)
    conf = [motion_confidence(replace(base, **{field: v})) for v in values]
    assert np.all(np.diff(conf) > 0)


@pytest.mark.parametrize(
    "evidence, same_as",
    [
        (
            MotionEvidence(0.8, 100.0, 1.0, 0.5),
            MotionEvidence(0.8, visual.SIDELOBE_CAP, 1.0, 0.5),
        ),  # beyond the cap: no more
        (MotionEvidence(0.8, 6.0, 50.0, 0.5), MotionEvidence(0.8, 6.0, visual.NULL_Z_RANGE[1], 0.5)),
        (MotionEvidence(0.8, 6.0, -50.0, 0.5), MotionEvidence(0.8, 6.0, visual.NULL_Z_RANGE[0], 0.5)),
    ],
)
def test_motion_confidence_clips_its_features(evidence, same_as):
    assert motion_confidence(evidence) == pytest.approx(motion_confidence(same_as))


def test_motion_confidence_needs_one_weight_per_feature():
    with pytest.raises(ValueError, match="3 weights"):
        motion_confidence(MotionEvidence(0.8, 6.0, 1.0, 0.5), weights=(1.0, 2.0))


def test_the_shipped_coefficients_are_the_fitted_ones():
    """visual.py's constants are what benchmarks/visual_confidence.py fitted (its saved output)."""
    fitted = json.loads((ROOT / "benchmarks" / "results" / "visual_confidence.json").read_text())
    assert fitted["features"] == ["peak", "sidelobe", "null_z"]
    assert fitted["intercept"] == visual.CONFIDENCE_INTERCEPT
    assert list(visual.CONFIDENCE_WEIGHTS) == fitted["weights"]


def test_null_maxima_of_unrelated_curves_are_what_chance_gives():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=800), rng.normal(size=600)
    valid = np.ones(1399, bool)
    null = null_maxima(a, b, valid, shifts=16)
    assert null.shape == (16,) and np.all(null > 0)
    assert len(null_maxima(a, b[:4], valid[:803])) == 0


@pytest.mark.parametrize(
    "keys, expected_kept",
    [
        ([False] * 20, list(range(5, 19))),  # no key frames after the first: only the warm-up goes
        ([True] + [False] * 19, list(range(5, 19))),
        ([True] * 20, list(range(5, 19))),  # intra-only: key frames are ignored
        ([i % 5 == 0 for i in range(20)], [6, 7, 8, 11, 12, 13, 16, 17, 18]),  # steps into and out of key frames
        ([False] * 8, list(range(7))),  # too short to drop anything
    ],
)
def test_drop_encoder_steps(keys, expected_kept):
    values = np.arange(len(keys) - 1, dtype=float)
    out, times = drop_encoder_steps(values, values + 0.5, np.array(keys))
    assert (times - 0.5).astype(int).tolist() == expected_kept


def test_drop_encoder_steps_removes_the_key_frame_rhythm():
    keys = np.array([i % 10 == 0 for i in range(101)])
    sawtooth = np.tile(np.linspace(2.0, 0.0, 10), 10)  # quality rising and falling with the group of pictures
    out, _ = drop_encoder_steps(sawtooth, np.arange(100.0), keys)
    assert np.ptp(out) < 1e-9


def test_motion_energy_keeps_flashes_above_the_noise_gate():
    rng = np.random.default_rng(0)
    frames = [rng.normal(100, 2, (30, 40)) for _ in range(4)]
    frames[2] = frames[2] + 60  # a flash: every pixel brighter
    gated = motion_energy(frames, gate=3.0)
    assert gated[0] < 1.0 and gated[1] > 50 and gated[2] > 50  # noise gated out, the flash kept


def test_short_clips_of_about_100_frames(sync_clips):
    """A 4 s camera (120 frames) inside a 12 s reference: found within a frame, not refused for being short."""
    ref = read_motion_energy(sync_clips("ref12", offset=0.0, duration=12.0, fps=25))
    cam = read_motion_energy(sync_clips("short", offset=1.3, duration=4.0, fps=30, view=1, audio=False))
    est = visual_offset(ref, cam)
    assert abs(est.offset - 1.3) < 1 / 30 and est.confidence >= 0.5


@pytest.mark.parametrize(
    "noise, accepted",
    [
        (0.2, True),  # the camera's curve shares most of its variance with the reference's
        (2.0, False),  # the right lag still stands out of the null, but a correlation of about 0.5 is weak evidence
    ],
)
def test_a_weak_correlation_is_doubtful_whatever_the_null(noise, accepted):
    rng = np.random.default_rng(5)
    fps = 25.0
    motion = ndimage.gaussian_filter1d(rng.normal(size=300), 2.0)  # 12 s of motion energy
    ref = MotionCurve(motion, (np.arange(300) + 0.5) / fps, fps)
    part = motion[50:200]  # 6 s from game time 2.0
    cam = MotionCurve(part + noise * part.std() * rng.normal(size=150), (np.arange(150) + 0.5) / fps, fps)
    match = visual_match(ref, cam)
    assert abs(match.estimate.offset - 2.0) < 1 / fps  # found either way
    assert (match.estimate.confidence >= 0.5) == accepted
    if not accepted:
        assert match.evidence.peak < 0.6 and match.evidence.null_z > 3.5  # the null alone would have trusted it
        assert match.estimate.confidence > 0.01  # doubtful, but a right answer does not score 0


def test_a_peak_far_above_every_other_lag_is_trusted_when_the_null_comes_close(monkeypatch):
    """Bursty motion: the shifted curves' best values can reach a right peak (the null says chance),
    while the peak still stands far above the correlation at every other lag (the sidelobe ratio)."""
    rng = np.random.default_rng(2)
    fps = 25.0
    motion = ndimage.gaussian_filter1d(rng.normal(size=750), 2.0)  # 30 s
    ref = MotionCurve(motion, (np.arange(750) + 0.5) / fps, fps)
    part = motion[50:550]  # 20 s from game time 2.0
    cam = MotionCurve(part + 0.2 * part.std() * rng.normal(size=500), (np.arange(500) + 0.5) / fps, fps)
    plain = visual_match(ref, cam)
    monkeypatch.setattr(
        visual, "null_maxima", lambda a, b, valid, shifts: np.linspace(0.9, 1.0, 32) * plain.evidence.peak
    )
    close = visual_match(ref, cam)
    assert abs(close.estimate.offset - 2.0) < 1 / fps and close.evidence.null_z < 2.0  # the null: not significant
    assert close.estimate.confidence >= 0.5  # the sidelobe ratio keeps it
    assert close.estimate.psr == close.evidence.sidelobe > 8
    assert motion_confidence(replace(close.evidence, sidelobe=2.0)) < close.estimate.confidence - 0.3  # it counts


@pytest.mark.parametrize("period_s", [0.8, 2.0])
def test_motion_that_repeats_itself_is_not_trusted(period_s):
    """Drills or a bouncing ball with a steady rhythm: every period matches as well, the answer is a guess."""
    rng = np.random.default_rng(7)
    fps = 25.0
    t = (np.arange(500) + 0.5) / fps  # 20 s
    motion = 1.0 + np.sin(2 * np.pi * t / period_s) ** 8
    ref = MotionCurve(motion + 0.05 * rng.normal(size=500), t, fps)
    cam = MotionCurve(motion[60:360] + 0.05 * rng.normal(size=300), t[:300], fps)
    match = visual_match(ref, cam)
    assert match.estimate.confidence < 0.5, match.evidence

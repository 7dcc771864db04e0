"""Floor occupancy sync: the offset at which two calibrated cameras see things touch the floor at the same spots."""

from __future__ import annotations

import numpy as np
import pytest

from multicam.sync import occupancy
from multicam.sync.errors import SyncError
from multicam.sync.geometric import FootTracks
from multicam.sync.occupancy import (
    FloorGrid,
    floor_shift,
    occupancy_confidence,
    occupancy_offset,
    shared_floor_grid,
)

from .test_geometric import H_CAM, H_REF, floor_paths


def contacts(h_image_to_floor, start, duration, fps, *, seed=0, shift=(0.0, 0.0), drift=(0.0, 0.0), players=5):
    """Contact pixels of a camera whose first frame is at game time ``start``: 6 points around each
    player's feet (5 cm apart), moved by ``shift`` (m, what a camera's view adds), in image pixels.
    ``drift`` (m/s) moves every player the same way (play heading to one end)."""
    times = np.arange(int(round(duration * fps))) / fps
    if len(times) == 0:
        return FootTracks.from_frames(times, [], fps)
    floor = floor_paths(start + times, n=players, seed=seed) + np.asarray(shift)  # (T, n, 2)
    floor = floor + np.asarray(drift) * (start + times)[:, None, None]
    rng = np.random.default_rng(seed + 11 + int(fps))
    pts = floor[:, :, None, :] + rng.normal(0, 0.05, floor.shape[:2] + (6, 2))
    pts = pts.reshape(len(times), -1, 2)
    hom = np.concatenate([pts, np.ones(pts.shape[:2] + (1,))], axis=2) @ np.linalg.inv(h_image_to_floor).T
    image = hom[..., :2] / hom[..., 2:]
    return FootTracks.from_frames(times, list(image), fps)


@pytest.mark.parametrize(
    "offset, fps, shift",
    [
        (0.0, 25.0, (0.0, 0.0)),
        (-1.234, 30.0, (0.0, 0.0)),
        (0.517, 24.0, (0.3, -0.2)),  # the camera sees the feet 36 cm off: corrected, not taken for time
        (2.05, 30.0, (-0.15, 0.1)),
    ],
)
def test_occupancy_offset_recovers_the_offset(offset, fps, shift):
    ref = contacts(H_REF, 0.0, 4.0, 25.0)
    cam = contacts(H_CAM, offset, 3.5, fps, shift=shift)
    sync = occupancy_offset(ref, cam, H_REF, H_CAM)
    assert sync.estimate.method == "geometry"
    assert abs(sync.estimate.offset - offset) * 25 < 0.25  # reference frames
    assert sync.estimate.confidence >= 0.5 and sync.estimate.peak > 0.3
    assert sync.floor_shift_m == pytest.approx(-np.asarray(shift), abs=0.05)
    assert sync.scores.shape == sync.offsets.shape
    assert np.nanargmax(sync.scores) == pytest.approx(np.argmin(np.abs(sync.offsets - offset)), abs=2)


def test_a_shift_is_not_taken_for_time_when_play_drifts():
    """Every player drifting 3 m/s one way, the camera seeing the feet 0.6 m off along it: without
    the shift's correction the offset is pulled by about a frame (0.95 here), with it by 0.01."""
    ref = contacts(H_REF, 0.0, 4.0, 25.0, drift=(3.0, 0.0))
    cam = contacts(H_CAM, 0.4, 3.5, 30.0, shift=(0.6, 0.0), drift=(3.0, 0.0))
    plain = occupancy_offset(ref, cam, H_REF, H_CAM, max_shift_m=0.0)
    fixed = occupancy_offset(ref, cam, H_REF, H_CAM)
    assert abs(plain.estimate.offset - 0.4) * 25 > 0.5 and plain.floor_shift_m.tolist() == [0.0, 0.0]
    assert abs(fixed.estimate.offset - 0.4) * 25 < 0.1
    assert fixed.floor_shift_m == pytest.approx([-0.6, 0.0], abs=0.12)


@pytest.mark.parametrize("still", ["reference", "camera"])
def test_nothing_moving_is_refused(still):
    """Players who never move (or a clip of the empty court): every map equals the clip's average."""
    ref = contacts(H_REF, 0.0, 4.0, 25.0)
    cam = contacts(H_CAM, 0.4, 3.5, 30.0)
    frozen = ref if still == "reference" else cam
    first = frozen.frame == 0
    per_frame = [frozen.xy[first]] * len(frozen.times_s)
    frozen = FootTracks.from_frames(frozen.times_s, per_frame, frozen.fps)
    ref, cam = (frozen, cam) if still == "reference" else (ref, frozen)
    with pytest.raises(SyncError, match=f"nothing moves on the floor in the {still} clip"):
        occupancy_offset(ref, cam, H_REF, H_CAM)


def test_unrelated_play_scores_low():
    ref = contacts(H_REF, 0.0, 4.0, 25.0, seed=0)
    cam = contacts(H_CAM, 0.4, 4.0, 30.0, seed=5)  # another game on the same floor
    assert occupancy_offset(ref, cam, H_REF, H_CAM).estimate.confidence < 0.5


def test_short_clips_of_about_100_frames():
    ref = contacts(H_REF, 0.0, 4.0, 25.0)  # 100 frames
    cam = contacts(H_CAM, 1.9, 3.0, 30.0)  # 2.1 s of overlap
    est = occupancy_offset(ref, cam, H_REF, H_CAM).estimate
    assert abs(est.offset - 1.9) * 25 < 0.25 and est.confidence >= 0.5


@pytest.mark.parametrize("offset", [-0.35, 0.27])
def test_clips_of_one_second_may_be_apart_by_up_to_half_of_it(offset):
    """1 s clips, 1 s of overlap asked for: the answer rests on half the shorter clip instead, so the
    truth is searched although the clips share 0.65 to 0.73 s."""
    ref = contacts(H_REF, 0.0, 1.0, 25.0)
    cam = contacts(H_CAM, offset, 1.0, 30.0)
    est = occupancy_offset(ref, cam, H_REF, H_CAM).estimate
    assert abs(est.offset - offset) * 25 < 0.5
    assert est.overlap_s == pytest.approx(1.0 - abs(offset), abs=0.05)


def test_window_and_max_offset_restrict_the_answer():
    ref = contacts(H_REF, 0.0, 4.0, 25.0)
    cam = contacts(H_CAM, 0.8, 4.0, 30.0)
    near = occupancy_offset(ref, cam, H_REF, H_CAM, center=0.75, window_s=0.12)
    assert abs(near.estimate.offset - 0.8) * 25 < 0.25
    away = occupancy_offset(ref, cam, H_REF, H_CAM, center=-1.0, window_s=0.12)
    assert abs(away.estimate.offset + 1.0) <= 0.12 + 1e-9  # stays in the window, whatever it scores
    capped = occupancy_offset(ref, cam, H_REF, H_CAM, max_offset=0.5)
    assert abs(capped.estimate.offset) <= 0.5 + 1e-9


def far_away(h):
    return np.array([[1.0, 0, 500.0], [0, 1.0, 0], [0, 0, 1.0]]) @ h  # the same pictures placed 500 m away


@pytest.mark.parametrize(
    "ref_frames, cam_frames, h_cam, limits, match",
    [
        (0, 10, H_CAM, {}, "no contact points"),
        (10, 1, H_CAM, {}, "no contact points"),
        (10, 10, far_away(H_CAM), {}, "different parts of the floor"),
        (10, 10, H_CAM, {"center": 50.0, "window_s": 0.1}, "overlap"),  # the window lies where the clips do not overlap
        (10, 10, H_CAM, {"max_offset": 10.0, "center": -11.0, "window_s": 0.5}, "overlap"),
        (300, 300, H_CAM, {}, "too long"),  # MAX_PAIRS lowered to 50,000 below: 6.7 s of the reference at a time
    ],
)
def test_refusals(ref_frames, cam_frames, h_cam, limits, match, monkeypatch):
    monkeypatch.setattr(occupancy, "MAX_PAIRS", 50_000)
    ref = contacts(H_REF, 0.0, ref_frames / 25, 25.0)
    cam = contacts(H_CAM, 5.0, cam_frames / 25, 25.0)  # h_cam: what the calibration says
    with pytest.raises(SyncError, match=match):
        occupancy_offset(ref, cam, H_REF, h_cam, **limits)


def test_long_clips_are_compared_with_stretches_of_the_reference(monkeypatch):
    """Over MAX_PAIRS: the camera (4 s) against 3 stretches of the 12 s reference; the one it lies in answers."""
    ref = contacts(H_REF, 0.0, 12.0, 25.0)
    cam = contacts(H_CAM, 7.3, 4.0, 30.0)
    whole = occupancy_offset(ref, cam, H_REF, H_CAM)
    monkeypatch.setattr(occupancy, "MAX_PAIRS", 15_000)  # 125 reference frames (5 s) at a time
    monkeypatch.setattr(occupancy, "MIN_WINDOW_S", 2.0)
    windowed = occupancy_offset(ref, cam, H_REF, H_CAM)
    assert abs(windowed.estimate.offset - 7.3) * 25 < 0.25 and windowed.estimate.confidence >= 0.5
    assert windowed.estimate.offset == pytest.approx(whole.estimate.offset, abs=0.1 / 25)
    assert windowed.estimate.overlap_s == pytest.approx(whole.estimate.overlap_s, abs=1 / 25)
    monkeypatch.setattr(occupancy, "MIN_WINDOW_S", 6.0)  # 5 s stretches would be too short
    with pytest.raises(SyncError, match="too long"):
        occupancy_offset(ref, cam, H_REF, H_CAM)


def curve(peaks: dict[int, float], n: int = 60, noise: float = 0.01) -> np.ndarray:
    """Scores over ``n`` offsets 0.1 s apart: small noise, plus ``{index: value}`` peaks (3 wide)."""
    scores = np.random.default_rng(0).normal(0.0, noise, n)
    for i, value in peaks.items():
        scores[i] = value
        scores[i - 1] = scores[i + 1] = value * 0.8
    return scores


@pytest.mark.parametrize(
    "scores, best, expected",
    [
        (curve({30: 0.3}), 30, 1.0),  # one strong, unique peak
        (curve({}), int(np.argmax(curve({}))), 0.0),  # noise: nothing stands out
        (curve({10: 0.3, 40: 0.3}), 10, 0.0),  # a rival as high, 3 s away: ambiguous
        (curve({30: 0.03}, noise=0.002), 30, 0.0),  # stands out, but a correlation of 0.03 is what unrelated play gives
        (curve({5: 0.3}, n=12), 5, 0.0),  # too few offsets far from the peak to judge it
        (np.full(40, np.nan), 3, 0.0),  # nothing scored
    ],
)
def test_occupancy_confidence(scores, best, expected):
    offsets = np.arange(len(scores)) * 0.1
    confidence, z, far_best = occupancy_confidence(offsets, scores, best)
    assert confidence == pytest.approx(expected, abs=1e-9)
    assert 0.0 <= confidence <= 1.0


def test_floor_shift_measures_a_known_shift():
    ref = contacts(H_REF, 0.0, 3.0, 25.0)
    cam = contacts(H_REF, 0.0, 3.0, 25.0, shift=(0.33, -0.21))  # same view, same time: only the shift differs
    from multicam.sync.geometric import to_floor

    f_ref, ok_ref = to_floor(H_REF, ref.xy)
    f_cam, ok_cam = to_floor(H_REF, cam.xy)
    grid = shared_floor_grid(f_ref[ok_ref], f_cam[ok_cam])
    a = occupancy._counts(ref, f_ref, ok_ref, grid)
    b = occupancy._counts(cam, f_cam, ok_cam, grid)
    got = floor_shift(a, b, ref.times_s, cam.times_s, 0.0, grid)
    assert got == pytest.approx([-0.33, 0.21], abs=0.04)
    assert floor_shift(a, b, ref.times_s, cam.times_s, 99.0, grid).tolist() == [0.0, 0.0]  # no shared frame
    capped = floor_shift(a, b, ref.times_s, cam.times_s, 0.0, grid, max_shift_m=0.2)
    assert np.hypot(*capped) <= 0.2 + 0.5 * grid.cell_m


@pytest.mark.parametrize(
    "a, b, cell_m, max_cells, shape, cell",
    [
        # percentile boxes 0.1..9.9 x 0.05..4.95 and 2.1..11.9 x 1.05..5.95: shared 2.1..9.9 x 1.05..4.95, 1 m margin
        ([[0, 0], [10, 5]], [[2, 1], [12, 6]], 0.1, 10_000_000, (59, 98), 0.1),
        ([[0, 0], [100, 60]], [[0, 0], [100, 60]], 0.1, 10_000, None, None),  # too many cells: larger cells
    ],
)
def test_shared_floor_grid(a, b, cell_m, max_cells, shape, cell):
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    lo_hi = [np.linspace(p[0], p[1], 101) for p in (a, b)]
    grid = shared_floor_grid(lo_hi[0], lo_hi[1], cell_m=cell_m, max_cells=max_cells)
    assert isinstance(grid, FloorGrid)
    if shape is not None:
        assert grid.cell_m == cell and grid.shape_hw == shape
    else:
        assert grid.size <= max_cells * 1.05 and grid.cell_m > cell_m
    flat, ok = grid.cell_index(np.array([[grid.origin_xy[0] + 0.01, grid.origin_xy[1] + 0.01], [-1e9, 0], [np.nan, 0]]))
    assert ok.tolist() == [True, False, False] and flat[0] == 0

"""Geometric sync: the offset at which two calibrated cameras put the same objects on the same floor spots."""

from __future__ import annotations

import json

import numpy as np
import pytest

from multicam.masks import FrameMasks, ObjectMask
from multicam.sync.errors import SyncError
from multicam.sync.geometric import (
    FootTracks,
    foot_tracks_from_masks,
    geometric_confidence,
    geometric_offset,
    to_floor,
)

# two cameras: a scaled view and a tilted (perspective) one; image -> floor homographies
H_REF = np.array([[0.05, 0.0, 0.0], [0.0, 0.05, 0.0], [0.0, 0.0, 1.0]])
H_CAM = np.array([[0.04, 0.01, -1.0], [0.0, 0.06, 0.5], [0.0, 0.0005, 1.0]])


def floor_paths(times: np.ndarray, n: int = 5, seed: int = 0) -> np.ndarray:
    """``(T, n, 2)`` floor positions (m) of ``n`` players wandering over a 20 x 12 m court."""
    rng = np.random.default_rng(seed)
    knots = np.arange(-10.0, 20.0, 0.7)
    pts = rng.uniform([2, 2], [18, 10], (n, len(knots), 2))
    return np.stack([[np.interp(times, knots, pts[i, :, d]) for d in range(2)] for i in range(n)]).transpose(2, 0, 1)


def tracks(h_image_to_floor, start: float, duration: float, fps: float, *, ids=True, seed=0, noise=0.0, bias=(0, 0)):
    """A camera whose first frame is at game time ``start``: its players' floor paths seen through ``h``."""
    times = np.arange(int(round(duration * fps))) / fps
    floor = floor_paths(start + times, seed=seed) + np.asarray(bias)
    floor = floor + np.random.default_rng(seed + 7).normal(0, noise, floor.shape)
    h_floor_to_image = np.linalg.inv(h_image_to_floor)
    hom = np.concatenate([floor, np.ones(floor.shape[:2] + (1,))], axis=2) @ h_floor_to_image.T
    image = hom[..., :2] / hom[..., 2:]
    pts = [image[f] for f in range(len(times))]
    idl = [np.arange(1, image.shape[1] + 1) for _ in range(len(times))] if ids else None
    return FootTracks.from_frames(times, pts, fps, idl)


@pytest.mark.parametrize(
    "offset, ids, noise, bias",
    [
        (0.0, True, 0.0, (0, 0)),
        (-1.234, True, 0.0, (0, 0)),
        (0.517, False, 0.0, (0, 0)),  # no ids: chamfer distance
        (2.05, True, 0.1, (0.3, -0.2)),  # noisy foot points, a constant shift between the cameras
        (-0.3, False, 0.1, (0.3, -0.2)),
    ],
)
def test_geometric_offset_recovers_the_offset(offset, ids, noise, bias):
    ref = tracks(H_REF, 0.0, 4.0, 25.0, ids=ids)
    cam = tracks(H_CAM, offset, 3.5, 30.0, ids=ids, noise=noise, bias=bias)
    sync = geometric_offset(ref, cam, H_REF, H_CAM)
    assert sync.estimate.method == "geometry"
    assert abs(sync.estimate.offset - offset) * 25 < 0.25  # reference frames
    assert sync.estimate.confidence >= 0.5
    assert sync.costs.shape == sync.offsets.shape and np.nanmin(sync.costs) == pytest.approx(sync.costs.min())


def test_unrelated_play_scores_low():
    ref = tracks(H_REF, 0.0, 4.0, 25.0, seed=0)
    cam = tracks(H_CAM, 0.4, 4.0, 30.0, seed=5)  # another game
    assert geometric_offset(ref, cam, H_REF, H_CAM).estimate.confidence < 0.5


def test_short_clips_of_about_100_frames():
    ref = tracks(H_REF, 0.0, 4.0, 25.0)  # 100 frames
    cam = tracks(H_CAM, 1.9, 3.0, 30.0)  # 2.1 s of overlap
    est = geometric_offset(ref, cam, H_REF, H_CAM).estimate
    assert abs(est.offset - 1.9) * 25 < 0.25 and est.confidence >= 0.5


def test_window_restricts_the_answer():
    ref = tracks(H_REF, 0.0, 4.0, 25.0)
    cam = tracks(H_CAM, 0.8, 4.0, 30.0)
    near = geometric_offset(ref, cam, H_REF, H_CAM, center=0.75, window_s=0.12)
    assert abs(near.estimate.offset - 0.8) * 25 < 0.25
    away = geometric_offset(ref, cam, H_REF, H_CAM, center=-1.0, window_s=0.12)
    assert abs(away.estimate.offset + 1.0) <= 0.12 + 1e-9  # stays in the window, whatever it costs


@pytest.mark.parametrize("scan_s", [0.5, 1.5, 0.05])
def test_scan_restricts_the_curve_not_the_answer(scan_s):
    """``scan_s`` scans only near ``center`` (at least the window): the same answer as a full scan."""
    ref = tracks(H_REF, 0.0, 4.0, 25.0)
    cam = tracks(H_CAM, 0.8, 4.0, 30.0)
    full = geometric_offset(ref, cam, H_REF, H_CAM, center=0.7, window_s=0.3)
    part = geometric_offset(ref, cam, H_REF, H_CAM, center=0.7, window_s=0.3, scan_s=scan_s)
    assert np.all(np.abs(part.offsets - 0.7) <= max(scan_s, 0.3) + 1e-9) and len(part.offsets) < len(full.offsets)
    assert part.estimate.offset == pytest.approx(full.estimate.offset, abs=1e-9)
    assert abs(part.estimate.offset - 0.8) * 25 < 0.25


@pytest.mark.parametrize(
    "ref_frames, cam_frames, limits, match",
    [
        (0, 10, {}, "no foot points"),
        (10, 1, {}, "no foot points"),
        (10, 10, {"center": 50.0, "window_s": 0.1}, "overlap"),  # the window lies where the clips do not overlap
        (10, 10, {"max_offset": 10.0, "center": -11.0, "window_s": 0.5}, "overlap"),
    ],
)
def test_refusals(ref_frames, cam_frames, limits, match):
    ref = tracks(H_REF, 0.0, ref_frames / 25, 25.0)
    cam = tracks(H_CAM, 5.0, cam_frames / 25, 25.0)
    with pytest.raises(SyncError, match=match):
        geometric_offset(ref, cam, H_REF, H_CAM, **limits)


def test_frames_between():
    whole = tracks(H_REF, 0.0, 1.0, 25.0)
    part = whole.frames_between(10, 15)
    assert part.times_s.tolist() == whole.times_s[10:15].tolist() and part.fps == whole.fps
    assert sorted(set(part.frame.tolist())) == [0, 1, 2, 3, 4]
    inside = (whole.frame >= 10) & (whole.frame < 15)
    assert np.array_equal(part.xy, whole.xy[inside]) and np.array_equal(part.ids, whole.ids[inside])
    assert len(whole.frames_between(30, 40).times_s) == 0


def test_to_floor_drops_points_above_the_horizon():
    h = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0.01, 1.0]])  # w = 1 + 0.01 y: the horizon at y = -100
    floor, ok = to_floor(h, np.array([[0, 0], [10, 50], [0, -200], [5, -100]]))
    assert ok.tolist() == [True, True, False, False]
    assert floor[1] == pytest.approx([10 / 1.5, 50 / 1.5])


@pytest.mark.parametrize(
    "costs, best, expected",
    [
        ([2.0] * 20, 10, (0.0, 0.0, 1.0)),  # flat: nothing better than chance
        ([2.0] * 9 + [1.0, 0.2, 1.0] + [2.0] * 8, 10, (1.0, 0.9, 0.0)),  # one deep, unique minimum
        ([2.0] * 2 + [0.2] + [2.0] * 7 + [0.2] + [2.0] * 9, 10, (0.0, 0.9, 1.0)),  # a rival as deep
        ([2.0] * 3, 1, (0.0, 0.0, 1.0)),  # too few candidates
    ],
)
def test_geometric_confidence(costs, best, expected):
    offsets = np.arange(len(costs)) * 0.1
    got = geometric_confidence(offsets, np.asarray(costs), best, basin_s=0.15)
    assert got == pytest.approx(expected, abs=1e-9)


def test_foot_tracks_from_masks():
    def frame(i, boxes):
        objs = []
        for oid, (x0, y0, x1, y1) in boxes.items():
            m = np.zeros((20, 30), bool)
            m[y0:y1, x0:x1] = True
            objs.append(ObjectMask.from_mask(oid, m))
        return FrameMasks(camera="c", frame=i, time=99.0, resolution_wh=(30, 20), objects=tuple(objs))

    tr = foot_tracks_from_masks([frame(0, {1: (2, 2, 6, 10)}), frame(2, {1: (3, 2, 7, 11), 4: (10, 0, 12, 5)})], 10.0)
    assert tr.times_s.tolist() == [0.0, 0.1, 0.2]  # clip time, not the masks' game time; frame 1 empty
    assert tr.frame.tolist() == [0, 2, 2] and tr.ids.tolist() == [1, 1, 4] and tr.has_ids
    assert tr.xy[0] == pytest.approx([4.0, 10.0])


def test_synth_ground_truth_masks_within_a_frame(synth_game):
    """The tests' synthetic game (160 px, 2 players a team): ground-truth masks' foot points."""
    from multicam.masks import read_masks_jsonl

    from .conftest import SYNTH_OFFSETS

    cal = json.loads((synth_game.parent / "calibration.json").read_text())["cameras"]

    def load(name):
        masks = read_masks_jsonl(synth_game.parent / "ground_truth" / "masks" / f"{name}.jsonl")
        return foot_tracks_from_masks(masks, cal[name]["fps"]), np.asarray(cal[name]["H_image_to_ground"])

    ref, h_ref = load("side")
    for name in ("end", "corner"):
        cam, h_cam = load(name)
        est = geometric_offset(ref, cam, h_ref, h_cam).estimate
        assert abs(est.offset - SYNTH_OFFSETS[name]) * 25 < 1.0, name
        assert est.confidence >= 0.5, name
    late, h_late = load("end_far")  # starts after the reference ends: whatever it finds is not trusted
    assert geometric_offset(ref, late, h_ref, h_late).estimate.confidence < 0.5

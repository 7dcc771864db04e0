"""The pure consistency checks, on hand-made inputs whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from multicam.masks import encode_rle, mask_box_xyxy
from multicam.report import checks


def _obj(x0, y0, x1, y1, shape=(40, 60)):
    m = np.zeros(shape, bool)
    m[y0:y1, x0:x1] = True
    return encode_rle(m), mask_box_xyxy(m), int(m.sum())


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], []),
        ([False, False], []),
        ([True], [(0, 0)]),
        ([True, True, False, True], [(0, 1), (3, 3)]),
        ([False, True, True], [(1, 2)]),
    ],
)
def test_true_runs(values, expected):
    assert checks.true_runs(values) == expected


@pytest.mark.parametrize(
    ("present", "expected"),
    [
        ([], []),
        ([True, True, True], []),
        ([False, False, True, True], []),  # not seen yet is not lost
        ([True, False, False, True], [(11, 12, "gap", 2)]),
        ([True, True, False, False], [(12, 13, "end", 2)]),
        ([True, False, True, False], [(11, 11, "gap", 1), (13, 13, "end", 1)]),
        ([False, False, False, False], []),
    ],
)
def test_lost_segments(present, expected):
    frames = list(range(10, 10 + len(present)))
    got = checks.lost_segments(frames, present)
    assert [(s.start_frame, s.end_frame, s.kind, s.frames) for s in got] == expected


def test_lost_segment_remembers_the_border():
    got = checks.lost_segments([0, 1, 2], [True, False, True], touches_border=[True, False, False])
    assert got[0].at_border is True
    assert checks.box_touches_border((0, 5, 10, 10), (60, 40)) is True
    assert checks.box_touches_border((5, 5, 10, 10), (60, 40)) is False
    assert checks.box_touches_border(None, (60, 40)) is False


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([], []),
        ([None, None], []),  # ground truth: no scores
        ([5.0, -1.0, -2.0, 3.0], [(1, 2)]),
        ([float("nan"), -1.0], [(1, 1)]),
    ],
)
def test_low_score_segments(scores, expected):
    got = checks.low_score_segments(list(range(len(scores))), scores, threshold=0.0)
    assert [(s.start_frame, s.end_frame) for s in got] == expected


def _transitions(boxes_by_frame: list[dict[int, tuple]]) -> list[checks.Transition]:
    objs = [{i: _obj(*b) for i, b in d.items()} for d in boxes_by_frame]
    return [checks.transition(k, k - 1, objs[k], objs[k - 1]) for k in range(1, len(objs))]


def test_stability_flags_a_jump_and_an_area_change():
    boxes = [{1: (10, 10, 20, 20)}] * 4 + [{1: (40, 25, 50, 35)}] + [{1: (40, 25, 50, 35)}] + [{1: (30, 0, 60, 40)}]
    ious, jumps = checks.stability(_transitions(boxes), 1)
    assert len(ious) == 6 and ious[:3] == [1.0, 1.0, 1.0]
    assert [(j.frame, j.reason) for j in jumps] == [(4, "iou"), (6, "area")]


def test_stability_does_not_flag_an_always_fast_object():
    boxes = [{1: (4 * k, 0, 4 * k + 3, 3)} for k in range(6)]  # never overlaps itself: median IoU 0
    ious, jumps = checks.stability(_transitions(boxes), 1)
    assert ious == [0.0] * 5 and jumps == []
    assert checks.stability([], 1) == ([], [])


def test_find_swaps_by_iou():
    before = {1: (5, 5, 15, 15), 2: (30, 5, 40, 15)}
    after = {1: (30, 5, 40, 15), 2: (5, 5, 15, 15)}
    (t,) = _transitions([before, after])
    (swap,) = checks.find_swaps(t)
    assert swap.frame == 1 and swap.object_ids == (1, 2) and swap.by == "iou"
    (same,) = _transitions([before, before])
    assert checks.find_swaps(same) == []


def test_find_swaps_by_centroid_when_nothing_overlaps():
    # each mask lands near the other's previous place, overlapping no previous mask
    before = {1: (0, 0, 4, 4), 2: (40, 30, 44, 34)}
    after = {1: (45, 35, 49, 39), 2: (5, 5, 9, 9)}
    (t,) = _transitions([before, after])
    (swap,) = checks.find_swaps(t)
    assert swap.by == "centroid" and swap.object_ids == (1, 2)


@pytest.mark.parametrize(
    ("swap_frames", "frames", "expected"),
    [
        ([], [0, 1, 2, 3], 0),
        ([2], [0, 1, 2, 3], 2),  # exchanged from frame 2 on
        ([1, 3], [0, 1, 2, 3, 4], 2),  # exchanged at 1, back at 3
    ],
)
def test_swapped_frames(swap_frames, frames, expected):
    swaps = [checks.Swap(f, (1, 2), 0.0, 2.0, "iou") for f in swap_frames]
    assert checks.swapped_frames(frames, swaps, 1) == expected
    assert checks.swapped_frames(frames, swaps, 3) == 0


@pytest.mark.parametrize(
    ("a", "b", "flagged", "fraction"),
    [
        ((0, 0, 10, 10), (20, 20, 30, 30), False, None),  # apart
        ((0, 0, 10, 10), (5, 0, 15, 10), True, 0.5),  # half of each
        ((0, 0, 20, 20), (0, 0, 4, 4), True, 1.0),  # one inside the other
        ((0, 0, 10, 10), (9, 0, 19, 10), False, None),  # 10 % shared
    ],
)
def test_find_overlaps(a, b, flagged, fraction):
    got = checks.find_overlaps(7, {1: _obj(*a), 2: _obj(*b)}, min_fraction=0.2)
    assert bool(got) is flagged
    if flagged:
        assert got[0].frame == 7 and got[0].object_ids == (1, 2) and got[0].fraction == pytest.approx(fraction)
    assert checks.find_overlaps(0, {}) == []


def test_ground_agreement():
    assert checks.ground_agreement(0.0, 1, {}, 1.0) is None
    assert checks.ground_agreement(0.0, 1, {"a": (0, 0)}, 1.0) is None
    ok = checks.ground_agreement(0.0, 1, {"a": (0, 0), "b": (0.5, 0)}, 1.0)
    assert not ok.flagged and ok.spread_m == pytest.approx(0.5) and ok.outliers == ()
    two = checks.ground_agreement(0.0, 1, {"a": (0, 0), "b": (3, 4)}, 1.0)
    assert two.flagged and two.spread_m == pytest.approx(5.0) and set(two.outliers) == {"a", "b"}
    three = checks.ground_agreement(1.5, 1, {"a": (0, 0), "b": (0.2, 0), "c": (6, 8)}, 1.0)
    assert three.flagged and three.outliers == ("c",) and three.deviation_m["c"] == pytest.approx(math.hypot(5.9, 8))


def test_colour_histograms_and_appearance_matching():
    img = np.zeros((20, 20, 3), np.uint8)
    img[:, :10] = (220, 30, 30)  # red half
    img[:, 10:] = (30, 30, 220)  # blue half
    red = np.zeros((20, 20), bool)
    red[:, :10] = True
    blue = ~red
    h_red, h_blue = checks.color_histogram(img, red), checks.color_histogram(img, blue)
    assert h_red.sum() == 200 and checks.bhattacharyya(h_red, h_red) == pytest.approx(1.0)
    assert checks.bhattacharyya(h_red, h_blue) == pytest.approx(0.0)
    assert math.isnan(checks.bhattacharyya(h_red, np.zeros_like(h_red)))
    assert checks.color_histogram(img, np.zeros((20, 20), bool)).sum() == 0
    reference = {1: h_red, 2: h_blue}
    good = checks.appearance_matches("b", {1: h_red, 2: h_blue}, reference)
    assert [m.flagged for m in good] == [False, False] and good[0].score == 1.0
    swapped = checks.appearance_matches("b", {1: h_blue, 2: h_red}, reference)
    assert [m.flagged for m in swapped] == [True, True] and swapped[0].best_other == 2
    assert swapped[0].score == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("components", "expected"),
    [
        ({}, None),
        ({"a": None}, None),
        ({"a": 1.0, "b": None}, 1.0),
        ({"a": 0.5, "b": 0.5}, 0.25),
        ({"a": float("nan"), "b": 0.9}, 0.9),
    ],
)
def test_combine_components(components, expected):
    got = checks.combine_components(components)
    assert got == (pytest.approx(expected) if expected is not None else None)


@pytest.mark.parametrize(
    ("others", "hidden"),
    [
        ([], False),
        ([(0, 0, 10, 10)], False),  # elsewhere
        ([(15, 18, 30, 40)], True),  # stands in front, covering the feet
        ([(15, 0, 30, 19)], False),  # ends above the foot: behind, not in front
        ([(25, 18, 30, 40)], False),  # beside the foot
    ],
)
def test_foot_hidden(others, hidden):
    assert checks.foot_hidden((20.0, 20.0), others) is hidden

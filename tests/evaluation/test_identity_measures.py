"""Identity measures: per-frame matching, identity switches, IDF1 with the reference camera's mapping."""

from __future__ import annotations

import numpy as np
import pytest

from multicam.evaluation.identity import (
    FrameIds,
    best_mapping,
    identity_scores,
    iou_matrix,
    match_frame,
    rle_iou_matrix,
)
from multicam.masks import encode_rle


def _box(x0, y0, x1, y1, shape=(20, 30)):
    m = np.zeros(shape, bool)
    m[y0:y1, x0:x1] = True
    return m


A = _box(0, 0, 10, 10)
B = _box(20, 10, 30, 20)
A_HALF = _box(5, 0, 15, 10)  # IoU with A: 50 / 150
EMPTY = np.zeros((20, 30), bool)


@pytest.mark.parametrize(
    ("gt", "pred", "expected"),
    [
        ([], [], np.zeros((0, 0))),
        ([A], [], np.zeros((1, 0))),
        ([], [A], np.zeros((0, 1))),
        ([A], [A], [[1.0]]),
        ([A, B], [B, A], [[0.0, 1.0], [1.0, 0.0]]),
        ([A], [A_HALF], [[50 / 150]]),
        ([EMPTY], [EMPTY], [[0.0]]),  # nothing to match
    ],
)
def test_iou_matrix(gt, pred, expected):
    got = iou_matrix(gt, pred)
    np.testing.assert_allclose(got, np.asarray(expected, dtype=float).reshape(got.shape))
    rle = rle_iou_matrix([encode_rle(m) for m in gt], [encode_rle(m) for m in pred])
    np.testing.assert_allclose(rle, got)


def _frame(i, gt_masks: dict[int, np.ndarray], pred_masks: dict[int, np.ndarray]) -> FrameIds:
    return FrameIds(
        i, tuple(gt_masks), tuple(pred_masks), iou_matrix(list(gt_masks.values()), list(pred_masks.values()))
    )


@pytest.mark.parametrize(
    ("gt", "pred", "expected"),
    [
        ({}, {}, {}),
        ({1: A}, {}, {}),
        ({1: A, 2: B}, {1: A, 2: B}, {1: 1, 2: 2}),
        ({1: A, 2: B}, {7: B, 9: A}, {1: 9, 2: 7}),
        ({1: A}, {1: A_HALF}, {}),  # IoU 1/3 < 0.5
    ],
)
def test_match_frame(gt, pred, expected):
    assert match_frame(_frame(0, gt, pred)) == expected


def test_empty_camera_scores():
    s = identity_scores([])
    assert s.n_gt == s.n_pred == s.id_switches == 0 and s.idf1 == 1.0 and s.per_object == {}


def test_perfect_identity():
    frames = [_frame(i, {1: A, 2: B}, {1: A, 2: B}) for i in range(5)]
    s = identity_scores(frames)
    assert s.idf1 == s.idf1_own == 1.0 and s.id_switches == 0 and s.matches == 10
    assert s.mapping_own == {1: 1, 2: 2}
    assert all(o.same_identity for o in s.per_object.values())


def test_identity_switch_counted_at_the_right_frame():
    frames = [_frame(i, {1: A, 2: B}, {1: A, 2: B} if i < 3 else {1: B, 2: A}) for i in range(6)]
    s = identity_scores(frames, reference_mapping={1: 1, 2: 2})
    assert s.id_switches == 2  # both objects switch at frame 3
    assert {(f, g) for f, g, _, _ in s.switch_frames} == {(3, 1), (3, 2)}
    assert s.idf1 == pytest.approx(2 * 6 / 24)  # 6 of 12 object-frames keep the reference's id


def test_ids_exchanged_in_one_camera_score_zero_against_the_reference():
    """In camera B, id 1 is on the object that id 2 means in the reference: own IDF1 is perfect,
    the cross-camera IDF1 is zero, and both objects are reported as not the same identity."""
    reference = [_frame(i, {1: A, 2: B}, {1: A, 2: B}) for i in range(4)]
    ref_map, idtp = best_mapping(reference)
    assert ref_map == {1: 1, 2: 2} and idtp == 8
    cam_b = [_frame(i, {1: A, 2: B}, {2: A, 1: B}) for i in range(4)]
    s = identity_scores(cam_b, reference_mapping=ref_map)
    assert s.idf1_own == 1.0 and s.idf1 == 0.0 and s.id_switches == 0
    assert [o.same_identity for o in s.per_object.values()] == [False, False]
    assert s.per_object[1].own_pred_id == 2 and s.per_object[1].expected_pred_id == 1


def test_missing_predictions_lower_idf1():
    frames = [_frame(i, {1: A}, {1: A} if i % 2 == 0 else {}) for i in range(4)]
    s = identity_scores(frames)
    assert s.n_gt == 4 and s.n_pred == 2 and s.idf1 == pytest.approx(2 * 2 / 6)
    assert s.to_json()["per_object"]["1"]["matched"] == 2

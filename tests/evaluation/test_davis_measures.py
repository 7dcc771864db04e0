"""DAVIS J and F: hand-made cases, statistics, and the official values on real DAVIS masks."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from multicam.evaluation.davis import (
    boundary_measure,
    boundary_tolerance_px,
    disk,
    region_similarity,
    seg2bmap,
    sequence_scores,
    statistics,
)

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "eval" / "davis_jf_reference"


def _mask(shape=(40, 60), box=None, pixels=()):
    m = np.zeros(shape, dtype=bool)
    if box is not None:
        x0, y0, x1, y1 = box
        m[y0:y1, x0:x1] = True
    for x, y in pixels:
        m[y, x] = True
    return m


EMPTY = _mask()
FULL = np.ones((40, 60), dtype=bool)
LEFT = _mask(box=(0, 0, 30, 40))
RIGHT = _mask(box=(30, 0, 60, 40))
SQUARE = _mask(box=(10, 10, 30, 30))
SQUARE_SHIFTED = _mask(box=(20, 10, 40, 30))  # half of SQUARE: IoU 200 / 600
ONE_PIXEL = _mask(pixels=[(5, 5)])
OTHER_PIXEL = _mask(pixels=[(50, 35)])


@pytest.mark.parametrize(
    ("gt", "pred", "expected"),
    [
        (EMPTY, EMPTY, 1.0),  # nothing to find, nothing found
        (SQUARE, EMPTY, 0.0),  # empty prediction
        (EMPTY, SQUARE, 0.0),  # empty ground truth, spurious prediction
        (ONE_PIXEL, ONE_PIXEL, 1.0),
        (ONE_PIXEL, OTHER_PIXEL, 0.0),
        (FULL, FULL, 1.0),
        (FULL, LEFT, 0.5),  # half of the frame
        (LEFT, RIGHT, 0.0),
        (SQUARE, SQUARE_SHIFTED, 200 / 600),  # half overlap
    ],
    ids=[
        "empty-empty",
        "empty-pred",
        "empty-gt",
        "one-pixel",
        "one-pixel-miss",
        "full",
        "half-frame",
        "disjoint",
        "half-overlap",
    ],
)
def test_region_similarity(gt, pred, expected):
    assert region_similarity(gt, pred) == pytest.approx(expected)
    assert region_similarity(pred, gt) == pytest.approx(expected)  # symmetric


@pytest.mark.parametrize(
    ("gt", "pred", "expected"),
    [
        (EMPTY, EMPTY, 1.0),
        (SQUARE, EMPTY, 0.0),
        (EMPTY, SQUARE, 0.0),
        (ONE_PIXEL, ONE_PIXEL, 1.0),
        (ONE_PIXEL, OTHER_PIXEL, 0.0),  # boundaries 50 px apart, tolerance 1 px
        (FULL, FULL, 1.0),
        (SQUARE, SQUARE, 1.0),
        (SQUARE, SQUARE_SHIFTED, None),  # partial: checked against a brute-force computation below
    ],
    ids=["empty-empty", "empty-pred", "empty-gt", "one-pixel", "one-pixel-miss", "full", "same", "half-overlap"],
)
def test_boundary_measure(gt, pred, expected):
    value = boundary_measure(gt, pred)
    if expected is None:
        expected = _brute_force_f(gt, pred)
        assert 0 < value < 1
    assert value == pytest.approx(expected)


def _brute_force_f(gt, pred):
    """F from the definition: boundary pixels within the tolerance disk of the other boundary."""
    r = boundary_tolerance_px(gt.shape)
    bg, bp = seg2bmap(gt), seg2bmap(pred)
    pg, pp = np.argwhere(bg), np.argwhere(bp)
    d = np.sqrt(((pg[:, None, :] - pp[None, :, :]) ** 2).sum(-1))
    recall = float((d.min(1) <= r).mean())
    precision = float((d.min(0) <= r).mean())
    return 2 * precision * recall / (precision + recall)


def test_boundary_tolerance_follows_the_image_diagonal():
    assert boundary_tolerance_px((480, 854)) == math.ceil(0.008 * math.hypot(480, 854)) == 8
    assert boundary_tolerance_px((40, 60)) == 1
    assert boundary_tolerance_px((40, 60), bound_th=3) == 3  # >= 1: pixels


def test_boundary_shift_within_tolerance_is_perfect():
    big = np.zeros((480, 854), bool)
    big[100:300, 200:500] = True
    shifted = np.roll(big, 5, axis=1)  # 5 px < 8 px tolerance
    assert boundary_measure(big, shifted) == pytest.approx(1.0)
    assert region_similarity(big, shifted) < 1.0
    far = np.roll(big, 40, axis=0)
    assert boundary_measure(big, far) < 0.8


def test_seg2bmap_marks_one_pixel_wide_boundary():
    b = seg2bmap(SQUARE)
    assert b.sum() > 0
    assert not b[15:25, 15:25].any()  # interior is not boundary
    assert not seg2bmap(EMPTY).any() and not seg2bmap(FULL).any()


def test_disk_matches_its_definition():
    k = disk(3)
    assert k.shape == (7, 7) and k[3, 3] == 1 and k[0, 3] == 1 and k[0, 0] == 0
    assert int(k.sum()) == sum(1 for x in range(-3, 4) for y in range(-3, 4) if x * x + y * y <= 9)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="same shape"):
        region_similarity(np.zeros((3, 4), bool), np.zeros((4, 3), bool))


@pytest.mark.parametrize(
    ("values", "mean", "recall", "decay"),
    [
        ([], math.nan, math.nan, math.nan),
        ([1.0], 1.0, 1.0, 0.0),
        ([0.2, 0.4, 0.6, 0.8], 0.5, 0.5, -0.4),  # first bin [0.2, 0.4], last [0.6, 0.8] (DAVIS bins overlap)
        ([0.9] * 8 + [0.1] * 8, 0.5, 0.5, 0.8),
        ([0.5, 0.5], 0.5, 0.0, 0.0),  # recall needs > 0.5
    ],
)
def test_statistics(values, mean, recall, decay):
    s = statistics(values)
    for got, want in ((s.mean, mean), (s.recall, recall), (s.decay, decay)):
        if math.isnan(want):
            assert math.isnan(got)
        else:
            assert got == pytest.approx(want)


def test_sequence_scores_bundles_statistics():
    s = sequence_scores([1, 2, 3, 4], [1, 1, 0, 0], [1, 0.5, 0.5, 1])
    assert s.j_stats.mean == 0.5 and s.f_stats.mean == 0.75 and s.jf_mean == pytest.approx(0.625)
    assert s.to_json()["per_frame"]["frame"] == [1, 2, 3, 4]
    with pytest.raises(ValueError):
        sequence_scores([1], [1.0, 1.0], [1.0])


@pytest.mark.skipif(not REFERENCE.is_dir(), reason=f"DAVIS reference masks not found at {REFERENCE}")
def test_reproduces_official_davis_evaluation():
    """Real DAVIS-2016 masks and OSVOS predictions: J, F and their statistics as the official code gives."""
    from PIL import Image

    per_frame = {
        (r["sequence"], r["frame"]): (float(r["J"]), float(r["F"]))
        for r in csv.DictReader((REFERENCE / "per_frame_J_F.csv").open())
    }
    per_seq = list(csv.DictReader((REFERENCE / "per_sequence_J_F.csv").open()))
    assert per_seq, "reference CSV is empty"
    for row in per_seq:
        seq = row["sequence"]
        names = sorted(p.name for p in (REFERENCE / "gt" / seq).glob("*.png"))[1:-1]  # first/last left out
        assert len(names) == int(row["n_frames_evaluated"])
        js, fs = [], []
        for name in names:
            gt = np.array(Image.open(REFERENCE / "gt" / seq / name)) > 0
            pred = np.array(Image.open(REFERENCE / "pred" / seq / name)) > 0
            js.append(region_similarity(gt, pred))
            fs.append(boundary_measure(gt, pred))
            ref_j, ref_f = per_frame[(seq, name[:-4])]
            assert js[-1] == pytest.approx(ref_j, abs=1e-6), (seq, name)
            assert fs[-1] == pytest.approx(ref_f, abs=1e-3), (seq, name)
        s = sequence_scores(range(len(names)), js, fs)
        assert s.j_stats.mean == pytest.approx(float(row["J-Mean"]), abs=1e-6), seq
        assert s.j_stats.recall == pytest.approx(float(row["J-Recall"]), abs=1e-6), seq
        assert s.j_stats.decay == pytest.approx(float(row["J-Decay"]), abs=1e-6), seq
        assert s.f_stats.mean == pytest.approx(float(row["F-Mean"]), abs=1e-3), seq
        assert s.f_stats.recall == pytest.approx(float(row["F-Recall"]), abs=1e-3), seq
        assert s.f_stats.decay == pytest.approx(float(row["F-Decay"]), abs=1e-3), seq
        assert s.jf_mean == pytest.approx(float(row["J&F-Mean"]), abs=1e-3), seq

"""COCO RLE masks: exact round trips, boxes and areas, JSONL files."""

from __future__ import annotations

import numpy as np
import pytest

from multicam.masks import (
    FrameMasks,
    ObjectMask,
    decode_rle,
    encode_rle,
    mask_box_xyxy,
    read_masks_jsonl,
    write_jsonl_line,
)


def _mask(h, w, fill=None):
    m = np.zeros((h, w), bool)
    if fill is not None:
        m[fill] = True
    return m


CASES = {
    "empty": _mask(6, 7),
    "one pixel": _mask(6, 7, (slice(2, 3), slice(5, 6))),
    "full": np.ones((6, 7), bool),
    "block": _mask(6, 7, (slice(1, 4), slice(2, 6))),
    "random": np.random.default_rng(0).random((33, 17)) > 0.5,
}


@pytest.mark.parametrize("name", list(CASES))
def test_rle_round_trip_is_exact(name):
    mask = CASES[name]
    rle = encode_rle(mask)
    assert isinstance(rle["counts"], str)
    assert rle["size"] == list(mask.shape)
    np.testing.assert_array_equal(decode_rle(rle), mask)


@pytest.mark.parametrize(
    ("name", "box", "area"),
    [("empty", None, 0), ("one pixel", (5, 2, 6, 3), 1), ("full", (0, 0, 7, 6), 42), ("block", (2, 1, 6, 4), 12)],
)
def test_object_mask_box_and_area(name, box, area):
    obj = ObjectMask.from_mask(3, CASES[name], score=1.5)
    assert obj.box_xyxy == box
    assert obj.area == area
    assert obj.resolution_wh == (7, 6)
    assert mask_box_xyxy(CASES[name]) == box
    again = ObjectMask.from_json(obj.to_json())
    assert again == obj


def test_rle_rejects_3d():
    with pytest.raises(ValueError, match="2-D"):
        encode_rle(np.zeros((2, 2, 2), bool))


def test_frame_masks_label_map_and_jsonl(tmp_path):
    label = np.zeros((5, 8), np.int32)
    label[0:2, 0:3] = 1
    label[3:5, 4:8] = 7
    fm = FrameMasks.from_label_map("side", frame=4, time=0.16, label_map=label)
    assert fm.object_ids == (1, 7)
    np.testing.assert_array_equal(fm.label_map(), label)
    assert not fm.mask(99).any() and fm.mask(99).shape == (5, 8)
    empty = FrameMasks(camera="side", frame=5, time=0.2, resolution_wh=(8, 5))
    path = tmp_path / "side.jsonl"
    with path.open("w") as fh:
        write_jsonl_line(fh, fm)
        write_jsonl_line(fh, empty)
    back = list(read_masks_jsonl(path))
    assert back == [fm, empty]


def test_truncated_last_line_is_skipped_but_corruption_elsewhere_is_an_error(tmp_path):
    fm = FrameMasks(camera="c", frame=0, time=0.0, resolution_wh=(2, 2))
    path = tmp_path / "c.jsonl"
    with path.open("w") as fh:
        write_jsonl_line(fh, fm)
        fh.write('{"frame": 1, "ti')
    assert [f.frame for f in read_masks_jsonl(path)] == [0]
    path.write_text('{"frame": 1, "ti\n' + path.read_text())
    with pytest.raises(ValueError, match=r"c.jsonl:1"):
        list(read_masks_jsonl(path))

"""Editing prompts: the draft, clicks on the frame, the editable table and drawing."""

from __future__ import annotations

import numpy as np
import pytest

from multicam.dashboards import prompt_edit as pe
from multicam.errors import PromptError
from multicam.prompts import PromptsFile, load_prompts, save_prompts
from multicam.render import object_color

FILE = PromptsFile.model_validate(
    {
        "objects": [
            {
                "id": 2,
                "name": "home 1",
                "team": "home",
                "prompts": [
                    {"frame": 0, "positive": [[10, 20]], "negative": [[11, 21]], "box_xyxy": [5, 15, 20, 30]},
                    {"time": 1.5, "camera": "end", "positive": [[3, 4]]},
                ],
            },
            {"id": 1, "name": "ball", "prompts": [{"frame": 4, "positive": [[1, 2]]}]},
            {"id": 1, "name": "ball", "prompts": [{"frame": 6, "positive": [[7, 8]]}]},
        ]
    }
)


def test_draft_roundtrips_through_the_file_format(tmp_path):
    draft = pe.draft_from_file(FILE)
    assert [o["id"] for o in draft] == [1, 2]
    assert len(draft[0]["prompts"]) == 2  # repeated id joined
    back = pe.draft_to_file(draft)
    save_prompts(back, tmp_path / "p.yaml")
    assert pe.draft_from_file(load_prompts(tmp_path / "p.yaml")) == draft


@pytest.mark.parametrize("draft, expected", [([], 1), ([{"id": 1}], 2), ([{"id": 2}], 1), ([{"id": 1}, {"id": 2}], 3)])
def test_next_object_id(draft, expected):
    assert pe.next_object_id(draft) == expected


@pytest.mark.parametrize("object_id, name, match", [(1, "x", "already used"), (0, "x", "1 or more"), (5, "  ", "name")])
def test_add_object_refuses_bad_input(object_id, name, match):
    with pytest.raises(PromptError, match=match):
        pe.add_object(pe.draft_from_file(FILE), object_id, name)


def test_add_points_boxes_undo_and_remove():
    draft = pe.add_object([], 3, " player 7 ", " away ")
    assert draft == [{"id": 3, "name": "player 7", "team": "away", "prompts": []}]
    with pytest.raises(PromptError, match="no prompt yet"):
        pe.draft_to_file(draft)
    d1 = pe.add_point(draft, 3, None, 5, (10.04, 20.06))
    d2 = pe.add_point(d1, 3, None, 5, (30, 40), positive=False)
    d3 = pe.set_box(d2, 3, None, 5, (1, 2, 50, 60))
    d4 = pe.add_point(d3, 3, None, 9, (1, 1))
    assert draft[0]["prompts"] == []  # inputs are never modified
    p5 = d4[0]["prompts"][0]
    assert p5 == {
        "frame": 5,
        "time": None,
        "camera": None,
        "positive": [[10.0, 20.1]],
        "negative": [[30.0, 40.0]],
        "box_xyxy": [1.0, 2.0, 50.0, 60.0],
    }
    assert [p["frame"] for p in d4[0]["prompts"]] == [5, 9]
    assert pe.draft_to_file(d4).objects[0].prompts[0].box_xyxy == (1, 2, 50, 60)
    u1 = pe.undo_last(d4, 3, None, 5)
    assert u1[0]["prompts"][0]["box_xyxy"] is None
    u2 = pe.undo_last(u1, 3, None, 5)
    assert u2[0]["prompts"][0]["negative"] == []
    u3 = pe.undo_last(u2, 3, None, 5)
    assert [p["frame"] for p in u3[0]["prompts"]] == [9]  # empty prompt removed
    assert pe.remove_object(u3, 3) == []
    with pytest.raises(PromptError, match="x1 > x0"):
        pe.set_box(draft, 3, None, 0, (5, 5, 5, 9))
    with pytest.raises(PromptError, match="no object with id 8"):
        pe.add_point(draft, 8, None, 0, (1, 1))


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, None),
        ({}, None),
        ({"x": 50, "y": 25, "width": 100, "height": 50}, pe.Click("point", xy=(100.0, 50.0))),
        ({"x1": 50, "y1": 25, "x2": 52, "y2": 27, "width": 100, "height": 50}, pe.Click("point", xy=(100.0, 50.0))),
        (
            {"x1": 10, "y1": 10, "x2": 60, "y2": 40, "width": 100, "height": 50},
            pe.Click("box", box_xyxy=(20.0, 20.0, 120.0, 80.0)),
        ),
        (
            {"x1": 60, "y1": 40, "x2": 500, "y2": -9, "width": 100, "height": 50},  # dragged out of the image
            pe.Click("box", box_xyxy=(120.0, 0.0, 200.0, 80.0)),
        ),
        ({"x": 150, "y": 10, "width": 100, "height": 50}, None),  # outside
    ],
)
def test_interpret_click_scales_display_to_image_pixels(value, expected):
    assert pe.interpret_click(value, (200, 100)) == expected


def test_table_roundtrip_edit_and_delete():
    draft = pe.draft_from_file(FILE)
    draft = pe.add_object(draft, 9, "spare")  # no prompts: kept through table edits
    rows = pe.draft_to_rows(draft)
    assert len(rows) == 4 and rows[2]["positive"] == "10,20" and rows[2]["box_xyxy"] == "5,15,20,30"
    assert pe.rows_to_draft(rows, draft) == draft
    rows[2]["positive"] = "10,20; 12.5, 22"
    rows[2]["name"] = "home one"
    del rows[0]
    edited = pe.rows_to_draft(rows, draft)
    assert [o["id"] for o in edited] == [1, 2, 9]
    assert len(edited[0]["prompts"]) == 1
    assert edited[1]["name"] == "home one" and edited[1]["prompts"][0]["positive"] == [[10, 20], [12.5, 22]]
    assert edited[1]["prompts"][1]["time"] == 1.5 and edited[1]["prompts"][1]["camera"] == "end"


@pytest.mark.parametrize(
    "change, match",
    [
        ({"id": None}, "object id"),
        ({"frame": None, "time": None}, "frame"),
        ({"positive": "1;2"}, "positive"),
        ({"negative": "a,b"}, "negative"),
        ({"box_xyxy": "1,2,3"}, "box_xyxy"),
    ],
)
def test_rows_to_draft_errors_name_the_cell(change, match):
    rows = pe.draft_to_rows(pe.draft_from_file(FILE))
    rows[0].update(change)
    with pytest.raises(PromptError, match=match):
        pe.rows_to_draft(rows, [])


def test_blank_rows_are_ignored_and_missing_names_come_from_the_draft():
    draft = pe.draft_from_file(FILE)
    rows = pe.draft_to_rows(draft) + [dict.fromkeys(pe.TABLE_COLUMNS)]
    rows[0]["name"] = ""
    assert pe.rows_to_draft(rows, draft) == draft


@pytest.mark.parametrize(
    "frame, camera, expected",
    [
        (0, None, ["2 home 1: +10,20 -11,21 box 5,15,20,30"]),
        (4, None, ["1 ball: +1,2"]),
        (1, None, []),
        (0, "end", []),
    ],
)
def test_frame_summary(frame, camera, expected):
    assert pe.frame_summary(pe.draft_from_file(FILE), camera, frame) == expected


def test_draw_prompts_marks_points_in_the_object_colour():
    draft = pe.add_point(pe.add_object([], 1, "ball"), 1, None, 0, (20, 20))
    image = np.zeros((40, 60, 3), np.uint8)
    out = pe.draw_prompts(image, draft, None, 0)
    assert out[20, 20].tolist() == list(object_color(1).as_rgb())
    assert np.array_equal(pe.draw_prompts(image, draft, None, 1), image)  # other frame: nothing
    assert not image.any()

"""Court templates: the shipped files, official sizes, and user files with too few landmarks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from multicam.court.templates import CourtError, builtin_templates, load_template
from multicam.court.view import court_canvas, draw_objects

SIZES = {
    "basketball_fiba": (28.0, 15.0),
    "basketball_nba": (28.6512, 15.24),
    "soccer": (105.0, 68.0),
    "futsal": (40.0, 20.0),
    "handball": (40.0, 20.0),
    "volleyball": (18.0, 9.0),
    "ice_hockey": (60.0, 30.0),
}


def test_every_sport_is_shipped():
    assert set(SIZES) <= set(builtin_templates())


@pytest.mark.parametrize("name", sorted(SIZES))
def test_template_sizes_and_landmarks_on_the_court(name):
    t = load_template(name)
    assert (t.length_m, t.width_m) == pytest.approx(SIZES[name], abs=1e-3)
    xy = t.xy(list(t.landmarks))
    assert len(xy) >= 8
    assert np.all(xy >= -1e-9) and np.all(xy[:, 0] <= t.length_m + 1e-9) and np.all(xy[:, 1] <= t.width_m + 1e-9)
    # left/right landmarks mirror each other about the halfway line
    for k, (x, y) in t.landmarks.items():
        if "left" in k:
            assert t.landmarks[k.replace("left", "right")] == pytest.approx((t.length_m - x, y), abs=1e-3)
    assert t.polylines()


@pytest.mark.parametrize(
    ("name", "landmark", "xy"),
    [
        ("basketball_fiba", "free_throw_left", (5.8, 7.5)),
        ("basketball_fiba", "three_left_top", (1.575 + 6.75, 7.5)),
        ("soccer", "penalty_mark_right", (105 - 11, 34)),
        ("soccer", "penalty_area_left_near", (16.5, 34 - 20.16)),
        ("futsal", "second_penalty_mark_left", (10, 10)),
        ("handball", "seven_m_left", (7, 10)),
        ("volleyball", "attack_right_far", (12, 9)),
        ("ice_hockey", "blue_line_left_near", (22.86, 0)),
    ],
)
def test_official_dimensions(name, landmark, xy):
    assert load_template(name).landmarks[landmark] == pytest.approx(xy, abs=1e-3)


def _write(tmp_path, landmarks, suffix=".yaml"):
    p = tmp_path / f"court{suffix}"
    p.write_text(json.dumps({"name": "mine", "length_m": 10, "width_m": 5, "landmarks": landmarks}))
    return p


def test_user_template_file(tmp_path):
    t = load_template(_write(tmp_path, {"a": [0, 0], "b": [10, 0], "c": [10, 5], "d": [0, 5]}, ".json"))
    assert t.name == "mine" and t.xy(["c"]).tolist() == [[10.0, 5.0]]


@pytest.mark.parametrize(
    ("landmarks", "message"),
    [
        ({}, "at least 4"),
        ({"a": [0, 0], "b": [1, 0], "c": [1, 1]}, "at least 4"),
        ({"a": [0, 0], "b": [1, 0], "c": [2, 0], "d": [3, 0]}, "one line"),
        ({"a": [0, 0], "b": [1, 0], "c": [2, 0], "d": "x"}, "landmarks.d"),
    ],
)
def test_bad_user_templates(tmp_path, landmarks, message):
    with pytest.raises(CourtError, match=message):
        load_template(_write(tmp_path, landmarks))


@pytest.mark.parametrize("spec", ["no_such_court", "missing.yaml"])
def test_unknown_template(spec):
    with pytest.raises(CourtError, match="unknown court template|not found"):
        load_template(spec)


def test_unknown_landmark_names_the_known_ones():
    with pytest.raises(CourtError, match="corner_left_near"):
        load_template("volleyball").xy(["penalty_spot"])


def test_top_down_view_draws_lines_and_dots():
    t = load_template("basketball_fiba")
    canvas = court_canvas(t, width_px=310)
    assert canvas.image.shape[1] == 310
    centre = canvas.to_px(np.array([[14.0, 7.5]]))[0]
    assert centre == pytest.approx((155, canvas.image.shape[0] / 2), abs=1)
    img = draw_objects(canvas, {3: (14.0, 7.5)}, trails={3: [(10, 7.5), (12, 7.5), (14, 7.5)]})
    x, y = int(centre[0]), int(centre[1])
    assert tuple(img[y, x + 2]) != tuple(canvas.image[y, x + 2])  # the dot
    lx = int(canvas.to_px(np.array([[11.0, 7.5]]))[0][0])
    assert tuple(img[y, lx]) != tuple(canvas.image[y, lx])  # the trail
    assert not np.array_equal(canvas.image[0, 0], img[y, x + 2])

"""Cameras: look-at, projection and the ground homographies agree."""

from __future__ import annotations

import numpy as np
import pytest

from multicam.geometry import apply_homography
from multicam.synth.cameras import look_at, make_cameras
from multicam.synth.config import CAMERA_NAMES

COURT = (28.0, 15.0)
CAMERAS = make_cameras(CAMERA_NAMES, 640, COURT)


@pytest.mark.parametrize(
    ("position", "target"),
    [
        ((14.0, -10.0, 8.0), (14.0, 7.5, 0.0)),
        ((-5.0, 7.5, 4.0), (10.0, 7.5, 0.0)),
        ((30.0, 20.0, 12.0), (12.0, 6.0, 1.0)),
    ],
)
def test_look_at_puts_the_target_on_the_optical_axis(position, target):
    rot, t = look_at(np.array(position), np.array(target))
    assert np.allclose(rot @ rot.T, np.eye(3), atol=1e-12) and np.isclose(np.linalg.det(rot), 1.0)
    cam = rot @ np.array(target) + t
    assert cam[2] > 0 and np.allclose(cam[:2], 0.0, atol=1e-9)
    assert abs(rot[0, 2]) < 1e-12  # no roll: the image x axis stays horizontal
    up = rot @ np.array([0.0, 0.0, 1.0])
    assert up[1] < 0  # world up points up in the image


def test_look_at_straight_down_is_refused():
    with pytest.raises(ValueError, match="roll"):
        look_at(np.array([0.0, 0.0, 10.0]), np.array([0.0, 0.0, 0.0]))


@pytest.mark.parametrize("camera", CAMERAS, ids=lambda c: c.name)
def test_ground_homography_matches_projection(camera):
    rng = np.random.default_rng(0)
    ground = np.column_stack([rng.uniform(0, COURT[0], 50), rng.uniform(0, COURT[1], 50)])
    uv, depth = camera.project(np.column_stack([ground, np.zeros(50)]))
    assert (depth > 0).all()
    assert np.allclose(apply_homography(camera.H_ground_to_image, ground), uv, atol=1e-6)
    assert np.allclose(apply_homography(camera.H_image_to_ground, uv), ground, atol=1e-6)
    assert np.allclose(camera.position_m, -camera.R.T @ camera.t)


@pytest.mark.parametrize("camera", CAMERAS, ids=lambda c: c.name)
def test_ground_visible_mask_is_below_the_horizon(camera):
    visible = camera.ground_visible_mask()
    w, h = camera.resolution_wh
    assert visible.shape == (h, w)
    # the court centre is on the ground and seen; rows only get "more ground" downwards (no roll)
    uv, _ = camera.project(np.array([[COURT[0] / 2, COURT[1] / 2, 0.0]]))
    x, y = np.floor(uv[0]).astype(int)
    if 0 <= x < w and 0 <= y < h:
        assert visible[y, x]
    rows = visible.any(axis=1)
    first = int(np.argmax(rows)) if rows.any() else h
    assert rows[first:].all() and not rows[:first].any()


def test_reference_camera_sees_the_whole_court():
    side = CAMERAS[0]
    corners = np.array([[x, y, z] for x in (0, COURT[0]) for y in (0, COURT[1]) for z in (0.0, 2.0)])
    uv, depth = side.project(corners)
    w, h = side.resolution_wh
    assert (depth > 0).all()
    assert ((uv >= 0) & (uv < [w, h])).all()

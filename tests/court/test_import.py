"""Importing calibrations: OpenCV FileStorage YAML/XML, anipose TOML, plain JSON; placing them on the court."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from multicam.court.camera import CameraModel
from multicam.court.files import FloorFile, place_on_court
from multicam.court.importers import read_calibration, triangulate
from multicam.court.templates import CourtError, load_template

K = np.array([[1000.0, 0.0, 640.0], [0.0, 1000.0, 360.0], [0.0, 0.0, 1.0]])
DIST = np.array([-0.21, 0.05, 0.001, -0.0005, 0.0])
RVEC = np.array([1.9, 0.1, -0.05])
TVEC = np.array([-14.0, 3.0, 20.0])


def _m(a):
    return ", ".join(f"{v:.10g}" for v in np.asarray(a).ravel())


# OpenCV's calibration sample writes this layout (FileStorage YAML 1.0 with !!opencv-matrix nodes)
OPENCV_YAML = f"""%YAML:1.0
---
calibration_time: "Wed 02 Dec 2026 01:00:00 UTC"
image_width: 1280
image_height: 720
camera_matrix: !!opencv-matrix
   rows: 3
   cols: 3
   dt: d
   data: [ {_m(K)} ]
distortion_coefficients: !!opencv-matrix
   rows: 5
   cols: 1
   dt: d
   data: [ {_m(DIST)} ]
rvec: !!opencv-matrix
   rows: 3
   cols: 1
   dt: d
   data: [ {_m(RVEC)} ]
tvec: !!opencv-matrix
   rows: 3
   cols: 1
   dt: d
   data: [ {_m(TVEC)} ]
"""

# the same camera as FileStorage XML, one map per camera named after it
OPENCV_XML = f"""<?xml version="1.0"?>
<opencv_storage>
<side>
  <image_width>1280</image_width>
  <image_height>720</image_height>
  <camera_matrix type_id="opencv-matrix">
    <rows>3</rows><cols>3</cols><dt>d</dt>
    <data>{_m(K).replace(",", " ")}</data></camera_matrix>
  <distortion_coefficients type_id="opencv-matrix">
    <rows>1</rows><cols>5</cols><dt>d</dt>
    <data>{_m(DIST).replace(",", " ")}</data></distortion_coefficients>
  <R type_id="opencv-matrix">
    <rows>3</rows><cols>3</cols><dt>d</dt>
    <data>{_m(cv2.Rodrigues(RVEC)[0]).replace(",", " ")}</data></R>
  <T type_id="opencv-matrix">
    <rows>3</rows><cols>1</cols><dt>d</dt>
    <data>{_m(TVEC).replace(",", " ")}</data></T>
</side>
</opencv_storage>
"""

# aniposelib CameraGroup.dump(): one [cam_N] table per camera, then [metadata]
ANIPOSE_TOML = f"""[cam_0]
name = "side"
size = [ 1280, 720,]
matrix = [ [ {_m(K[0])},], [ {_m(K[1])},], [ {_m(K[2])},],]
distortions = [ {_m(DIST)},]
rotation = [ {_m(RVEC)},]
translation = [ {_m(TVEC)},]

[metadata]
adjusted = false
error = 0.41
"""

PLAIN_JSON = json.dumps(
    {
        "cameras": {
            "side": {
                "K": K.tolist(),
                "dist": DIST.tolist(),
                "R": cv2.Rodrigues(RVEC)[0].tolist(),
                "t": TVEC.tolist(),
                "resolution_wh": [1280, 720],
            }
        }
    }
)


@pytest.mark.parametrize(
    ("suffix", "text"), [(".yml", OPENCV_YAML), (".xml", OPENCV_XML), (".toml", ANIPOSE_TOML), (".json", PLAIN_JSON)]
)
def test_every_format_reads_the_same_camera(tmp_path, suffix, text):
    path = tmp_path / f"side{suffix}"
    path.write_text(text)
    cams = read_calibration(path)
    assert list(cams) == ["side"]
    cam = cams["side"]
    assert cam.resolution_wh == (1280, 720)
    np.testing.assert_allclose(cam.K, K)
    np.testing.assert_allclose(cam.dist, DIST)
    np.testing.assert_allclose(cam.R, cv2.Rodrigues(RVEC)[0], atol=1e-9)
    np.testing.assert_allclose(cam.t, TVEC)


BROKEN = [
    ("cal.txt", "whatever", "unknown calibration format '.txt'"),
    ("cal", "whatever", "unknown calibration format '\\(no extension\\)'"),
    ("cal.json", "{not json", "not valid JSON"),
    ("cal.json", '{"cameras": {}}', "needs a 'cameras' mapping"),
    (
        "cal.json",
        '{"cameras": {"side": {"K": [[1, 0], [0, 1]], "R": [0, 0, 0], "t": [0, 0, 1], "resolution_wh": [4, 4]}}}',
        "camera matrix must be 3x3",
    ),
    (
        "cal.json",
        '{"cameras": {"side": {"K": [[1,0,0],[0,1,0],[0,0,1]], "t": [0, 0, 1], "resolution_wh": [4, 4]}}}',
        "has no pose",
    ),
    ("cal.toml", "[cam_0\nname=", "not valid TOML"),
    ("cal.toml", "[metadata]\nerror = 1\n", "no \\[cam_N\\] tables"),
    ("cal.toml", '[cam_0]\nname = "a"\nfisheye = true\n', "fisheye"),
    ("cal.yml", "%YAML:1.0\n---\nfoo: 1\n", "no camera_matrix"),
    ("cal.yml", "%YAML:1.0\n---\ncamera_matrix: [1, 2\n", "OpenCV FileStorage file \\(line 3: Missing ,"),
    ("cal.yml", "", "the file is empty"),
    ("cal.toml", "", "the file is empty"),
    ("missing.json", None, "not found"),
]


@pytest.mark.parametrize(("name", "text", "message"), BROKEN)
def test_broken_or_unknown_files_are_one_clear_error(tmp_path, name, text, message):
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    with pytest.raises(CourtError, match=message) as err:
        read_calibration(path)
    assert "\n" not in str(err.value)


def test_lens_distortion_is_undone_before_the_floor():
    cam = CameraModel("side", (1280, 720), K, cv2.Rodrigues(RVEC)[0], TVEC, DIST)
    floor = np.array([[10.0, 5.0], [3.0, 12.0], [20.0, 1.0]])
    px = cam.project(floor)
    np.testing.assert_allclose(cam.image_to_floor(px), floor, atol=1e-4)
    plain = CameraModel("side", (1280, 720), K, cam.R, TVEC)
    assert np.max(np.linalg.norm(plain.image_to_floor(px) - floor, axis=1)) > 0.05  # distortion matters here


def _in_other_frame(cams, scale, rvec, shift):
    """The cameras as a tool with its own world frame (``court = s R world + b``) would write them."""
    rot = cv2.Rodrigues(np.asarray(rvec, float))[0]
    out = {}
    for n, c in cams.items():
        # x_cam ~ R_c (s R w + b) + t_c  ->  R' = R_c R, t' = (R_c b + t_c) / s
        out[n] = CameraModel(n, c.resolution_wh, c.K, c.R @ rot, (c.R @ shift + c.t) / scale, c.dist)
    return out, rot


def test_placing_on_the_court_from_three_floor_points_and_from_clicks(bare_game, fiba):
    from tests.court.conftest import clicks_for, true_cameras

    truth = true_cameras(bare_game.parent.parent / "truth.json")
    scale, shift = 1 / 1000, np.array([3.0, -2.0, 0.5])  # the tool worked in millimetres
    other, rot = _in_other_frame(truth, scale, [0.3, -0.2, 1.1], shift)
    court_pts = fiba.xy(["corner_left_near", "corner_right_near", "corner_left_far"])
    world = [rot.T @ (np.array([x, y, 0.0]) - shift) / scale for x, y in court_pts]
    floor = FloorFile.model_validate(
        {
            "points": [
                {"world": w.tolist(), "court": n}
                for w, n in zip(world, ["corner_left_near", "corner_right_near", "corner_left_far"])
            ]
        }
    )
    placed, summary = place_on_court(other, fiba, floor=floor)
    assert summary["method"] == "similarity" and summary["rms_m"] < 1e-6
    for n, c in placed.items():
        np.testing.assert_allclose(c.H_image_to_ground, truth[n].H_image_to_ground, rtol=1e-5, atol=1e-6)
    from multicam.court.files import ClicksFile

    clicks = ClicksFile.model_validate({"cameras": {n: {"points": p} for n, p in clicks_for(truth, fiba, n=8).items()}})
    placed, summary = place_on_court(other, fiba, clicks=clicks)
    assert len(summary["points"]) >= 3
    for n, c in placed.items():
        np.testing.assert_allclose(c.position_m, truth[n].position_m, atol=1e-2)


def test_floor_points_on_a_line_or_too_few_are_clear_errors(fiba):
    cam = CameraModel("side", (1280, 720), K, cv2.Rodrigues(RVEC)[0], TVEC)
    line = FloorFile.model_validate({"points": [{"world": [i, 0, 0], "court": [i, 0]} for i in range(3)]})
    with pytest.raises(CourtError, match="one line"):
        place_on_court({"side": cam}, fiba, floor=line)
    with pytest.raises(ValueError, match="at least 3"):
        FloorFile.model_validate({"points": [{"world": [0, 0, 0], "court": "center"}] * 2})


def test_triangulation_recovers_a_point():
    a = CameraModel("a", (1280, 720), K, cv2.Rodrigues(RVEC)[0], TVEC, DIST)
    b = CameraModel("b", (1280, 720), K, cv2.Rodrigues(np.array([1.7, -0.4, 0.2]))[0], np.array([-10.0, 4.0, 25.0]))
    p = np.array([[8.0, 6.0, 2.5]])
    np.testing.assert_allclose(triangulate([a, b], [a.project(p)[0], b.project(p)[0]]), p[0], atol=1e-6)


def test_template_name_resolves(fiba):
    assert load_template("basketball_fiba") == fiba

"""Calibrating from clicked landmarks: accuracy on a synthetic camera and every degenerate click refused."""

from __future__ import annotations

import numpy as np
import pytest

from multicam.court.calibrate import CalibrationOptions, calibrate_camera, estimate_focal
from multicam.court.templates import CourtError
from multicam.synth.cameras import make_cameras
from tests.court.conftest import clicks_for

CAMS = {
    c.name: c for c in make_cameras(("side", "end", "corner", "end_far", "side_far", "corner_low"), 960, (28.0, 15.0))
}


def _model(c):
    from multicam.court.camera import CameraModel

    return CameraModel(c.name, c.resolution_wh, c.K, c.R, c.t)


@pytest.mark.parametrize("name", sorted(CAMS))
def test_exact_clicks_give_the_true_camera(name, fiba):
    cam = _model(CAMS[name])
    clicks = clicks_for({name: cam}, fiba, n=6)[name]
    fit = calibrate_camera(name, fiba, clicks, cam.resolution_wh)
    assert fit.focal_estimated
    assert fit.camera.focal_px == pytest.approx(cam.focal_px, rel=1e-3)
    assert fit.camera.position_m == pytest.approx(cam.position_m, abs=1e-2)
    assert fit.rms_px < 1e-2 and fit.rms_m < 1e-3
    assert estimate_focal(fit.homography, cam.resolution_wh) == pytest.approx(cam.focal_px, rel=1e-3)


def test_noisy_clicks_stay_within_a_few_tens_of_centimetres(fiba):
    cam = _model(CAMS["side"])
    errors = []
    for seed in range(5):
        clicks = clicks_for({"side": cam}, fiba, n=6, noise_px=2.0, seed=seed)["side"]
        fit = calibrate_camera("side", fiba, clicks, cam.resolution_wh)
        grid = np.stack(np.meshgrid(np.linspace(1, 27, 6), np.linspace(1, 14, 4)), -1).reshape(-1, 2)
        errors += list(np.linalg.norm(fit.camera.image_to_floor(cam.project(grid)) - grid, axis=1))
        assert fit.rms_px < 5
    assert np.median(errors) < 0.3


def test_given_focal_length_is_kept(fiba):
    cam = _model(CAMS["corner"])
    clicks = clicks_for({"corner": cam}, fiba, n=4)["corner"]
    fit = calibrate_camera("corner", fiba, clicks, cam.resolution_wh, CalibrationOptions(focal_px=cam.focal_px))
    assert not fit.focal_estimated and fit.camera.focal_px == cam.focal_px
    assert fit.camera.position_m == pytest.approx(cam.position_m, abs=1e-2)


def test_a_misclick_among_many_is_left_out(fiba):
    cam = _model(CAMS["side"])
    clicks = clicks_for({"side": cam}, fiba, n=8)["side"]
    bad = next(iter(clicks))
    clicks[bad] = [clicks[bad][0] + 60, clicks[bad][1] + 40]
    fit = calibrate_camera("side", fiba, clicks, cam.resolution_wh)
    assert [r.name for r in fit.residuals if not r.inlier] == [bad]
    assert bad in fit.warnings[0] and fit.rms_px < 0.1


def _side(names):
    cam = _model(CAMS["side"])
    from multicam.court.templates import load_template

    t = load_template("basketball_fiba")
    return {n: tuple(p) for n, p in zip(names, cam.project(t.xy(names)))}


CORNERS = ["corner_left_near", "corner_right_near", "corner_right_far", "corner_left_far"]


@pytest.mark.parametrize(
    ("clicks", "message"),
    [
        ({}, "0 landmark"),
        (_side(CORNERS[:3]), "at least 4 are needed; also click"),
        (_side(["corner_left_near", "halfway_near", "corner_right_near", "corner_left_far"]), "three of the 4"),
        (
            _side(["corner_left_near", "key_left_baseline_near", "key_left_baseline_far", "corner_left_far"]),
            "one line of the court",
        ),
        (
            dict(
                zip(
                    CORNERS,
                    [
                        _side(CORNERS)[n]
                        for n in ["corner_right_near", "corner_left_near", "corner_left_far", "corner_right_far"]
                    ],
                )
            ),
            "mirrored",
        ),
        (
            dict(
                zip(
                    CORNERS,
                    [
                        _side(CORNERS)[n]
                        for n in ["corner_left_near", "corner_right_far", "corner_right_near", "corner_left_far"]
                    ],
                )
            ),
            "twisted",
        ),
        ({**_side(CORNERS), "center": (5000.0, 10.0)}, "outside the 960x540 image"),
        ({**_side(CORNERS), "penalty_spot": (10.0, 10.0)}, "camera side: template .basketball_fiba. has no landmark"),
    ],
)
def test_degenerate_clicks_are_refused(clicks, message, fiba):
    with pytest.raises(CourtError, match=message):
        calibrate_camera("side", fiba, clicks, (960, 540))


def test_clicks_on_one_picture_line_are_refused(fiba):
    clicks = {n: (100.0 + 50 * i, 300.0 + 0.1 * i) for i, n in enumerate(CORNERS)}
    with pytest.raises(CourtError, match="one line in the picture"):
        calibrate_camera("side", fiba, clicks, (960, 540))


def test_error_above_the_threshold_is_refused(fiba):
    clicks = _side(CORNERS + ["center"])
    clicks["center"] = (clicks["center"][0] + 25, clicks["center"][1] - 20)
    with pytest.raises(CourtError, match="reprojection error .* above 1.0 px; the worst landmark is"):
        calibrate_camera("side", fiba, clicks, (960, 540), CalibrationOptions(max_error_px=1.0, ransac_px=100))

"""The Review page's court from above and derived prompts, through Streamlit's AppTest."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from dash_helpers import CAMERAS, REPO
from streamlit.testing.v1 import AppTest

from multicam.court.camera import CameraModel, calibration_json
from multicam.dashboards import data
from multicam.synth.cameras import look_at

APP = REPO / "dashboards" / "app.py"


def _calibrate(game_path):
    """Cameras over a 28 x 15 m court at each clip's size, written as the game's calibration.json."""
    cams = []
    for i, (name, w, h, *_rest) in enumerate(CAMERAS):
        rot, t = look_at(np.array([14.0 + 3 * i, -10.0, 9.0]), np.array([14.0, 7.5, 0.0]))
        k = np.array([[w * 0.6, 0, w / 2], [0, w * 0.6, h / 2], [0, 0, 1.0]])
        cams.append(CameraModel(name, (w, h), k, rot, t))
    (game_path.parent / "calibration.json").write_text(json.dumps(calibration_json(cams, (28.0, 15.0))))
    game = yaml.safe_load(game_path.read_text())
    game["calibration"] = "calibration.json"
    game_path.write_text(yaml.safe_dump(game))


@pytest.fixture
def calibrated_app(dash_game, monkeypatch):
    _calibrate(dash_game.game_path)
    manifest = json.loads((dash_game.run_path / "manifest.json").read_text())
    manifest["derived_prompts"] = {
        "method": "geometry",
        "prompts": [
            {
                "object_id": 1,
                "camera": "end",
                "frame": 0,
                "time": 0.0,
                "box_xyxy": [10, 5, 40, 30],
                "floor_xy": [14.0, 7.5],
                "source_frame": 0,
            }
        ],
    }
    (dash_game.run_path / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setenv(data.ENV_VAR, dash_game.env())
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.run()
    assert not at.exception, at.exception
    return at


def test_review_shows_the_court_from_above_in_step_with_the_slider(calibrated_app):
    caps = [im.proto.imgs[0].caption for im in calibrated_app.image]
    assert len(caps) == len(CAMERAS) + 1
    assert any(c.startswith("Court from above at t=") for c in caps)
    calibrated_app.slider(key="review_time").set_value(0.2).run()
    assert not calibrated_app.exception
    caps = [im.proto.imgs[0].caption for im in calibrated_app.image]
    assert "Court from above at t=0.200 s (2 s trails)" in caps


def test_derived_prompts_are_drawn_on_their_frame():
    from multicam.dashboards.court import draw_derived

    img = np.zeros((60, 80, 3), np.uint8)
    out = draw_derived(img, [(1, (10, 5, 40, 30))], scale=1.0)
    assert out[5, 10:40].any() and not out[40:, :].any()  # the box's top edge drawn, nothing far below


def test_calibrate_page_fits_and_saves_the_clicked_landmarks(dash_game, monkeypatch):
    from multicam.court.templates import load_template
    from multicam.report.calibration import load_calibration

    _calibrate(dash_game.game_path)
    truth = json.loads((dash_game.game_path.parent / "calibration.json").read_text())
    (dash_game.game_path.parent / "calibration.json").unlink()
    game = yaml.safe_load(dash_game.game_path.read_text())
    game.pop("calibration")
    dash_game.game_path.write_text(yaml.safe_dump(game))
    monkeypatch.setenv(data.ENV_VAR, dash_game.env())
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.run()
    at.switch_page("pages/calibrate.py")
    at.run()
    assert not at.exception, at.exception
    t = load_template("basketball_fiba")
    cam = CameraModel.from_json("side", truth["cameras"]["side"])
    names = list(t.landmarks)
    uv = cam.project(t.xy(names))
    seen = {n: (float(x), float(y)) for n, (x, y) in zip(names, uv) if 0 < x < 64 and 0 < y < 48}
    assert len(seen) >= 4
    at.session_state[f"cal_clicks::{dash_game.game_path}"] = {"template": "basketball_fiba", "cameras": {"side": seen}}
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("side: focal" in s.value for s in at.success)
    next(b for b in at.button if b.label == "Save calibration").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    cal = load_calibration(dash_game.game_path.parent / "calibration.json")
    np.testing.assert_allclose(
        cal.image_to_ground["side"], np.asarray(truth["cameras"]["side"]["H_image_to_ground"]), rtol=1e-3, atol=1e-3
    )
    assert yaml.safe_load(dash_game.game_path.read_text())["calibration"] == "calibration.json"
    assert (dash_game.game_path.parent / "court_clicks.yaml").is_file()

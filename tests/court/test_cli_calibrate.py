"""``multicam calibrate``: clicks and imports end in a calibration.json the report reads; bad input changes nothing."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from multicam.cli import app
from multicam.report.calibration import load_calibration
from tests.court.conftest import clicks_for, folder_state, true_cameras, write_yaml

runner = CliRunner()


def test_calibrate_from_clicks_writes_the_synth_format(bare_game, fiba, tmp_path):
    truth = true_cameras(tmp_path / "truth.json")
    clicks = write_yaml(
        tmp_path / "clicks.yaml",
        {
            "template": "basketball_fiba",
            "cameras": {n: {"frame": 0, "points": p} for n, p in clicks_for(truth, fiba).items()},
        },
    )
    res = runner.invoke(app, ["calibrate", str(bare_game), "--points", str(clicks)])
    assert res.exit_code == 0, res.output
    assert "focal" in res.output and "added 'calibration: calibration.json'" in res.output
    assert yaml.safe_load(bare_game.read_text())["calibration"] == "calibration.json"
    cal = load_calibration(bare_game.parent / "calibration.json")  # the report's reader
    data = json.loads((bare_game.parent / "calibration.json").read_text())
    assert data["template"] == "basketball_fiba" and data["court_size_m"] == [28.0, 15.0]
    for name, cam in truth.items():
        assert set(data["cameras"][name]) >= {
            "resolution_wh",
            "K",
            "R",
            "t",
            "position_m",
            "H_ground_to_image",
            "H_image_to_ground",
            "dist",
            "fit",
        }
        px = cam.project(np.array([[5.0, 5.0], [20.0, 10.0]]))
        from multicam.geometry import apply_homography

        np.testing.assert_allclose(apply_homography(cal.image_to_ground[name], px), [[5, 5], [20, 10]], atol=0.05)
    # again: the game file already names the calibration and is left alone
    before = bare_game.read_bytes()
    res = runner.invoke(app, ["calibrate", str(bare_game), "--points", str(clicks)])
    assert res.exit_code == 0 and bare_game.read_bytes() == before


def test_import_placed_with_clicks_in_two_cameras(bare_game, fiba, tmp_path):
    truth = true_cameras(tmp_path / "truth.json")
    anipose = tmp_path / "calibration.toml"
    lines = []
    for i, (n, c) in enumerate(truth.items()):
        import cv2

        rv = cv2.Rodrigues(c.R)[0].ravel()
        lines += [
            f"[cam_{i}]",
            f'name = "{n}"',
            f"size = [ {c.resolution_wh[0]}, {c.resolution_wh[1]},]",
            "matrix = [ " + " ".join("[ " + ", ".join(f"{v:.12g}" for v in row) + ",]," for row in c.K) + "]",
            "distortions = [ 0.0, 0.0, 0.0, 0.0, 0.0,]",
            "rotation = [ " + ", ".join(f"{v:.12g}" for v in rv) + ",]",
            "translation = [ " + ", ".join(f"{v:.12g}" for v in c.t) + ",]",
            "",
        ]
    anipose.write_text("\n".join(lines + ["[metadata]", "adjusted = false", "error = 0.3", ""]))
    clicks = write_yaml(
        tmp_path / "clicks.yaml", {"cameras": {n: {"points": p} for n, p in clicks_for(truth, fiba, n=8).items()}}
    )
    res = runner.invoke(
        app,
        [
            "calibrate",
            str(bare_game),
            "--import",
            str(anipose),
            "--template",
            "basketball_fiba",
            "--points",
            str(clicks),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "placed on the court from" in res.output
    cal = load_calibration(bare_game.parent / "calibration.json")
    for n, c in truth.items():
        np.testing.assert_allclose(cal.image_to_ground[n], c.H_image_to_ground, rtol=1e-3, atol=1e-3)


def _bad_cases(tmp_path, truth):
    cam = next(iter(truth))
    cal = json.loads((tmp_path / "truth.json").read_text())
    one_missing = {"cameras": {k: v for k, v in cal["cameras"].items() if k != cam}}
    resized = json.loads(json.dumps(cal))
    resized["cameras"][cam]["resolution_wh"] = [1920, 1080]
    files = {
        "unknown.txt": "K = 1",
        "broken.json": "{",
        "missing.json": json.dumps(one_missing),
        "resized.json": json.dumps(resized),
        "tiny_court.yaml": yaml.safe_dump(
            {"name": "x", "length_m": 1, "width_m": 1, "landmarks": {"a": [0, 0], "b": [1, 1]}}
        ),
        "three_clicks.yaml": yaml.safe_dump(
            {"cameras": {cam: {"points": {"corner_left_near": [1, 1], "center": [5, 5], "halfway_near": [9, 3]}}}}
        ),
        "wrong_camera.yaml": yaml.safe_dump({"cameras": {"nope": {"points": {"a": [1, 1]}}}}),
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return [
        (["--import", str(tmp_path / "unknown.txt")], "unknown calibration format '.txt'"),
        (["--import", str(tmp_path / "broken.json")], "not valid JSON"),
        (["--import", str(tmp_path / "missing.json")], f"camera(s) ['{cam}'] of the game are missing"),
        (
            ["--import", str(tmp_path / "resized.json")],
            f"camera {cam} is calibrated for 1920x1080 images but its clip is",
        ),
        (
            ["--template", str(tmp_path / "tiny_court.yaml"), "--points", str(tmp_path / "three_clicks.yaml")],
            "at least 4 named landmarks",
        ),
        (["--template", "basketball_fiba", "--points", str(tmp_path / "three_clicks.yaml")], "at least 4 are needed"),
        (["--template", "basketball_fiba", "--points", str(tmp_path / "wrong_camera.yaml")], "not in the game"),
        (["--template", "no_court", "--points", str(tmp_path / "three_clicks.yaml")], "unknown court template"),
        ([], "give --points"),
    ]


def run_main(argv: list[str], capsys) -> tuple[int, str]:
    """Run the real entry point (``multicam ...``); returns its exit code and stderr."""
    import sys

    from multicam.cli import main

    saved = sys.argv
    sys.argv = ["multicam", *argv]
    try:
        with pytest.raises(SystemExit) as excinfo:
            main()
    finally:
        sys.argv = saved
    return excinfo.value.code, capsys.readouterr().err


def test_bad_input_is_one_line_exit_2_and_changes_nothing(bare_game, tmp_path, capsys):
    truth = true_cameras(tmp_path / "truth.json")
    before = folder_state(bare_game.parent)
    for args, message in _bad_cases(tmp_path, truth):
        code, err = run_main(["calibrate", str(bare_game), *args], capsys)
        assert code == 2, (args, err)
        assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err, (args, err)
        assert folder_state(bare_game.parent) == before, args


@pytest.mark.parametrize("listing", [["calibrate", "--list-templates"]])
def test_list_templates(listing):
    res = runner.invoke(app, listing)
    assert res.exit_code == 0 and "basketball_fiba" in res.output and "ice_hockey" in res.output


def test_a_single_camera_opencv_file_replaces_that_camera_and_keeps_the_others(bare_game, fiba, tmp_path):
    import cv2

    truth = true_cameras(tmp_path / "truth.json")
    clicks = write_yaml(
        tmp_path / "clicks.yaml",
        {
            "template": "basketball_fiba",
            "cameras": {n: {"points": p} for n, p in clicks_for(truth, fiba, noise_px=1.0).items()},
        },
    )
    assert runner.invoke(app, ["calibrate", str(bare_game), "--points", str(clicks)]).exit_code == 0
    side = truth["side"]
    rv = cv2.Rodrigues(side.R)[0].ravel()

    def m(a):
        return ", ".join(f"{v:.12g}" for v in np.asarray(a).ravel())

    (tmp_path / "side.yml").write_text(
        "%YAML:1.0\n---\n"
        f"image_width: {side.resolution_wh[0]}\nimage_height: {side.resolution_wh[1]}\n"
        f"camera_matrix: !!opencv-matrix\n   rows: 3\n   cols: 3\n   dt: d\n   data: [ {m(side.K)} ]\n"
        f"distortion_coefficients: !!opencv-matrix\n   rows: 1\n   cols: 5\n   dt: d\n   data: [ 0., 0., 0., 0., 0. ]\n"
        f"rvec: !!opencv-matrix\n   rows: 3\n   cols: 1\n   dt: d\n   data: [ {m(rv)} ]\n"
        f"tvec: !!opencv-matrix\n   rows: 3\n   cols: 1\n   dt: d\n   data: [ {m(side.t)} ]\n"
    )
    res = runner.invoke(app, ["calibrate", str(bare_game), "--import", str(tmp_path / "side.yml"), "--camera", "side"])
    assert res.exit_code == 0, res.output
    assert "kept camera(s) ['corner', 'end']" in res.output and "taken as the court's" in res.output
    data = json.loads((bare_game.parent / "calibration.json").read_text())
    np.testing.assert_allclose(
        data["cameras"]["side"]["H_image_to_ground"], side.H_image_to_ground, rtol=1e-6, atol=1e-6
    )
    assert "fit" not in data["cameras"]["side"] and set(data["cameras"]) == set(truth)
    assert data["template"] == "basketball_fiba" and data["court_size_m"] == [28.0, 15.0]

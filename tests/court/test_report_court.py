"""The report with a calibration: positions.csv, the court section, and geometric identity flags in the review list."""

from __future__ import annotations

import csv
import json
import shutil

import pytest
from typer.testing import CliRunner

from multicam.cli import app


def _swap_in_tracks(path, camera, a, b, frames):
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    fields = list(rows[0])
    for r in rows:
        if r["camera"] == camera and int(r["frame"]) in frames and r["object_id"] in (str(a), str(b)):
            r["object_id"] = str(b) if r["object_id"] == str(a) else str(a)
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fields)
        w.writeheader()
        w.writerows(rows)


def test_report_flags_an_injected_swap_and_writes_positions(small_synth_game, tmp_path):
    game = tmp_path / "game"
    shutil.copytree(small_synth_game.parent, game)
    gt = game / "ground_truth"
    names = {o["id"]: o["name"] for o in json.loads((gt / "manifest.json").read_text())["objects"]}
    players = [i for i, n in names.items() if n != "ball"]
    a, b = players[0], players[-1]
    _swap_in_tracks(gt / "tracks.csv", "end", a, b, range(8, 20))
    out = tmp_path / "report"
    res = CliRunner().invoke(app, ["report", str(gt), "--out", str(out), "--no-appearance"])
    assert res.exit_code == 0, res.output
    data = json.loads((out / "report.json").read_text())
    court = data["court"]
    assert court["available"] and court["template"] == "basketball_fiba"
    geo = [m for m in data["review"] if m["kind"] in ("geo_swap", "wrong_object")]
    assert geo and all(m["camera"] == "end" for m in geo)
    assert {geo[0]["object_id"], geo[0]["other_object_id"]} == {a, b} and geo[0]["kind"] == "geo_swap"
    assert 8 <= geo[0]["frame"] <= 12 and "stand where the other cameras put each other" in geo[0]["reason"]
    assert (out / "positions.csv").is_file() and not (gt / "report").exists()
    html = (out / "report.html").read_text()
    assert "On the court" in html and "Heat map per object" in html and "Disagreement per camera" in html


def test_report_without_full_cameras_says_why(small_synth_game, tmp_path):
    game = tmp_path / "game"
    shutil.copytree(small_synth_game.parent, game)
    cal = json.loads((game / "calibration.json").read_text())
    for cam in cal["cameras"].values():
        for k in ("K", "R", "t"):
            cam.pop(k)
    (game / "calibration.json").write_text(json.dumps(cal))
    out = tmp_path / "report"
    res = CliRunner().invoke(app, ["report", str(game / "ground_truth"), "--out", str(out), "--no-appearance"])
    assert res.exit_code == 0, res.output
    data = json.loads((out / "report.json").read_text())
    assert data["ground"]["available"] and not data["court"]["available"]
    assert "run `multicam calibrate`" in data["court"]["reason"]


@pytest.mark.parametrize("change", ["drop", "resize"])
def test_a_camera_missing_or_of_another_size_is_left_out_with_a_note(small_synth_game, tmp_path, change):
    from multicam.court.analysis import analyse_run, load_court
    from multicam.rundir import open_run

    cal = json.loads((small_synth_game.parent / "calibration.json").read_text())
    cam = sorted(cal["cameras"])[-1]
    if change == "drop":
        del cal["cameras"][cam]
    else:
        cal["cameras"][cam]["resolution_wh"] = [1920, 1080]
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps(cal))
    cameras, template = load_court(path)
    analysis = analyse_run(open_run(small_synth_game.parent / "ground_truth"), cameras, template)
    assert len(analysis.notes) == 1 and cam in analysis.notes[0] and "left out" in analysis.notes[0]
    assert cam not in analysis.positions.cameras and analysis.positions.rows

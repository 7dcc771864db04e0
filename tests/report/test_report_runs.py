"""`multicam report` on constructed runs whose problems are known, and on a small synthetic game."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from clip_helpers import write_video
from typer.testing import CliRunner

from multicam.cli import app
from multicam.masks import FrameMasks, ObjectMask
from multicam.report import build_report, find_calibration, find_clips, load_calibration, write_report
from multicam.report.builder import ReportOptions
from multicam.report.calibration import CalibrationError
from multicam.rundir import CameraInfo, ObjectInfo, RunWriter, open_run

H, W, FPS = 48, 64, 25.0


def _scene(i: int, *, swap: bool = False, drop: int | None = None) -> np.ndarray:
    """Object 1 walks right along the top, object 2 stands at the bottom right; ``swap`` exchanges ids."""
    lm = np.zeros((H, W), np.int32)
    lm[4:16, 4 + 2 * i : 14 + 2 * i] = 2 if swap else 1
    lm[26:40, 44:56] = 1 if swap else 2
    if drop is not None:
        lm[lm == drop] = 0
    return lm


def _calibration(path: Path, cameras=("ref", "b"), scale: float = 0.1) -> Path:
    """Every camera maps pixels to metres by ``scale`` (the same view): positions must agree."""
    h = np.diag([scale, scale, 1.0]).tolist()
    path.write_text(
        json.dumps(
            {
                "units": "m",
                "court_size_m": [W * scale, H * scale],
                "cameras": {c: {"resolution_wh": [W, H], "H_image_to_ground": h} for c in cameras},
            }
        )
    )
    return path


def _moments(report, kind):
    return [m for m in report.data["review"] if m["kind"] == kind]


def test_swapped_identity_is_flagged_in_that_camera_at_that_time(tmp_path, make_run):
    run = make_run(
        tmp_path / "run",
        {"ref": {i: _scene(i) for i in range(10)}, "b": {i: _scene(i, swap=i >= 5) for i in range(10)}},
        reference="ref",
    )
    report = build_report(open_run(run))
    swaps = _moments(report, "swap")
    assert [(m["camera"], m["frame"], m["object_id"], m["other_object_id"]) for m in swaps] == [("b", 5, 1, 2)]
    assert swaps[0]["time"] == pytest.approx(5 / FPS)
    assert report.data["review"][0]["kind"] == "swap"  # the most severe moment comes first
    pairs = {(p["camera"], p["object_id"]): p for p in report.data["scores"]["pairs"]}
    assert pairs[("b", 1)]["components"]["identity"] == pytest.approx(0.5)  # frames 5-9 exchanged
    assert pairs[("ref", 1)]["score"] == 1.0
    assert report.data["scores"]["cameras"]["b"]["score"] < report.data["scores"]["cameras"]["ref"]["score"]
    assert report.data["swaps"][0]["object_ids"] == [1, 2]


def test_missing_object_gives_the_lost_segment(tmp_path, make_run):
    run = make_run(tmp_path / "run", {"ref": {i: _scene(i, drop=2 if 3 <= i <= 5 else None) for i in range(10)}})
    report = build_report(open_run(run))
    p = report.data["presence"]["ref"]["2"]
    assert p["lost"] == [{"start_frame": 3, "end_frame": 5, "kind": "gap", "frames": 3, "at_border": False}]
    assert [(s["start_frame"], s["end_frame"]) for s in p["segments"]] == [(0, 2), (6, 9)]
    assert p["present_frames"] == 7 and report.data["presence"]["ref"]["1"]["lost"] == []
    (lost,) = _moments(report, "lost")
    assert (lost["camera"], lost["frame"], lost["end_frame"], lost["object_id"]) == ("ref", 3, 5, 2)
    pairs = {p["object_id"]: p for p in report.data["scores"]["pairs"]}
    assert pairs[2]["components"]["continuity"] == pytest.approx(0.7)


def _write_frames(path: Path, frames: dict[str, list[FrameMasks]], manifest: dict | None = None) -> Path:
    cams = [CameraInfo(c, (W, H), FPS, len(f), 0.0) for c, f in frames.items()]
    with RunWriter(
        path, {"reference": next(iter(frames)), **(manifest or {})}, cams, [ObjectInfo(1, "one"), ObjectInfo(2, "two")]
    ) as w:
        for fl in frames.values():
            for fm in fl:
                w.write(fm)
    return path


def _box_mask(x0, y0, x1, y1):
    m = np.zeros((H, W), bool)
    m[y0:y1, x0:x1] = True
    return m


def test_overlap_is_flagged(tmp_path):
    frames = []
    for i in range(6):
        second = (10, 4, 22, 16) if 2 <= i <= 4 else (40, 20, 52, 32)  # on top of object 1 in frames 2-4
        frames.append(
            FrameMasks(
                "ref",
                i,
                i / FPS,
                (W, H),
                (ObjectMask.from_mask(1, _box_mask(4, 4, 16, 16)), ObjectMask.from_mask(2, _box_mask(*second))),
            )
        )
    report = build_report(open_run(_write_frames(tmp_path / "run", {"ref": frames})))
    (ov,) = report.data["overlaps"]
    assert (ov["camera"], ov["start_frame"], ov["end_frame"], ov["object_ids"]) == ("ref", 2, 4, [1, 2])
    assert ov["max_fraction"] == pytest.approx(72 / 144) and ov["max_pixels"] == 72
    (m,) = _moments(report, "overlap")
    assert (m["frame"], m["end_frame"]) == (2, 4)
    pairs = {p["object_id"]: p for p in report.data["scores"]["pairs"]}
    assert pairs[1]["components"]["exclusivity"] == pytest.approx(0.5)


def test_ground_disagreement_is_flagged_with_calibration(tmp_path, make_run):
    def shifted(i):
        lm = _scene(i)
        if 4 <= i <= 6:  # camera b sees object 2 30 px (3 m) to the left
            lm[lm == 2] = 0
            lm[26:40, 14:26] = 2
        return lm

    run = make_run(
        tmp_path / "run",
        {"ref": {i: _scene(i) for i in range(10)}, "b": {i: shifted(i) for i in range(10)}},
        reference="ref",
    )
    cal = load_calibration(_calibration(tmp_path / "calibration.json"))
    report = build_report(open_run(run), ReportOptions(tolerance_m=1.0), calibration=cal)
    g = report.data["ground"]
    assert g["available"] and g["tolerance_m"] == 1.0
    assert [(f["camera"], f["object_id"], f["start_frame"], f["end_frame"]) for f in g["flagged"]] == [("b", 2, 4, 6)]
    assert g["flagged"][0]["max_spread_m"] == pytest.approx(3.0)
    assert g["objects"]["1"]["flagged"] == 0 and g["objects"]["1"]["max_spread_m"] == pytest.approx(0.0)
    assert g["tracks"]["ref"]["2"]["x_m"][0] == pytest.approx(5.0)  # foot x = 50 px centre * 0.1
    (m,) = _moments(report, "ground")
    assert (m["camera"], m["frame"], m["object_id"]) == ("b", 4, 2)
    pairs = {(p["camera"], p["object_id"]): p for p in report.data["scores"]["pairs"]}
    assert pairs[("b", 2)]["components"]["ground"] == pytest.approx(0.7)
    assert pairs[("b", 1)]["components"]["ground"] == 1.0


def test_without_calibration_the_ground_check_says_why(tmp_path, make_run):
    run = make_run(tmp_path / "games" / "run1", {"ref": {i: _scene(i) for i in range(3)}})
    assert find_calibration(open_run(run)) is None
    report = build_report(open_run(run), calibration_note="no calibration found")
    assert report.data["ground"]["available"] is False and report.data["ground"]["reason"] == "no calibration found"
    assert report.data["appearance"]["available"] is False and "clip" in report.data["appearance"]["reason"]
    with pytest.raises(CalibrationError, match="not found"):
        load_calibration(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text(json.dumps({"cameras": {"a": {"H_image_to_ground": [[1, 0]]}}}))
    with pytest.raises(CalibrationError, match="3x3"):
        load_calibration(tmp_path / "bad.json")


def test_appearance_flags_ids_exchanged_for_the_whole_clip(tmp_path, make_run):
    """Camera b's ids are exchanged from its first frame: no temporal check can see it, colours can."""
    colours = {1: (220, 40, 40), 2: (40, 60, 220)}
    for cam in ("ref", "b"):
        imgs = []
        for i in range(6):
            img = np.full((H, W, 3), 90, np.uint8)
            for oid, colour in colours.items():
                img[_scene(i) == oid] = colour
            imgs.append(img)
        write_video(tmp_path / "clips" / f"{cam}.mp4", imgs, fps=FPS, crf=12)
    manifest = {
        "game_path": str(tmp_path / "game.yaml"),
        "game": {
            "name": "g",
            "reference": "ref",
            "cameras": [{"name": "ref", "video": "clips/ref.mp4"}, {"name": "b", "video": "clips/b.mp4"}],
        },
    }
    run = make_run(
        tmp_path / "runs" / "run1",
        {"ref": {i: _scene(i) for i in range(6)}, "b": {i: _scene(i, swap=True) for i in range(6)}},
        reference="ref",
        manifest=manifest,
    )
    r = open_run(run)
    clips = find_clips(r)
    assert set(clips) == {"ref", "b"}
    report = build_report(r, clips=clips)
    a = report.data["appearance"]
    assert a["available"] and a["frames_sampled"] == {"ref": 6, "b": 6}
    flagged = {(m["camera"], m["object_id"], m["best_other"]) for m in a["matches"] if m["flagged"]}
    assert flagged == {("b", 1, 2), ("b", 2, 1)}
    assert {(m["camera"], m["object_id"]) for m in _moments(report, "appearance")} == {("b", 1), ("b", 2)}
    assert _moments(report, "swap") == []  # nothing temporal to see
    pairs = {(p["camera"], p["object_id"]): p for p in report.data["scores"]["pairs"]}
    assert pairs[("b", 1)]["components"]["appearance"] < 0.5


def test_cli_writes_json_and_html_and_fails_under_threshold(tmp_path, make_run):
    run = make_run(
        tmp_path / "run",
        {"ref": {i: _scene(i) for i in range(10)}, "b": {i: _scene(i, swap=i >= 5) for i in range(10)}},
        reference="ref",
    )
    runner = CliRunner()
    result = runner.invoke(app, ["report", str(run)])
    assert result.exit_code == 0, result.output
    assert "swap" in result.output and "overall score" in result.output
    data = json.loads((run / "report" / "report.json").read_text())
    html = (run / "report" / "report.html").read_text()
    assert data["format"] == "multicam-report" and data["review"][0]["kind"] == "swap"
    assert "<script" in html and "Plotly" in html and "http://" not in html.split("<body>", 1)[1][:2000]
    lowest = min(v["score"] for v in [*data["scores"]["objects"].values(), *data["scores"]["cameras"].values()])
    assert 0 < lowest < 1
    out = tmp_path / "elsewhere"
    failed = runner.invoke(app, ["report", str(run), "--out", str(out), "--fail-under", f"{lowest + 0.01:.4f}"])
    assert failed.exit_code == 1 and (out / "report.json").is_file()
    passed = runner.invoke(app, ["report", str(run), "--out", str(out), "--fail-under", f"{lowest - 0.01:.4f}"])
    assert passed.exit_code == 0, passed.output
    # the installed entry point gives scripts the same exit status as the runner
    import subprocess
    import sys

    for threshold, status in [(lowest + 0.01, 1), (lowest - 0.01, 0)]:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "multicam",
                "report",
                str(run),
                "--out",
                str(out),
                "--fail-under",
                f"{threshold:.4f}",
            ],
            capture_output=True,
            text=True,
        )
        assert proc.returncode == status, proc.stderr


def test_untrained_run_is_said_prominently(tmp_path, make_run):
    run = make_run(
        tmp_path / "run",
        {"ref": {i: _scene(i) for i in range(3)}},
        manifest={"model": {"name": "sam2.1_hiera_tiny", "untrained": True}},
    )
    result = CliRunner().invoke(app, ["report", str(run)])
    assert result.exit_code == 0, result.output
    assert "UNTRAINED" in result.output.splitlines()[1]
    data = json.loads((run / "report" / "report.json").read_text())
    assert data["untrained"] is True and "UNTRAINED" in data["warnings"][0]
    assert "id='untrained'" in (run / "report" / "report.html").read_text()


def test_empty_camera_and_never_seen_object(tmp_path):
    frames = {
        "ref": [
            FrameMasks("ref", i, i / FPS, (W, H), (ObjectMask.from_mask(1, _box_mask(4, 4, 16, 16)),)) for i in range(3)
        ]
    }
    report = build_report(open_run(_write_frames(tmp_path / "run", frames)))
    (never,) = _moments(report, "never_seen")
    assert never["object_id"] == 2 and never["camera"] == "ref"
    assert report.data["scores"]["objects"]["2"]["score"] == 0.0
    assert report.data["presence"]["ref"]["2"]["present_frames"] == 0
    paths = write_report(report, tmp_path / "out")
    assert all(p.is_file() for p in paths)


@pytest.fixture(scope="module")
def synth_report(small_synth_game, tmp_path_factory):
    gt = small_synth_game.parent / "ground_truth"
    out = tmp_path_factory.mktemp("synth_report")
    result = CliRunner().invoke(app, ["report", str(gt), "--out", str(out), "--tolerance-m", "1.0"])
    assert result.exit_code == 0, result.output
    return json.loads((out / "report.json").read_text()), out / "report.html"


def test_synthetic_ground_truth_agrees_across_cameras(synth_report):
    data, _ = synth_report
    g = data["ground"]
    assert g["available"] and len(g["tracks"]) == 3
    scored = {o: v for o, v in g["objects"].items() if v["scored"]}
    assert len(scored) >= 2
    for o, v in scored.items():  # foot points of perfect masks agree within the tolerance
        assert v["median_spread_m"] <= g["tolerance_m"], (o, v)
        assert v["flagged"] <= 0.25 * v["compared"], (o, v)
    assert data["swaps"] == [] and data["overlaps"] == []
    assert data["appearance"]["available"]
    assert not [m for m in data["appearance"]["matches"] if m["flagged"]]
    assert data["untrained"] is False and data["scores"]["overall"] > 0.8


@pytest.mark.browser
def test_html_report_opens_without_errors(synth_report):
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists() and shutil.which("chromium") is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    from playwright.sync_api import sync_playwright

    _, html = synth_report
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(chromium if chromium.exists() else shutil.which("chromium")),
            args=[
                "--no-sandbox",
                "--headless",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page()
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(html.as_uri())
            page.wait_for_selector(".js-plotly-plot .main-svg", timeout=20_000)
            plots = page.locator(".js-plotly-plot").count()
            title = page.title()
        finally:
            browser.close()
    assert errors == []
    assert plots == 3  # scores, presence timelines, ground positions
    assert "multicam report" in title


@pytest.mark.parametrize("style", ["game_path", "pipeline"])
def test_game_files_are_found_from_either_manifest_style(tmp_path, make_run, style):
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "ref.mp4").write_bytes(b"")
    _calibration(tmp_path / "cal.json")
    config = {
        "name": "g",
        "reference": "ref",
        "calibration": "cal.json",
        "ground_truth": "gt",
        "cameras": [{"name": "ref", "video": "clips/ref.mp4"}],
    }
    manifest = (
        {"game_path": str(tmp_path / "game.yaml"), "game": config}
        if style == "game_path"
        else {"game": {"name": "g", "path": str(tmp_path / "game.yaml"), "reference": "ref"}, "config": config}
    )
    run = open_run(make_run(tmp_path / "runs" / "g" / "run1", {"ref": {0: _scene(0)}}, manifest=manifest))
    assert find_calibration(run) == (tmp_path / "cal.json").resolve()
    assert find_clips(run) == {"ref": tmp_path / "clips" / "ref.mp4"}

"""The dashboard's data layer: allowed folders, runs, timing, reports and frames."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from multicam.dashboards import data
from multicam.errors import MulticamError
from multicam.game import load_game
from multicam.masks import FrameMasks
from multicam.render import OverlayStyle
from multicam.report.record import read_report
from multicam.timeline import CameraTiming, Timeline

TIMELINE = Timeline(
    cameras=(CameraTiming("side", 25, 12, 0.0), CameraTiming("end", 30, 14, -0.1), CameraTiming("corner", 25, 10, 0.2)),
    reference="side",
)


# -- allowed folders ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "relative, allowed",
    [
        ("runs", True),
        ("runs/tiny/run1/manifest.json", True),
        ("game/clips/side.mp4", True),
        ("runs/../game/game.yaml", True),
        ("runs/../secret.txt", False),
        ("elsewhere/file", False),
        ("/etc/passwd", False),
    ],
)
def test_check_path_allows_only_the_roots(tmp_path, relative, allowed):
    roots = ((tmp_path / "runs").resolve(), (tmp_path / "game").resolve())
    path = relative if relative.startswith("/") else tmp_path / relative
    if allowed:
        assert data.check_path(path, roots) == Path(path).resolve()
    else:
        with pytest.raises(data.PathNotAllowed, match="outside the folders this dashboard may use"):
            data.check_path(path, roots)


def test_check_path_follows_symlinks_and_refuses_empty(tmp_path):
    root = tmp_path / "runs"
    root.mkdir()
    (root / "link").symlink_to("/etc")
    with pytest.raises(data.PathNotAllowed):
        data.check_path(root / "link" / "passwd", (root.resolve(),))
    with pytest.raises(data.PathNotAllowed, match="no path"):
        data.check_path("  ", (root.resolve(),))


def test_config_roundtrips_through_the_environment(dash_game):
    config = data.DashboardConfig(runs_dir=dash_game.runs_dir, games=(dash_game.game_path,))
    back = data.DashboardConfig.from_env({data.ENV_VAR: config.to_env()})
    assert back.roots == (dash_game.runs_dir, dash_game.root)
    assert back.games == (dash_game.game_path,)
    assert data.DashboardConfig.from_env({}).runs_dir == Path("runs").resolve()
    with pytest.raises(Exception, match="multicam dashboard"):
        data.DashboardConfig.from_env({data.ENV_VAR: "{not json"})


def test_a_game_naming_a_clip_outside_the_roots_is_refused(dash_game, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (dash_game.root / "clips" / "end.mp4").replace(outside / "end.mp4")
    text = dash_game.game_path.read_text().replace("clips/end.mp4", str(outside / "end.mp4"))
    dash_game.game_path.write_text(text)
    roots = (dash_game.runs_dir, dash_game.root)
    with pytest.raises(data.PathNotAllowed, match="cameras.end.video"):
        data.load_allowed_game(dash_game.game_path, roots)
    with pytest.raises(data.PathNotAllowed, match="game file"):
        data.load_allowed_game(dash_game.game_path, (dash_game.runs_dir,))


# -- runs ----------------------------------------------------------------------------------------


def test_list_runs_ground_truth_first_then_runs(dash_game):
    game = load_game(dash_game.game_path)
    roots = (dash_game.runs_dir, dash_game.root)
    entries = data.list_runs(game, dash_game.runs_dir, roots)
    assert [(e.kind, e.path) for e in entries] == [("ground_truth", dash_game.gt_path), ("run", dash_game.run_path)]
    assert entries[1].untrained and "UNTRAINED" in entries[1].label
    assert data.default_run(entries) == entries[1]
    (dash_game.runs_dir / "tiny" / "run2").mkdir()  # being created: no manifest yet
    assert len(data.list_runs(game, dash_game.runs_dir, roots)) == 2
    assert data.list_runs(game, dash_game.runs_dir, (dash_game.runs_dir,))[0].kind == "run"  # GT outside roots


@pytest.mark.parametrize(
    "entries, expected",
    [
        ([], None),
        ([data.RunEntry(Path("g"), "ground truth", "ground_truth", "complete", False)], "g"),
        (
            [
                data.RunEntry(Path("g"), "gt", "ground_truth", "complete", False),
                data.RunEntry(Path("r1"), "r1", "run", "complete", False),
                data.RunEntry(Path("r2"), "r2", "run", "running", False),
            ],
            "r1",
        ),
        ([data.RunEntry(Path("r1"), "r1", "run", "failed", False)], "r1"),
    ],
)
def test_default_run(entries, expected):
    chosen = data.default_run(entries)
    assert (None if chosen is None else str(chosen.path)) == expected


# -- timing --------------------------------------------------------------------------------------


def test_ticks_span_the_game_at_the_fastest_rate():
    first, last, step = data.tick_times(TIMELINE)
    assert first == pytest.approx(-0.1) and step == pytest.approx(1 / 30)
    assert last <= TIMELINE.end and last + step >= TIMELINE.end - 1e-9


@pytest.mark.parametrize(
    "time, expected", [(-5.0, -0.1), (-0.1, -0.1), (0.0, 0.0), (0.01, 0.0), (0.02, 1 / 30), (99.0, None)]
)
def test_snap_time(time, expected):
    first, last, _ = data.tick_times(TIMELINE)
    assert data.snap_time(time, TIMELINE) == pytest.approx(last if expected is None else expected, abs=1e-6)


@pytest.mark.parametrize("time", [-0.1, 0.0, 0.2, 0.31, 0.45])
def test_moments_at_puts_every_camera_at_the_same_time(time):
    moments = data.moments_at(TIMELINE, time)
    assert [m.camera for m in moments] == ["side", "end", "corner"]
    for m in moments:
        cam = TIMELINE.camera(m.camera)
        assert m.frame == cam.frame_at(time)
        if m.frame is not None:
            assert abs(m.frame_time - time) <= 0.5 / cam.fps + 1e-9


# -- frames --------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [".jpg", ".png"])
def test_encode_image_roundtrips(fmt):
    image = np.zeros((20, 30, 3), np.uint8)
    image[:, :15] = (255, 0, 0)
    back = cv2.imdecode(np.frombuffer(data.encode_image(image, fmt), np.uint8), cv2.IMREAD_COLOR)[..., ::-1]
    assert back.shape == image.shape
    tol = 0 if fmt == ".png" else 12  # JPEG: compare away from the edge
    assert np.abs(back[:, :10].astype(int) - (255, 0, 0)).max() <= tol  # RGB order kept
    assert back[:, 20:].max() <= tol


@pytest.mark.parametrize("visible, expected_ids", [(None, [1, 2]), (frozenset({2}), [2]), (frozenset(), [])])
def test_frame_table_lists_objects_of_each_camera(dash_game, visible, expected_ids):
    run = data.load_run(dash_game.run_path)
    moments = data.moments_at(TIMELINE, 0.04)  # side 1, end 4, corner: no frame
    rows = data.frame_table(moments, run, visible)
    assert {r["camera"] for r in rows} <= {"side", "end"}
    assert sorted({r["id"] for r in rows}) == expected_ids
    for r in rows:
        assert r["score"] == 2.5 and r["area"] > 0 and r["name"] in ("square", "band")
    assert data.frame_table(moments, None) == []


def test_tile_jpeg_draws_masks_and_the_untrained_banner(dash_game):
    game = load_game(dash_game.game_path)
    clip = str(game.video_path("side"))
    style = data.style_key(OverlayStyle(opacity=1.0, labels=False))
    plain = data.frame_jpeg(clip, 2)
    drawn = data.tile_jpeg(clip, 2, str(dash_game.run_path), "side", style, None, (0.0, 0.0, 0.0))
    a, b = (cv2.imdecode(np.frombuffer(x, np.uint8), cv2.IMREAD_COLOR) for x in (plain, drawn))
    assert a.shape == b.shape == (48, 64, 3)
    assert np.abs(a.astype(int) - b).sum(axis=2)[:6].mean() > 60  # the banner across the top


def test_style_key_roundtrip():
    style = OverlayStyle(opacity=0.3, mode="outline", labels=False, boxes=True, visible_ids=frozenset({3, 1}))
    assert data.style_from_key(data.style_key(style)) == style
    hash(data.style_key(style))


# -- reports -------------------------------------------------------------------------------------


REPORT = Path(__file__).parents[1] / "data" / "reports" / "run_untrained.json"  # by `multicam report`


def test_load_report(tmp_path):
    assert data.load_report(tmp_path) is None
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "report.json").write_text(REPORT.read_text())
    report = data.load_report(tmp_path)
    assert report is not None and report.review[0].kind == "overlap" and report.untrained
    for bad in (
        "{oops",
        json.dumps({"review": []}),
        json.dumps({**json.loads(REPORT.read_text()), "format_version": 99}),
    ):
        (tmp_path / "report" / "report.json").write_text(bad)
        with pytest.raises(MulticamError, match="multicam"):
            data.load_report(tmp_path)


def _fm(frame: int, ids: tuple[int, ...]) -> FrameMasks:
    lm = np.zeros((8, 8), np.int32)
    for k, i in enumerate(ids):
        lm[k, :] = i
    return FrameMasks.from_label_map("end", frame, 0.0, lm)


@pytest.mark.parametrize(
    "present, expected",
    [
        ({}, []),
        ({0: (1,), 1: (1,), 2: (1,)}, [(1, 0, 3)]),
        ({0: (1,), 1: (), 2: (1,)}, [(1, 0, 1), (1, 2, 3)]),
        ({0: (1, 2), 1: (2,), 3: (2,)}, [(1, 0, 1), (2, 0, 2), (2, 3, 4)]),  # frame 2 missing: a gap
    ],
)
def test_presence_spans(present, expected):
    cam = TIMELINE.camera("end")
    spans = data.presence_spans({f: _fm(f, ids) for f, ids in present.items()}, cam)
    assert [(s.object_id, s.start, s.end) for s in spans] == [
        (oid, pytest.approx(cam.time_of(a)), pytest.approx(cam.time_of(b))) for oid, a, b in expected
    ]


def test_report_presence_reads_the_report_segments():
    report = read_report(REPORT)
    seg = report.presence["side"]["1"].segments[0]
    presence = {
        "end": {
            "2": {
                **report.presence["end"]["2"].model_dump(),
                "segments": [{**seg.model_dump(), "start_frame": 3, "end_frame": 5}],
            },
            "1": {**report.presence["end"]["1"].model_dump(), "segments": []},
        },
        "gone": {
            "1": {
                **report.presence["side"]["1"].model_dump(),
                "segments": [{**seg.model_dump(), "start_frame": 0, "end_frame": 0}],
            }
        },
    }
    gone = {**report.cameras["side"].model_dump(), "fps": 10, "offset": 1.0, "frame_count": 5}
    report = report.model_validate({**report.model_dump(), "presence": presence, "cameras": {"gone": gone}})
    spans = data.report_presence(report, TIMELINE)
    assert [(s.object_id, s.camera) for s in spans] == [(1, "gone"), (2, "end")]
    assert spans[0].start == pytest.approx(1.0) and spans[0].end == pytest.approx(1.1)
    assert spans[1].start == pytest.approx(-0.1 + 3 / 30) and spans[1].end == pytest.approx(-0.1 + 6 / 30)
    empty = report.model_validate({**report.model_dump(), "presence": {}})
    assert data.report_presence(empty, TIMELINE) == []


def test_mtime_of_missing_file_is_zero(tmp_path):
    assert data.mtime(tmp_path / "nope") == 0.0
    (tmp_path / "f").write_text("x")
    assert data.mtime(tmp_path / "f") == os.stat(tmp_path / "f").st_mtime

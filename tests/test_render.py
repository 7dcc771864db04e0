"""Annotated frames and videos: pure drawing functions, the H.264 writer and `multicam render`."""

from __future__ import annotations

import json
import math

import av
import numpy as np
import pytest
from typer.testing import CliRunner

from multicam.cli import app
from multicam.clips import Clip, probe_clip
from multicam.errors import RunDirError
from multicam.masks import FrameMasks
from multicam.render import (
    UNTRAINED_BANNER,
    OverlayStyle,
    add_banner_strip,
    annotate_frame,
    draw_banner,
    even_frame,
    fit_tile,
    grid_shape,
    mosaic,
    mosaic_tile_wh,
    object_color,
    plan_render,
    to_detections,
    write_video,
)
from multicam.rundir import CameraInfo, ObjectInfo, RunWriter, open_run

OBJECTS = {1: ObjectInfo(1, "square", "red"), 2: ObjectInfo(2, "band")}


def frame_masks(width: int = 64, height: int = 48, ids: tuple[int, ...] = (1, 2), frame: int = 0) -> FrameMasks:
    lm = np.zeros((height, width), dtype=np.int32)
    if 1 in ids:
        lm[10:18, 2 * frame : 2 * frame + 8] = 1
    if 2 in ids:
        lm[30:34, 4 : width - 4] = 2
    return FrameMasks.from_label_map("a", frame, 0.0, lm)


@pytest.fixture
def tiny_run(tmp_path, tiny_game):
    """The shared two-camera game (a: 64x48 25 fps 10 frames; b: 80x60 30 fps 12 frames, offset -0.1) and a run."""
    game_path = tiny_game()
    cams = [CameraInfo("a", (64, 48), 25.0, 10, 0.0), CameraInfo("b", (80, 60), 30.0, 12, -0.1)]
    run_path = tmp_path / "runs" / "tiny" / "run1"
    manifest = {
        "game_path": str(game_path.resolve()),
        "game": {"name": "tiny", "reference": "a"},
        "model": {"name": "sam2.1_hiera_tiny", "untrained": True},
    }
    with RunWriter(run_path, manifest, cams, [OBJECTS[1], OBJECTS[2]]) as writer:
        for cam in cams:
            w, h = cam.resolution_wh
            for f in range(cam.frame_count):
                fm = frame_masks(w, h, frame=f)
                writer.write(FrameMasks(cam.name, f, cam.offset + f / cam.fps, (w, h), fm.objects))
    return run_path


# -- drawing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ids, visible, expected",
    [
        ((), None, ()),
        ((1,), None, (1,)),
        ((1, 2), None, (1, 2)),
        ((1, 2), frozenset({2}), (2,)),
        ((1, 2), frozenset(), ()),
    ],
)
def test_to_detections_keeps_ids_masks_and_boxes(ids, visible, expected):
    fm = frame_masks(ids=ids)
    det = to_detections(fm, visible_ids=visible)
    assert len(det) == len(expected)
    assert tuple(int(i) for i in (det.class_id if len(det) else ())) == expected
    for k, oid in enumerate(expected):
        assert np.array_equal(det.mask[k], fm.mask(oid))
        x0, y0, x1, y1 = fm.get(oid).box_xyxy
        assert det.xyxy[k].tolist() == [x0, y0, x1 - 1, y1 - 1]


def test_to_detections_resizes_masks_to_the_image():
    det = to_detections(frame_masks(64, 48), resolution_wh=(128, 96))
    assert det.mask.shape == (2, 96, 128)
    assert det.mask[0].sum() == 4 * frame_masks().get(1).area


def test_annotate_frame_colours_each_object_by_id_and_leaves_background():
    image = np.full((48, 64, 3), 40, np.uint8)
    fm = frame_masks()
    out = annotate_frame(image, fm, OBJECTS, OverlayStyle(opacity=1.0, labels=False))
    assert out.shape == image.shape and out.dtype == np.uint8
    assert out[14, 4].tolist() == list(object_color(1).as_rgb())  # inside the square
    assert out[32, 30].tolist() == list(object_color(2).as_rgb())  # inside the band
    assert out[45, 60].tolist() == [40, 40, 40]  # background untouched
    assert np.array_equal(image, np.full((48, 64, 3), 40, np.uint8))  # input not modified


@pytest.mark.parametrize(
    "style, inside_changed",
    [
        (OverlayStyle(opacity=0.5, mode="fill", labels=False), True),
        (OverlayStyle(opacity=0.5, mode="outline", labels=False), False),
        (OverlayStyle(opacity=0.5, visible_ids=frozenset({2}), labels=False), False),
    ],
)
def test_annotate_frame_styles(style, inside_changed):
    image = np.full((48, 64, 3), 40, np.uint8)
    fm = FrameMasks.from_label_map("a", 0, 0.0, np.pad(np.ones((20, 20), np.int32), ((10, 18), (20, 24))))
    out = annotate_frame(image, fm, OBJECTS, style)
    assert (out[20, 30].tolist() != [40, 40, 40]) is inside_changed  # centre of the 20x20 mask


def test_annotate_frame_without_masks_only_adds_the_banner():
    image = np.full((48, 64, 3), 40, np.uint8)
    assert np.array_equal(annotate_frame(image, None, {}), image)
    out = annotate_frame(image, None, {}, banner=UNTRAINED_BANNER)
    assert out[2, 2].tolist() != [40, 40, 40] and out[-1, -1].tolist() == [40, 40, 40]


def test_ground_truth_is_drawn_in_white():
    image = np.zeros((48, 64, 3), np.uint8)
    out = annotate_frame(image, None, {}, ground_truth=frame_masks(ids=(2,)))
    assert (out == 255).all(axis=2).any()


def test_banner_and_strip():
    image = np.zeros((60, 200, 3), np.uint8)
    out = draw_banner(image, "UNTRAINED")
    assert out.shape == image.shape and out[1, 1].tolist() == [200, 30, 30]
    strip = add_banner_strip(image, "UNTRAINED")
    assert strip.shape[1] == 200 and strip.shape[0] > 60 and strip.shape[0] % 2 == 0
    assert np.array_equal(strip[-60:], image)


@pytest.mark.parametrize(
    "n, expected", [(0, (0, 0)), (1, (1, 1)), (2, (2, 1)), (3, (2, 2)), (4, (2, 2)), (5, (3, 2)), (9, (3, 3))]
)
def test_grid_shape(n, expected):
    assert grid_shape(n) == expected


def test_mosaic_places_tiles_row_by_row():
    tiles = [np.full((4, 6, 3), v, np.uint8) for v in (10, 20, 30)]
    out = mosaic(tiles)
    assert out.shape == (8, 12, 3)
    assert out[0, 0, 0] == 10 and out[0, 6, 0] == 20 and out[4, 0, 0] == 30 and out[4, 6, 0] == 0
    with pytest.raises(ValueError):
        mosaic([])
    with pytest.raises(ValueError, match="expected 6x4"):
        mosaic([tiles[0], np.zeros((5, 6, 3), np.uint8)])


def test_fit_tile_letterboxes_and_mosaic_tile_sizes_are_even():
    tile = fit_tile(np.full((10, 40, 3), 200, np.uint8), (20, 20))
    assert tile.shape == (20, 20, 3) and tile[10, 10, 0] == 200 and tile[0, 10, 0] == 0
    assert fit_tile(None, (8, 6)).shape == (6, 8, 3)
    w, h = mosaic_tile_wh([(1921, 1081), (640, 480)], max_width=1920)
    assert w % 2 == 0 and h % 2 == 0 and 2 * w <= 1920


@pytest.mark.parametrize("shape, expected", [((4, 6, 3), (4, 6)), ((5, 6, 3), (6, 6)), ((5, 7, 3), (6, 8))])
def test_even_frame(shape, expected):
    assert even_frame(np.zeros(shape, np.uint8)).shape[:2] == expected


# -- video writing -------------------------------------------------------------------------------


@pytest.mark.parametrize("size_wh, frames", [((64, 48), 5), ((65, 47), 3)])
def test_write_video_is_browser_playable_h264(tmp_path, size_wh, frames):
    w, h = size_wh
    images = (np.full((h, w, 3), 20 * i, np.uint8) for i in range(frames))
    result = write_video(images, tmp_path / "v.mp4", fps=25)
    info = probe_clip(result.path)
    assert info.frame_count == frames == result.frame_count
    assert info.resolution_wh == result.resolution_wh == (w + w % 2, h + h % 2)
    with av.open(str(result.path)) as container:
        ctx = container.streams.video[0].codec_context
        assert ctx.name == "h264" and ctx.pix_fmt == "yuv420p"
    assert not list(tmp_path.glob(".*part*"))


def test_write_video_refuses_nothing_and_mixed_sizes(tmp_path):
    with pytest.raises(ValueError, match="no frames"):
        write_video(iter([]), tmp_path / "empty.mp4", fps=25)
    with pytest.raises(ValueError, match="frame 1"):
        write_video([np.zeros((4, 4, 3), np.uint8), np.zeros((6, 4, 3), np.uint8)], tmp_path / "m.mp4", fps=25)
    assert not (tmp_path / "empty.mp4").exists() and not (tmp_path / "m.mp4").exists()


# -- a run -------------------------------------------------------------------------------------


def test_plan_render_jobs_match_the_run(tiny_run):
    jobs = plan_render(tiny_run)
    assert [j.name for j in jobs] == ["a", "b", "mosaic"]
    assert [j.total for j in jobs[:2]] == [10, 12]
    # mosaic: game time -0.1 .. max(10/25, -0.1 + 12/30) = 0.4 s at 30 fps
    assert jobs[2].fps == 30 and jobs[2].total == math.ceil(0.5 * 30 - 1e-9)
    first = next(jobs[0].frames())
    assert first.shape == (48, 64, 3)


def test_render_cli_writes_h264_videos_with_the_clips_frames(tiny_run, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["render", str(tiny_run), "--out", str(out)])
    assert result.exit_code == 0, result.output
    expected = {"a.mp4": ((64, 48), 10), "b.mp4": ((80, 60), 12)}
    for name, (wh, count) in expected.items():
        info = probe_clip(out / name)
        assert (info.resolution_wh, info.frame_count) == (wh, count)
        with av.open(str(out / name)) as c:
            assert c.streams.video[0].codec_context.name == "h264"
    mosaic_info = probe_clip(out / "mosaic.mp4")
    assert mosaic_info.frame_count == 15 and mosaic_info.fps == 30
    # untrained run: the banner is on the frames (red top rows)
    top = Clip(out / "a.mp4").frame(0)[1:4, :, :].reshape(-1, 3).mean(axis=0)
    assert top[0] > 120 and top[1] < 90


@pytest.mark.parametrize(
    "args, files",
    [
        (["--camera", "b", "--no-mosaic"], {"b.mp4"}),
        (["--camera", "a", "--camera", "b", "--no-mosaic"], {"a.mp4", "b.mp4"}),
        (["--camera", "a"], {"a.mp4", "mosaic.mp4"}),
    ],
)
def test_render_cli_camera_and_mosaic_options(tiny_run, tmp_path, args, files):
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["render", str(tiny_run), "--out", str(out), *args])
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == files


def test_render_with_ground_truth_draws_white_contours(tiny_run, tiny_game, tmp_path):
    from multicam.rundir import open_run as _open

    run = _open(tiny_run)
    gt = tmp_path / "ground_truth"
    band = np.zeros((48, 64), np.int32)
    band[22:28, 10:30] = 2  # between the banner and the caption, away from the run's masks
    with RunWriter(gt, {}, list(run.cameras.values()), [OBJECTS[2]], kind="ground_truth") as writer:
        writer.write(FrameMasks.from_label_map("a", 0, 0.0, band))
    tiny_game({"ground_truth": "ground_truth"})
    plain, with_gt = (
        next(
            plan_render(
                tiny_run,
                cameras=["a"],
                with_mosaic=False,
                with_ground_truth=g,
                style=OverlayStyle(opacity=0.0, labels=False),
            )[0].frames()
        )
        for g in (False, True)
    )
    white = (with_gt == 255).all(axis=2) & ~(plain == 255).all(axis=2)
    assert white[22:28, 10:30].any() and not white[:20].any() and not white[:, 31:].any()


def test_render_errors_name_the_fix(tiny_run, tmp_path):
    with pytest.raises(RunDirError, match="unknown camera"):
        plan_render(tiny_run, cameras=["nope"])
    with pytest.raises(RunDirError, match="no ground_truth"):
        plan_render(tiny_run, with_ground_truth=True)
    manifest = json.loads((tiny_run / "manifest.json").read_text())
    game_path = manifest.pop("game_path")
    (tiny_run / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(RunDirError, match="--game"):
        plan_render(open_run(tiny_run))
    assert len(plan_render(open_run(tiny_run), game_path=game_path)) == 3


@pytest.mark.parametrize("recorded", [{"game_path": "G"}, {"game": {"name": "x", "path": "G"}}, {}])
def test_find_game_file_reads_the_manifest(tmp_path, recorded):
    with RunWriter(
        tmp_path / "run",
        {
            k: (str(tmp_path / v) if k == "game_path" else {**v, "path": str(tmp_path / v["path"])})
            for k, v in recorded.items()
        },
        [],
        [],
    ):
        pass
    assert open_run(tmp_path / "run").game_path() == (tmp_path / "G" if recorded else None)

"""Annotated frames and videos: pure drawing functions, the H.264 writer and `multicam render`."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import av
import cv2
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


# -- pictures as today's renderer drew them ------------------------------------------------------
# tests/data/render_reference.npz holds a small synthetic game (two cameras' decoded frames and
# ground-truth label maps, from multicam.synth) and the frames of the videos `multicam render`
# wrote from it before drawing was moved into object boxes (supervision's full-frame annotators),
# decoded back to RGB. Regenerate (only when the pictures are meant to change) with
#   MULTICAM_WRITE_RENDER_REFERENCE=1 python -m pytest tests/test_render.py -k reference
REFERENCE = Path(__file__).parent / "data" / "render_reference.npz"
REFERENCE_CAMERAS = (("a", 25.0, 0.0), ("b", 30.0, -0.07))


def reference_inputs() -> dict[str, np.ndarray]:
    """Frames and label maps of a tiny synthetic game: ``<cam>_frames (N, H, W, 3)``, ``<cam>_labels (N, H, W)``."""
    from multicam.clips import Clip
    from multicam.synth import SynthConfig, generate_game

    with tempfile.TemporaryDirectory() as tmp:
        cfg = SynthConfig(
            seed=5,
            num_cameras=2,
            players_per_team=2,
            duration_s=0.4,
            width=160,
            fps=tuple(f for _, f, _ in REFERENCE_CAMERAS),
            offsets=tuple(o for _, _, o in REFERENCE_CAMERAS),
            durations=(0.4, 0.4),
            audio=False,
            noise_std=0.0,
        )
        folder = Path(tmp) / "g"
        generate_game(cfg, folder)
        truth = open_run(folder / "ground_truth")
        arrays = {}
        for (name, _, _), cam in zip(REFERENCE_CAMERAS, truth.cameras.values()):
            with Clip(folder / "clips" / f"{cam.name}.mp4") as clip:
                arrays[f"{name}_frames"] = np.stack([img for _, img in clip.iter_frames()])
            frames = truth.frames(cam.name)
            arrays[f"{name}_labels"] = np.stack([frames[i].label_map() for i in range(cam.frame_count)]).astype(
                np.uint8
            )
        return arrays


def build_reference_run(root: Path, arrays: Mapping[str, np.ndarray]) -> Path:
    """A game (clips encoded from the stored frames) and an untrained run with the stored label maps."""
    from ruamel.yaml import YAML

    cams, game_cams = [], []
    for name, fps, offset in REFERENCE_CAMERAS:
        frames = arrays[f"{name}_frames"]
        write_video(iter(frames), root / "clips" / f"{name}.mp4", fps, crf=12)
        cams.append(CameraInfo(name, (frames.shape[2], frames.shape[1]), fps, len(frames), offset))
        game_cams.append({"name": name, "video": f"clips/{name}.mp4", "offset": offset})
    with (root / "game.yaml").open("w") as fh:
        YAML().dump({"name": "ref", "reference": "a", "cameras": game_cams}, fh)
    ids = sorted({int(i) for name, _, _ in REFERENCE_CAMERAS for i in np.unique(arrays[f"{name}_labels"]) if i})
    objects = [ObjectInfo(i, f"p{i}") for i in ids]
    manifest = {
        "game_path": str(root / "game.yaml"),
        "game": {"name": "ref", "reference": "a"},
        "model": {"name": "sam2.1_hiera_tiny", "untrained": True},
    }
    with RunWriter(root / "run", manifest, cams, objects) as writer:
        for cam in cams:
            for i, lm in enumerate(arrays[f"{cam.name}_labels"]):
                writer.write(FrameMasks.from_label_map(cam.name, i, cam.offset + i / cam.fps, lm.astype(np.int32)))
    return root / "run"


def decoded(path: Path) -> np.ndarray:
    with Clip(path) as clip:
        return np.stack([img for _, img in clip.iter_frames()])


@pytest.mark.skipif(not os.environ.get("MULTICAM_WRITE_RENDER_REFERENCE"), reason="writes the reference file")
def test_write_render_reference(tmp_path):
    arrays = reference_inputs()
    run = build_reference_run(tmp_path, arrays)
    result = CliRunner().invoke(app, ["render", str(run), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    for video in ("a", "b", "mosaic"):
        arrays[f"out_{video}"] = decoded(tmp_path / "out" / f"{video}.mp4")
    arrays["out_mosaic"] = arrays["out_mosaic"][::2]  # every other frame keeps the file under 1 MB
    REFERENCE.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(REFERENCE, **arrays)


# Bound on the mean absolute difference (0-255 scale) between a video rendered now and the same
# video rendered by the previous renderer (supervision's full-frame annotators), both decoded.
# Drawing inside the boxes gives the same pixels (measured: 0.0 for all three videos), and the
# encoder is deterministic; the bound leaves room for libx264 builds that round differently and
# for blending rounding (at most 1 level on mask pixels). Leaving out the fills alone costs 2.7.
REFERENCE_MAD = 0.5


@pytest.mark.parametrize("video", ["a", "b", "mosaic"])
def test_rendered_videos_match_the_previous_renderer(tmp_path_factory, video):
    ref = dict(np.load(REFERENCE))
    out = tmp_path_factory.getbasetemp() / "reference_render"
    if not (out / "out" / "mosaic.mp4").is_file():
        out.mkdir(exist_ok=True)
        run = build_reference_run(out, ref)
        result = CliRunner().invoke(app, ["render", str(run), "--out", str(out / "out")])
        assert result.exit_code == 0, result.output
    now = decoded(out / "out" / f"{video}.mp4")
    if video == "mosaic":
        now = now[::2]
    expected = ref[f"out_{video}"]
    assert now.shape == expected.shape
    mad = np.abs(now.astype(np.int16) - expected.astype(np.int16)).mean()
    assert mad < REFERENCE_MAD, f"{video}: mean absolute difference {mad:.2f} grey levels"


def supervision_annotate(image, frame_masks, objects, style, ground_truth=None):
    """The previous renderer's drawing (supervision's full-frame annotators on BGR), kept as a slow reference."""
    import supervision as sv

    from multicam.render import PALETTE, text_scale

    wh = (image.shape[1], image.shape[0])
    scene = np.ascontiguousarray(image[..., ::-1])
    thickness = max(1, sv.calculate_optimal_line_thickness(resolution_wh=wh) // 2)
    det = to_detections(frame_masks, wh, style.visible_ids)
    if len(det):
        if style.mode == "fill" and style.opacity > 0:
            scene = sv.MaskAnnotator(color=PALETTE, opacity=float(style.opacity)).annotate(scene, det)
        scene = sv.PolygonAnnotator(color=PALETTE, thickness=thickness).annotate(scene, det)
        if style.boxes:
            scene = sv.BoxAnnotator(color=PALETTE, thickness=thickness).annotate(scene, det)
        if style.labels:
            labels = [f"{i} {objects[int(i)].name}" if int(i) in objects else str(i) for i in det.class_id]
            scene = sv.LabelAnnotator(
                color=PALETTE, text_scale=text_scale(wh), text_thickness=1, text_padding=3, smart_position=True
            ).annotate(scene, det, labels)
    if ground_truth is not None:
        gt = to_detections(ground_truth, wh, style.visible_ids)
        if len(gt):
            scene = sv.PolygonAnnotator(color=sv.Color.WHITE, thickness=1).annotate(scene, gt)
    return np.ascontiguousarray(scene[..., ::-1])


def overlapping_masks(width: int, height: int) -> FrameMasks:
    """Objects 1-4: a big disc, a smaller one over it, a ring (a hole) and a blob cut by the image edge."""
    yy, xx = np.mgrid[0:height, 0:width]
    lm = np.zeros((height, width), np.int32)
    lm[(xx - width * 0.35) ** 2 + (yy - height * 0.5) ** 2 < (height * 0.3) ** 2] = 1
    lm[(xx - width * 0.45) ** 2 + (yy - height * 0.55) ** 2 < (height * 0.12) ** 2] = 2
    r = np.hypot(xx - width * 0.75, yy - height * 0.3)
    lm[(r > height * 0.08) & (r < height * 0.18)] = 3
    lm[(xx > width * 0.9) & (yy > height * 0.7)] = 4
    return FrameMasks.from_label_map("a", 0, 0.0, lm)


@pytest.mark.parametrize(
    "style, masks_wh, with_gt",
    [
        (OverlayStyle(), (320, 240), False),
        (OverlayStyle(opacity=0.8, boxes=True), (320, 240), True),
        (OverlayStyle(mode="outline"), (320, 240), False),
        (OverlayStyle(visible_ids=frozenset({1, 3})), (320, 240), False),
        (OverlayStyle(visible_ids=frozenset()), (320, 240), False),
        (OverlayStyle(labels=False), (160, 120), False),  # masks at half the image size: scaled up
        (OverlayStyle(), (480, 360), True),  # masks larger than the image: scaled down
    ],
)
def test_annotate_frame_draws_what_the_previous_renderer_drew(style, masks_wh, with_gt):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
    fm = overlapping_masks(*masks_wh)
    gt = overlapping_masks(320, 240) if with_gt else None
    objects = {i: ObjectInfo(i, f"p{i}") for i in (1, 2, 3)}
    now = annotate_frame(image, fm, objects, style, ground_truth=gt)
    before = supervision_annotate(image, fm, objects, style, ground_truth=gt)
    diff = np.abs(now.astype(np.int16) - before.astype(np.int16))
    # the same pixels, but for blending rounding (one level) on a few pixels
    assert diff.max() <= 1 and diff.mean() < 0.01, (diff.max(), diff.mean())
    assert not np.array_equal(now, image) or style.visible_ids == frozenset()


def test_fit_tile_scales_like_area_averaging():
    image = dict(np.load(REFERENCE))["a_frames"][0]
    for wh in ((144, 81), (128, 72), (80, 45)):  # 0.9, 0.8 (bilinear) and 0.5 (area) of 160x90
        tile = fit_tile(image, wh)
        area = cv2.resize(image, wh, interpolation=cv2.INTER_AREA)
        assert np.abs(tile.astype(np.int16) - area).mean() < 1.5


# -- one pass ------------------------------------------------------------------------------------


@pytest.fixture
def counted_clips(monkeypatch):
    """Every Clip the renderer opens, to count the frames it decodes."""
    import multicam.render as render_module

    opened: list[Clip] = []
    real = render_module._clip_for

    def clip_for(game, camera):
        clip = real(game, camera)
        opened.append(clip)
        return clip

    monkeypatch.setattr(render_module, "_clip_for", clip_for)
    return opened


@pytest.mark.parametrize(
    "cameras, with_mosaic, names",
    [
        (None, True, ["a", "b", "mosaic"]),
        (None, False, ["a", "b"]),
        (["b"], True, ["b", "mosaic"]),
        (["a"], False, ["a"]),
    ],
)
def test_render_run_decodes_each_camera_frame_once(tiny_run, tmp_path, counted_clips, cameras, with_mosaic, names):
    from multicam.render import render_run

    seen: dict[str, int] = {}
    result = render_run(
        tiny_run,
        out_dir=tmp_path / "out",
        cameras=cameras,
        with_mosaic=with_mosaic,
        progress=lambda name, n: seen.__setitem__(name, seen.get(name, 0) + n),
    )
    assert [v.path.stem for v in result.videos] == names
    counts = {"a": 10, "b": 12}
    chosen = [n for n in names if n != "mosaic"]
    assert result.camera_frames == sum(counts[n] for n in chosen)
    assert sum(c.decoded_frames for c in counted_clips) == result.camera_frames  # no second decode for the mosaic
    assert len(counted_clips) == len(chosen)
    for video in result.videos:
        assert probe_clip(video.path).frame_count == video.frame_count == seen[video.path.stem]
    assert {p.name for p in (tmp_path / "out").iterdir()} == {f"{n}.mp4" for n in names}


def test_render_run_pictures_equal_the_one_video_at_a_time_plan(tiny_run, tmp_path, monkeypatch):
    """The one-pass videos hold the pictures plan_render's separate jobs draw (camera and mosaic).

    The pictures are compared as handed to the encoder: libx264 with frame threads does not give
    bit-identical files for identical pictures from one run to the next on this machine (seen: 4
    different encodings of the same 12 pictures in 10 runs), so comparing decoded videos is flaky.
    """
    import multicam.render as render

    handed: dict[str, list[np.ndarray]] = {}
    encode = render.write_video

    def capture(frames, path, fps, **kwargs):
        kept = handed.setdefault(Path(path).stem, [])
        return encode((kept.append(f.copy()) or f for f in frames), path, fps, **kwargs)

    monkeypatch.setattr(render, "write_video", capture)
    result = render.render_run(tiny_run, out_dir=tmp_path / "out")
    jobs = plan_render(tiny_run, out_dir=tmp_path / "plan")
    assert [j.name for j in jobs] == [v.path.stem for v in result.videos] == ["a", "b", "mosaic"]
    for job in jobs:
        pictures = [f.copy() for f in job.frames()]
        assert len(pictures) == len(handed[job.name]), job.name
        assert all(np.array_equal(p, q) for p, q in zip(pictures, handed[job.name])), job.name


@pytest.mark.parametrize(
    "mosaic_width, expected_wh",
    [(1920, (160, 60)), (100, (100, 30)), (0, (160, 60)), (40, (40, 12))],  # two 80x60 tiles; banner strip above
)
def test_mosaic_width(tiny_run, tmp_path, mosaic_width, expected_wh):
    result = CliRunner().invoke(
        app, ["render", str(tiny_run), "--out", str(tmp_path / "o"), "--mosaic-width", str(mosaic_width)]
    )
    assert result.exit_code == 0, result.output
    w, h = probe_clip(tmp_path / "o" / "mosaic.mp4").resolution_wh
    assert w == expected_wh[0] and h > expected_wh[1]  # the banner strip of the untrained run is on top


def test_mosaic_width_must_not_be_negative(tiny_run, tmp_path):
    result = CliRunner().invoke(app, ["render", str(tiny_run), "--out", str(tmp_path / "o"), "--mosaic-width", "-5"])
    assert result.exit_code == 2 and not (tmp_path / "o").exists()


def test_render_run_stops_on_a_broken_clip_and_leaves_no_files(tiny_run, tmp_path, monkeypatch):
    import threading

    import multicam.render as render_module
    from multicam.errors import ClipError

    real = render_module._clip_for

    def broken(game, camera):
        clip = real(game, camera)
        if camera == "b":
            clip.path.write_bytes(b"not a video")  # probed fine, unreadable when decoded
        return clip

    monkeypatch.setattr(render_module, "_clip_for", broken)
    before = threading.active_count()
    with pytest.raises(ClipError):
        render_module.render_run(tiny_run, out_dir=tmp_path / "out")
    assert not [p for p in (tmp_path / "out").iterdir() if p.suffix == ".mp4" and p.stem != "a"]
    assert not list((tmp_path / "out").glob(".*part*"))
    assert threading.active_count() == before  # decoding and encoding threads all ended


@pytest.mark.parametrize(
    "box",
    [
        (0, 0, 64, 48),  # the whole image
        (10, 5, 30, 20),  # inside
        (0, 0, 1, 1),  # one pixel at the corner
        (63, 47, 64, 48),  # one pixel at the far corner
        (20, 0, 21, 48),  # one whole column
    ],
)
def test_rle_crop_equals_the_full_decode_cut_to_the_box(box):
    from multicam.masks import encode_rle
    from multicam.render import rle_crop

    mask = np.random.default_rng(1).random((48, 64)) > 0.6
    x0, y0, x1, y1 = box
    assert np.array_equal(rle_crop(encode_rle(mask), box), mask[y0:y1, x0:x1])


# -- the court from above ------------------------------------------------------------------------
# The small synthetic game (tests/conftest.py) is calibrated; its ground-truth folder is rendered like a
# run (3 cameras: side 480x270, end 320x240, corner 400x224), its positions.csv holds the true positions.


def same_video(a: Path, b: Path) -> bool:
    """The same pictures, but for the encoder's rounding (libx264 on several threads is not always bit-exact)."""
    one, two = decoded(a), decoded(b)
    return one.shape == two.shape and np.abs(one.astype(np.int16) - two.astype(np.int16)).mean() < 0.5


@pytest.fixture
def truth(small_synth_game) -> Path:
    return small_synth_game.parent / "ground_truth"


def true_floor(truth: Path, time: float) -> dict[int, tuple[float, float]]:
    """Each object's true floor position at the reference camera's (side, 25 fps) last frame at or before ``time``."""
    import csv

    frame = math.floor(time * 25 + 1e-6)
    with (truth / "positions.csv").open() as fh:
        return {
            int(r["object_id"]): (float(r["x_m"]), float(r["y_m"]))
            for r in csv.DictReader(fh)
            if r["camera"] == "side" and int(r["frame"]) == frame
        }


def court_cell(picture: np.ndarray, index: int, tile_wh=(480, 270)) -> np.ndarray:
    r, c = divmod(index, 2)
    return picture[r * tile_wh[1] : (r + 1) * tile_wh[1], c * tile_wh[0] : (c + 1) * tile_wh[0]]


@pytest.mark.parametrize(
    "tick, objects",
    [
        (5, 0),  # game time -0.18 s: before the reference camera's first frame, nobody on the court yet
        (15, 7),
        (30, 7),
        (40, 7),  # the reference camera's last frame
    ],
)
def test_mosaic_court_tile_has_each_object_where_its_true_floor_position_maps(truth, tick, objects):
    from multicam.court.analysis import load_court
    from multicam.court.view import fit_court_canvas
    from multicam.render import object_rgb

    job = plan_render(truth, cameras=None)[-1]
    pictures = list(job.frames())
    assert pictures[0].shape == (540, 960, 3)  # 3 cameras and the court: a full 2 x 2 grid of 480x270 tiles
    t = list(open_run(truth).timeline().ticks(job.fps))[tick]
    cell = court_cell(pictures[tick], 3)
    _, template = load_court(truth.parent / "calibration.json")
    canvas = fit_court_canvas(template, (480, 270))
    offset = np.array([(480 - canvas.image.shape[1]) // 2, (270 - canvas.image.shape[0]) // 2])
    reach = canvas.px_per_m * 1.5  # the dot's radius (0.45 m) and the fused position's error (under 0.8 m here)
    yy, xx = np.mgrid[0:270, 0:480]
    positions = true_floor(truth, t)
    assert len(positions) == objects
    if not objects:
        assert not any((cell == object_rgb(i)).all(axis=2).any() for i in range(1, 8))
    for oid, xy in positions.items():
        px, py = canvas.to_px(np.array([xy]))[0] + offset
        near = np.hypot(xx - px, yy - py) <= reach
        mine = (cell == object_rgb(oid)).all(axis=2)
        assert mine[near].sum() >= 10, f"object {oid} at t={t:.2f}: no dot near {xy} m"
        assert mine.sum() < 3 * np.pi * reach**2  # a dot and its short trail, not a wash of colour


@pytest.mark.parametrize(
    "args, rows, tile_wh, court_index",
    [
        ([], 2, (480, 270), 3),  # the court fills the grid's free cell
        (["--no-court"], 2, (480, 270), None),
        (["--camera", "side", "--camera", "end"], 2, (480, 270), 2),  # a second row for the court
        (["--camera", "side", "--camera", "end", "--no-court"], 1, (480, 270), None),
        (["--camera", "side", "--mosaic-width", "480"], 1, (240, 134), 1),  # tiles halved to fit the court beside
    ],
)
def test_render_cli_adds_the_court_to_the_mosaic_unless_told_not_to(truth, tmp_path, args, rows, tile_wh, court_index):
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["render", str(truth), "--out", str(out), *args])
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output
    picture = Clip(out / "mosaic.mp4").frame(10)
    assert picture.shape == (rows * tile_wh[1], 2 * tile_wh[0], 3)
    floor_green = np.array([38, 102, 60])
    for index in range(2 * rows):
        r, c = divmod(index, 2)
        cell = picture[r * tile_wh[1] : (r + 1) * tile_wh[1], c * tile_wh[0] : (c + 1) * tile_wh[0]]
        green = (np.abs(cell.astype(int) - floor_green).max(axis=2) < 12).mean()
        assert bool(green > 0.5) is (index == court_index), index


@pytest.fixture
def copied_game(small_synth_game, tmp_path) -> Path:
    import shutil

    shutil.copytree(small_synth_game.parent, tmp_path / "game", ignore=shutil.ignore_patterns("preview*"))
    return tmp_path / "game"


@pytest.mark.parametrize(
    "calibration, warning",
    [
        (None, None),  # no calibration: the cameras alone, no word about it
        ("{}", "no camera with resolution_wh, K, R and t"),
        ("not json", "not valid JSON"),
        ('{"cameras": {"side": {"H_image_to_ground": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]}}}', "multicam calibrate"),
        ({"court_size_m": ["long", 15]}, "court_size_m or template is malformed"),  # full cameras, a bad court
    ],
)
def test_render_without_a_usable_calibration_is_the_mosaic_of_the_cameras_alone(
    truth, copied_game, tmp_path, calibration, warning
):
    import yaml

    cal = copied_game / "calibration.json"
    if calibration is None:
        cal.unlink()
        game = yaml.safe_load((copied_game / "game.yaml").read_text())
        del game["calibration"]
        (copied_game / "game.yaml").write_text(yaml.safe_dump(game, sort_keys=False))
    elif isinstance(calibration, dict):
        cal.write_text(json.dumps({**json.loads(cal.read_text()), **calibration}))
    else:
        cal.write_text(calibration)
    plain = CliRunner().invoke(app, ["render", str(truth), "--out", str(tmp_path / "plain"), "--no-court"])
    result = CliRunner().invoke(app, ["render", str(copied_game / "ground_truth"), "--out", str(tmp_path / "out")])
    assert plain.exit_code == 0 and result.exit_code == 0, result.output
    assert (warning is None) is ("warning" not in result.output)
    if warning is not None:
        assert f"warning: no court in the mosaic: {cal}" in result.output and warning in result.output
    assert same_video(tmp_path / "out" / "mosaic.mp4", tmp_path / "plain" / "mosaic.mp4")


def test_render_places_the_objects_once_and_writes_the_court_in_one_pass(truth, tmp_path, monkeypatch):
    import multicam.court.analysis as analysis
    from multicam.render import render_run

    calls = []
    real = analysis.run_positions
    monkeypatch.setattr(analysis, "run_positions", lambda *a, **k: calls.append(1) or real(*a, **k))
    result = render_run(truth, out_dir=tmp_path / "out")
    assert len(calls) == 1 and result.notes == ()
    plan = plan_render(truth, out_dir=tmp_path / "plan")[-1]
    write_video(plan.frames(), plan.path, plan.fps)
    assert same_video(plan.path, result.videos[-1].path)


def test_a_camera_missing_from_the_calibration_is_named(truth, copied_game, tmp_path):
    cal = json.loads((copied_game / "calibration.json").read_text())
    del cal["cameras"]["end"]
    (copied_game / "calibration.json").write_text(json.dumps(cal))
    result = CliRunner().invoke(app, ["render", str(copied_game / "ground_truth"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert "warning: camera end is not in the calibration" in result.output

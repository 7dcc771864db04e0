"""The written game folder: game file, prompts, clips with sound, calibration and ground truth."""

from __future__ import annotations

import csv
import json

import av
import numpy as np
import pytest
from scipy import signal

from multicam.clips import probe_clip
from multicam.geometry import apply_homography, foot_point_xy
from multicam.masks import decode_rle
from multicam.rundir import open_run
from multicam.session import open_game
from multicam.synth.audio import SAMPLE_RATE, ClipAudio
from multicam.synth.render import CameraRenderer
from multicam.synth.scene import Event
from multicam.synth.writer import build_world


def _calibration(game):
    return json.loads((game.parent / "calibration.json").read_text())


def test_game_file_opens_and_prompts_validate(tiny_game):
    cfg, game = tiny_game
    opened = open_game(game)
    assert opened.reference == "side"
    assert opened.camera_names == cfg.camera_names
    assert [c.offset for c in opened.timeline.cameras] == list(cfg.camera_offsets)
    assert opened.game.ground_truth_path.is_dir() and opened.game.calibration_path.is_file()
    assert opened.game.config.model.name == "sam2.1_hiera_tiny"
    assert opened.game.config.processing.layout == "interleave"
    objects = opened.prompts.merged()
    assert [(o.id, o.name, o.team) for o in objects] == [
        (1, "ball", None),
        (2, "home 1", "home"),
        (3, "home 2", "home"),
        (4, "away 1", "away"),
        (5, "away 2", "away"),
    ]


def test_prompts_sit_on_the_ground_truth(tiny_game):
    _, game = tiny_game
    opened = open_game(game)
    run = open_run(game.parent / "ground_truth")
    for obj in opened.prompts.merged():
        (prompt,) = obj.prompts
        camera = prompt.camera or opened.reference
        fm = run.frame(camera, prompt.frame)
        mask = fm.mask(obj.id)
        assert mask.any()
        assert tuple(prompt.box_xyxy) == fm.get(obj.id).box_xyxy
        assert len(prompt.positive) == 2 and not prompt.negative
        for x, y in prompt.positive:
            assert mask[int(y), int(x)]


def test_clips_have_the_configured_timing_resolution_and_sound(tiny_game):
    cfg, game = tiny_game
    calib = _calibration(game)
    for name, fps, count in zip(cfg.camera_names, cfg.camera_fps, cfg.camera_frame_counts):
        info = probe_clip(game.parent / "clips" / f"{name}.mp4")
        assert info.frame_count == count
        assert info.fps == pytest.approx(fps)
        assert list(info.resolution_wh) == calib["cameras"][name]["resolution_wh"]
        assert info.has_audio and info.audio_sample_rate == SAMPLE_RATE
        with av.open(str(info.path)) as container:
            video = container.streams.video[0]
            assert video.codec_context.name == "h264" and video.codec_context.pix_fmt == "yuv420p"
            assert container.streams.audio[0].codec_context.name == "aac"


def _decoded_audio(path):
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        frames = list(container.decode(stream))
    assert frames[0].pts == 0  # the encoder's priming samples are trimmed by the decoder
    return np.concatenate([f.to_ndarray()[0] for f in frames])


def test_audio_starts_with_the_video_and_carries_the_events(tiny_game):
    cfg, game = tiny_game
    calib = _calibration(game)
    events = [Event(e["time"], e["kind"]) for e in calib["events"]]
    assert {e.kind for e in events} == {"bounce", "whistle"}
    for index, name in enumerate(cfg.camera_names):
        decoded = _decoded_audio(game.parent / "clips" / f"{name}.mp4")
        expected = ClipAudio(events, calib["true_offsets"][name], index, cfg.seed).chunk(len(decoded))
        n = int(round(cfg.camera_frame_counts[index] / cfg.camera_fps[index] * SAMPLE_RATE))
        assert len(decoded) >= n
        corr = signal.correlate(decoded[:n], expected[:n], mode="full")
        assert int(np.argmax(corr)) - (n - 1) == 0  # sample-exact: the audio starts at the clip's offset
        assert np.corrcoef(decoded[:n], expected[:n])[0, 1] > 0.95


def test_calibration_file(tiny_game):
    cfg, game = tiny_game
    calib = _calibration(game)
    assert calib["units"] == "m" and calib["court_size_m"] == list(cfg.court_size_m)
    assert calib["true_offsets"] == dict(zip(cfg.camera_names, cfg.camera_offsets))
    times = [e["time"] for e in calib["events"]]
    assert times == sorted(times)
    for _name, cam in calib["cameras"].items():
        k, r, t = np.array(cam["K"]), np.array(cam["R"]), np.array(cam["t"])
        h = np.array(cam["H_ground_to_image"])
        expected = k @ np.column_stack([r[:, 0], r[:, 1], t])
        assert np.allclose(h, expected / expected[2, 2], atol=1e-6)
        assert np.allclose(
            np.array(cam["H_image_to_ground"]) @ h / (np.array(cam["H_image_to_ground"]) @ h)[2, 2],
            np.eye(3),
            atol=1e-6,
        )
        assert np.allclose(-r.T @ t, cam["position_m"], atol=1e-5)


def test_ground_truth_manifest_and_positions(tiny_game):
    cfg, game = tiny_game
    run = open_run(game.parent / "ground_truth")
    assert run.kind == "ground_truth" and run.is_complete and not run.untrained
    assert run.reference == "side" and run.manifest.model is None
    assert run.manifest.synth["seed"] == cfg.seed
    assert {c: i.frame_count for c, i in run.cameras.items()} == dict(zip(cfg.camera_names, cfg.camera_frame_counts))
    with (game.parent / "ground_truth" / "positions.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == cfg.total_frames * (1 + 2 * cfg.players_per_team)
    for row in rows:
        if row["object_id"] == "1":
            assert float(row["z_m"]) >= 0.1199
        else:
            assert float(row["z_m"]) == 0.0


def test_homography_maps_foot_points_to_ground_positions(tiny_game):
    cfg, game = tiny_game
    calib = _calibration(game)
    scene, cameras, _ = build_world(cfg)
    run = open_run(game.parent / "ground_truth")
    with (game.parent / "ground_truth" / "positions.csv").open() as fh:
        truth = {
            (r["camera"], int(r["frame"]), int(r["object_id"])): (float(r["x_m"]), float(r["y_m"]))
            for r in csv.DictReader(fh)
            if r["object_id"] != "1"
        }
    mask_errors = []
    for camera in cameras:
        to_ground = np.array(calib["cameras"][camera.name]["H_image_to_ground"])
        renderer = CameraRenderer(camera, scene, None)
        w, h = camera.resolution_wh
        for i, fm in run.frames(camera.name).items():
            for obj in fm.objects:
                if obj.object_id == 1:
                    continue
                xy = np.array(truth[(camera.name, i, obj.object_id)])
                uv, _ = camera.project(np.array([[*xy, 0.0]]))
                assert np.allclose(apply_homography(to_ground, uv)[0], xy, atol=1e-3)  # projected foot: exact
                x0, y0, x1, y1 = obj.box_xyxy
                if i % 3 or x0 == 0 or y0 == 0 or x1 == w or y1 == h:
                    continue
                alone = renderer.render_ids(fm.time, only=obj.object_id - 1) == obj.object_id
                if obj.area < alone.sum():
                    continue  # partly hidden: its mask's bottom is not its feet
                foot = np.array(foot_point_xy(decode_rle(obj.rle)))
                on_ground = apply_homography(to_ground, np.stack([foot, foot + [0, 1], foot + [1, 0]]))
                pixel_m = max(np.hypot(*(on_ground[1] - on_ground[0])), np.hypot(*(on_ground[2] - on_ground[0])))
                error = float(np.hypot(*(on_ground[0] - xy)))
                # the mask's lowest pixel is the nearer foot, up to half a stride from the point between the feet
                assert error < 0.55 + 2 * pixel_m
                mask_errors.append(error)
    errors = np.array(mask_errors)
    assert len(errors) > 20
    assert np.median(errors) < 0.35

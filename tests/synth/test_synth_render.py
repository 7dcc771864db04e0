"""Rendering: pictures and id buffers agree pixel for pixel, occlusion included."""

from __future__ import annotations

import numpy as np
import pytest

from multicam.masks import decode_rle
from multicam.rundir import open_run
from multicam.synth.render import CameraRenderer, Projected, draw, project_parts
from multicam.synth.writer import build_world


def _projected(items):
    """Primitives from ``(ax, ay, bx, by, radius_px, object_id)`` rows, in drawing order."""
    rows = np.array(items, dtype=np.float64).reshape(-1, 6)
    return Projected(
        a=rows[:, 0:2],
        b=rows[:, 2:4],
        ra=rows[:, 4],
        rb=rows[:, 4],
        colour=np.tile(np.array([[200, 60, 30]], np.uint8), (len(rows), 1)),
        object_id=rows[:, 5].astype(np.int32),
    )


def _draw(items, shape=(40, 60)):
    rgb = np.zeros((*shape, 3), np.uint8)
    ids = np.zeros(shape, np.int32)
    draw(_projected(items), rgb, ids)
    return rgb, ids


@pytest.mark.parametrize(("centre", "radius"), [((10.3, 7.8), 3.0), ((30.5, 20.5), 6.2), ((5.0, 5.0), 0.4)])
def test_a_disc_lands_where_its_centre_projects(centre, radius):
    rgb, ids = _draw([(*centre, *centre, radius, 5)])
    x, y = int(np.floor(centre[0])), int(np.floor(centre[1]))
    assert ids[y, x] == 5
    ys, xs = np.nonzero(ids)
    assert abs(xs.mean() + 0.5 - centre[0]) < 0.6 and abs(ys.mean() + 0.5 - centre[1]) < 0.6
    assert np.array_equal(rgb.any(axis=2), ids > 0)


def test_nothing_to_draw_leaves_the_buffers_empty():
    rgb, ids = _draw([])
    assert not rgb.any() and not ids.any()


def test_the_nearer_object_hides_the_farther_one():
    far = (20.0, 20.0, 36.0, 20.0, 6.0, 2)  # a capsule, drawn first
    near = (30.0, 18.0, 30.0, 18.0, 7.0, 3)  # a disc in front of it
    _, ids_far = _draw([far])
    _, ids_near = _draw([near])
    rgb, ids = _draw([far, near])
    assert np.array_equal(ids == 3, ids_near == 3)
    assert np.array_equal(ids == 2, (ids_far == 2) & ~(ids_near == 3))
    assert (ids_far == 2).sum() > (ids == 2).sum() > 0  # really occluded, not gone
    assert np.array_equal(rgb.any(axis=2), ids > 0)


@pytest.fixture(scope="module")
def world(tiny_game):
    cfg, _ = tiny_game
    scene, cameras, _ = build_world(cfg)
    return cfg, scene, cameras


def _render(camera, scene, time, only=None):
    w, h = camera.resolution_wh
    rgb = np.zeros((h, w, 3), np.uint8)
    ids = np.zeros((h, w), np.int32)
    draw(project_parts(camera, scene, time, only=only), rgb, ids)
    return rgb, ids


def test_masks_are_exactly_the_drawn_pixels(world):
    cfg, scene, cameras = world
    lost_pixels = 0
    for camera in cameras:
        for time in np.linspace(0.0, cfg.duration_s, 7):
            rgb, ids = _render(camera, scene, time)
            assert np.array_equal(rgb.any(axis=2), ids > 0)  # no object colour is pure black
            for index, obj in enumerate(scene.objects):
                rgb_solo, ids_solo = _render(camera, scene, time, only=index)
                shown = ids == obj.object_id
                alone = ids_solo == obj.object_id
                assert not (shown & ~alone).any()
                hidden = alone & ~shown
                # pixels an object loses go to the objects in front of it, never to the background
                assert not np.isin(ids[hidden], [0, obj.object_id]).any()
                assert np.array_equal(rgb[shown], rgb_solo[shown])
                lost_pixels += int(hidden.sum())
    assert lost_pixels > 0  # the scene really has occlusions


@pytest.mark.parametrize("camera_index", [0, 1, 2])
def test_unoccluded_ball_centre_carries_the_ball_id(world, camera_index):
    cfg, scene, cameras = world
    camera = cameras[camera_index]
    w, h = camera.resolution_wh
    checked = 0
    for time in np.linspace(0.0, cfg.duration_s, 25):
        _, ids = _render(camera, scene, time)
        _, solo = _render(camera, scene, time, only=0)
        if not (solo == 1).any() or not np.array_equal(ids == 1, solo == 1):
            continue  # out of view or occluded
        uv, _ = camera.project(scene.ball_center(time)[None])
        x, y = np.floor(uv[0]).astype(int)
        assert 0 <= x < w and 0 <= y < h
        assert ids[y, x] == 1
        checked += 1
    assert checked > 0


def test_written_ground_truth_is_the_rendered_id_buffer(world, tiny_game):
    cfg, scene, cameras = world
    run = open_run(tiny_game[1].parent / "ground_truth")
    for camera in cameras:
        renderer = CameraRenderer(camera, scene, np.zeros((*camera.resolution_wh[::-1], 3), np.uint8))
        frames = run.frames(camera.name)
        info = run.cameras[camera.name]
        assert sorted(frames) == list(range(info.frame_count))
        for i in (0, info.frame_count // 2, info.frame_count - 1):
            fm = frames[i]
            assert fm.time == pytest.approx(info.offset + i / info.fps, abs=1e-6)
            expected = renderer.render_ids(fm.time)
            assert np.array_equal(fm.label_map(), expected)
            masks = np.stack([decode_rle(o.rle) for o in fm.objects]) if fm.objects else np.zeros((1, 1, 1))
            assert masks.sum(axis=0).max() <= 1  # masks of different objects never overlap
            for obj in fm.objects:
                assert obj.area == int((expected == obj.object_id).sum()) and obj.score is None

"""Positions on the floor: robust fusion, the ball in 3-D, speed and distance, identity by geometry."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from multicam.cli import app
from multicam.court.camera import CameraModel
from multicam.court.identity import IdentityOptions, identity_moments
from multicam.court.positions import (
    Observation,
    PositionOptions,
    Step,
    compute_positions,
    fuse_floor,
    triangulate_robust,
)
from multicam.synth.cameras import make_cameras

CAMS = {
    c.name: CameraModel(c.name, c.resolution_wh, c.K, c.R, c.t)
    for c in make_cameras(("side", "end", "corner"), 960, (28.0, 15.0))
}


@pytest.mark.parametrize(
    ("estimates", "xy", "used", "dropped", "disagree"),
    [
        ({}, None, None, None, None),
        ({"a": (1.0, 2.0)}, (1.0, 2.0), ("a",), (), False),
        ({"a": (1.0, 2.0), "b": (1.4, 2.0)}, (1.2, 2.0), ("a", "b"), (), False),
        ({"a": (1.0, 2.0), "b": (4.0, 2.0)}, (2.5, 2.0), ("a", "b"), (), True),
        ({"a": (1.0, 2.0), "b": (1.2, 2.0), "c": (9.0, 9.0)}, (1.1, 2.0), ("a", "b"), ("c",), False),
        ({"a": (1.0, 2.0), "b": (1.2, 2.0), "c": (float("nan"), 9.0)}, (1.1, 2.0), ("a", "b"), (), False),
    ],
)
def test_fuse_floor(estimates, xy, used, dropped, disagree):
    f = fuse_floor(estimates, 1.0)
    if xy is None:
        assert f is None
        return
    assert f.xy == pytest.approx(xy) and f.used == used and f.dropped == dropped and f.disagree == disagree


def test_ball_triangulated_and_a_wrong_camera_dropped():
    p = np.array([[9.0, 6.0, 3.2]])
    px = {n: tuple(c.project(p)[0]) for n, c in CAMS.items()}
    xyz, used, dropped, err = triangulate_robust(CAMS, px, 5.0)
    assert xyz == pytest.approx(p[0], abs=1e-6) and dropped == () and err < 1e-6
    px["corner"] = (px["corner"][0] + 80, px["corner"][1])
    xyz, used, dropped, err = triangulate_robust(CAMS, px, 5.0)
    assert dropped == ("corner",) and xyz == pytest.approx(p[0], abs=1e-6)
    assert triangulate_robust(CAMS, {"side": px["side"]}, 5.0) is None


def _steps(track, ball, fps=25.0, frames=50, swap=None):
    """Steps where object 2 runs along ``track(t)`` and object 3 stands still; the ball flies along ``ball(t)``."""
    steps = []
    for k in range(frames):
        t = k / fps
        floor = {2: track(t), 3: np.array([20.0, 4.0])}
        obs = {}
        for name, cam in CAMS.items():
            by = {}
            for oid, xy in floor.items():
                u, v = cam.project(np.array([xy]))[0]
                by[oid] = Observation((u, v), (u, v - 20), (u - 5, v - 40, u + 5, v - 1))
            bu, bv = cam.project(ball(t)[None])[0]
            by[1] = Observation((bu, bv + 3), (bu, bv), (bu - 3, bv - 3, bu + 3, bv + 3))
            if swap and name == swap[0] and swap[1] <= k < swap[2]:
                by[2], by[3] = by[3], by[2]
            obs[name] = by
        steps.append(Step(t, {n: k for n in CAMS}, obs))
    return steps


def test_positions_speed_distance_and_ball_height():
    steps = _steps(lambda t: np.array([5.0 + 3.0 * t, 7.0]), lambda t: np.array([10.0, 5.0, 1.0 + t]))
    pos = compute_positions(CAMS, steps, {1: "ball", 2: "runner", 3: "statue"}, PositionOptions())
    runner = pos.track(2)
    assert len(runner) == 50
    assert [r.x_m for r in runner] == pytest.approx([5.0 + 3.0 * k / 25 for k in range(50)], abs=1e-3)
    assert runner[25].speed_mps == pytest.approx(3.0, rel=0.02)
    assert runner[-1].distance_m == pytest.approx(3.0 * 49 / 25, rel=0.05)
    assert pos.track(3)[-1].distance_m == pytest.approx(0.0, abs=1e-6)
    ball = pos.track(1)
    assert ball[10].z_m == pytest.approx(1.4, abs=1e-3) and ball[10].per_camera == {}
    assert set(runner[0].per_camera) == set(CAMS) and runner[0].spread_m < 1e-3


def test_identity_finds_an_injected_swap_and_nothing_else():
    steps = _steps(
        lambda t: np.array([19.0 + 0.0 * t, 9.0]), lambda t: np.array([10.0, 5.0, 1.0]), swap=("end", 10, 20)
    )
    from multicam.court.positions import floor_estimates

    est = [
        {c: {i: xy for i, xy in e.items() if i != 1} for c, e in floor_estimates(CAMS, s.observations).items()}
        for s in steps
    ]
    moments = identity_moments(est, "side", IdentityOptions())
    assert [(m.camera, m.kind, m.object_id, m.other_id, m.start_step, m.end_step) for m in moments] == [
        ("end", "swap", 2, 3, 10, 19)
    ]
    clean = [
        {c: {i: xy for i, xy in e.items() if i != 1} for c, e in floor_estimates(CAMS, s.observations).items()}
        for s in _steps(lambda t: np.array([19.0, 9.0]), lambda t: np.array([10.0, 5.0, 1.0]))
    ]
    assert identity_moments(clean, "side") == []


@pytest.mark.parametrize(
    ("cams", "min_steps", "expected"),
    [
        (("side", "end"), 1, [("end", "wrong_object", 2, 3)]),  # two cameras: the reference is never blamed
        (("side", "end", "corner"), 1, [("end", "wrong_object", 2, 3)]),
        (("side", "end", "corner"), 3, []),  # too short
        ((), 1, []),
    ],
)
def test_wrong_object_and_minimum_length(cams, min_steps, expected):
    est = []
    for _ in range(2):
        step = {c: {2: (5.0, 5.0), 3: (12.0, 5.0)} for c in cams}
        if "end" in step:
            step["end"] = {2: (12.1, 5.0)}  # end's mask of 2 is on 3
        est.append(step)
    moments = identity_moments(est, "side", IdentityOptions(min_steps=min_steps))
    assert [(m.camera, m.kind, m.object_id, m.other_id) for m in moments] == expected


def test_positions_cli_on_the_sample_game(tmp_path):
    from pathlib import Path

    gt = Path(__file__).resolve().parents[2] / "sample_data" / "demo_game" / "ground_truth"
    res = CliRunner().invoke(app, ["positions", str(gt), "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    truth = {}
    with (gt / "positions.csv").open() as fh:
        for r in csv.DictReader(fh):
            if r["camera"] == "side":
                truth[(int(r["frame"]), int(r["object_id"]))] = (float(r["x_m"]), float(r["y_m"]), float(r["z_m"]))
    errors, heights = [], []
    with (tmp_path / "positions.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert {"x_side", "y_corner", "speed_mps", "distance_m", "dropped"} <= set(rows[0])
    for r in rows:
        tx, ty, tz = truth[(int(r["step"]), int(r["object_id"]))]
        if r["name"] == "ball":
            heights.append(abs(float(r["z_m"]) - tz))
        else:
            errors.append(math.hypot(float(r["x_m"]) - tx, float(r["y_m"]) - ty))
    assert np.median(errors) < 0.15 and np.median(heights) < 0.1


def test_positions_cli_without_calibration_is_a_clear_error(tmp_path, make_run):
    run = make_run(tmp_path / "run", {"a": {0: np.zeros((8, 8), np.uint8)}})
    res = CliRunner().invoke(app, ["positions", str(run)])
    assert res.exit_code != 0 and "no calibration found" in str(res.exception)

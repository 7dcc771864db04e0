"""The scene: objects, players on the court with moving limbs, a ball that bounces."""

from __future__ import annotations

import numpy as np
import pytest

from multicam.synth.scene import BALL_RADIUS_M, Scene, body_parts

COURT = (28.0, 15.0)


@pytest.mark.parametrize("players_per_team", [0, 1, 3])
def test_objects_ids_names_and_teams(players_per_team):
    scene = Scene(0, players_per_team, COURT, 0.0, 2.0)
    expected = (
        [(1, "ball", None)]
        + [(1 + k, f"home {k}", "home") for k in range(1, players_per_team + 1)]
        + [(1 + players_per_team + k, f"away {k}", "away") for k in range(1, players_per_team + 1)]
    )
    assert [(o.object_id, o.name, o.team) for o in scene.objects] == expected


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_players_stay_on_the_court_and_move_smoothly(seed):
    scene = Scene(seed, 3, COURT, -1.0, 12.0)
    times = np.arange(-1.0, 12.0, 0.04)
    pos = np.stack([scene.player_state(t)[0] for t in times])
    assert (pos[..., 0] >= 0).all() and (pos[..., 0] <= COURT[0]).all()
    assert (pos[..., 1] >= 0).all() and (pos[..., 1] <= COURT[1]).all()
    speed = np.linalg.norm(np.diff(pos, axis=0), axis=-1) / 0.04
    assert speed.max() < 8.0
    assert (speed.max(axis=0) > 1.0).all()  # everybody runs at some point


def test_limbs_swing_when_running():
    scene = Scene(1, 3, COURT, 0.0, 6.0)
    times = np.arange(0.5, 5.5, 0.05)
    speed = np.stack([scene.player_state(t)[3] for t in times])
    player = int(np.argmax(speed.mean(axis=0)))
    index = player + 1
    rel = []
    for t in times:
        parts = body_parts(scene, t, only=index)
        root = np.array([*scene.player_state(t)[0][player], 0.0])
        rel.append(parts.b - root)  # limb ends relative to the body
    spread = np.ptp(np.stack(rel), axis=0).max()
    assert spread > 0.3  # hands and feet travel tens of centimetres relative to the hips


@pytest.mark.parametrize(("players_per_team", "seed"), [(0, 4), (2, 5), (3, 6)])
def test_ball_bounces_on_the_ground_and_stays_above_it(players_per_team, seed):
    scene = Scene(seed, players_per_team, COURT, 0.0, 10.0)
    times = np.arange(0.0, 10.0, 0.01)
    z = np.array([scene.ball_center(t)[2] for t in times])
    assert z.min() >= BALL_RADIUS_M - 1e-9 and z.max() < 6.0
    if players_per_team:
        assert len(scene.bounces) >= 8
    for event in scene.bounces:
        assert scene.ball_center(event.time)[2] == pytest.approx(BALL_RADIUS_M, abs=1e-6)
    centres = np.stack([scene.ball_center(t) for t in times])
    assert (np.linalg.norm(np.diff(centres, axis=0), axis=1) / 0.01).max() < 25.0  # no teleporting


def test_body_parts_only_keeps_one_object():
    scene = Scene(0, 2, COURT, 0.0, 1.0)
    every = body_parts(scene, 0.5)
    assert set(every.object_index.tolist()) == set(range(len(scene.objects)))
    for index in range(len(scene.objects)):
        alone = body_parts(scene, 0.5, only=index)
        assert set(alone.object_index.tolist()) == {index}
        assert len(alone.radius) == int((every.object_index == index).sum())

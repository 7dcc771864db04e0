"""A synthetic game (``multicam.synth``) through ``process_game``: the run matches its ground truth's shape."""

from __future__ import annotations

import pytest

from multicam.pipeline import ProcessOptions, process_game
from multicam.rundir import open_run

from .conftest import IMAGE_SIZE


@pytest.mark.sam2
def test_synthetic_game_runs_end_to_end(tmp_path):
    from multicam.synth import SynthConfig, generate_game

    game = generate_game(
        SynthConfig(seed=0, num_cameras=2, duration_s=0.3, width=160, players_per_team=1, audio=False),
        tmp_path / "game",
    )
    result = process_game(
        game,
        ProcessOptions(untrained=True, image_size=IMAGE_SIZE, device="cpu", runs_dir=tmp_path / "runs", progress=False),
    )
    run = open_run(result.run_dir)
    truth = open_run(game.parent / "ground_truth")
    assert run.is_complete and run.untrained
    assert run.objects == truth.objects  # ids, names and teams from the prompts
    assert {n: (c.resolution_wh, c.frame_count) for n, c in run.cameras.items()} == {
        n: (c.resolution_wh, c.frame_count) for n, c in truth.cameras.items()
    }
    for name, cam in run.cameras.items():
        frames = run.frames(name)
        assert sorted(frames) == list(range(cam.frame_count))
        assert all(fm.resolution_wh == cam.resolution_wh for fm in frames.values())
        assert {oid for fm in frames.values() for oid in fm.object_ids} <= set(truth.objects)
    assert result.frames == sum(c.frame_count for c in run.cameras.values())

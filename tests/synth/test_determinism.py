"""The same config gives the same game; another seed gives another."""

from __future__ import annotations

import json

import pytest

from multicam.clips import probe_clip
from multicam.errors import MulticamError
from multicam.prompts import load_prompts
from multicam.synth import SynthConfig, generate_game


def _small(seed: int, **kwargs) -> SynthConfig:
    return SynthConfig(seed=seed, num_cameras=2, width=128, duration_s=0.6, players_per_team=2, audio=False, **kwargs)


def _ground_truth(game):
    root = game.parent
    masks = {p.name: p.read_text() for p in sorted((root / "ground_truth" / "masks").iterdir())}
    return (
        masks,
        (root / "ground_truth" / "positions.csv").read_text(),
        json.loads((root / "calibration.json").read_text()),
        (root / "prompts.yaml").read_text(),
    )


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    return generate_game(_small(11), tmp_path_factory.mktemp("a") / "g")


def test_same_seed_same_ground_truth(first, tmp_path):
    again = generate_game(_small(11), tmp_path / "g")
    assert _ground_truth(again) == _ground_truth(first)


def test_another_seed_another_game(first, tmp_path):
    other = generate_game(_small(12), tmp_path / "g")
    masks_a, positions_a, _, _ = _ground_truth(first)
    masks_b, positions_b, _, _ = _ground_truth(other)
    assert positions_a != positions_b and masks_a != masks_b


def test_no_audio_gives_silent_clips(first):
    for clip in sorted((first.parent / "clips").iterdir()):
        assert not probe_clip(clip).has_audio


@pytest.mark.parametrize("players_per_team", [0, 1])
def test_small_teams_and_the_ball_alone(tmp_path, players_per_team):
    cfg = SynthConfig(
        seed=2,
        num_cameras=1,
        width=96,
        duration_s=0.4,
        players_per_team=players_per_team,
        noise_std=0.0,
        motion_blur=True,
    )
    game = generate_game(cfg, tmp_path / "g")
    prompts = load_prompts(game.parent / "prompts.yaml")
    assert {o.id for o in prompts.objects} <= set(range(1, 2 + 2 * players_per_team))
    assert 1 in {o.id for o in prompts.objects}


def test_an_existing_game_is_not_overwritten_by_accident(first):
    before = (first.parent / "calibration.json").read_text()
    with pytest.raises(MulticamError, match="--overwrite"):
        generate_game(_small(13), first.parent)
    assert (first.parent / "calibration.json").read_text() == before


def test_overwrite_replaces_the_game(tmp_path):
    game = generate_game(_small(14), tmp_path / "g")
    (game.parent / "notes.txt").write_text("mine")
    generate_game(_small(15), tmp_path / "g", overwrite=True)
    assert json.loads((game.parent / "ground_truth" / "manifest.json").read_text())["synth"]["seed"] == 15
    assert (game.parent / "notes.txt").read_text() == "mine"  # only the game's own files are replaced

"""A tiny synthetic game shared by the synth tests (generated once per session)."""

from __future__ import annotations

import pytest

from multicam.synth import SynthConfig, generate_game

TINY = SynthConfig(seed=3, width=320, duration_s=1.2, players_per_team=2)


@pytest.fixture(scope="session")
def tiny_game(tmp_path_factory):
    """``(config, path of game.yaml)`` of a 3-camera, 1.2 s, 320 px game with 2 players per team."""
    out = tmp_path_factory.mktemp("synth") / "tiny"
    return TINY, generate_game(TINY, out)

"""Fixtures of the batch tests: one local Ray for the whole session and tiny games at 64 px.

A game here is the engine tests' disc game cut to two cameras and seven frames, with its own name,
so that one game costs a few seconds with random weights at 64 px.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from engine.conftest import write_game
from ruamel.yaml import YAML

CAMERAS = (("side", 96, 64, 10, 4, 0.0), ("end", 80, 60, 10, 3, -0.1))
FRAMES = sum(c[4] for c in CAMERAS)
OPTIONS = ["--untrained", "--image-size", "64", "--device", "cpu", "--dtype", "float32", "--feature-cache", "off"]


def make_game(root: Path, name: str) -> Path:
    """A two-camera, seven-frame disc game named ``name`` under ``root``."""
    game = write_game(root, cameras=CAMERAS)
    yaml = YAML()
    data = yaml.load(game.read_text())
    data["name"] = name
    with game.open("w") as fh:
        yaml.dump(data, fh)
    return game


@pytest.fixture(scope="session")
def season_games(tmp_path_factory) -> Path:
    """A folder of three good games (game0..2) and two broken ones (bad prompts, missing clip)."""
    root = tmp_path_factory.mktemp("season")
    for i in range(3):
        make_game(root / "games" / f"g{i}", f"game{i}")
    bad = make_game(root / "games" / "bad_prompts", "bad_prompts")
    prompts = bad.parent / "prompts.yaml"
    prompts.write_text(prompts.read_text().replace("frame: 0", "frame: 99"))
    missing = make_game(root / "games" / "missing_clip", "missing_clip")
    (missing.parent / "clips" / "end.mp4").unlink()
    return root / "games"


@pytest.fixture
def one_game(tmp_path, season_games) -> Path:
    """A private copy of game0 (same clips, so the same masks) for tests that change or rerun it."""
    shutil.copytree(season_games / "g0", tmp_path / "g0", copy_function=shutil.copy2)
    return tmp_path / "g0" / "game.yaml"

"""The committed sample game still matches the generator (regenerated from its seed)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from multicam.masks import read_masks_jsonl
from multicam.rundir import open_run
from multicam.session import open_game
from multicam.synth import SynthConfig, generate_game

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "demo_game"


def _numbers_close(a, b):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_numbers_close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_numbers_close(x, y) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        return abs(a - b) <= 1e-6 * max(1.0, abs(a))
    return a == b


def test_sample_game_opens():
    opened = open_game(SAMPLE / "game.yaml")
    assert len(opened.camera_names) == 3 and len(opened.prompts.merged()) == 7
    frames = [p.frame for o in opened.prompts.merged() for p in o.prompts]
    assert frames.count(0) >= 4 and max(frames) > 0  # most on frame 0, at least one later
    assert sum(p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file()) < 8_000_000


@pytest.mark.slow
def test_sample_game_matches_the_generator(tmp_path):
    manifest = open_run(SAMPLE / "ground_truth").manifest
    cfg = SynthConfig(**manifest.synth)
    readme = (SAMPLE / "README.md").read_text()
    assert re.search(rf"multicam synth sample_data/demo_game --seed {cfg.seed}\b", readme)
    assert cfg == SynthConfig(seed=cfg.seed)  # the README's command: defaults plus the seed
    game = generate_game(cfg, tmp_path / "demo_game")
    for camera in open_run(SAMPLE / "ground_truth").cameras:
        committed = list(read_masks_jsonl(SAMPLE / "ground_truth" / "masks" / f"{camera}.jsonl"))
        fresh = list(read_masks_jsonl(game.parent / "ground_truth" / "masks" / f"{camera}.jsonl"))
        assert len(committed) == len(fresh)
        for a, b in zip(committed, fresh):
            assert (a.frame, a.object_ids, a.resolution_wh) == (b.frame, b.object_ids, b.resolution_wh)
            assert a.time == pytest.approx(b.time, abs=1e-6)
            assert [(o.rle, o.box_xyxy, o.area) for o in a.objects] == [(o.rle, o.box_xyxy, o.area) for o in b.objects]
    assert _numbers_close(
        json.loads((SAMPLE / "calibration.json").read_text()),
        json.loads((game.parent / "calibration.json").read_text()),
    )
    assert (SAMPLE / "prompts.yaml").read_text() == (game.parent / "prompts.yaml").read_text()
    assert (SAMPLE / "game.yaml").read_text() == (game.parent / "game.yaml").read_text()
    committed_pos = np.loadtxt(
        SAMPLE / "ground_truth" / "positions.csv", delimiter=",", skiprows=1, usecols=(1, 2, 3, 4, 5, 6)
    )
    fresh_pos = np.loadtxt(
        game.parent / "ground_truth" / "positions.csv", delimiter=",", skiprows=1, usecols=(1, 2, 3, 4, 5, 6)
    )
    assert np.allclose(committed_pos, fresh_pos, atol=2e-4)

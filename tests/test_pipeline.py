"""``multicam.pipeline``: config overrides and the checks made before any model is built."""

from __future__ import annotations

import socket
from dataclasses import replace
from pathlib import Path

import pytest

from multicam import models
from multicam.errors import GameFileError, ModelError, PromptError
from multicam.game import load_game
from multicam.pipeline import ProcessOptions, process_game, resolved_config


@pytest.mark.parametrize(
    "options, expected",
    [
        (ProcessOptions(), {}),
        (ProcessOptions(model="sam2_hiera_small"), {"model.name": "sam2_hiera_small"}),
        (
            ProcessOptions(device="cpu", image_size=512, layout="concat"),
            {"processing.device": "cpu", "processing.image_size": 512, "processing.layout": "concat"},
        ),
    ],
)
def test_resolved_config_applies_the_overrides(tiny_game, options, expected):
    config = load_game(tiny_game()).config
    out = resolved_config(config, options)
    got = out.model_dump()
    want = config.model_dump()
    for dotted, value in expected.items():
        section, key = dotted.split(".")
        want[section][key] = value
    assert got == want


@pytest.mark.parametrize(
    "options, message",
    [
        (ProcessOptions(image_size=500), "multiple of 32"),
        (ProcessOptions(layout="zigzag"), "layout"),
        (ProcessOptions(device="gpu"), "device"),
    ],
)
def test_bad_overrides_are_game_file_errors(tiny_game, options, message):
    with pytest.raises(GameFileError, match=message):
        resolved_config(load_game(tiny_game()).config, options)


def test_an_explicit_checkpoint_is_recorded_absolute(tiny_game, tmp_path):
    ckpt = tmp_path / "w.pt"
    out = resolved_config(load_game(tiny_game()).config, ProcessOptions(), checkpoint=ckpt)
    assert out.model.checkpoint == ckpt


def test_no_objects_is_a_prompt_error_before_any_model(tiny_game, tmp_path):
    game = tiny_game(prompts={"objects": []})
    with pytest.raises(PromptError, match="nothing to track"):
        process_game(game, ProcessOptions(untrained=True, runs_dir=tmp_path / "runs", progress=False))
    assert not (tmp_path / "runs").exists()


def test_missing_checkpoint_offline_points_to_untrained(tiny_game, tmp_path, monkeypatch):
    monkeypatch.setenv("MULTICAM_HOME", str(tmp_path / "home"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    spec = replace(models.REGISTRY["sam2.1_hiera_tiny"], url=f"http://127.0.0.1:{port}/sam2.1_hiera_tiny.pt")
    monkeypatch.setitem(models.REGISTRY, spec.name, spec)
    for download in (True, False):
        with pytest.raises(ModelError, match="--untrained") as err:
            process_game(tiny_game(), ProcessOptions(runs_dir=tmp_path / "runs", download=download, progress=False))
        assert str(Path(tmp_path / "home" / "models" / "sam2.1_hiera_tiny.pt")) in str(err.value)
    assert not (tmp_path / "runs").exists()
    assert not list((tmp_path / "home" / "models").glob(".*"))

"""Synchronizing a synthetic game (multicam.synth) whose true offsets are known."""

from __future__ import annotations

import json

import pytest

from multicam.clips import probe_clip
from multicam.game import load_game
from multicam.session import open_game
from multicam.sync import SyncError, SyncOptions, SyncResult, estimate_offsets

from .conftest import SYNTH_OFFSETS, remux

OVERLAPPING = ["end", "corner"]


@pytest.fixture(scope="module")
def synced(synth_game):
    game = load_game(synth_game)
    infos = {n: probe_clip(game.video_path(n)) for n in game.config.camera_names}
    return game, infos, estimate_offsets(game, infos, options=SyncOptions(), on_error="collect")


def test_the_fixture_matches_the_truth(synced, synth_game):
    truth = json.loads((synth_game.parent / "calibration.json").read_text())["true_offsets"]
    assert truth == pytest.approx(SYNTH_OFFSETS)
    _, infos, _ = synced
    assert len({round(i.fps) for i in infos.values()}) == 3  # 25, 30 and 24 fps


@pytest.mark.parametrize("camera", OVERLAPPING)
def test_audio_within_1ms(synced, camera):
    game, infos, results = synced
    result = results[camera]
    assert isinstance(result, SyncResult) and result.method == "audio"
    assert abs(result.offset - SYNTH_OFFSETS[camera]) < 1e-3
    assert result.confidence >= 0.5


def test_camera_after_the_reference_ends_is_refused(synced):
    _, _, results = synced
    error = results["end_far"]
    assert isinstance(error, SyncError)
    assert "camera 'end_far'" in str(error) and "overlap" in str(error)
    assert "confidence" in str(error)


def test_offset_auto_through_open_game(synth_game):
    """The game file says auto for the overlapping cameras; open_game resolves them."""
    text = synth_game.read_text()
    for cam in OVERLAPPING:
        text = text.replace(f"offset: {SYNTH_OFFSETS[cam]}", "offset: auto", 1)
    auto_game = synth_game.with_name("game_auto.yaml")  # next to the original: same relative paths
    auto_game.write_text(text)
    assert load_game(auto_game).config.camera("end").offset == "auto"
    opened = open_game(auto_game, require_overlap=False)  # end_far is placed past the reference on purpose
    assert set(opened.offsets_resolved) == set(OVERLAPPING)
    for cam in OVERLAPPING:
        assert abs(opened.timeline.camera(cam).offset - SYNTH_OFFSETS[cam]) < 1e-3
        assert opened.offsets_resolved[cam]["method"] == "audio"
    assert opened.timeline.camera("end_far").offset == SYNTH_OFFSETS["end_far"]  # a number: kept


def test_without_sound_the_pictures_answer_is_right_or_refused(synth_game, tmp_path):
    """Audio removed: the pictures alone, with the game's calibration. At this size (cameras 68 to
    80 px tall) the players are a few pixels tall: the floor occupancy is refused as too small
    (it was confidently 1 to 8 frames off) and the motion curves of tiny players do not
    correlate. A refusal that says why is fine, a confident wrong answer is not."""
    game = load_game(synth_game)
    infos = {}
    for name in game.config.camera_names:
        infos[name] = probe_clip(remux(game.video_path(name), tmp_path / f"{name}.mp4", audio="drop"))
    results = estimate_offsets(game, infos, options=SyncOptions(), on_error="collect")
    for name, result in results.items():
        if isinstance(result, SyncResult):
            assert abs(result.offset - SYNTH_OFFSETS[name]) < 1 / infos[name].fps, name
        else:
            assert f"camera '{name}'" in str(result) and "no audio track" in str(result)
            assert "too small to find feet" in str(result)


def test_silent_audio_is_named(synth_game, tmp_path):
    game = load_game(synth_game)
    infos = {n: probe_clip(game.video_path(n)) for n in game.config.camera_names}
    infos["end"] = probe_clip(remux(game.video_path("end"), tmp_path / "end.mp4", audio="silent"))
    with pytest.raises(SyncError, match="silent") as excinfo:
        estimate_offsets(game, infos, ["end"], SyncOptions(method="audio"))
    assert "camera 'end'" in str(excinfo.value)


def test_offset_auto_without_sound_opens_the_game(tmp_path):
    """A 320 px synthetic game made without audio, offsets set to auto: `multicam info` opens it,
    the cameras synchronized by their floor occupancy, within half a reference frame (on this
    seed about 0.05 and 0.15 frame; over the benchmark's games the median is about 0.35)."""
    import re

    from typer.testing import CliRunner

    from multicam.cli import app
    from multicam.synth import SynthConfig, generate_game

    cfg = SynthConfig(seed=3, num_cameras=3, duration_s=4.0, width=320, audio=False)
    path = generate_game(cfg, tmp_path / "mute")
    text = path.read_text()
    truth = dict(zip(cfg.camera_names, cfg.camera_offsets))
    path.write_text(re.sub(r"offset: (-?[0-9.]+)", lambda m: "offset: auto" if float(m[1]) else m[0], text))
    result = CliRunner().invoke(app, ["info", str(path)])
    assert result.exit_code == 0, result.output
    opened = open_game(path)
    for name in cfg.camera_names[1:]:
        resolved = opened.offsets_resolved[name]
        assert resolved["method"] == "geometry" and resolved["confidence"] >= 0.5
        assert abs(resolved["offset"] - truth[name]) * 25 < 0.5, name
        shift = next(n for n in resolved["notes"] if "apart on the floor" in n)  # the calibrations agree
        assert "calibrations disagree" not in shift

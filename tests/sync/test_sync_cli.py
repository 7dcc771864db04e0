"""``multicam sync`` through typer's CliRunner."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from multicam.cli import app
from multicam.game import load_game
from multicam.sync import SyncError

from .conftest import write_game

runner = CliRunner()
LOUD = -2.1234


@pytest.fixture
def game_path(tmp_path, sync_clips):
    def make(**cameras) -> str:
        clips = {
            "ref": (sync_clips("ref12", offset=0.0, duration=12.0, fps=25), 0.0),
            "loud": (sync_clips("loud", offset=LOUD, duration=6.0, fps=30, view=1, audio_rate=44100), "auto"),
            "mute": (sync_clips("vcam", offset=-2.0, duration=10.0, fps=30, view=1, audio=False), -1.95),
            "still": (sync_clips("still", offset=2.0, duration=3.0, static=True, silent=True), "auto"),
        }
        chosen = {"ref": clips["ref"]} | {
            n: (clips[n][0], off if off != "default" else clips[n][1]) for n, off in cameras.items()
        }
        return str(write_game(tmp_path / "game.yaml", chosen, "ref"))

    return make


def test_prints_offsets_and_compares_numbers_in_the_file(game_path):
    path = game_path(loud="default", mute="default")
    before = Path(path).read_text()
    result = runner.invoke(app, ["sync", path])
    assert result.exit_code == 0, result.output
    lines = {ln.split()[0]: ln for ln in result.output.splitlines() if ln.strip()}
    assert "reference camera: ref (25.000 fps)" in result.output
    loud = lines["loud"].split()
    assert abs(float(loud[1].rstrip("s")) - LOUD) < 1e-3
    assert float(loud[2]) == pytest.approx(float(loud[1].rstrip("s")) * 25, abs=0.01)  # reference frames
    assert loud[4] == "audio" and loud[5] == "auto"
    mute = lines["mute"]
    assert "visual" in mute and "-1.9500s" in mute and "differs by" in mute
    assert "no audio track" in result.output  # why the motion was used
    assert Path(path).read_text() == before  # nothing written without --write


def test_write_keeps_comments_and_stores_offsets(game_path):
    path = game_path(loud="default", mute="default")
    result = runner.invoke(app, ["sync", path, "--write"])
    assert result.exit_code == 0, result.output
    assert "wrote the offsets of loud, mute" in result.output
    text = Path(path).read_text()
    assert text.startswith("# my game\n") and "# the game's name" in text and "# end of file" in text
    assert text.count("# set by hand") == 3  # each offset line keeps its comment
    game = load_game(path)
    assert abs(game.config.camera("loud").offset - LOUD) < 1e-3
    assert abs(game.config.camera("mute").offset + 2.0) < 1 / 30


def test_failure_is_reported_and_others_still_written(game_path):
    path = game_path(loud="default", still="default")
    result = runner.invoke(app, ["sync", path, "--write"])
    assert isinstance(result.exception, SyncError)
    assert "camera 'still'" in str(result.exception) and "static" in str(result.exception)
    assert "(not synchronized)" in result.output and "left unchanged: still" in result.output
    game = load_game(path)
    assert game.config.camera("still").offset == "auto"
    assert abs(game.config.camera("loud").offset - LOUD) < 1e-3


@pytest.mark.parametrize(
    "args, expected_rows",
    [
        (["--camera", "loud"], {"loud"}),
        (["-c", "ref"], set()),
        (["--method", "visual", "-c", "mute"], {"mute"}),
        (["--max-offset", "3", "-c", "loud"], {"loud"}),
    ],
)
def test_options(game_path, args, expected_rows):
    path = game_path(loud="default", mute="default")
    result = runner.invoke(app, ["sync", path, *args])
    assert result.exit_code == 0, result.output
    rows = {ln.split()[0] for ln in result.output.splitlines() if ln.startswith(("loud", "mute"))}
    assert rows == expected_rows
    if "--method" in args:
        assert " visual " in result.output


def test_bad_options_and_unknown_camera(game_path):
    path = game_path(loud="default")
    assert runner.invoke(app, ["sync", path, "--method", "smell"]).exit_code == 2
    assert runner.invoke(app, ["sync", path, "--max-offset", "-1"]).exit_code == 2
    result = runner.invoke(app, ["sync", path, "-c", "nope"])
    assert "unknown camera 'nope'" in str(result.exception)


def test_main_prints_one_clear_error_and_exits_2(game_path, capsys, monkeypatch):
    from multicam.cli import main

    monkeypatch.setattr(sys, "argv", ["multicam", "sync", game_path(still="default")])
    with pytest.raises(SystemExit) as excinfo:
        main()
    assert excinfo.value.code == 2
    err = capsys.readouterr().err
    assert "camera 'still'" in err and "Traceback" not in err

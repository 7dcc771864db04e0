"""``multicam sync`` through typer's CliRunner."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from multicam.cli import app
from multicam.errors import GameFileError, MulticamError, RunDirError
from multicam.game import load_game
from multicam.sync import SyncError

from .conftest import MASKS_OFFSETS, write_game

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


# -- --from RUN: offsets refined from a run's masks (the synthetic game's ground truth as the run) ----
def set_offset(folder: Path, camera: str, offset: float, *, in_game: bool = True, in_run: bool = False) -> None:
    """Write ``offset`` for ``camera`` into the game file and/or the ground truth's manifest."""
    if in_game:
        path = folder / "game.yaml"
        text = path.read_text()
        pattern = rf"(- name: {camera}\n  video: \S+\n  offset: )\S+"
        assert re.search(pattern, text), text
        path.write_text(re.sub(pattern, rf"\g<1>{offset}", text))
    if in_run:
        edit_manifest(folder, lambda m: [c.update(offset=offset) for c in m["cameras"] if c["name"] == camera])


def edit_manifest(folder: Path, change) -> None:
    path = folder / "ground_truth" / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


@pytest.fixture
def masks_copy(tmp_path, masks_game) -> Path:
    return Path(shutil.copytree(masks_game, tmp_path / "game"))


@pytest.mark.parametrize("in_run", [False, True], ids=["game-file-off", "run-made-with-it"])
def test_from_run_puts_a_wrong_offset_right(masks_copy, in_run):
    """'end' is 0.3 s off in the game file (and in the run when it was made with it): --from finds it."""
    truth = MASKS_OFFSETS["end"]
    set_offset(masks_copy, "end", truth + 0.3, in_run=in_run)
    game, gt = str(masks_copy / "game.yaml"), str(masks_copy / "ground_truth")
    result = runner.invoke(app, ["sync", game, "--from", gt, "--write"])
    assert result.exit_code == 0, result.output
    assert f"reference camera: side (25.000 fps)   method: geometry (masks of {gt})" in result.output
    rows = {ln.split()[0]: ln.split() for ln in result.output.splitlines() if ln.startswith(("end ", "corner "))}
    assert set(rows) == {"end", "corner"}
    assert abs(float(rows["end"][1].rstrip("s")) - truth) * 25 < 1.0
    assert rows["end"][4] == "geometry" and rows["end"][5] == f"{truth + 0.3:+.4f}s"
    assert "differs by -3" in " ".join(rows["end"])  # about -300 ms
    assert "wrote the offsets of end, corner" in result.output
    written = load_game(game).config
    assert abs(written.camera("end").offset - truth) * 25 < 1.0
    assert abs(written.camera("corner").offset - MASKS_OFFSETS["corner"]) * 25 < 1.0


def test_from_run_camera_without_calibration_is_not_synchronized(masks_copy):
    cal = masks_copy / "calibration.json"
    data = json.loads(cal.read_text())
    del data["cameras"]["corner"]
    cal.write_text(json.dumps(data))
    game = str(masks_copy / "game.yaml")
    result = runner.invoke(app, ["sync", game, "--from", str(masks_copy / "ground_truth"), "--write"])
    assert isinstance(result.exception, SyncError)
    assert str(result.exception).startswith("camera 'corner': not in the game's calibration")
    corner = next(ln for ln in result.output.splitlines() if ln.startswith("corner "))
    assert corner.endswith("(not synchronized)")
    assert "wrote the offsets of end" in result.output and "left unchanged: corner" in result.output


def _drop_calibration_line(folder: Path) -> None:
    path = folder / "game.yaml"
    path.write_text(re.sub(r"\ncalibration: \S+", "", path.read_text()))


@pytest.mark.parametrize(
    "run, change, error, message",
    [
        ("clips", None, RunDirError, "is not a run directory (no manifest.json)"),
        ("nowhere", None, RunDirError, "run directory not found"),
        (
            "ground_truth",
            lambda f: edit_manifest(f, lambda m: m["game"].update(name="other")),
            RunDirError,
            "a run of the game 'other', not of 'game'",
        ),
        (
            "ground_truth",
            lambda f: edit_manifest(f, lambda m: m.update(status="interrupted")),
            RunDirError,
            "the run is interrupted, not complete",
        ),
        (
            "ground_truth",
            lambda f: edit_manifest(f, lambda m: m.update(cameras=m["cameras"][1:])),
            RunDirError,
            "the run has no masks of the reference camera 'side'",
        ),
        (
            "ground_truth",
            lambda f: (f / "calibration.json").unlink(),
            GameFileError,
            "calibration: file not found",
        ),
        ("ground_truth", _drop_calibration_line, SyncError, "names no calibration file"),
    ],
    ids=["not-a-run", "missing", "another-game", "incomplete", "no-reference", "no-calibration-file", "no-calibration"],
)
def test_from_run_bad_cases(masks_copy, run, change, error, message, monkeypatch, capsys):
    from multicam.cli import main

    if change is not None:
        change(masks_copy)
    game = str(masks_copy / "game.yaml")
    before = Path(game).read_text()
    result = runner.invoke(app, ["sync", game, "--from", str(masks_copy / run), "--write"])
    assert type(result.exception) is error and message in str(result.exception), result.output
    assert Path(game).read_text() == before
    monkeypatch.setattr(sys, "argv", ["multicam", "sync", game, "--from", str(masks_copy / run)])
    with pytest.raises(SystemExit) as excinfo:
        main()
    err = capsys.readouterr().err
    assert excinfo.value.code == 2 and err.count("\n") == 1 and message in err


def test_from_run_refuses_method(masks_copy):
    game, gt = str(masks_copy / "game.yaml"), str(masks_copy / "ground_truth")
    result = runner.invoke(app, ["sync", game, "--from", gt, "--method", "audio"])
    assert result.exit_code == 2 and "leave out --method" in result.output
    assert not isinstance(result.exception, MulticamError)

"""``multicam synth`` through the CLI."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from multicam.cli import app
from multicam.clips import probe_clip
from multicam.errors import MulticamError

runner = CliRunner()
TINY = ["--cameras", "2", "--duration", "0.4", "--width", "96", "--players-per-team", "1", "--seed", "4"]


def test_synth_writes_a_game_and_a_preview(tmp_path):
    out = tmp_path / "game"
    result = runner.invoke(
        app,
        [
            "synth",
            str(out),
            *TINY,
            "--fps",
            "24,30",
            "--offsets",
            "0,-1.5",
            "--no-audio",
            "--preview",
            str(tmp_path / "preview.png"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"wrote {out / 'game.yaml'}" in result.output
    calib = json.loads((out / "calibration.json").read_text())
    assert calib["true_offsets"] == {"side": 0.0, "end": -1.5}
    assert probe_clip(out / "clips" / "side.mp4").fps == pytest.approx(24.0)
    assert not probe_clip(out / "clips" / "end.mp4").has_audio
    assert (tmp_path / "preview.png").stat().st_size > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--offsets", "0,x"], "comma-separated numbers"),
        (["--offsets", "0.2,0"], "must be 0"),
        (["--cameras", "9"], "cameras"),
        (["--fps", "25,30,25"], "1 or 2 values"),
    ],
)
def test_bad_options_are_clear_errors(tmp_path, args, message):
    result = runner.invoke(app, ["synth", str(tmp_path / "g"), *TINY, *args])
    assert result.exit_code != 0
    assert isinstance(result.exception, MulticamError)
    assert message in str(result.exception)
    assert not (tmp_path / "g" / "game.yaml").exists()


def test_existing_game_needs_overwrite(tmp_path):
    out = tmp_path / "game"
    assert runner.invoke(app, ["synth", str(out), *TINY, "--no-audio"]).exit_code == 0
    again = runner.invoke(app, ["synth", str(out), *TINY, "--no-audio"])
    assert isinstance(again.exception, MulticamError) and "--overwrite" in str(again.exception)
    assert runner.invoke(app, ["synth", str(out), *TINY, "--no-audio", "--overwrite"]).exit_code == 0

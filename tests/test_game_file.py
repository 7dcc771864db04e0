"""Game files: valid ones load; every mistake is a clear error naming the field (and no traceback)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from multicam.cli import app
from multicam.errors import ClipError, GameFileError, PromptError
from multicam.game import load_game
from multicam.session import open_game

runner = CliRunner()


def test_valid_game_loads_and_resolves_paths(tiny_game):
    path = tiny_game()
    game = load_game(path)
    assert game.config.camera_names == ("a", "b")
    assert game.video_path("b") == (path.parent / "clips" / "b.mp4").resolve()
    assert game.config.processing.layout == "interleave"
    opened = open_game(path)
    assert opened.clips["a"].resolution_wh == (64, 48)
    assert opened.clips["b"].frame_count == 12
    assert opened.timeline.camera("b").offset == pytest.approx(-0.1)
    assert [o.name for o in opened.prompts.merged()] == ["square"]


@pytest.mark.parametrize(
    ("overrides", "error", "needle"),
    [
        ({"reference": "nope"}, GameFileError, "reference: camera 'nope' is not one of the cameras"),
        ({"cameras": []}, GameFileError, "cameras"),
        (
            {"cameras": [{"name": "a", "video": "clips/a.mp4"}, {"name": "a", "video": "clips/b.mp4"}]},
            GameFileError,
            "duplicate camera name",
        ),
        ({"cameras": [{"name": "a", "video": "clips/missing.mp4"}]}, GameFileError, "cameras.0.video"),
        ({"cameras": [{"name": "a", "video": "clips/a.mp4", "offest": 1.0}]}, GameFileError, "offest: unknown field"),
        ({"cameras": [{"name": "a", "video": "clips/a.mp4", "offset": 0.5}]}, GameFileError, "must have offset 0"),
        ({"processing": {"image_size": 500}}, GameFileError, "multiple of 32"),
        ({"processing": {"layout": "zigzag"}}, GameFileError, "processing.layout"),
        ({"processing": {"device": "tpu"}}, GameFileError, "processing.device"),
        ({"prompts": "missing.yaml"}, GameFileError, "prompts: file not found"),
        ({"model": {"checkpoint": "nothing.pt"}}, GameFileError, "model.checkpoint: file not found"),
        ({"name": "has space"}, GameFileError, "name"),
        ({"reference": None}, GameFileError, "reference"),
    ],
)
def test_bad_game_files(tiny_game, overrides, error, needle):
    with pytest.raises(error) as excinfo:
        open_game(tiny_game(overrides))
    assert needle in str(excinfo.value)


@pytest.mark.parametrize(
    ("prompts", "needle"),
    [
        (
            {"objects": [{"id": 1, "name": "x", "prompts": [{"frame": 99, "positive": [[1, 1]]}]}]},
            "frame 99 does not exist; camera 'a' has frames 0..9",
        ),
        ({"objects": [{"id": 1, "name": "x", "prompts": [{"frame": 0, "positive": [[64, 1]]}]}]}, "outside camera 'a'"),
        (
            {"objects": [{"id": 1, "name": "x", "prompts": [{"frame": 0, "box_xyxy": [0, 0, 70, 10]}]}]},
            "reaches outside",
        ),
        (
            {"objects": [{"id": 1, "name": "x", "prompts": [{"frame": 0, "camera": "z", "positive": [[1, 1]]}]}]},
            "unknown camera 'z'",
        ),
        ({"objects": [{"id": 1, "name": "x", "prompts": [{"frame": 0}]}]}, "needs at least one positive point"),
        (
            {"objects": [{"id": 1, "name": "x", "prompts": [{"frame": 0, "time": 0.0, "positive": [[1, 1]]}]}]},
            "exactly one of 'frame'",
        ),
        ({"objects": [{"id": 1, "name": "x", "prompts": []}]}, "prompts"),
        (
            {
                "objects": [
                    {"id": 1, "name": "x", "prompts": [{"frame": 0, "positive": [[1, 1]]}]},
                    {"id": 1, "name": "y", "prompts": [{"frame": 0, "positive": [[2, 2]]}]},
                ]
            },
            "object id 1 is used for both 'x' and 'y'",
        ),
        ({"objects": [{"id": 0, "name": "x", "prompts": [{"frame": 0, "positive": [[1, 1]]}]}]}, "objects.0.id"),
    ],
)
def test_bad_prompts(tiny_game, prompts, needle):
    with pytest.raises(PromptError) as excinfo:
        open_game(tiny_game(prompts=prompts))
    assert needle in str(excinfo.value)


def test_empty_prompts_file_is_no_objects(tiny_game):
    opened = open_game(tiny_game(prompts={"objects": []}))
    assert opened.prompts.merged() == ()


def test_unreadable_video_names_the_camera(tiny_game):
    path = tiny_game()
    (path.parent / "clips" / "b.mp4").write_bytes(b"this is not a video")
    with pytest.raises(ClipError, match="camera 'b'"):
        open_game(path)


def test_not_yaml(tmp_path):
    bad = tmp_path / "game.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(GameFileError, match="not valid YAML"):
        load_game(bad)


def test_info_cli_prints_cameras(tiny_game):
    result = runner.invoke(app, ["info", str(tiny_game())])
    assert result.exit_code == 0, result.output
    assert "64x48" in result.output and "80x60" in result.output
    assert "-0.100s" in result.output
    assert "1 square" in result.output


def test_info_cli_error_is_one_clear_line_without_traceback(tiny_game, capsys):
    import sys

    from multicam.cli import main

    path = tiny_game({"reference": "nope"})
    argv = sys.argv
    sys.argv = ["multicam", "info", str(path)]
    try:
        with pytest.raises(SystemExit) as excinfo:
            main()
    finally:
        sys.argv = argv
    assert excinfo.value.code == 2
    err = capsys.readouterr().err
    assert "reference: camera 'nope'" in err
    assert "Traceback" not in err

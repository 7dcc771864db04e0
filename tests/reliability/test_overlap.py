"""Each camera's overlap with the reference in game time: shown by `info` and `process`, none is an error."""

from __future__ import annotations

import pytest

from multicam.errors import GameFileError
from multicam.session import check_overlap, describe_overlap, partial_overlaps
from multicam.timeline import CameraTiming, Timeline


def timeline(offset: float) -> Timeline:
    # reference a: 0.00-0.40 s (10 frames at 25 fps); b: 12 frames at 30 fps = 0.40 s from `offset`
    return Timeline(cameras=(CameraTiming("a", 25, 10, 0.0), CameraTiming("b", 30, 12, offset)), reference="a")


@pytest.mark.parametrize(
    "offset, overlap, text",
    [
        (0.0, (0.0, 0.4), "0.00s to 0.40s (100% of the clip)"),
        (-0.1, (0.0, 0.3), "0.00s to 0.30s (75% of the clip)"),
        (0.3, (0.3, 0.4), "0.30s to 0.40s (25% of the clip)"),
        (0.4, None, "none"),  # ends exactly where the other starts
        (500.0, None, "none"),
        (-500.0, None, "none"),
    ],
)
def test_overlap_in_game_time(offset, overlap, text):
    tl = timeline(offset)
    got = tl.overlap("b")
    assert (got is None) == (overlap is None)
    if overlap is not None:
        assert got == pytest.approx(overlap)
    assert describe_overlap(tl, "b") == text and describe_overlap(tl, "a") == "reference"
    assert bool(partial_overlaps(tl)) == (overlap is not None and offset != 0.0)


def test_no_overlap_names_the_camera_and_both_ranges():
    with pytest.raises(GameFileError) as exc:
        check_overlap(timeline(500.0), "game.yaml")
    message = str(exc.value)
    assert "camera 'b' covers game time 500.00s to 500.40s" in message
    assert "reference 'a' 0.00s to 0.40s" in message and "never overlap" in message


def test_info_shows_each_cameras_overlap(tiny_game, cli):
    outcome = cli(
        "info",
        tiny_game(
            {"cameras": [{"name": "a", "video": "clips/a.mp4"}, {"name": "b", "video": "clips/b.mp4", "offset": 0.3}]}
        ),
    )
    assert outcome.code == 0, outcome.text
    assert "overlap with the reference" in outcome.out
    assert "0.30s to 0.40s (25% of the clip)" in outcome.out and "reference" in outcome.out


def test_process_shows_a_partial_overlap_before_it_starts(tiny_game, cli, monkeypatch, tmp_path):
    seen = []

    def fake_process(opened, options):
        seen.append(opened)
        raise GameFileError("stopped here")  # the note must come before any work

    monkeypatch.setattr("multicam.pipeline.process_game", fake_process)
    outcome = cli("process", tiny_game(), "--untrained", "--runs-dir", tmp_path / "runs")
    assert seen and outcome.code == 2
    assert "note: camera 'b' overlaps the reference 'a' only from 0.00s to 0.30s (75% of the clip)" in outcome.err

"""Writing offsets back into a game file: only the offsets change, comments and order stay."""

from __future__ import annotations

import pytest

from multicam.errors import GameFileError
from multicam.game import load_game
from multicam.sync import write_offsets

GAME = """\
# Saturday's game, filmed from three sides
name: saturday   # runs go to runs/saturday/
reference: side
cameras:
  - name: side          # the main camera
    video: clips/side.mp4
    offset: 0.0
  - name: end
    video: clips/end.mp4
    offset: auto        # estimated by multicam sync
  - name: corner
    video: "clips/corner.mp4"
model:
  name: sam2.1_hiera_tiny
# the end
"""


@pytest.fixture
def game_file(tmp_path):
    clips = tmp_path / "clips"
    clips.mkdir()
    for name in ("side", "end", "corner"):
        (clips / f"{name}.mp4").write_bytes(b"")
    path = tmp_path / "game.yaml"
    path.write_text(GAME, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "offsets, expected_lines",
    [
        ({}, []),
        ({"end": -0.34712}, ["    offset: -0.3471     # estimated by multicam sync"]),  # the comment keeps its column
        ({"end": 1e-6}, ["    offset: 0.0         # estimated by multicam sync"]),
        ({"end": -1e-6}, ["    offset: 0.0         # estimated by multicam sync"]),  # never "-0.0"
        ({"corner": 2.5}, ['    video: "clips/corner.mp4"', "    offset: 2.5"]),
    ],
)
def test_only_offsets_change(game_file, offsets, expected_lines):
    write_offsets(game_file, offsets)
    text = game_file.read_text(encoding="utf-8")
    for line in expected_lines:
        assert line in text.splitlines()
    original = [ln for ln in GAME.splitlines() if not ln.strip().startswith("offset:") or "0.0" in ln]
    kept = [ln for ln in text.splitlines()]
    for line in original:  # every other line (comments, quotes, order) is unchanged
        assert line in kept
    order = [ln.strip() for ln in kept if ln.strip().startswith("- name:")]
    assert order == ["- name: side          # the main camera", "- name: end", "- name: corner"]
    game = load_game(game_file)
    for name, value in offsets.items():
        assert game.config.camera(name).offset == pytest.approx(round(value, 4))
    if "end" not in offsets:
        assert game.config.camera("end").offset == "auto"


def test_unknown_camera_or_not_a_game_file(game_file, tmp_path):
    before = game_file.read_text(encoding="utf-8")
    with pytest.raises(GameFileError, match="'nope'"):
        write_offsets(game_file, {"nope": 1.0})
    assert game_file.read_text(encoding="utf-8") == before  # nothing written
    bad = tmp_path / "list.yaml"
    bad.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(GameFileError, match="cameras"):
        write_offsets(bad, {"end": 1.0})
    with pytest.raises(GameFileError, match="cannot read"):
        write_offsets(tmp_path / "missing.yaml", {"end": 1.0})

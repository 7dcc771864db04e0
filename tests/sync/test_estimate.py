"""Combining the methods: audio first, motion as the fallback, refusals that name the camera and why."""

from __future__ import annotations

import json

import numpy as np
import pytest

from multicam.clips import probe_clip
from multicam.errors import MulticamError
from multicam.game import load_game
from multicam.session import open_game
from multicam.sync import SyncError, SyncOptions, SyncResult, estimate_offsets, resolve_auto_offsets

from .conftest import write_game

LOUD = -2.1234  # offset of the camera with sound


@pytest.fixture(scope="module")
def clip_set(sync_clips):
    """ref (sound + motion); loud (sound); mute (no audio track); hush (silent track); still (silent + static)."""
    return {
        "ref": sync_clips("ref12", offset=0.0, duration=12.0, fps=25),
        "loud": sync_clips("loud", offset=LOUD, duration=6.0, fps=30, view=1, audio_rate=44100),
        "mute": sync_clips("vcam", offset=-2.0, duration=10.0, fps=30, view=1, audio=False),
        "hush": sync_clips("hush", offset=-2.0, duration=10.0, fps=30, view=1, silent=True),
        "still": sync_clips("still", offset=2.0, duration=3.0, static=True, silent=True),
        "other": sync_clips("other", offset=-2.0, duration=10.0, fps=30, view=1, sound_from=25.0),
    }


def game_of(tmp_path, clip_set, names, offset="auto"):
    cams = {"ref": (clip_set["ref"], 0.0)} | {n: (clip_set[n], offset) for n in names}
    return load_game(write_game(tmp_path / "game.yaml", cams, "ref"))


def infos_of(game):
    return {n: probe_clip(game.video_path(n)) for n in game.config.camera_names}


def test_audio_first_then_motion_for_clips_without_usable_sound(tmp_path, clip_set):
    game = game_of(tmp_path, clip_set, ["loud", "mute", "hush", "still"])
    results = estimate_offsets(game, infos_of(game), on_error="collect")
    assert list(results) == ["loud", "mute", "hush", "still"]
    loud, mute, hush, still = results.values()
    assert isinstance(loud, SyncResult) and loud.method == "audio"
    assert abs(loud.offset - LOUD) < 1e-3
    assert loud.offset_frames == pytest.approx(loud.offset * 25)
    assert mute.method == "visual" and abs(mute.offset + 2.0) < 1 / 30
    assert any("no audio track" in n for n in mute.notes)
    assert hush.method == "visual" and abs(hush.offset + 2.0) < 1 / 30
    assert any("silent" in n for n in hush.notes)
    assert isinstance(still, SyncError)
    message = str(still)
    assert "camera 'still'" in message and "silent" in message and "static" in message
    assert "offset in seconds" in message  # says what to do instead


def test_raise_lists_every_failing_camera(tmp_path, clip_set):
    game = game_of(tmp_path, clip_set, ["loud", "still"])
    with pytest.raises(SyncError, match="camera 'still'") as excinfo:
        estimate_offsets(game, infos_of(game))
    assert isinstance(excinfo.value, MulticamError) and "'loud'" not in str(excinfo.value)
    assert "multicam calibrate" in str(excinfo.value)  # these cameras have no calibration: say what it would give


def test_a_visual_match_that_the_sound_contradicts_is_refused_unless_asked_for(tmp_path, clip_set):
    """The sound is from another moment: auto refuses; --method visual takes the motion's answer."""
    game = game_of(tmp_path, clip_set, ["other"])
    with pytest.raises(SyncError, match="contradicts"):
        estimate_offsets(game, infos_of(game))
    forced = estimate_offsets(game, infos_of(game), options=SyncOptions(method="visual"))["other"]
    assert forced.method == "visual" and abs(forced.offset + 2.0) < 1 / 30


@pytest.mark.parametrize(
    "method, camera, match",
    [
        ("audio", "mute", "no audio track"),
        ("audio", "hush", "silent"),
        ("visual", "still", "static"),
    ],
)
def test_forced_method_failures(tmp_path, clip_set, method, camera, match):
    game = game_of(tmp_path, clip_set, [camera])
    with pytest.raises(SyncError, match=match):
        estimate_offsets(game, infos_of(game), options=SyncOptions(method=method))


def test_cameras_argument_skips_the_reference_and_checks_names(tmp_path, clip_set):
    game = game_of(tmp_path, clip_set, ["loud"])
    infos = infos_of(game)
    assert estimate_offsets(game, infos, ["ref"]) == {}
    with pytest.raises(MulticamError, match="unknown camera 'nope'"):
        estimate_offsets(game, infos, ["nope"])


def test_resolve_auto_offsets_contract(tmp_path, clip_set):
    game = game_of(tmp_path, clip_set, ["loud", "mute"])
    resolved = resolve_auto_offsets(game, infos_of(game), ["loud", "mute"])
    assert set(resolved) == {"loud", "mute"}
    assert resolved["loud"]["method"] == "audio" and resolved["mute"]["method"] == "visual"
    for entry in resolved.values():
        assert 0 <= entry["confidence"] <= 1 and isinstance(entry["offset"], float)
    json.dumps(resolved)  # goes into the run manifest


def test_open_game_resolves_offset_auto(tmp_path, clip_set):
    cams = {"ref": (clip_set["ref"], "auto"), "loud": (clip_set["loud"], "auto"), "mute": (clip_set["mute"], -2.0)}
    opened = open_game(write_game(tmp_path / "game.yaml", cams, "ref"))
    assert set(opened.offsets_resolved) == {"loud"}
    assert abs(opened.timeline.camera("loud").offset - LOUD) < 1e-3
    assert opened.timeline.camera("mute").offset == -2.0
    assert opened.timeline.camera("ref").offset == 0.0


def test_open_game_names_the_camera_it_cannot_synchronize(tmp_path, clip_set):
    cams = {"ref": (clip_set["ref"], 0.0), "still": (clip_set["still"], "auto")}
    with pytest.raises(SyncError, match="camera 'still'"):
        open_game(write_game(tmp_path / "game.yaml", cams, "ref"))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"method": "sound"}, "method"),
        ({"max_offset": 0.0}, "max_offset"),
        ({"max_offset": -1.0}, "max_offset"),
        ({"min_confidence": 1.5}, "min_confidence"),
    ],
)
def test_sync_options_are_checked(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SyncOptions(**kwargs)


@pytest.mark.parametrize(
    "shift, words, warned",
    [
        ((0.0, 0.0), "0.00 m apart", False),
        ((0.12, -0.05), "0.13 m apart", False),
        ((0.4, 0.4), "0.57 m apart", True),  # more than a foot or a shadow explains
    ],
)
def test_floor_shift_note(shift, words, warned):
    from multicam.sync.estimate import floor_shift_note

    note = floor_shift_note(np.array(shift))
    assert words in note and ("calibrations disagree" in note) == warned


@pytest.mark.parametrize(
    "resolution_wh, expected",
    [
        ((1920, 1080), 180),  # analysed at 320 px wide
        ((320, 180), 180),
        ((1080, 1920), 569),  # portrait
        ((90, 160), 160),  # narrower than 320: as it is
        ((160, 80), 80),  # under MIN_GEOMETRY_HEIGHT: refused by the geometry method
        ((0, 0), 0),
    ],
)
def test_analysed_height(resolution_wh, expected, tmp_path):
    from multicam.clips import ClipInfo
    from multicam.sync.estimate import analysed_height

    info = ClipInfo(
        path=tmp_path / "a.mp4",
        resolution_wh=resolution_wh,
        fps=25.0,
        frame_count=10,
        has_audio=False,
        audio_sample_rate=0,
    )
    assert analysed_height(info) == expected


def _answer(method: str, offset: float, confidence: float):
    from multicam.sync import MethodEstimate

    return MethodEstimate(method, offset, confidence, 0.5, 0.1, 5.0, 3.0, 0.002)


@pytest.mark.parametrize(
    "answers, expected",
    [
        # calibrated cameras without sound: the floor occupancy first
        ({"geometry": (0.40, 0.9), "visual": (2.0, 1.0)}, ("geometry", 0.40)),
        # the floor measured but unsure: a confident motion answer must agree with its best guess
        ({"geometry": (0.40, 0.3), "visual": (0.41, 0.9)}, ("visual+geometry", 0.40)),
        ({"geometry": (0.40, 0.3), "visual": (2.0, 1.0)}, "the floor positions contradict"),
        # the floor could not be measured at all: the motion decides alone
        ({"geometry": SyncError("too small to find feet"), "visual": (2.0, 0.9)}, ("visual", 2.0)),
        ({"geometry": (0.40, 0.3), "visual": (2.0, 0.2)}, "no reliable match"),
    ],
)
def test_auto_without_sound_combines_floor_and_motion(answers, expected, monkeypatch, tmp_path):
    from multicam.clips import ClipInfo
    from multicam.sync import estimate as est_mod
    from multicam.sync.estimate import ClipSignals, estimate_offset

    def run_method(method, cam, ref, options, notes):
        value = answers.get(method, SyncError("the reference clip has no audio track"))
        if isinstance(value, SyncError):
            raise value
        return _answer(method, *value)

    monkeypatch.setattr(est_mod, "_run_method", run_method)
    info = ClipInfo(path=tmp_path / "a.mp4", resolution_wh=(320, 180), fps=25.0, frame_count=100, has_audio=False)
    sig = ClipSignals(info, SyncOptions(), homography=np.eye(3))
    if isinstance(expected, str):
        with pytest.raises(SyncError, match=expected) as excinfo:
            estimate_offset("cam", sig, "ref", sig)
        assert "camera 'cam'" in str(excinfo.value) and "multicam calibrate" not in str(excinfo.value)
    else:
        result = estimate_offset("cam", sig, "ref", sig)
        assert (result.method, result.offset) == (expected[0], pytest.approx(expected[1]))
        used = "visual" if expected[0] == "visual" else "geometry"  # visual+geometry keeps the floor's estimate
        assert result.used is not None and result.used.method == used

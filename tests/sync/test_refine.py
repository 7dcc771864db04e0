"""Offsets refined from a run's masks: the ground truth of a calibrated synthetic game as the run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from multicam.rundir import open_run
from multicam.sync import CameraMasks, SyncError, SyncResult, offsets_from_run

from .conftest import MASKS_OFFSETS

REF_FPS = 25.0


def run_cameras(folder: Path, shifts: dict[str, float] | None = None, **overrides) -> dict[str, CameraMasks]:
    """The ground truth's cameras, their run offsets moved by ``shifts``; ``overrides``: fields per camera."""
    run = open_run(folder / "ground_truth")
    cal = json.loads((folder / "calibration.json").read_text())["cameras"]
    out = {}
    for name, info in run.cameras.items():
        fields = {
            "frames": run.iter_frames(name),
            "fps": info.fps,
            "offset": info.offset + (shifts or {}).get(name, 0.0),
            "homography": np.asarray(cal[name]["H_image_to_ground"]),
        }
        out[name] = CameraMasks(**(fields | overrides.get(name, {})))
    return out


@pytest.mark.parametrize("shift", [0.3, -0.3, 0.0, 0.8])
def test_finds_the_true_offset_near_a_wrong_run_offset(masks_game, shift):
    """The run was made with 'end' off by ``shift``: the masks' floor positions put it back."""
    results = offsets_from_run("side", run_cameras(masks_game, {"end": shift}))
    assert set(results) == {"end", "corner"}
    for name, result in results.items():
        assert isinstance(result, SyncResult), result
        assert abs(result.offset - MASKS_OFFSETS[name]) * REF_FPS < 1.0, (name, result.offset)
        assert result.method == "geometry" and result.confidence >= 0.5
        assert result.reference == "side" and result.reference_fps == REF_FPS
    assert f"run's offset {MASKS_OFFSETS['end'] + shift:+.4f} s" in results["end"].notes[0]


@pytest.mark.parametrize("window_s, found", [(0.2, False), (0.6, True)])
def test_the_window_bounds_the_answer(masks_game, window_s, found):
    """The truth lies 0.5 s from the run's offset: outside a 0.2 s window the better fit is named, not taken."""
    results = offsets_from_run("side", run_cameras(masks_game, {"end": 0.5}), ["end"], window_s=window_s)
    result = results["end"]
    if found:
        assert isinstance(result, SyncResult) and abs(result.offset - MASKS_OFFSETS["end"]) * REF_FPS < 1.0
    else:
        assert isinstance(result, SyncError)
        assert "fit better at +0.4" in str(result) and "more than 0.2 s from the run's offset +0.9000 s" in str(result)


def test_the_reference_offset_of_the_run_counts(masks_game):
    """A run whose reference was not at 0: the cameras' offsets are taken relative to it."""
    results = offsets_from_run("side", run_cameras(masks_game, {"side": 5.0, "end": 5.0, "corner": 5.0}))
    for name, result in results.items():
        assert isinstance(result, SyncResult), result
        assert abs(result.offset - MASKS_OFFSETS[name]) * REF_FPS < 1.0


@pytest.mark.parametrize(
    "names, drop, overrides, expected",
    [
        ([], (), {}, {}),
        (["side"], (), {}, {}),  # the reference alone: nothing to do
        (["end"], ("end",), {}, {"end": "the run has no masks of it"}),
        (["end"], (), {"end": {"homography": None}}, {"end": "not in the game's calibration"}),
        (
            ["end", "corner"],
            (),
            {"side": {"homography": None}},
            {"end": "reference camera 'side' is not in the game's calibration", "corner": "reference camera 'side'"},
        ),
        (["corner"], (), {"corner": {"frames": []}}, {"corner": "no foot points"}),
        (["end"], (), {"side": {"frames": []}}, {"end": "the reference clip has no foot points"}),
    ],
)
def test_cameras_that_cannot_be_refined(masks_game, names, drop, overrides, expected):
    cameras = run_cameras(masks_game, **overrides)
    for name in drop:
        del cameras[name]
    results = offsets_from_run("side", cameras, names)
    assert set(results) == set(expected)
    for name, why in expected.items():
        assert isinstance(results[name], SyncError)
        assert str(results[name]).startswith(f"camera {name!r}: ") and why in str(results[name])


@pytest.mark.parametrize(
    "reference, window_s, match",
    [("nope", 1.0, "reference camera 'nope' is not among"), ("side", 0.0, "window_s must be positive")],
)
def test_bad_arguments(masks_game, reference, window_s, match):
    with pytest.raises(ValueError, match=match):
        offsets_from_run(reference, run_cameras(masks_game), window_s=window_s)

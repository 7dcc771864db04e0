"""The report's checks one by one, on hand-made camera data (no run directory, no clip)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from multicam.masks import FrameMasks
from multicam.report.builder import (
    CameraData,
    RunData,
    appearance_check,
    check_camera,
    check_object,
    ground_check,
    overlap_check,
    scores_of,
    swap_check,
    usable_cameras,
)
from multicam.report.calibration import Calibration
from multicam.report.record import ReportOptions, ReportRecord
from multicam.timeline import CameraTiming, Timeline

H, W, FPS = 48, 64, 25.0
REPORTS = Path(__file__).parents[1] / "data" / "reports"


def _scene(i: int, *, drop: int | None = None, shift_2: int = 0) -> np.ndarray:
    """Object 1 walks right along the top; object 2 stands at the bottom right (``shift_2`` px further right)."""
    lm = np.zeros((H, W), np.int32)
    lm[4:16, 4 + 2 * i : 14 + 2 * i] = 1
    lm[26:40, 40 + shift_2 : 52 + shift_2] = 2
    if drop is not None:
        lm[lm == drop] = 0
    return lm


def _camera(name: str, maps: dict[int, np.ndarray]) -> CameraData:
    fms = {f: FrameMasks.from_label_map(name, f, f / FPS, lm) for f, lm in sorted(maps.items())}
    return CameraData(
        name=name,
        resolution_wh=(W, H),
        frames=list(fms),
        times=[fm.time for fm in fms.values()],
        objects=[{o.object_id: (o.rle, o.box_xyxy, o.area, o.score) for o in fm.objects} for fm in fms.values()],
    )


def _data(cameras: dict[str, dict[int, np.ndarray]], ids=(1, 2)) -> RunData:
    cams = {name: _camera(name, maps) for name, maps in cameras.items()}
    timings = tuple(CameraTiming(n, FPS, max(len(m), 1), 0.0) for n, m in cameras.items())
    return RunData(
        cameras=cams,
        reference=next(iter(cameras)),
        ids=list(ids),
        names={1: "ball", 2: "home 1", 3: "away 1"},
        teams={1: None, 2: "home", 3: "away"},
        timeline=Timeline(cameras=timings, reference=next(iter(cameras))),
    )


OPTS = ReportOptions()


@pytest.mark.parametrize(
    ("camera", "frames", "drop_at", "continuity", "kinds"),
    [
        ("ref", range(10), (), 1.0, []),
        ("ref", range(10), (3, 4, 5), 1 - 3 / 10, ["lost"]),
        ("ref", range(10), (7, 8, 9), 1 - 3 / 10, ["lost"]),  # lost until the end
        ("ref", range(4), (0, 1, 2, 3), 0.0, ["never_seen"]),  # never seen in the reference: scored 0
        ("b", range(4), (0, 1, 2, 3), None, ["never_seen"]),  # elsewhere: not scored
        ("ref", range(0), (), 0.0, ["never_seen"]),  # an empty reference camera
    ],
)
def test_check_object_presence(camera, frames, drop_at, continuity, kinds):
    maps = {i: _scene(i, drop=2 if i in drop_at else None) for i in frames}
    data = _data({"ref": maps, "b": maps} if camera == "ref" else {"ref": {0: _scene(0)}, "b": maps})
    result = check_object(data, camera, 2, OPTS, [], [], [])
    assert result.components.get("continuity") == (pytest.approx(continuity) if continuity is not None else None)
    assert [m.kind for m in result.moments] == kinds
    assert result.presence.present_frames == len(frames) - len(drop_at)
    if kinds == ["never_seen"]:
        assert result.moments[0].severity == (0.9 if camera == "ref" else 0.3)


def test_check_camera_finds_a_jump_and_scores_the_pair():
    maps = {i: _scene(i, shift_2=20 if i >= 5 else 0) for i in range(8)}  # object 2 teleports at frame 5
    data = _data({"ref": maps})
    result = check_camera(data, "ref", OPTS)
    (jump,) = result.stability["2"].jumps
    assert jump.frame == 5 and jump.time == pytest.approx(5 / FPS)
    assert [m.kind for m in result.moments] == ["jump"] and result.moments[0].object_id == 2
    assert result.components[2]["stability"] == pytest.approx(1 - 1 / 7) and result.components[1]["stability"] == 1.0
    assert result.overlaps == [] and result.swaps == []


def test_overlap_and_swap_checks_of_nothing():
    data = _data({"ref": {0: _scene(0)}})
    assert overlap_check(data, "ref", []) == ([], [])
    assert swap_check(data, "ref", []) == ([], [])


def test_scores_of_combines_components():
    data = _data({"ref": {0: _scene(0)}, "b": {0: _scene(0)}})
    scores = scores_of(data, {("ref", 1): {"continuity": 1.0, "identity": 0.5}, ("b", 1): {}})
    assert scores.objects["1"].cameras["b"] is None and scores.objects["2"].score is None
    assert scores.cameras["ref"].score == scores.objects["1"].score == scores.overall
    assert 0.0 < scores.overall < 1.0
    assert scores_of(_data({"ref": {}}, ids=()), {}).overall is None  # nothing tracked


def _calibration(cameras=("ref", "b"), *, shift_b: float = 0.0, resolution=(W, H)) -> Calibration:
    hs = {c: np.diag([0.1, 0.1, 1.0]) for c in cameras}
    if "b" in hs:
        hs["b"] = hs["b"] + np.array([[0, 0, shift_b], [0, 0, 0], [0, 0, 0]])
    return Calibration(path=Path("cal.json"), image_to_ground=hs, resolution_wh={c: resolution for c in cameras})


@pytest.mark.parametrize(
    ("calibration", "usable", "missing"),
    [
        (_calibration(()), [], ["ref", "b"]),
        (_calibration(("b",)), ["b"], ["ref"]),
        (_calibration(resolution=(W * 2, H * 2)), [], ["ref", "b"]),
        (_calibration(), ["ref", "b"], []),
    ],
)
def test_usable_cameras(calibration, usable, missing):
    data = _data({"ref": {0: _scene(0)}, "b": {0: _scene(0)}})
    assert usable_cameras(data, calibration) == (usable, missing)


@pytest.mark.parametrize(
    ("calibration", "note", "reason"),
    [
        (None, None, "no calibration file"),
        (None, "no calibration found for this game", "no calibration found for this game"),
        (_calibration(("ref",)), None, "needs at least two calibrated cameras"),
    ],
)
def test_ground_check_off_says_why(calibration, note, reason):
    data = _data({"ref": {0: _scene(0)}, "b": {0: _scene(0)}})
    result = ground_check(data, OPTS, calibration, {}, note)
    assert not result.section.available and reason in result.section.reason
    assert result.components == {} and result.moments == []


@pytest.mark.parametrize(("shift_b", "agree", "flagged"), [(0.0, 1.0, 0), (3.0, 0.0, 1)])
def test_ground_check_compares_the_cameras(shift_b, agree, flagged):
    maps = {i: _scene(i) for i in range(4)}
    data = _data({"ref": maps, "b": maps})
    result = ground_check(data, OPTS, _calibration(shift_b=shift_b), {})
    assert result.section.available and result.section.excluded_objects == [1]  # the ball is airborne
    assert result.components[("b", 2)] == {"ground": agree} and ("b", 1) not in result.components
    assert len(result.section.flagged) == flagged and [m.kind for m in result.moments] == ["ground"] * flagged
    assert result.section.objects["2"].max_spread_m == pytest.approx(shift_b)
    assert len(result.section.tracks["b"]["2"].frame) == 4


def test_appearance_check_off_says_why(tmp_path):
    data = _data({"ref": {0: _scene(0)}, "b": {0: _scene(0)}})
    off = appearance_check(data, OPTS.model_copy(update={"appearance_samples": 0}), {})
    assert off.section.reason.startswith("disabled") and off.notes == []
    no_ref = appearance_check(data, OPTS, {"b": tmp_path / "b.mp4"})
    assert "reference camera's clip (ref) was not found" in no_ref.section.reason
    (tmp_path / "ref.mp4").write_bytes(b"not a video")
    unreadable = appearance_check(data, OPTS, {"ref": tmp_path / "ref.mp4"})
    assert "could not be read" in unreadable.section.reason and not unreadable.section.available
    assert any("camera ref skipped" in n for n in unreadable.notes)
    assert "appearance: no clip for camera b, skipped" in unreadable.notes


@pytest.mark.parametrize("path", sorted(REPORTS.glob("*.json")), ids=lambda p: p.stem)
def test_reports_written_by_earlier_code_read_back_the_same(path):
    data = json.loads(path.read_text())
    assert ReportRecord.model_validate(data).to_json() == data

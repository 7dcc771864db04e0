"""Prompt assist by geometry: derived box prompts in the other cameras, ambiguous ones skipped."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest
import yaml

from multicam.court.assist import AssistOptions, SourcePrompt, box_iou, derive_prompts
from multicam.court.camera import CameraModel
from multicam.synth.cameras import make_cameras

CAMS = {
    c.name: CameraModel(c.name, c.resolution_wh, c.K, c.R, c.t)
    for c in make_cameras(("side", "end", "corner"), 960, (28.0, 15.0))
}


def _source(oid, xy, t=0.0, name="p"):
    """A reference box whose bottom centre is the object's foot point ``xy``."""
    u, v = CAMS["side"].project(np.array([xy]))[0]
    return SourcePrompt(oid, name, t, int(round(t * 25)), (u - 8, v - 40, u + 8, v))


def _frame(cam, t):
    return int(round(t * 25))


def test_a_prompt_lands_on_the_same_floor_point_in_every_camera():
    derived, skipped = derive_prompts([_source(2, (9.0, 6.0))], CAMS, "side", _frame, AssistOptions(foot_to_centre_m=0))
    assert {d.camera for d in derived} == {"end", "corner"} and skipped == []
    behind, _ = derive_prompts([_source(2, (9.0, 6.0))], CAMS, "side", _frame)
    away = np.array([9.0, 6.0]) - CAMS["side"].position_m[:2]
    assert np.array(behind[0].floor_xy) == pytest.approx(np.array([9.0, 6.0]) + 0.15 * away / np.linalg.norm(away))
    for d in derived:
        assert d.floor_xy == pytest.approx((9.0, 6.0), abs=1e-6)
        foot = CAMS[d.camera].project(np.array([[9.0, 6.0]]))[0]
        x0, y0, x1, y1 = d.box_xyxy
        assert x0 < foot[0] < x1 and y0 < foot[1] <= y1 + 1e-6


@pytest.mark.parametrize(
    ("sources", "reasons"),
    [
        ([], []),
        ([_source(1, (9.0, 6.0), name="ball")], ["airborne object (height unknown)"] * 2),
        ([_source(2, (9.0, 6.0)), _source(3, (9.2, 6.1), t=0.2)], ["ambiguous"] * 4),  # two people in one place
        ([_source(2, (9.0, 6.0)), _source(3, (9.2, 6.1), t=3.0)], []),  # ... at times far apart
        ([_source(2, (9.0, 6.0)), _source(3, (9.0, 5.6))], ["its feet may be hidden in the reference"] * 2),
        ([_source(2, (8.0, 7.5)), _source(3, (6.0, 7.5), t=0.1)], ["ambiguous"]),  # 2 behind 3 in 'end' (IoU < 0.5)
    ],
)
def test_skipped_prompts_say_why(sources, reasons):
    _, skipped = derive_prompts(sources, CAMS, "side", _frame)
    assert sorted(s.reason.split(" (")[0] for s in skipped) == sorted(r.split(" (")[0] for r in reasons)


def test_outside_the_image_and_clip_not_covering_are_skipped():
    derived, skipped = derive_prompts(
        [_source(2, (1.0, 1.0))],
        {**CAMS, "narrow": CameraModel("narrow", (64, 64), CAMS["end"].K, CAMS["end"].R, CAMS["end"].t)},
        "side",
        lambda c, t: None if c == "corner" else 0,
    )
    reasons = {s.camera: s.reason for s in skipped}
    assert (
        reasons["narrow"] == "outside the image" and reasons["corner"] == "the camera's clip does not cover this time"
    )
    assert [d.camera for d in derived] == ["end"]


def test_box_iou():
    assert box_iou((0, 0, 2, 2), (1, 1, 3, 3)) == pytest.approx(1 / 7)
    assert box_iou((0, 0, 1, 1), (2, 2, 3, 3)) == 0.0


def test_the_pipeline_adds_derived_prompts_when_the_game_asks(small_synth_game, tmp_path):
    from multicam.errors import GameFileError
    from multicam.pipeline import ProcessOptions, _prepare
    from multicam.session import open_game

    folder = tmp_path / "game"
    shutil.copytree(small_synth_game.parent, folder)
    game = yaml.safe_load((folder / "game.yaml").read_text())
    game["processing"]["prompt_assist"] = "geometry"
    (folder / "game.yaml").write_text(yaml.safe_dump(game))
    prep = _prepare(open_game(folder / "game.yaml"), ProcessOptions(untrained=True, progress=False))
    record = prep.derived_prompts
    assert record.method == "geometry" and record.prompts
    ref = game["reference"]
    derived = [p for p in prep.prompts if p.camera != ref and not p.positive]
    assert len(derived) == len(record.prompts)
    # each derived box is on its own object in the ground truth (largest IoU among the true boxes)
    boxes = {}
    with (folder / "ground_truth" / "tracks.csv").open() as fh:
        for r in csv.DictReader(fh):
            boxes.setdefault((r["camera"], int(r["frame"])), {})[int(r["object_id"])] = [
                float(r[k]) for k in ("x0", "y0", "x1", "y1")
            ]
    right = 0
    for p in derived:
        truth = boxes[(p.camera, p.frame)]
        right += max(truth, key=lambda o: box_iou(p.box_xyxy, truth[o])) == p.object_id
    assert right >= 0.9 * len(derived)
    # without a calibration the game file is the problem, said in one line
    game.pop("calibration")
    (folder / "game.yaml").write_text(yaml.safe_dump(game))
    with pytest.raises(GameFileError, match="prompt_assist: geometry needs a calibration"):
        _prepare(open_game(folder / "game.yaml"), ProcessOptions(untrained=True, progress=False))


@pytest.mark.sam2
@pytest.mark.slow
def test_process_with_prompt_assist_lists_derived_prompts_in_the_manifest(small_synth_game, tmp_path):
    """The real SAM 2 path (random weights, 64 px): the derived prompts reach the engine and the manifest."""
    from multicam.pipeline import ProcessOptions, process_game
    from multicam.rundir import open_run

    folder = tmp_path / "game"
    shutil.copytree(small_synth_game.parent, folder, ignore=shutil.ignore_patterns("ground_truth"))
    game = yaml.safe_load((folder / "game.yaml").read_text())
    game["processing"]["prompt_assist"] = "geometry"
    game.pop("ground_truth", None)
    (folder / "game.yaml").write_text(yaml.safe_dump(game))
    result = process_game(
        folder / "game.yaml",
        ProcessOptions(untrained=True, image_size=64, device="cpu", runs_dir=tmp_path / "runs", progress=False),
    )
    run = open_run(result.run_dir)
    record = run.manifest.derived_prompts
    assert record is not None and record.method == "geometry" and record.prompts
    ref = run.reference
    assert {p.camera for p in record.prompts} <= set(run.cameras) - {ref}
    first = min(record.prompts, key=lambda p: p.frame)
    assert run.frame(first.camera, first.frame) is not None  # that frame was tracked
    saved = json.loads((run.path / "manifest.json").read_text())["derived_prompts"]["prompts"][0]
    assert all(len(str(v).split(".")[-1]) <= 1 for v in saved["box_xyxy"])  # boxes written to 0.1 px

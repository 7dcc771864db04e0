"""Run directories: never overwritten, written as the run goes, read back exactly."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from multicam.errors import RunDirError
from multicam.masks import FrameMasks
from multicam.rundir import CameraInfo, ObjectInfo, RunWriter, next_run_dir, open_run

CAMS = [CameraInfo("a", (8, 6), 25.0, 3, 0.0), CameraInfo("b", (10, 5), 30.0, 2, -0.1)]
OBJS = [ObjectInfo(1, "ball"), ObjectInfo(2, "home 1", "home")]


def _frame(cam: CameraInfo, i: int) -> FrameMasks:
    w, h = cam.resolution_wh
    label = np.zeros((h, w), np.int32)
    label[0:2, i : i + 2] = 1
    if i % 2 == 0:
        label[3:5, 4:7] = 2
    return FrameMasks.from_label_map(cam.name, i, cam.offset + i / cam.fps, label)


def test_next_run_dir_never_reuses(tmp_path):
    first = next_run_dir(tmp_path, "g")
    second = next_run_dir(tmp_path, "g")
    named = next_run_dir(tmp_path, "g", "fix")
    assert (first.name, second.name, named.name) == ("run1", "run2", "fix1")
    first.rmdir()
    assert next_run_dir(tmp_path, "g").name == "run3"


def test_write_and_read_back(tmp_path):
    frames = [_frame(c, i) for c in CAMS for i in range(c.frame_count)]
    with RunWriter(tmp_path / "r", {"game": {"name": "g"}, "reference": "a"}, CAMS, OBJS) as w:
        for fm in frames:
            w.write(fm)
    run = open_run(tmp_path / "r")
    assert run.is_complete and run.reference == "a" and run.game_name == "g"
    assert run.cameras["b"].resolution_wh == (10, 5)
    assert run.objects[2].team == "home"
    for fm in frames:
        assert run.frame(fm.camera, fm.frame) == fm
    rows = list(csv.DictReader((tmp_path / "r" / "tracks.csv").open()))
    assert len(rows) == sum(len(f.objects) for f in frames)
    first = rows[0]
    assert first["name"] == "ball" and first["camera"] == "a" and first["frame"] == "0"
    assert float(first["foot_y"]) == 2.0


def test_crash_leaves_finished_frames_and_failed_manifest(tmp_path):
    with pytest.raises(RuntimeError), RunWriter(tmp_path / "r", {}, CAMS, OBJS) as w:
        w.write(_frame(CAMS[0], 0))
        w.write(_frame(CAMS[0], 1))
        raise RuntimeError("boom")
    run = open_run(tmp_path / "r")
    assert run.status == "failed" and not run.is_complete
    assert "boom" in run.manifest.error
    assert sorted(run.frames("a")) == [0, 1]
    assert run.frames("b") == {}


def test_killed_run_is_running_and_readable(tmp_path):
    w = RunWriter(tmp_path / "r", {}, CAMS, OBJS)
    w.write(_frame(CAMS[1], 0))
    # no close(): as if the process was killed
    run = open_run(tmp_path / "r")
    assert run.status == "running"
    assert list(run.frames("b")) == [0]


@pytest.mark.parametrize("setup", ["missing", "no manifest", "bad json", "other json"])
def test_not_a_run(tmp_path, setup):
    d = tmp_path / "x"
    if setup != "missing":
        d.mkdir()
    if setup == "bad json":
        (d / "manifest.json").write_text("{")
    if setup == "other json":
        (d / "manifest.json").write_text(json.dumps({"hello": 1}))
    with pytest.raises(RunDirError):
        open_run(d)


def test_unknown_camera(tmp_path):
    with RunWriter(tmp_path / "r", {}, CAMS, OBJS) as w, pytest.raises(RunDirError, match="not part of this run"):
        w.write(FrameMasks("zz", 0, 0.0, (2, 2)))
    with pytest.raises(RunDirError, match="unknown camera"):
        list(open_run(tmp_path / "r").iter_frames("zz"))

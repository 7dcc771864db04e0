"""Starting processing as a subprocess and following it through the new run's manifest."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from multicam.dashboards import processing

FAKE_PROCESS = """
import sys, time
from multicam.masks import FrameMasks
from multicam.rundir import CameraInfo, RunWriter, next_run_dir
import numpy as np
runs_dir, fail = sys.argv[1], sys.argv[2] == "fail"
cams = [CameraInfo("side", (8, 8), 25.0, 3, 0.0), CameraInfo("end", (8, 8), 30.0, 2, 0.0)]
print("processing", flush=True)
with RunWriter(next_run_dir(runs_dir, "tiny"), {"game": {"name": "tiny"}}, cams, []) as w:
    for cam in cams:
        for f in range(cam.frame_count):
            w.write(FrameMasks(cam.name, f, f / cam.fps, (8, 8)))
    if fail:
        raise RuntimeError("out of memory")
"""


def test_process_command():
    cmd = processing.process_command("g.yaml", "runs", untrained=True, image_size=256)
    assert cmd[:4] == [sys.executable, "-m", "multicam", "process"]
    assert cmd[4:] == ["g.yaml", "--runs-dir", "runs", "--untrained", "--image-size", "256"]
    assert processing.process_command("g.yaml", "runs")[4:] == ["g.yaml", "--runs-dir", "runs"]
    assert processing.process_command("g.yaml", "runs", from_run="runs/g/run1")[-2:] == ["--from", "runs/g/run1"]


@pytest.mark.parametrize(
    "runs, expected",
    [
        ([], None),
        ([("run1", "complete", "game.yaml", "run")], "run1"),
        ([("run1", "failed", "game.yaml", "run")], None),
        ([("run1", "complete", "other.yaml", "run")], None),
        ([("run1", "complete", "game.yaml", "ground_truth")], None),
        ([("run1", "complete", "game.yaml", "run"), ("run2", "complete", "game.yaml", "run")], "run2"),
        ([("run1", "complete", "game.yaml", "run"), ("run2", "running", "game.yaml", "run")], "run1"),
    ],
)
def test_previous_run_is_the_latest_complete_run_of_the_game(tmp_path, runs, expected):
    for k, (name, status, game, kind) in enumerate(runs):
        folder = tmp_path / "runs" / "tiny" / name
        folder.mkdir(parents=True)
        manifest = {
            "format": "multicam-run",
            "kind": kind,
            "status": status,
            "finished_at": f"2026-01-0{k + 1}",
            "game": {"name": "tiny", "path": str(tmp_path / game)},
        }
        (folder / "manifest.json").write_text(json.dumps(manifest))
    found = processing.previous_run(tmp_path / "runs", "tiny", tmp_path / "game.yaml")
    assert found == (None if expected is None else tmp_path / "runs" / "tiny" / expected)


def _wait(job: processing.ProcessJob, timeout: float = 60.0) -> int:
    deadline = time.time() + timeout
    while job.returncode is None and time.time() < deadline:
        time.sleep(0.05)
    return job.popen.wait(timeout=1)


@pytest.mark.parametrize("mode, rc, status", [("ok", 0, "complete"), ("fail", 1, "failed")])
def test_a_started_job_is_followed_through_its_new_run(tmp_path, mode, rc, status):
    runs = tmp_path / "runs"
    (runs / "tiny" / "run1").mkdir(parents=True)  # an older run: not the new one
    job = processing.start_process([sys.executable, "-c", FAKE_PROCESS, str(runs), mode], runs, "tiny")
    assert job.before == frozenset({"run1"})
    assert _wait(job) == rc
    new = job.new_run()
    assert new == runs / "tiny" / "run2"
    progress = processing.read_progress(new)
    assert progress.status == status
    assert progress.per_camera == {"side": (3, 3), "end": (2, 2)}
    assert (progress.frames_done, progress.frames_total, progress.fraction) == (5, 5, 1.0)
    log = processing.log_tail(job.log_path)
    assert "processing" in log and job.log_path.parent == runs / "tiny" / ".logs"
    if mode == "fail":
        assert "out of memory" in progress.error and "RuntimeError" in log


def _manifest(status: str, frame_counts: dict[str, int], written: dict[str, int]) -> dict:
    """A real manifest (written by `multicam process`) with its status, cameras and progress replaced."""
    data = json.loads((Path(__file__).parents[1] / "data" / "manifests" / "run_complete.json").read_text())
    cams = [
        {"name": n, "resolution_wh": [8, 8], "fps": 25.0, "frame_count": c, "offset": 0.0}
        for n, c in frame_counts.items()
    ]
    return {**data, "status": status, "cameras": cams, "frames_written": written}


@pytest.mark.parametrize(
    "manifest, expected",
    [
        (None, ("unknown", 0, 0, 0.0)),
        ("{not json", ("unknown", 0, 0, 0.0)),
        (_manifest("running", {"a": 10, "b": 30}, {"a": 10, "b": 0}), ("running", 10, 40, 0.25)),
        (_manifest("running", {}, {}), ("running", 0, 0, 0.0)),
        (_manifest("complete", {"a": 4}, {"a": 3}), ("complete", 3, 4, 1.0)),
    ],
)
def test_read_progress(tmp_path, manifest, expected):
    if manifest is not None:
        (tmp_path / "manifest.json").write_text(manifest if isinstance(manifest, str) else json.dumps(manifest))
    p = processing.read_progress(tmp_path)
    assert (p.status, p.frames_done, p.frames_total, p.fraction) == expected


def test_log_tail(tmp_path):
    assert processing.log_tail(tmp_path / "missing.log") == ""
    (tmp_path / "x.log").write_text("a\nb\r10%\r50%\nc\n")
    assert processing.log_tail(tmp_path / "x.log", lines=3) == "10%\n50%\nc"

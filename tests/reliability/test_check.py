"""`multicam check RUN` and the run lock, on runs written by the test fixtures (no SAM 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from multicam.errors import RunDirError
from multicam.integrity import LOCK_FILE, check_run, run_lock, usable_run


def _scene(frame: int) -> np.ndarray:
    out = np.zeros((24, 32), np.int32)
    out[4:10, frame : frame + 6] = 1
    return out


@pytest.fixture
def run(tmp_path, make_run):
    return make_run(tmp_path / "runs" / "g" / "run1", {"a": {i: _scene(i) for i in range(6)}, "b": {0: _scene(0)}})


def _manifest(run, **fields):
    m = json.loads((run / "manifest.json").read_text())
    m.update(fields)
    (run / "manifest.json").write_text(json.dumps(m))


def test_a_complete_run_checks_clean(run, cli):
    outcome = cli("check", run)
    assert outcome.code == 0 and f"{run}: run, complete" in outcome.out and not outcome.err
    assert "a                 6 of 6 frames, manifest says 6 written" in outcome.out


@pytest.mark.parametrize(
    "damage, line",
    [
        (lambda p: p.write_text(p.read_text().replace('"frame":2', '"frame":"two"', 1)), 3),
        (lambda p: p.write_text(p.read_text() + "garbage\n"), 7),
        (lambda p: p.write_bytes(p.read_bytes()[:10] + b"\xff" + p.read_bytes()[11:]), 1),
    ],
)
def test_every_bad_line_is_named(run, cli, damage, line):
    masks = run / "masks" / "a.jsonl"
    damage(masks)
    outcome = cli("check", run)
    assert outcome.code == 1 and "Traceback" not in outcome.text
    assert f"error: {masks}:{line}:" in outcome.err
    with pytest.raises(RunDirError, match=f"{masks}:{line}"):
        usable_run(run, what="export")


def test_a_running_run_whose_process_is_gone_is_crashed_and_resumable(run, cli):
    _manifest(run, status="running", process={"pid": os.getpid(), "host": os.uname().nodename})
    (run / LOCK_FILE).touch()  # written by a multicam that held the lock until it died
    outcome = cli("check", run)
    assert outcome.code == 1
    assert f"crashed (its process is gone), resumable with `multicam process --resume {run}`" in outcome.out
    assert check_run(run).resumable


def test_a_running_run_whose_writer_holds_the_lock_is_running(run, cli):
    _manifest(run, status="running")
    with run_lock(run):
        outcome = cli("check", run)
    assert outcome.code == 0 and "still running" in outcome.out


def test_a_run_from_before_locks_asks_the_process_table(run):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _manifest(run, status="running", process={"pid": child.pid, "host": os.uname().nodename})
        assert check_run(run).state == "running"
    finally:
        child.kill()
        child.wait()
    assert check_run(run).state == "crashed"


def test_the_lock_refuses_a_second_writer_in_another_process(run):
    code = (
        "import sys, time; from multicam.integrity import run_lock\n"
        "with run_lock(sys.argv[1]):\n    print('locked', flush=True); time.sleep(60)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code, str(run)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "locked"
        with pytest.raises(RunDirError, match="being written by another multicam process"), run_lock(run):
            pass
        assert check_run(run).state == "complete"  # the manifest's word stands for a finished run
    finally:
        child.kill()
        child.wait()
    with run_lock(run):  # free again once the other process is gone (even killed)
        pass


def test_check_of_a_missing_run_is_one_line(tmp_path, cli):
    outcome = cli("check", tmp_path / "nope")
    assert outcome.code == 2 and outcome.error_lines == [f"error: run directory not found: {tmp_path / 'nope'}"]

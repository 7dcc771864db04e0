"""`multicam eval` on constructed runs (the answer is known) and on a small synthetic game."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from multicam.cli import app
from multicam.errors import RunDirError
from multicam.evaluation.evaluate import evaluate_run
from multicam.rundir import open_run

H, W = 24, 32


def _scene(i: int, swap: bool = False) -> np.ndarray:
    """Object 1 moves right, object 2 stays; ``swap`` exchanges their ids."""
    lm = np.zeros((H, W), np.int32)
    lm[2:10, 2 + i : 10 + i] = 2 if swap else 1
    lm[14:22, 20:28] = 1 if swap else 2
    return lm


@pytest.fixture
def gt_dir(tmp_path, make_run):
    frames = {cam: {i: _scene(i) for i in range(6)} for cam in ("ref", "b")}
    return make_run(tmp_path / "gt", frames, kind="ground_truth", reference="ref")


def test_perfect_run_scores_one(tmp_path, gt_dir, make_run):
    run = make_run(tmp_path / "run", {cam: {i: _scene(i) for i in range(6)} for cam in ("ref", "b")})
    ev = evaluate_run(open_run(run), open_run(gt_dir))
    assert len(ev.results) == 4
    assert all(r.scores.j_stats.mean == 1.0 and r.scores.f_stats.mean == 1.0 for r in ev.results)
    assert ev.summary()["J&F-Mean"] == 1.0
    assert all(ev.identity[c].idf1 == 1.0 for c in ("ref", "b"))
    assert ev.missing_frames == {"ref": 0, "b": 0}


def test_missing_frames_count_as_empty_predictions(tmp_path, gt_dir, make_run):
    run = make_run(
        tmp_path / "run", {"ref": {i: _scene(i) for i in range(6)}, "b": {i: _scene(i) for i in range(3)}}
    )  # frames 3-5 missing in b
    ev = evaluate_run(open_run(run), open_run(gt_dir))
    assert ev.missing_frames["b"] == 3
    for r in ev.results:
        if r.camera == "b":
            assert r.scores.j == (1.0, 1.0, 1.0, 0.0, 0.0, 0.0)
            assert r.scores.j_stats.mean == 0.5 and r.scores.j_stats.recall == 0.5
    assert ev.identity["b"].n_pred == 6 and ev.identity["b"].n_gt == 12


def test_exchanged_ids_in_one_camera(tmp_path, gt_dir, make_run):
    run = make_run(
        tmp_path / "run", {"ref": {i: _scene(i) for i in range(6)}, "b": {i: _scene(i, swap=True) for i in range(6)}}
    )
    ev = evaluate_run(open_run(run), open_run(gt_dir))
    b = [r for r in ev.results if r.camera == "b"]
    assert all(r.scores.j_stats.mean == 0.0 for r in b)
    assert ev.identity["b"].idf1 == 0.0 and ev.identity["b"].idf1_own == 1.0
    assert ev.identity["ref"].idf1 == 1.0
    assert ev.reference_mapping == {1: 1, 2: 2}


def test_exclude_first_last_and_camera_filter(tmp_path, gt_dir, make_run):
    run = make_run(tmp_path / "run", {cam: {i: _scene(i) for i in range(6)} for cam in ("ref", "b")})
    ev = evaluate_run(open_run(run), open_run(gt_dir), exclude_first_last=True, cameras=["b"])
    assert ev.cameras == ("b",) and all(r.scores.frames == (1, 2, 3, 4) for r in ev.results)
    with pytest.raises(RunDirError, match="not in the ground truth"):
        evaluate_run(open_run(run), open_run(gt_dir), cameras=["nope"])


def test_resolution_mismatch_is_a_clear_error(tmp_path, gt_dir, make_run):
    run = make_run(tmp_path / "run", {cam: {0: np.zeros((H + 2, W), np.int32)} for cam in ("ref", "b")})
    with pytest.raises(RunDirError, match="resolution"):
        evaluate_run(open_run(run), open_run(gt_dir))


def test_cli_prints_table_and_writes_json(tmp_path, gt_dir, make_run):
    run = make_run(
        tmp_path / "run",
        {"ref": {i: _scene(i) for i in range(6)}, "b": {i: _scene(i, swap=True) for i in range(6)}},
        manifest={"model": {"name": "sam2.1_hiera_tiny", "untrained": True}},
    )
    out = tmp_path / "eval.json"
    result = CliRunner().invoke(app, ["eval", str(run), "--gt", str(gt_dir), "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "UNTRAINED" in result.output and "J&F-Mean" in result.output and "IDF1" in result.output
    data = json.loads(out.read_text())
    assert data["untrained"] is True
    assert data["cameras"]["ref"]["J&F-Mean"] == 1.0 and data["cameras"]["b"]["J-Mean"] == 0.0
    assert data["cameras"]["b"]["identity"]["idf1"] == 0.0
    assert {(s["camera"], s["object_id"]) for s in data["sequences"]} == {("ref", 1), ("ref", 2), ("b", 1), ("b", 2)}
    assert len(data["sequences"][0]["per_frame"]["J"]) == 6


def test_cli_missing_run_is_a_user_error(tmp_path, gt_dir, make_run):
    result = CliRunner().invoke(app, ["eval", str(tmp_path / "nope"), "--gt", str(gt_dir)])
    assert result.exit_code != 0 and isinstance(result.exception, RunDirError)


def test_synthetic_ground_truth_scores_perfectly(small_synth_game):
    gt = small_synth_game.parent / "ground_truth"
    result = CliRunner().invoke(app, ["eval", str(gt), "--gt", str(gt)])
    assert result.exit_code == 0, result.output
    ev = evaluate_run(open_run(gt), open_run(gt))
    assert len(ev.cameras) == 3 and ev.results
    assert all(r.scores.j_stats.mean == 1.0 and r.scores.f_stats.mean == 1.0 for r in ev.results)
    assert all(ev.identity[c].idf1 == 1.0 and ev.identity[c].id_switches == 0 for c in ev.cameras)


def test_cli_finds_the_games_ground_truth(tmp_path, gt_dir, make_run):
    config = {"name": "g", "reference": "ref", "ground_truth": "gt", "cameras": [{"name": "ref", "video": "r.mp4"}]}
    manifest = {"game": {"name": "g", "path": str(tmp_path / "game.yaml"), "reference": "ref"}, "config": config}
    run = make_run(tmp_path / "run", {cam: {i: _scene(i) for i in range(6)} for cam in ("ref", "b")}, manifest=manifest)
    result = CliRunner().invoke(app, ["eval", str(run)])
    assert result.exit_code == 0, result.output
    assert f"ground truth {gt_dir}" in result.output
    alone = make_run(tmp_path / "alone", {"ref": {0: _scene(0)}})
    result = CliRunner().invoke(app, ["eval", str(alone)])
    assert isinstance(result.exception, RunDirError) and "--gt" in str(result.exception)

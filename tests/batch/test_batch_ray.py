"""`multicam batch` on a real local Ray: complete, skip, retry after a killed worker, Ctrl-C, resources.

Random weights at 64 px: the masks check the mechanics (same masks with and without a fault),
not what SAM 2 sees.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from multicam.batch import BatchError, BatchSettings, GameOptions, read_record, resolve_sources
from multicam.cli import app
from multicam.rundir import open_run

from .conftest import FRAMES, OPTIONS

pytestmark = [pytest.mark.sam2, pytest.mark.slow]

TEST_OPTIONS = GameOptions(untrained=True, image_size=64, device="cpu", dtype="float32", feature_cache="off")


@pytest.fixture(scope="module", autouse=True)
def _pickle_hooks_by_value(ray_local):
    """Workers unpickle this module's hooks by value (the test folder is not on their path)."""
    ray_local.cloudpickle.register_pickle_by_value(sys.modules[__name__])


def masks_of(run_dir: Path) -> dict:
    run = open_run(run_dir)
    return {(name, i): fm for name in run.cameras for i, fm in run.frames(name).items()}


def lines_per_camera(run_dir: Path) -> dict[str, list[int]]:
    return {
        p.stem: [json.loads(line)["frame"] for line in p.read_text().splitlines()]
        for p in sorted((run_dir / "masks").glob("*.jsonl"))
    }


@pytest.fixture(scope="module")
def first_batch(ray_local, season_games, tmp_path_factory):
    """The season folder (3 good games, 2 broken) as one batch through the CLI."""
    runs = tmp_path_factory.mktemp("first") / "runs"
    result = CliRunner().invoke(app, ["batch", str(season_games), "--runs-dir", str(runs), "-q", *OPTIONS])
    (record_dir,) = (runs / "_batches").iterdir()
    return result, read_record(record_dir), runs


def test_every_good_game_completes_and_each_broken_one_fails_alone(first_batch):
    result, record, runs = first_batch
    assert result.exit_code == 1, result.output  # some game failed
    games = {g.key: g for g in record.games}
    assert sorted(games) == ["bad_prompts", "game0", "game1", "game2", "missing_clip"]
    for key in ("game0", "game1", "game2"):
        g = games[key]
        assert (g.status, g.action, g.attempts, g.frames) == ("complete", "new", 1, FRAMES), g
        run = open_run(g.run_dir)
        assert run.is_complete and run.untrained and run.manifest.inputs_sha256 == g.digest
        assert g.node and g.frames_per_s > 0 and g.untrained
    assert games["bad_prompts"].status == "failed" and "frame 99" in games["bad_prompts"].error
    assert games["missing_clip"].status == "failed" and "end.mp4" in games["missing_clip"].error
    assert games["missing_clip"].attempts == 0  # failed while planning: never sent to a worker
    assert record.status == "failed" and "failed: bad_prompts:" in result.output
    assert json.loads((Path(record.path) / "batch.json").read_text())["games"][0]["key"] == "bad_prompts"


def test_a_second_batch_skips_every_complete_game_then_reports_and_renders(first_batch, season_games):
    _, first, runs = first_batch
    games = [str(season_games / f"g{i}" / "game.yaml") for i in range(3)]
    result = CliRunner().invoke(app, ["batch", *games, "--runs-dir", str(runs), "-q", "--report", "--render", *OPTIONS])
    assert result.exit_code == 0, result.output
    second = read_record(Path(first.path).parent / "batch2")
    assert [(g.status, g.action, g.attempts) for g in second.games] == [("skipped", "skip", 0)] * 3
    assert [g.run_dir for g in second.games] == [first.game(f"game{i}").run_dir for i in range(3)]
    assert [p.name for p in (runs / "game0").iterdir()] == ["run1"]  # no new run
    for g in second.games:  # report and render ran as dependent tasks on the skipped games' runs
        assert g.report.status == "complete" and Path(g.report.path).name == "report.html", g.report
        assert g.render.status == "complete" and (Path(g.render.path) / "mosaic.mp4").is_file(), g.render
        assert json.loads((Path(g.run_dir) / "report" / "report.json").read_text())["untrained"] is True
    status = CliRunner().invoke(app, ["batch", "status", second.path])
    assert status.exit_code == 0 and "3 skipped" in status.output and "game2" in status.output


def test_the_season_report_lists_every_game_of_a_record(first_batch):
    _, first, _ = first_batch
    result = CliRunner().invoke(app, ["report", "--season", first.path, "--no-appearance"])
    assert result.exit_code == 0, result.output
    season = json.loads((Path(first.path) / "season.json").read_text())
    games = {g["key"]: g for g in season["games"]}
    for key in ("game0", "game1", "game2"):
        g = games[key]
        report = json.loads((Path(g["run_dir"]) / "report" / "report.json").read_text())
        assert g["score"] == report["scores"]["overall"] and g["flagged"] == len(report["review"])
        assert g["untrained"] and g["frames"] == FRAMES and g["frames_per_s"] > 0
    assert games["bad_prompts"]["score"] is None and "frame 99" in games["bad_prompts"]["error"]
    assert season["totals"]["games"] == 5 and season["totals"]["reported"] == 3
    page = (Path(first.path) / "season.html").read_text()
    assert "UNTRAINED" in page and "href='../../game0/run1/report/report.html'" in page
    assert "season batch1: 5 games, 3 reported" in result.output


class KillOnce:
    """Kill the worker (os._exit, as the OOM killer would) after ``after`` frames of its first attempt."""

    def __init__(self, marker: Path, after: int):
        self.marker, self.after, self.seen = marker, after, 0

    def __call__(self, frame_masks) -> None:
        self.seen += 1
        if self.seen == self.after and not self.marker.exists():
            self.marker.write_text("killed")
            os._exit(1)


def test_a_killed_task_is_retried_and_resumes_its_own_run(first_batch, season_games, tmp_path):
    from multicam.batch.runner import run_batch

    _, first, runs = first_batch
    jobs = resolve_sources([season_games / "g0" / "game.yaml"], TEST_OPTIONS).jobs
    marker = tmp_path / "killed"
    settings = BatchSettings(runs_dir=str(runs), retries=2, force=True)  # force: a new run next to run1
    record = run_batch(jobs, settings, name="kill", progress=False, on_frame=KillOnce(marker, after=3))
    (g,) = record.games
    assert marker.exists() and g.status == "complete" and g.attempts == 2, g
    assert g.action == "resume" and Path(g.run_dir).name == "run2"
    run = open_run(g.run_dir)
    assert run.is_complete and len(run.manifest.resumes) == 1
    assert run.manifest.resumes[0].frames_kept >= 2  # what the first attempt wrote is kept
    lines = lines_per_camera(Path(g.run_dir))
    assert all(len(frames) == len(set(frames)) for frames in lines.values())  # no frame twice
    assert masks_of(Path(g.run_dir)) == masks_of(Path(first.game("game0").run_dir))  # none lost or changed


class InterruptDriver:
    """Send SIGINT (Ctrl-C) to the driver after ``after`` frames of the first attempt."""

    def __init__(self, pid: int, marker: Path, after: int):
        self.pid, self.marker, self.after, self.seen = pid, marker, after, 0

    def __call__(self, frame_masks) -> None:
        self.seen += 1
        if self.seen == self.after and not self.marker.exists():
            self.marker.write_text("interrupted")
            os.kill(self.pid, signal.SIGINT)
            time.sleep(5)  # the cancellation arrives while the game still runs


def test_ctrl_c_cancels_the_tasks_and_the_next_batch_resumes(ray_local, first_batch, one_game, tmp_path):
    from multicam.batch.runner import run_batch

    _, first, _ = first_batch
    runs = tmp_path / "runs"
    jobs = resolve_sources([one_game], TEST_OPTIONS).jobs
    settings = BatchSettings(runs_dir=str(runs))
    hook = InterruptDriver(os.getpid(), tmp_path / "marker", after=2)
    with pytest.raises(KeyboardInterrupt):
        run_batch(jobs, settings, name="stop", progress=False, on_frame=hook)
    stopped = read_record(runs / "_batches" / "stop1")
    (g,) = stopped.games
    assert stopped.status == "interrupted" and g.status == "interrupted", stopped
    run_dir = runs / "game0" / "run1"
    assert open_run(run_dir).status == "interrupted"
    again = run_batch(jobs, settings, name="stop", progress=False)
    (g,) = again.games
    assert (g.status, g.action, g.run_dir) == ("complete", "resume", str(run_dir))
    assert masks_of(run_dir) == masks_of(Path(first.game("game0").run_dir))


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--gpus-per-game", "1"], "1 GPU"),
        (["--cpus-per-game", "64"], "64 CPU"),
        (["--gpus-per-game", "0.5", "--cpus-per-game", "3"], "3 CPU and 0.5 GPU"),
    ],
)
def test_a_request_no_node_can_satisfy_fails_at_once(ray_local, one_game, tmp_path, flags, message):
    t0 = time.perf_counter()
    result = CliRunner().invoke(app, ["batch", str(one_game), "--runs-dir", str(tmp_path / "runs"), *flags, *OPTIONS])
    assert isinstance(result.exception, BatchError), result.output
    assert message in str(result.exception) and "no node of the Ray cluster" in str(result.exception)
    assert time.perf_counter() - t0 < 30
    assert not (tmp_path / "runs" / "_batches").exists()  # nothing started


def test_workers_per_game_split_each_game_with_the_masks_of_one_task(ray_local, one_game, tmp_path):
    options = [o for o in OPTIONS if o not in ("--feature-cache", "off")]  # a split passes features through it
    runs = tmp_path / "runs"
    flags = ["--workers-per-game", "2", "--threads", "1", "-q"]
    result = CliRunner().invoke(app, ["batch", str(one_game), "--runs-dir", str(runs), *flags, *options])
    assert result.exit_code == 0, result.output
    (record_dir,) = (runs / "_batches").iterdir()
    (game,) = read_record(record_dir).games
    assert (game.status, game.frames) == ("complete", FRAMES)
    split = open_run(game.run_dir)
    assert split.manifest.workers is not None and len(split.manifest.workers.parts) == 2
    single = CliRunner().invoke(
        app, ["process", str(one_game), "--runs-dir", str(tmp_path / "single"), "--threads", "1", *OPTIONS, "-q"]
    )
    assert single.exit_code == 0, single.output
    single_dir = Path(single.output.split("run written to ")[1].split("\n")[0])
    assert lines_per_camera(single_dir) == lines_per_camera(split.path)
    for name in split.cameras:
        assert (single_dir / "masks" / f"{name}.jsonl").read_text() == (
            split.path / "masks" / f"{name}.jsonl"
        ).read_text()

"""Planning a batch without Ray: sources, skip/resume/new decisions, digests, records, resources."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from multicam.batch import BatchError, BatchRecord, BatchSettings, GameOptions, read_record, resolve_sources
from multicam.batch.plan import RunSeen, decide, runs_of
from multicam.batch.record import GameRecord, status_table, write_record
from multicam.batch.tasks import GameTask, process_one
from multicam.game import load_game
from multicam.pipeline import ProcessOptions, inputs_digest
from multicam.workers import infeasible

from .conftest import make_game


# -- decide ------------------------------------------------------------------------------------------
def seen(name: str, status: str, digest: str = "d", started: str = "2026-01-01T00:00:00") -> RunSeen:
    return RunSeen(Path(name), status, digest, started)


@pytest.mark.parametrize(
    "runs, since, expected",
    [
        ([], None, ("new", None)),
        ([seen("run1", "complete")], None, ("skip", "run1")),
        ([seen("run1", "complete", digest="other")], None, ("new", None)),
        ([seen("run1", "interrupted")], None, ("resume", "run1")),
        ([seen("run1", "running"), seen("run2", "failed", started="2026-01-02")], None, ("resume", "run2")),
        ([seen("run1", "interrupted"), seen("run2", "complete", started="2026-01-02")], None, ("skip", "run2")),
        ([seen("run1", "complete")], "2026-06-01", ("new", None)),  # --force: older runs do not count
        ([seen("run1", "complete"), seen("run2", "running", started="2026-07-01")], "2026-06-01", ("resume", "run2")),
        ([seen("run1", "weird")], None, ("new", None)),
    ],
)
def test_decide(runs, since, expected):
    d = decide(runs, "d", since=since)
    assert (d.action, None if d.run_dir is None else str(d.run_dir)) == expected


def test_runs_of_reads_manifests_and_leaves_out_the_rest(tmp_path, make_run):
    import numpy as np

    lm = {"a": {0: np.zeros((8, 8), np.int32)}}
    make_run(tmp_path / "g" / "run1", lm, manifest={"inputs_sha256": "x"})
    make_run(tmp_path / "g" / "gt", lm, kind="ground_truth")
    (tmp_path / "g" / "junk").mkdir()
    (tmp_path / "g" / "broken").mkdir()
    (tmp_path / "g" / "broken" / "manifest.json").write_text("{")
    (only,) = runs_of(tmp_path, "g")
    assert (only.path.name, only.status, only.digest) == ("run1", "complete", "x")
    assert runs_of(tmp_path, "nothing") == []


# -- digest ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def digest_game(tmp_path_factory) -> Path:
    return make_game(tmp_path_factory.mktemp("digest") / "g", "dg")


def _digest(game: Path, **options) -> str:
    return inputs_digest(load_game(game), ProcessOptions(untrained=True, **options))


def test_the_digest_follows_what_changes_masks_and_only_that(digest_game, tmp_path):
    base = _digest(digest_game)
    assert base == _digest(digest_game)
    assert _digest(digest_game, threads=1, prefetch=0, feature_cache="off", runs_dir=tmp_path) == base
    assert _digest(digest_game, image_size=64) != base
    assert _digest(digest_game, layout="concat") != base
    assert _digest(digest_game, batch_objects=True) != base
    assert inputs_digest(load_game(digest_game), ProcessOptions(untrained=False)) != base


@pytest.mark.parametrize("change", ["prompts", "clip mtime", "game file"])
def test_the_digest_changes_with_the_inputs(tmp_path, change):
    game = make_game(tmp_path / "g", "dg2")
    before = _digest(game)
    if change == "prompts":
        p = game.parent / "prompts.yaml"
        p.write_text(p.read_text().replace("name: red", "name: crimson"))
    elif change == "clip mtime":
        clip = game.parent / "clips" / "end.mp4"
        os.utime(clip, ns=(clip.stat().st_atime_ns, clip.stat().st_mtime_ns + 10**9))
    else:
        game.write_text(game.read_text().replace("offset: -0.1", "offset: -0.2"))
    assert _digest(game) != before


@pytest.mark.parametrize("assist", [None, "geometry"], ids=["no prompt assist", "prompt assist"])
def test_the_calibration_counts_only_with_prompt_assist(tmp_path, assist):
    import yaml

    game = make_game(tmp_path / "g", "dg3")
    cal = game.parent / "calibration.json"
    cal.write_text('{"cameras": {}}')
    data = yaml.safe_load(game.read_text())
    data["calibration"] = "calibration.json"
    if assist is not None:
        data.setdefault("processing", {})["prompt_assist"] = assist
    game.write_text(yaml.safe_dump(data))
    before = _digest(game)
    cal.write_text('{"cameras": {"end": {}}}')
    assert (_digest(game) != before) == (assist is not None)


# -- sources -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    """Two games in folders, a prompts file and a non-game YAML that discovery must leave alone."""
    root = tmp_path_factory.mktemp("library")
    make_game(root / "a", "alpha")
    make_game(root / "b", "beta")
    (root / "notes.yaml").write_text("title: not a game\n")
    (root / "runs" / "_batches").mkdir(parents=True)
    (root / "runs" / "_batches" / "old.yaml").write_text("cameras: []\n")
    return root


def test_a_folder_gives_its_game_files(library):
    s = resolve_sources([library], GameOptions(image_size=64), library / "runs")
    assert [(j.key, j.game.parent.name, j.options.image_size, j.error) for j in s.jobs] == [
        ("alpha", "a", 64, None),
        ("beta", "b", 64, None),
    ]


def test_a_batch_file_names_the_batch_and_per_game_options_win(library):
    (library / "season.yaml").write_text(
        "name: spring\noptions: {image_size: 128, layout: concat}\n"
        "games:\n  - a/game.yaml\n  - game: b/game.yaml\n    options: {image_size: 256}\n  - a/game.yaml\n"
    )
    s = resolve_sources([library / "season.yaml"], GameOptions(image_size=64, untrained=True))
    assert s.name == "spring"
    # the same game with the same options once; per-game > command line > batch file
    assert [(j.key, j.options.image_size, j.options.layout, j.options.untrained) for j in s.jobs] == [
        ("alpha", 64, "concat", True),
        ("beta", 256, "concat", True),
    ]


def test_the_same_game_with_two_option_sets_gets_two_keys(library):
    (library / "twice.yaml").write_text(
        "games:\n  - a/game.yaml\n  - game: a/game.yaml\n    options: {image_size: 256}\n"
    )
    s = resolve_sources([library / "twice.yaml"], GameOptions())
    assert [j.key for j in s.jobs] == ["alpha", "alpha-2"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("games: []\n", "games"),
        ("games: [a/game.yaml]\nspeed: fast\n", "speed: unknown field"),
        ("games: [a/game.yaml]\noptions: {image_sise: 64}\n", "image_sise: unknown field"),
        ("name: 'bad name'\ngames: [a/game.yaml]\n", "name"),
        ("games: [empty]\n", "no game file found"),
    ],
)
def test_a_bad_batch_file_is_one_clear_error(library, text, message):
    (library / "empty").mkdir(exist_ok=True)
    (library / "bad.yaml").write_text(text)
    with pytest.raises(BatchError, match=message):
        resolve_sources([library / "bad.yaml"], GameOptions())


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("nope.yaml", None, "source not found"),
        ("empty_dir", "dir", "no game file found"),
        ("notes2.yaml", "title: x\n", "neither a game file"),
    ],
)
def test_bad_sources(tmp_path, name, content, message):
    path = tmp_path / name
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_text(content)
    with pytest.raises(BatchError, match=message):
        resolve_sources([path], GameOptions())


def test_a_game_that_cannot_be_read_becomes_a_job_with_its_error(tmp_path):
    game = make_game(tmp_path / "g", "gone")
    (game.parent / "clips" / "side.mp4").unlink()
    (job,) = resolve_sources([game], GameOptions()).jobs
    assert job.key == "g" and "side.mp4" in job.error


# -- worker checks (no Ray needed) -------------------------------------------------------------------
@pytest.mark.parametrize(
    "what, message",
    [("runs", "runs folder .* is not visible on node"), ("game", "game file not found on node")],
)
def test_a_worker_that_cannot_see_the_files_names_path_and_node(tmp_path, what, message):
    game = make_game(tmp_path / "g", "far")
    record_dir = tmp_path / "runs" / "_batches" / "b1"
    record_dir.mkdir(parents=True)
    task = GameTask(
        key="far",
        game=str(tmp_path / "elsewhere.yaml" if what == "game" else game),
        options=GameOptions(untrained=True),
        runs_dir=str(tmp_path / "runs"),
        record_dir=str(tmp_path / "not_mounted" if what == "runs" else record_dir),
    )
    out = process_one(task)
    assert out.status == "failed" and out.attempt == 1
    assert re.search(message, out.error) and "every node" in out.error, out.error


# -- resources ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "nodes, need, fits",
    [
        ([], {"CPU": 1}, False),
        ([{"CPU": 2.0}], {"CPU": 1, "GPU": 0}, True),
        ([{"CPU": 2.0}], {"CPU": 1, "GPU": 1}, False),
        ([{"CPU": 2.0}, {"CPU": 8.0, "GPU": 1.0}], {"CPU": 4, "GPU": 0.5}, True),
        ([{"CPU": 8.0}, {"CPU": 2.0, "GPU": 1.0}], {"CPU": 4, "GPU": 1}, False),  # not on one node
    ],
)
def test_infeasible(nodes, need, fits):
    reason = infeasible(nodes, need, what="game", flags="--gpus-per-game")
    assert (reason is None) == fits
    if not fits:
        assert "no node of the Ray cluster" in reason


# -- record ------------------------------------------------------------------------------------------
def _record(tmp_path: Path) -> BatchRecord:
    games = [
        GameRecord(key="a", game="a.yaml", name="a", status="complete", frames=7, frames_total=7, seconds=2.0),
        GameRecord(key="b", game="b.yaml", name="b", status="failed", error="PromptError: frame 99 of side"),
    ]
    return BatchRecord(
        name="b1", path=str(tmp_path), started_at="now", sources=["x"], settings=BatchSettings(), games=games
    )


def test_a_record_reads_back_and_prints_as_a_table(tmp_path):
    record = _record(tmp_path)
    write_record(record)
    back = read_record(tmp_path)
    assert back == record and read_record(tmp_path / "batch.json") == record
    table = status_table(back)
    assert "7/7" in table and "PromptError: frame 99" in table and "1 complete, 1 failed" in table
    assert back.with_game("b", status="complete").counts() == {"complete": 2}


@pytest.mark.parametrize(
    "content, message",
    [(None, "not found"), ("{", "not valid JSON"), ('{"format": "x"}', "not a multicam batch record")],
)
def test_a_bad_record_is_one_clear_error(tmp_path, content, message):
    if content is not None:
        (tmp_path / "batch.json").write_text(content)
    with pytest.raises(BatchError, match=message):
        read_record(tmp_path)

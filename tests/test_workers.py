"""One game split across Ray workers (``multicam process --workers N``): same masks as one worker.

Real local Ray (the session's ``ray_local``), the real SAM 2.1 tiny architecture with random
weights at 64 px. The masks of a split run are compared line by line with a single-state run's
made with the same number of torch threads per process (1 here): they are BIT-IDENTICAL (every
mask, box and score), because (1) sam2 tracks every object in its own slot, conditioned only on
its own memory, so a state holding a subset of the objects computes the same numbers for them;
(2) both runs split the tracking passes at the first prompted frame of ANY object; and (3) the
image features the parts read from the feature cache are those tracking computes (same function,
model and dtype), stored and loaded exactly. Against a single run with a different thread count
(2) the masks are still identical here, but the scores differ by up to ~4e-7: torch's CPU kernels
sum in a thread-dependent order. That comparison is made with a stated bound: mask IoU 1.0 at
64 px (at least 0.999 is asserted), scores within 1e-5.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from engine.conftest import CAMERAS, write_game
from ruamel.yaml import YAML
from typer.testing import CliRunner

from multicam.cli import app
from multicam.errors import MulticamError
from multicam.pipeline import frame_chunks, object_groups
from multicam.rundir import open_run
from multicam.workers import WorkersError

pytestmark = pytest.mark.sam2

SMALL = tuple((n, w, h, fps, max(k // 2, 3), o) for n, w, h, fps, k, o in CAMERAS)
OPTIONS = ["--untrained", "--image-size", "64", "--device", "cpu", "--dtype", "float32", "-q"]


# -- planning (pure) ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "frames, parts, expected",
    [
        (0, 2, []),
        (1, 4, [range(0, 1)]),
        (10, 1, [range(0, 10)]),
        (10, 3, [range(0, 3), range(3, 7), range(7, 10)]),
        (5, 0, [range(0, 5)]),  # bad count: one chunk
    ],
)
def test_frame_chunks(frames, parts, expected):
    chunks = frame_chunks(frames, parts)
    assert chunks == expected
    assert [i for c in chunks for i in c] == list(range(frames))


@pytest.mark.parametrize(
    "ids, parts, expected",
    [
        ([], 2, []),
        ([3], 4, [[3]]),
        ([1, 2, 3], 2, [[1, 3], [2]]),
        ([5, 1, 1, 2], 3, [[1], [2], [5]]),  # duplicates count once
        ([1, 2], -1, [[1, 2]]),  # bad count: one group
    ],
)
def test_object_groups(ids, parts, expected):
    assert object_groups(ids, parts) == expected


# -- a split run ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def staggered_game(tmp_path_factory) -> Path:
    """Three cameras, two objects prompted on different reference frames (0 and 2: a backward pass)."""
    game = write_game(tmp_path_factory.mktemp("workers_game"), cameras=SMALL)
    yaml = YAML()
    prompts_path = game.parent / "prompts.yaml"
    prompts = yaml.load(prompts_path.read_text())
    prompts["objects"][1]["prompts"][0]["frame"] = 2
    with prompts_path.open("w") as fh:
        yaml.dump(prompts, fh)
    return game


def _process(game: Path, runs: Path, *extra: str) -> Path:
    result = CliRunner().invoke(app, ["process", str(game), "--runs-dir", str(runs), *OPTIONS, *extra])
    assert result.exit_code == 0, result.output
    return Path(result.output.split("run written to ")[1].split("\n")[0])


def _masks(run_dir: Path) -> dict[str, list[str]]:
    return {p.name: p.read_text().splitlines() for p in sorted((run_dir / "masks").glob("*.jsonl"))}


def _differences(a: dict[str, list[str]], b: dict[str, list[str]]) -> list[str]:
    out = []
    for name in sorted(set(a) | set(b)):
        la, lb = a.get(name, []), b.get(name, [])
        if len(la) != len(lb):
            out.append(f"{name}: {len(la)} vs {len(lb)} lines")
        out += [f"{name} line {i + 1}" for i, (x, y) in enumerate(zip(la, lb)) if x != y]
    return out


@pytest.fixture(scope="module")
def single_and_split(staggered_game, tmp_path_factory, ray_local):
    runs = tmp_path_factory.mktemp("workers_runs")
    single = _process(staggered_game, runs, "--name", "single", "--threads", "1", "--feature-cache", "off")
    split = _process(staggered_game, runs, "--name", "split", "--workers", "2")
    return single, split


def test_split_run_masks_equal_single_state_run(single_and_split):
    single, split = single_and_split
    assert open_run(split).manifest.workers.threads_per_worker == 1
    assert _differences(_masks(single), _masks(split)) == []
    assert (single / "tracks.csv").read_text() == (split / "tracks.csv").read_text()


def test_split_run_against_other_thread_count(staggered_game, single_and_split, tmp_path):
    _, split = single_and_split
    two = _process(staggered_game, tmp_path / "runs", "--threads", "2", "--feature-cache", "off")
    a, b = open_run(two), open_run(split)
    compared = 0
    for camera in a.manifest.frames_written:
        for fa, fb in zip(a.iter_frames(camera), b.iter_frames(camera), strict=True):
            assert [o.object_id for o in fa.objects] == [o.object_id for o in fb.objects]
            for oa, ob in zip(fa.objects, fb.objects):
                ma, mb = oa.decode(), ob.decode()
                union = (ma | mb).sum()
                assert union == 0 or (ma & mb).sum() / union >= 0.999, (camera, fa.frame, oa.object_id)
                assert abs(oa.score - ob.score) <= 1e-5
                compared += 1
    assert compared == 2 * sum(a.manifest.frames_written.values())


def test_split_run_manifest_records_the_split(single_and_split):
    single, split = single_and_split
    m, s = open_run(split).manifest, open_run(single).manifest
    assert m.status == "complete"
    assert m.workers is not None and m.workers.count == 2
    assert sorted(tuple(p.objects) for p in m.workers.parts) == [(1,), (2,)]
    assert m.workers.frames_encoded == m.sequence_frames == s.sequence_frames
    assert m.frames_written == s.frames_written
    assert m.mask_determinants == s.mask_determinants  # a later --from correction can start from it
    assert m.object_prompts_sha256 == s.object_prompts_sha256
    assert m.inputs_sha256 == s.inputs_sha256  # a batch skips it as it skips the single run
    for part in m.workers.parts:  # merged: the parts keep their manifests only
        folder = split / part.run
        assert (folder / "manifest.json").is_file()
        assert not list(folder.glob("masks/*.jsonl"))


def test_more_workers_than_objects(staggered_game, single_and_split, tmp_path):
    single, _ = single_and_split
    split = _process(staggered_game, tmp_path / "runs", "--workers", "3", "--threads", "1")
    m = open_run(split).manifest
    assert m.workers.feature_chunks == 3 and len(m.workers.parts) == 2
    assert _differences(_masks(single), _masks(split)) == []


def _part_from(full: Path, part: Path, object_id: int, keep: float, status: str) -> None:
    """Make ``part`` look as a part tracking ``object_id`` left it: the first ``keep`` of its lines."""
    (part / "masks").mkdir(exist_ok=True)
    for path in (full / "masks").glob("*.jsonl"):
        lines = [json.loads(x) for x in path.read_text().splitlines()]
        for line in lines:
            line["objects"] = [o for o in line["objects"] if o["id"] == object_id]
        kept = lines[: int(len(lines) * keep)]
        (part / "masks" / path.name).write_text("".join(json.dumps(x) + "\n" for x in kept))
    _set_status(part, status)


def _set_status(folder: Path, status: str) -> None:
    data = json.loads((folder / "manifest.json").read_text())
    data["status"] = status
    (folder / "manifest.json").write_text(json.dumps(data))


def test_interrupted_split_run_resumes_to_the_same_masks(staggered_game, single_and_split, tmp_path):
    single, _ = single_and_split
    split = _process(staggered_game, tmp_path / "runs", "--workers", "2", "--threads", "1")
    # as if stopped during stage 2: part 1 done, part 2 half written, nothing merged yet
    full = _process(staggered_game, tmp_path / "runs_part", "--name", "p", "--threads", "1")
    _part_from(full, split / "parts" / "part1", 1, 1.0, "complete")
    _part_from(full, split / "parts" / "part2", 2, 0.5, "interrupted")
    _set_status(split, "interrupted")
    for path in (split / "masks").glob("*.jsonl"):
        path.write_text("")
    result = CliRunner().invoke(app, ["process", "--resume", str(split), "-q"])
    assert result.exit_code == 0, result.output
    m = open_run(split).manifest
    assert m.status == "complete" and m.resumes
    assert _differences(_masks(single), _masks(split)) == []


def test_merged_parts_are_tracked_again_when_a_merge_is_redone(staggered_game, single_and_split, tmp_path):
    single, _ = single_and_split
    split = _process(staggered_game, tmp_path / "runs", "--workers", "2", "--threads", "1")
    _set_status(split, "failed")  # e.g. the disk filled up while the merged masks were written
    result = CliRunner().invoke(app, ["process", "--resume", str(split), "-q"])
    assert result.exit_code == 0, result.output
    assert _differences(_masks(single), _masks(split)) == []


def test_impossible_worker_request_fails_at_once(staggered_game, tmp_path, ray_local):
    result = CliRunner().invoke(
        app,
        ["process", str(staggered_game), "--runs-dir", str(tmp_path / "runs"), *OPTIONS]
        + ["--workers", "2", "--gpus-per-worker", "1"],
    )
    assert isinstance(result.exception, WorkersError)  # the CLI's guard prints it as one line, exit code 2
    assert "no node of the Ray cluster can ever run one worker with" in str(result.exception)
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").rglob("manifest.json"))


def test_split_run_needs_the_feature_cache(staggered_game, tmp_path, ray_local):
    result = CliRunner().invoke(
        app,
        ["process", str(staggered_game), "--runs-dir", str(tmp_path / "runs"), *OPTIONS]
        + ["--workers", "2", "--feature-cache", "off"],
    )
    assert isinstance(result.exception, MulticamError)
    assert "--feature-cache" in str(result.exception)


def test_a_user_error_in_a_worker_comes_back_as_itself(tmp_path, ray_local):
    from multicam.errors import GameFileError
    from multicam.pipeline import ProcessOptions
    from multicam.workers import RayStages, WorkerSettings

    missing = tmp_path / "gone" / "game.yaml"  # e.g. not on the shared storage of the worker's node
    stages = RayStages(str(missing), ProcessOptions(untrained=True, progress=False), WorkerSettings(retries=0), 1)
    with pytest.raises(GameFileError, match="gone") as caught:
        stages.encode([[0], [1]])
    assert "on node" in str(caught.value) and "mounts at the same path" in str(caught.value)


@pytest.mark.parametrize(
    "address, message",
    [
        ("127.0.0.1:9", "cannot reach the Ray cluster at 127.0.0.1:9"),
        ("nohost", "give HOST:PORT"),
        ("10.0.0.1:port", "give HOST:PORT"),
    ],
)
def test_an_address_nobody_listens_at_fails_at_once(address, message):
    from multicam.workers import WorkersError, check_address

    t0 = time.perf_counter()
    with pytest.raises(WorkersError, match=message):
        check_address(address, timeout_s=2.0)
    assert time.perf_counter() - t0 < 10


@pytest.mark.parametrize("address", [None, "auto", "ray://10.0.0.1:10001"])
def test_addresses_left_to_ray(address):
    from multicam.workers import check_address

    check_address(address)  # nothing to check here: Ray connects (or explains) itself


def test_the_cli_says_in_one_line_that_the_cluster_is_not_there(staggered_game, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "multicam", "process", str(staggered_game), "--runs-dir", str(tmp_path / "runs")]
        + [*OPTIONS, "--workers", "2", "--address", "127.0.0.1:9"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    lines = [x for x in done.stderr.splitlines() if x.startswith("error:")]
    assert len(lines) == 1 and "cannot reach the Ray cluster at 127.0.0.1:9" in lines[0]
    assert "Traceback" not in done.stderr

"""Speed and bounded-memory features of ``multicam process``: feature cache, resume, speed options.

Small on purpose: the three-camera disc game, random weights, 128 px, CPU.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from multicam.cli import app
from multicam.engine import FeatureCache, FeatureSpace
from multicam.engine.features import clip_identity
from multicam.errors import RunDirError
from multicam.pipeline import ProcessOptions, process_game, resume_run
from multicam.rundir import open_run

from .conftest import CAMERAS, write_game

SIZE = 128


def options(tmp_path: Path, **changes) -> ProcessOptions:
    base = dict(
        untrained=True,
        image_size=SIZE,
        device="cpu",
        dtype="float32",
        runs_dir=tmp_path / "runs",
        progress=False,
        feature_cache="off",
    )
    return ProcessOptions(**{**base, **changes})


def masks_of(run_dir: Path) -> dict:
    run = open_run(run_dir)
    return {(name, i): fm for name in run.cameras for i, fm in run.frames(name).items()}


def ious(a: dict, b: dict) -> list[float]:
    """IoU of every (camera, frame, object) present in either run (absent in one: 0)."""
    out = []
    for key in sorted(set(a) | set(b)):
        fa, fb = a.get(key), b.get(key)
        for oid in sorted(set(fa.object_ids if fa else ()) | set(fb.object_ids if fb else ())):
            x = fa.mask(oid) if fa else None
            y = fb.mask(oid) if fb else None
            if x is None or y is None:
                out.append(0.0)
                continue
            union = (x | y).sum()
            out.append(float((x & y).sum() / union) if union else 1.0)
    return out


@pytest.fixture(scope="module")
def baseline(disc_game_late, tmp_path_factory):
    """An uninterrupted run without cache (prompts on reference frame 3: backward and forward tracking)."""
    tmp = tmp_path_factory.mktemp("baseline")
    result = process_game(disc_game_late, options(tmp))
    masks = masks_of(result.run_dir)
    assert len(masks) == sum(c[4] for c in CAMERAS) and any(fm.objects for fm in masks.values())
    return result, masks


# -- feature cache ---------------------------------------------------------------------------------
@pytest.mark.sam2
def test_second_run_reads_every_frame_from_the_feature_cache(disc_game_late, baseline, tmp_path):
    cache = tmp_path / "features"
    first = process_game(disc_game_late, options(tmp_path, feature_cache=cache))
    second = process_game(disc_game_late, options(tmp_path, feature_cache=cache))
    n = sum(c[4] for c in CAMERAS)
    f1, f2 = first.manifest.features, second.manifest.features
    assert f1.encoder_forwards == n and f1.loaded == 0 and f1.stores == n
    assert f2.encoder_forwards == 0 and f2.loaded == n
    assert masks_of(second.run_dir) == masks_of(first.run_dir) == baseline[1]  # stored exactly: same masks
    other_size = process_game(disc_game_late, options(tmp_path, feature_cache=cache, image_size=SIZE + 32))
    assert other_size.manifest.features.encoder_forwards == n  # the image size is part of the key
    assert other_size.manifest.features.loaded == 0


@pytest.mark.parametrize(
    "field, value",
    [
        (None, None),
        ("config", "configs/sam2.1/sam2.1_hiera_l.yaml"),
        ("weights", "random-seed-1"),
        ("image_size", 512),
        ("dtype", "bfloat16"),
        ("compiled", True),
        ("sam2", "9.9"),
    ],
)
def test_feature_key_names_model_weights_size_and_dtype(field, value):
    base = FeatureSpace(
        config="configs/sam2.1/sam2.1_hiera_t.yaml",
        weights="random-seed-0",
        image_size=256,
        dtype="float32",
        compiled=False,
        sam2="1.1.0",
    )
    changed = base if field is None else FeatureSpace(**{**base.__dict__, field: value})
    assert (changed.key == base.key) == (field is None)


def test_clip_identity_changes_when_the_file_changes(tmp_path):
    clip = tmp_path / "a.mp4"
    clip.write_bytes(b"0" * 10)
    first = clip_identity(clip)
    assert clip_identity(clip) == first
    os.utime(clip, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert clip_identity(clip) != first
    clip.write_bytes(b"0" * 11)
    assert clip_identity(clip) != first


def _fill(cache: FeatureCache, space: FeatureSpace, clip: str, frames) -> list[bool]:
    pos = [torch.zeros(1, 2, 2, 2)]
    cache.store_pos_enc(space, pos)
    return [cache.store(space, clip, f, [torch.full((1, 8, 8, 8), float(f))]) for f in frames]


def test_feature_cache_evicts_least_recently_used_files_of_other_runs(tmp_path):
    space = FeatureSpace("cfg", "w", 64, "float32", False, "1")
    old = FeatureCache(tmp_path)
    assert _fill(old, space, "clipA", range(4)) == [True] * 4
    per_file = old.frame_path(space, "clipA", 0).stat().st_size
    now = time.time()
    for f, age in enumerate((100, 10, 90, 80)):  # frame 1 was read last
        os.utime(old.frame_path(space, "clipA", f), (now - age, now - age))
    new = FeatureCache(tmp_path, max_bytes=int(4.5 * per_file))  # another run
    assert _fill(new, space, "clipB", range(3)) == [True] * 3
    left = [f for f in range(4) if new.contains(space, "clipA", f)]
    assert left == [1] and new.stats.evicted == 3  # least recently used first
    assert torch.equal(new.load(space, "clipB", 2)[0], torch.full((1, 8, 8, 8), 2.0))
    # full of this run's own frames: new frames are not stored rather than evicting them
    assert _fill(new, space, "clipB", [3, 4]) == [True, False]
    assert new.stats.skipped_full == 1 and all(new.contains(space, "clipB", f) for f in range(4))
    assert new.size_bytes() <= 4.5 * per_file


@pytest.mark.parametrize("files", [0, 3])
def test_feature_cache_load_of_a_missing_frame_is_a_miss(tmp_path, files):
    space = FeatureSpace("cfg", "w", 64, "float32", False, "1")
    cache = FeatureCache(tmp_path)
    _fill(cache, space, "clip", range(files))
    assert cache.load(space, "clip", files) is None and cache.stats.misses == 1
    assert cache.size_bytes() == sum(cache.frame_path(space, "clip", f).stat().st_size for f in range(files))


# -- resume --------------------------------------------------------------------------------------
class Stop(Exception):
    pass


def backward_frames(game: Path) -> int:
    """Frames tracked backward (before the first prompted frame) in the interleave layout."""
    from multicam.layout import build_layout, resolve_prompts
    from multicam.session import open_game

    opened = open_game(game)
    lay = build_layout(opened.timeline, "interleave")
    prompts = resolve_prompts(
        opened.prompts, lay, opened.reference, {n: i.resolution_wh for n, i in opened.clips.items()}
    )
    return min(p.index for p in prompts)


def interrupted(game: Path, opts: ProcessOptions, after: int) -> Path:
    seen = []

    def on_frame(fm):
        seen.append(fm)
        if len(seen) == after:
            raise Stop

    with pytest.raises(Stop):
        process_game(game, opts, on_frame=on_frame)
    (run_dir,) = list((opts.runs_dir).glob("*/run*"))
    assert open_run(run_dir).status == "failed"
    assert len(masks_of(run_dir)) == after
    return run_dir


@pytest.mark.sam2
@pytest.mark.parametrize("after, snapshot_every_s", [(2, 0.0), (14, None)])
def test_resumed_run_has_the_masks_of_an_uninterrupted_run(disc_game_late, baseline, tmp_path, after, snapshot_every_s):
    """Interrupted in the backward pass (state saved after every frame) or the forward pass (no snapshot)."""
    run_dir = interrupted(disc_game_late, options(tmp_path, snapshot_every_s=snapshot_every_s), after)
    assert (run_dir / "resume" / "state.pt").is_file() == (snapshot_every_s is not None)
    result = resume_run(run_dir, progress=False)
    run = open_run(run_dir)
    assert run.is_complete and result.frames == len(baseline[1]) - after
    assert masks_of(run_dir) == baseline[1]
    assert run.manifest.frames_written == {name: count for name, _, _, _, count, _ in CAMERAS}
    (resumed,) = run.manifest.resumes
    assert resumed.frames_kept == after and resumed.snapshot == (snapshot_every_s is not None)
    # the snapshot is one frame behind the failure; without one, the forward pass is tracked again
    start = backward_frames(disc_game_late)
    assert 2 < start < 14
    assert resumed.replayed_frames == (1 if snapshot_every_s is not None else after - start)
    rows = (run_dir / "tracks.csv").read_text().splitlines()
    base_rows = (baseline[0].run_dir / "tracks.csv").read_text().splitlines()
    assert sorted(rows) == sorted(base_rows)
    assert not (run_dir / "resume").exists()


@pytest.mark.sam2
def test_resume_from_the_cli_drops_a_frame_cut_short(disc_game_late, baseline, tmp_path):
    run_dir = interrupted(disc_game_late, options(tmp_path, snapshot_every_s=None), 6)
    masks = run_dir / "masks" / "side.jsonl"
    with masks.open("a") as fh:
        fh.write('{"frame": 99, "time": 0.0, "resoluti')  # a crash in the middle of a line
    result = CliRunner().invoke(app, ["process", "--resume", str(run_dir), "-q"])
    assert result.exit_code == 0, result.output
    assert "run resumed" in result.output
    assert masks_of(run_dir) == baseline[1] and open_run(run_dir).is_complete
    again = CliRunner().invoke(app, ["process", "--resume", str(run_dir)])
    assert again.exit_code != 0 and "complete" in str(again.exception)


@pytest.mark.sam2
def test_resume_refuses_changed_prompts(disc_game_late, tmp_path):
    import shutil

    game_dir = tmp_path / "game"
    shutil.copytree(disc_game_late.parent, game_dir)
    run_dir = interrupted(game_dir / "game.yaml", options(tmp_path), 1)
    prompts = game_dir / "prompts.yaml"
    prompts.write_text(prompts.read_text().replace("frame: 3", "frame: 2"))
    with pytest.raises(RunDirError, match="prompts .* changed"):
        resume_run(run_dir, progress=False)


# -- speed options -----------------------------------------------------------------------------------
SHORT = (("side", 160, 120, 10, 6, 0.0), ("end", 128, 96, 15, 4, -0.1))


@pytest.fixture(scope="module")
def short_game(tmp_path_factory):
    """Two cameras, ten frames (bfloat16 autocast is slow on CPUs without bfloat16 instructions)."""
    root = tmp_path_factory.mktemp("short")
    game = write_game(root, cameras=SHORT)
    return game, masks_of(process_game(game, options(root)).run_dir)


@pytest.mark.sam2
@pytest.mark.parametrize("change, min_mean_iou", [({"batch_objects": True}, 0.99), ({"dtype": "bfloat16"}, 0.9)])
def test_speed_options_agree_with_the_default(short_game, tmp_path, change, min_mean_iou):
    game, default = short_game
    result = process_game(game, options(tmp_path, **change))
    m = result.manifest
    assert m.options.batch_objects == change.get("batch_objects", False)
    assert m.dtype == change.get("dtype", "float32")
    masks = masks_of(result.run_dir)
    assert set(masks) == set(default) and any(fm.objects for fm in default.values())
    values = ious(masks, default)
    assert values and float(np.mean(values)) >= min_mean_iou


@pytest.mark.sam2
def test_manifest_records_what_resume_needs(baseline):
    m = json.loads((baseline[0].run_dir / "manifest.json").read_text())
    assert set(m["options"]) >= {"dtype", "compile", "batch_objects", "feature_cache", "snapshot_every_s"}
    assert len(m["prompts_sha256"]) == 64 and m["process"]["pid"] > 0
    assert m["features"]["encoder_forwards"] == len(baseline[1]) and m["features"]["cache"] is None

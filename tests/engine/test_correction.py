"""Incremental corrections (``multicam process GAME --from RUN``) on the real SAM 2 path (random weights, 64 px).

The masks of a correction run are compared with a fresh run of the corrected game mask by
mask, with ``==`` on the decoded run files: bit-identical RLEs and scores. They are
bit-identical because each object is tracked at batch size 1 from the same image features
whatever the other objects are (sam2 1.1.0 tracks objects independently, see
:mod:`multicam.correction`), and CPU kernels are deterministic for equal inputs and shapes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

from multicam.cli import app
from multicam.correction import DETERMINANTS, CorrectionPlan, merge_frame, plan_correction
from multicam.errors import RunDirError
from multicam.masks import FrameMasks, ObjectMask
from multicam.pipeline import ProcessOptions, process_game, resume_run
from multicam.rundir import open_run

from .conftest import write_game
from .test_performance import masks_of, options

SIZE = 64
CAMERAS = (("side", 160, 120, 10, 6, 0.0), ("end", 128, 96, 15, 5, -0.1))  # 11 frames: small on purpose
GHOST = {  # a third object, prompted with a box only
    "id": 3,
    "name": "ghost",
    "team": None,
    "prompts": [{"frame": 3, "box_xyxy": [60.0, 10.0, 110.0, 50.0]}],
}


def opts(runs: Path, **changes) -> ProcessOptions:
    return options(runs, **{"runs_dir": runs, "image_size": SIZE, "snapshot_every_s": None, **changes})


def edit_prompts(game: Path, change) -> None:
    yaml = YAML()
    path = game.parent / "prompts.yaml"
    data = yaml.load(path.read_text())
    change({int(o["id"]): o for o in data["objects"]}, data)
    with path.open("w") as fh:
        yaml.dump(data, fh)


def move_click(objects, _data, oid=2, dx=6.0):
    objects[oid]["prompts"][0]["positive"][0][0] += dx


def shift_box(objects, _data, oid=3, dx=4.0):
    box = objects[oid]["prompts"][0]["box_xyxy"]
    box[0] += dx
    box[2] += dx


@pytest.fixture(scope="module")
def three_objects(tmp_path_factory):
    """A three-object game (prompts on reference frame 3: backward and forward passes) and its first run."""
    root = tmp_path_factory.mktemp("corr")
    game = write_game(root / "game", prompt_frame=3, extra_prompts=[GHOST], cameras=CAMERAS)
    first = process_game(game, opts(root / "runs"))
    return game, first.run_dir


def corrected_copy(three_objects, tmp_path: Path, change) -> tuple[Path, Path]:
    """The game copied with the same clips (same identity: copied files keep no mtime, so link them)."""
    game, first = three_objects
    target = tmp_path / "game"
    shutil.copytree(game.parent, target, ignore=shutil.ignore_patterns("clips"))
    (target / "clips").symlink_to(game.parent / "clips")
    edit_prompts(target / "game.yaml", change)
    return target / "game.yaml", first


@pytest.fixture(scope="module")
def corrected(three_objects, tmp_path_factory):
    """The game with object 2's click moved, and a fresh run of it."""
    tmp = tmp_path_factory.mktemp("corrected")
    game, first = corrected_copy(three_objects, tmp, move_click)
    return game, first, process_game(game, opts(tmp / "fresh"))


@pytest.mark.sam2
def test_correction_retracks_only_the_changed_object_and_equals_a_fresh_run(corrected, tmp_path):
    game, first, fresh = corrected
    seen = []
    corrected = process_game(game, opts(tmp_path / "runs", from_run=first), on_frame=seen.append)
    m = corrected.manifest
    assert m.correction == {"source_run": str(first), "retracked": [2], "reused": [1, 3], "reason": None}
    assert m.options.from_run == str(first.resolve())
    assert open_run(corrected.run_dir).is_complete
    a, b = masks_of(corrected.run_dir), masks_of(fresh.run_dir)
    assert len(a) == sum(c[4] for c in CAMERAS) and a == b  # bit-identical, mask by mask
    assert {oid for fm in a.values() for oid in fm.object_ids} == {1, 2, 3}
    assert masks_of(first) != b  # the correction changed object 2's masks, so the test can fail
    assert sorted((corrected.run_dir / "tracks.csv").read_text().splitlines()) == sorted(
        (fresh.run_dir / "tracks.csv").read_text().splitlines()
    )
    assert seen and all(isinstance(fm, FrameMasks) for fm in seen)
    # one object tracked instead of three, the image encoder as often
    assert m.features.encoder_forwards == fresh.manifest.features.encoder_forwards


@pytest.mark.sam2
def test_correction_from_the_cli_with_an_added_and_a_removed_object(three_objects, tmp_path):
    def change(objects, data):
        data["objects"] = [o for o in data["objects"] if int(o["id"]) != 3]
        extra = dict(GHOST, id=4, name="new")
        data["objects"].append(extra)

    game, first = corrected_copy(three_objects, tmp_path, change)
    runs = tmp_path / "runs"
    args = ["process", str(game), "--untrained", "--image-size", str(SIZE), "--device", "cpu", "-q"]
    args += ["--feature-cache", "off", "--runs-dir", str(runs)]
    result = CliRunner().invoke(app, [*args, "--from", str(first)])
    assert result.exit_code == 0, result.output
    assert f"correction of {first}: tracked object(s) [4], copied [1, 2]" in result.output
    fresh = CliRunner().invoke(app, [*args, "--name", "fresh"])
    assert fresh.exit_code == 0, fresh.output
    a, b = masks_of(runs / "discs" / "run1"), masks_of(runs / "discs" / "fresh1")
    assert a == b and {oid for fm in a.values() for oid in fm.object_ids} <= {1, 2, 4}


@pytest.mark.sam2
@pytest.mark.parametrize(
    "change, changes, reason",
    [
        (move_click, {"image_size": 96}, "image_size 64 -> 96"),
        # an earlier prompt moves where the tracking passes split: every object's masks change
        (lambda o, d: o[2]["prompts"].__setitem__(0, {**o[2]["prompts"][0], "frame": 1}), {}, "tracking_start"),
        (lambda o, d: [move_click(o, d, 1), move_click(o, d, 2), shift_box(o, d, 3)], {}, "every object's prompts"),
    ],
)
def test_correction_tracks_everything_and_says_why(three_objects, tmp_path, change, changes, reason):
    game, first = corrected_copy(three_objects, tmp_path, change)
    result = process_game(game, opts(tmp_path / "runs", from_run=first, **changes))
    c = result.manifest.correction
    assert c["reused"] == [] and c["retracked"] == [1, 2, 3] and reason in c["reason"]
    assert len(masks_of(result.run_dir)) == sum(cam[4] for cam in CAMERAS)


@pytest.mark.sam2
def test_correction_with_nothing_changed_copies_every_mask(three_objects, tmp_path):
    game, first = corrected_copy(three_objects, tmp_path, lambda o, d: None)
    result = process_game(game, opts(tmp_path / "runs", from_run=first))
    assert result.manifest.correction["retracked"] == []
    assert result.manifest.features.encoder_forwards == 0
    assert masks_of(result.run_dir) == masks_of(first)


@pytest.mark.sam2
def test_an_interrupted_correction_resumes_to_the_same_masks(corrected, tmp_path):
    game, first, fresh = corrected
    seen = []

    def stop(fm):
        seen.append(fm)
        if len(seen) == 5:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        process_game(game, opts(tmp_path / "runs", from_run=first), on_frame=stop)
    (run_dir,) = (tmp_path / "runs").glob("*/run*")
    resume_run(run_dir, progress=False)
    assert masks_of(run_dir) == masks_of(fresh.run_dir)
    assert open_run(run_dir).manifest.correction["retracked"] == [2]


@pytest.mark.sam2
def test_from_refuses_a_run_that_is_not_complete(three_objects, tmp_path):
    game, first = three_objects
    broken = tmp_path / "broken"
    shutil.copytree(first, broken)
    text = (broken / "manifest.json").read_text().replace('"status": "complete"', '"status": "failed"')
    (broken / "manifest.json").write_text(text)
    with pytest.raises(RunDirError, match="failed, not complete"):
        process_game(game, opts(tmp_path / "runs", from_run=broken))
    with pytest.raises(RunDirError, match="not a run directory"):
        process_game(game, opts(tmp_path / "runs", from_run=tmp_path))


# -- planning and merging (no model) -----------------------------------------------------------------
class _Run:
    def __init__(self, manifest):
        self.manifest, self.path = manifest, Path("runs/g/run1")


BASE = {k: 1 for k in DETERMINANTS}


@pytest.mark.parametrize(
    "manifest, digests, expected",
    [
        ({}, {1: "a"}, ((1,), (), "older multicam")),
        ({"mask_determinants": BASE, "object_prompts_sha256": {}}, {}, ((), (), "every object")),
        (
            {"mask_determinants": BASE, "object_prompts_sha256": {"1": "a", "2": "b"}},
            {1: "a", 2: "c"},
            ((2,), (1,), None),
        ),
        ({"mask_determinants": BASE, "object_prompts_sha256": {"1": "a"}}, {1: "a"}, ((), (1,), None)),
        (
            {"mask_determinants": {**BASE, "dtype": 2}, "object_prompts_sha256": {"1": "a"}},
            {1: "a"},
            ((1,), (), "dtype 2 -> 1"),
        ),
    ],
)
def test_plan_correction(manifest, digests, expected):
    plan = plan_correction(_Run(manifest), BASE, digests)
    retrack, reuse, reason = expected
    assert (plan.retrack, plan.reuse) == (retrack, reuse)
    assert (plan.reason is None) if reason is None else (reason in plan.reason)
    assert CorrectionPlan.from_json(plan.to_json()) == plan


def test_merge_frame_keeps_reused_objects_and_orders_by_id():
    import numpy as np

    m = np.zeros((4, 6), bool)
    m[1:3, 2:4] = True
    tracked = FrameMasks("a", 5, 0.2, (6, 4), (ObjectMask.from_mask(2, m, 0.5),))
    source = FrameMasks("a", 5, 0.2, (6, 4), tuple(ObjectMask.from_mask(i, m, 0.1) for i in (1, 2, 3)))
    merged = merge_frame(tracked, source, reuse=(1, 3))
    assert merged.object_ids == (1, 2, 3) and merged.get(2).score == 0.5 and merged.get(3).score == 0.1
    assert merge_frame(tracked, None, reuse=(1, 3)).object_ids == (2,)
    with pytest.raises(ValueError, match="source run has"):
        merge_frame(tracked, FrameMasks("a", 5, 0.2, (8, 4)), reuse=(1,))

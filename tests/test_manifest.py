"""The run manifest as a typed record: manifests written by earlier code still open, newer ones are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from multicam.errors import RunDirError
from multicam.game import GameConfig
from multicam.manifest import FORMAT_VERSION, GameRef, RunManifest
from multicam.rundir import open_run

DATA = Path(__file__).parent / "data" / "manifests"
WRITTEN = sorted(DATA.glob("*.json"))  # by `multicam process --untrained --image-size 64` and `multicam synth`


def _run_dir(tmp_path: Path, data: dict | str) -> Path:
    folder = tmp_path / "run1"
    folder.mkdir()
    text = data if isinstance(data, str) else json.dumps(data)
    (folder / "manifest.json").write_text(text)
    return folder


@pytest.mark.parametrize("path", WRITTEN, ids=[p.stem for p in WRITTEN])
def test_manifests_written_by_earlier_code_open_and_write_back_the_same(tmp_path, path):
    data = json.loads(path.read_text())
    run = open_run(_run_dir(tmp_path, data))
    m = run.manifest
    assert isinstance(m, RunManifest) and m.kind == data["kind"] and m.status == data["status"]
    assert m.to_json() == data  # nothing lost, nothing added
    assert list(run.cameras) == [c["name"] for c in data["cameras"]]
    assert sorted(run.objects) == sorted(o["id"] for o in data["objects"])
    assert run.untrained == bool((data["model"] or {}).get("untrained"))
    assert run.reference == data["reference"]
    assert run.timeline().reference == data["reference"]
    if data["kind"] == "run":
        assert isinstance(m.game, GameRef) and m.recorded_game_path == Path(data["game"]["path"])
        assert m.options is not None and m.process is not None and m.game_config == m.config
    else:
        assert isinstance(m.game, GameConfig) and m.recorded_game_path is None and m.game_config == m.game


def test_written_fixtures_cover_every_status_and_kind():
    seen = {(json.loads(p.read_text())["kind"], json.loads(p.read_text())["status"]) for p in WRITTEN}
    assert {("run", "complete"), ("run", "interrupted"), ("ground_truth", "complete")} <= seen
    assert any(json.loads(p.read_text()).get("resumes") for p in WRITTEN)


def _complete() -> dict:
    return json.loads((DATA / "run_complete.json").read_text())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format_version": FORMAT_VERSION + 1}, "written by a newer multicam.*upgrade"),
        ({"format": "something-else"}, "not a multicam run manifest"),
        ({"status": "paused"}, r"status: give 'running', 'complete', 'failed' or 'interrupted'"),
        ({"timings": {"track_s": "fast"}}, r"timings\.track_s"),
        ({"colour": "red"}, r"colour: unknown field"),
        ({"cameras": [{"name": "a"}]}, "cameras"),
        ({"derived_prompts": {"method": "magic"}}, r"derived_prompts\.method"),
        ({"derived_prompts": {"prompts": [{"object_id": 1, "camera": "a"}]}}, r"derived_prompts\.prompts\.0\.frame"),
    ],
)
def test_bad_manifests_name_the_problem(tmp_path, change, message):
    with pytest.raises(RunDirError, match=message):
        open_run(_run_dir(tmp_path, {**_complete(), **change}))


@pytest.mark.parametrize(("text", "message"), [("", "not valid JSON"), ("[]", "not a multicam"), ("{}", "not a")])
def test_empty_and_garbage_manifests(tmp_path, text, message):
    with pytest.raises(RunDirError, match=message):
        open_run(_run_dir(tmp_path, text))


def test_older_runs_name_their_game_with_game_path(tmp_path):
    data = _complete()
    data["game_path"] = "/games/g.yaml"
    del data["game"]["path"]
    assert open_run(_run_dir(tmp_path, data)).game_path() == Path("/games/g.yaml")


def test_updated_checks_fields_and_keeps_what_was_set():
    m = RunManifest.model_validate(_complete())
    again = m.updated(status="failed", error="boom")
    assert (again.status, again.error, m.status, m.error) == ("failed", "boom", "complete", None)
    assert again.to_json() == {**_complete(), "status": "failed", "error": "boom"}
    with pytest.raises(ValueError, match="status"):
        m.updated(status="paused")


DERIVED = {
    "method": "geometry",
    "calibration": "/games/calibration.json",
    "prompts": [
        {
            "object_id": 2,
            "camera": "end",
            "frame": 7,
            "time": 0.28,
            "box_xyxy": [10.5, 4.0, 30.1, 41.9],
            "floor_xy": [9.25, 6.125],
            "source_frame": 7,
        }
    ],
    "skipped": [{"object_id": 3, "camera": "end", "time": 0.28, "reason": "outside the image"}],
}


@pytest.mark.parametrize("derived", [None, {"method": "geometry"}, DERIVED], ids=["absent", "empty", "prompts"])
def test_derived_prompts_are_typed_and_written_back_the_same(tmp_path, derived):
    data = _complete() if derived is None else {**_complete(), "derived_prompts": derived}
    m = open_run(_run_dir(tmp_path, data)).manifest
    assert m.to_json() == data
    if derived is None:
        assert m.derived_prompts is None  # runs without prompt assist (and older runs) have none
    else:
        assert m.derived_prompts.method == "geometry"
        assert [p.box_xyxy for p in m.derived_prompts.prompts] == [
            tuple(p["box_xyxy"]) for p in derived.get("prompts", [])
        ]


def test_derived_prompts_are_rounded_when_written():
    from multicam.manifest import DerivedPrompt

    p = DerivedPrompt(
        object_id=1,
        camera="a",
        frame=0,
        time=1 / 3,
        box_xyxy=(1.26, 2.0, 3.0, 4.04),
        floor_xy=(1 / 3, 2.0),
        source_frame=0,
    )
    assert p.model_dump(mode="json") == {
        "object_id": 1,
        "camera": "a",
        "frame": 0,
        "time": 0.3333,
        "box_xyxy": [1.3, 2.0, 3.0, 4.0],
        "floor_xy": [0.333, 2.0],
        "source_frame": 0,
    }

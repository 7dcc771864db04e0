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
        ({"status": "paused"}, r"status: Input should be"),
        ({"timings": {"track_s": "fast"}}, r"timings\.track_s"),
        ({"colour": "red"}, r"colour: unknown field"),
        ({"cameras": [{"name": "a"}]}, "cameras"),
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

"""The dashboard's Season page (AppTest, no browser) on a batch record written by hand."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from multicam.batch import BatchRecord, BatchSettings, GameRecord
from multicam.batch.record import new_record_dir, write_record
from multicam.report import report_run
from multicam.rundir import open_run

from .conftest import CAMERAS, make_game

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "dashboards" / "app.py"


@pytest.fixture
def season(tmp_path, make_run):
    """Two games with a run each (one with a report), one failed game, in one batch record."""
    runs = tmp_path / "runs"
    games = []
    for name in ("game0", "game1"):
        game = make_game(tmp_path / "games" / name, name)
        frames = {cam: {i: np.zeros((h, w), np.int32) for i in range(n)} for cam, w, h, _, n, _ in CAMERAS}
        for cam in frames:
            frames[cam][0][5:15, 5:15] = 1
        run = make_run(
            runs / name / "run1",
            frames,
            fps=10.0,
            manifest={
                "game": {"name": name, "path": str(game)},
                "model": {"name": "sam2.1_hiera_tiny", "untrained": True},
            },
        )
        games.append(
            GameRecord(
                key=name,
                game=str(game),
                name=name,
                status="complete",
                run_dir=str(run),
                frames_per_s=3.5,
                untrained=True,
            )
        )
    report, _, _ = report_run(open_run(runs / "game0" / "run1"), appearance=False)
    games.append(GameRecord(key="broken", game="/nowhere/game.yaml", name="broken", status="failed", error="bad"))
    record_dir = new_record_dir(runs, "spring")
    record = BatchRecord(
        name=record_dir.name,
        path=str(record_dir),
        started_at="2026-12-02T00:00:00+00:00",
        sources=[],
        settings=BatchSettings(runs_dir=str(runs)),
        games=games,
        status="failed",
    )
    write_record(record)
    return runs, record, report.record


@pytest.fixture
def season_app(season, monkeypatch):
    runs, _, _ = season
    monkeypatch.setenv("MULTICAM_DASHBOARD", json.dumps({"runs_dir": str(runs), "games": []}))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.switch_page("pages/season.py")
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_season_page_lists_the_games_of_a_batch(season_app, season):
    report = season[2]
    (table,) = season_app.dataframe
    df = table.value
    assert list(df["game"]) == ["game0", "game1", "broken"]
    assert df["score"][0] == report.scores.overall and df["flagged"][0] == len(report.review)
    assert df["error"][2] == "bad" and df["score"].isna()[1]  # game1 has no report
    assert any("UNTRAINED" in w.value for w in season_app.warning)
    assert season_app.button(key="season_review_broken").disabled  # no run to open
    assert not season_app.button(key="season_review_game1").disabled


@pytest.mark.parametrize("button, page_widget", [("review", "review_time"), ("consistency", None)])
def test_a_game_opens_in_review_and_consistency(season_app, season, button, page_widget):
    runs, _, _ = season
    season_app.button(key=f"season_{button}_game1").click().run()
    assert not season_app.exception, season_app.exception
    assert season_app.session_state["run_select"] == str((runs / "game1" / "run1").resolve())
    assert season_app.session_state["game_select"].endswith("game1/game.yaml")
    headers = [h.value for h in season_app.header]
    assert headers == [button.capitalize()]
    if page_widget:
        assert season_app.slider(key=page_widget) is not None


def test_without_a_batch_the_page_says_how_to_make_one(tmp_path, monkeypatch):
    monkeypatch.setenv("MULTICAM_DASHBOARD", json.dumps({"runs_dir": str(tmp_path), "games": []}))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.switch_page("pages/season.py")
    at.run()
    assert not at.exception and "multicam batch" in at.info[0].value

"""Fixtures of the dashboard tests: a tiny game (see dash_helpers)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from dash_helpers import DashGame, build_game


@pytest.fixture(scope="session")
def dash_template(tmp_path_factory) -> DashGame:
    """The tiny game, built once per session (clips, ground truth and a run)."""
    return build_game(tmp_path_factory.mktemp("dash_template") / "game")


@pytest.fixture
def dash_game(tmp_path, dash_template) -> DashGame:
    """A fresh copy of the tiny game for one test (tests may change it)."""
    src = dash_template.root.parent
    for folder in ("game", "runs"):
        shutil.copytree(src / folder, tmp_path / folder)
    game = DashGame(
        game_path=(tmp_path / "game" / "game.yaml").resolve(),
        runs_dir=(tmp_path / "runs").resolve(),
        run_path=(tmp_path / "runs" / "tiny" / "run1").resolve(),
        gt_path=(tmp_path / "game" / "ground_truth").resolve(),
    )
    manifest = json.loads((game.run_path / "manifest.json").read_text())
    manifest["game_path"] = str(game.game_path)
    (game.run_path / "manifest.json").write_text(json.dumps(manifest))
    return game


@pytest.fixture
def launched(monkeypatch):
    """Capture the command and environment of `multicam dashboard` instead of starting Streamlit."""
    calls = []

    class FakePopen:
        def __init__(self, command, env):
            calls.append((command, env))

        def wait(self, timeout=None):
            return 0

    monkeypatch.setattr(subprocess, "Popen", FakePopen)
    monkeypatch.delenv("MULTICAM_DASHBOARD_PASSWORD", raising=False)
    return calls

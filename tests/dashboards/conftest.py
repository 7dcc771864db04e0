"""Fixtures of the dashboard tests: a tiny game (see dash_helpers) and the repository on sys.path."""

from __future__ import annotations

import sys

import pytest

from dash_helpers import REPO, DashGame, build_game

if str(REPO) not in sys.path:  # `dashboards` is a folder of the repository, not an installed package
    sys.path.insert(0, str(REPO))


@pytest.fixture
def dash_game(tmp_path, clip_factory) -> DashGame:
    return build_game(tmp_path / "game", clip_factory)

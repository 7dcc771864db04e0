"""`multicam dashboard`: the Streamlit command line it starts and the folders it allows."""

from __future__ import annotations

import json
import sys

import pytest
from dash_helpers import REPO
from typer.testing import CliRunner

from multicam.cli import app
from multicam.cli import dashboard as cli_dashboard
from multicam.errors import GameFileError, MulticamError


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


@pytest.mark.parametrize(
    "args, host, port",
    [
        ([], "127.0.0.1", "8501"),
        (["--port", "9000"], "127.0.0.1", "9000"),
        (["--host", "0.0.0.0", "--password", "s3cret"], "0.0.0.0", "8501"),
    ],
)
def test_dashboard_starts_streamlit_headless_on_localhost_by_default(dash_game, launched, args, host, port):
    result = CliRunner().invoke(app, ["dashboard", str(dash_game.runs_dir), "--game", str(dash_game.game_path), *args])
    assert result.exit_code == 0, result.output
    ((command, env),) = launched
    assert command[:4] == [sys.executable, "-m", "streamlit", "run"]
    assert command[4] == str(REPO / "dashboards" / "app.py")
    assert option(command, "--server.address") == host and option(command, "--server.port") == port
    assert option(command, "--server.headless") == "true"
    assert option(command, "--browser.gatherUsageStats") == "false"
    config = json.loads(env[cli_dashboard.ENV_VAR])
    assert config == {"runs_dir": str(dash_game.runs_dir), "games": [str(dash_game.game_path)]}
    assert ("warning" in result.output) == (host != "127.0.0.1")


def test_dashboard_creates_the_runs_dir_and_checks_games(tmp_path, launched):
    runs = tmp_path / "new_runs"
    result = CliRunner().invoke(app, ["dashboard", str(runs)])
    assert result.exit_code == 0 and runs.is_dir()
    assert json.loads(launched[0][1][cli_dashboard.ENV_VAR])["games"] == []
    result = CliRunner().invoke(app, ["dashboard", str(runs), "--game", str(tmp_path / "missing.yaml")])
    assert isinstance(result.exception, GameFileError) and len(launched) == 1


def test_run_until_stopped_returns_the_exit_code_and_forwards_sigterm(tmp_path):
    import os
    import signal
    import threading
    import time

    assert cli_dashboard.run_until_stopped([sys.executable, "-c", "raise SystemExit(3)"], dict(os.environ)) == 3
    started = tmp_path / "started"
    script = f"import pathlib, time; pathlib.Path({str(started)!r}).touch(); time.sleep(60)"
    timer = threading.Thread(target=lambda: (_wait_for(started), os.kill(os.getpid(), signal.SIGTERM)))
    timer.start()
    t0 = time.time()
    code = cli_dashboard.run_until_stopped([sys.executable, "-c", script], dict(os.environ))
    timer.join()
    assert code == -signal.SIGTERM and time.time() - t0 < 30


def _wait_for(path, timeout: float = 30.0) -> None:
    import time

    deadline = time.time() + timeout
    while not path.exists() and time.time() < deadline:
        time.sleep(0.05)


def test_the_app_file_is_found():
    """An editable install maps multicam.dashboards to the checkout's dashboards/ folder."""
    assert cli_dashboard.dashboard_app() == REPO / "dashboards" / "app.py"


@pytest.mark.parametrize("origin", [None, "missing"])
def test_a_missing_dashboard_package_is_a_clear_error(monkeypatch, tmp_path, origin):
    import importlib.machinery
    import importlib.util

    spec = None if origin is None else importlib.machinery.ModuleSpec("multicam.dashboards", None)
    if spec is not None:
        spec.origin = str(tmp_path / "dashboards" / "__init__.py")  # a package without its app.py
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: spec)
    with pytest.raises(MulticamError, match="dashboard app is not installed"):
        cli_dashboard.dashboard_app()

"""A dashboard safe to share: the password gate, read-only mode, and paths that stay inside the allowed folders."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from dash_helpers import CAMERAS, REPO
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from multicam.cli import app as cli_app
from multicam.cli import dashboard as cli_dashboard
from multicam.dashboards import access, data

APP = REPO / "dashboards" / "app.py"


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error] + [e.value for e in at.sidebar.error]


def start(monkeypatch, env: str, password: str | None = None) -> AppTest:
    monkeypatch.setenv(data.ENV_VAR, env)
    if password is None:
        monkeypatch.delenv(access.PASSWORD_ENV, raising=False)
    else:
        monkeypatch.setenv(access.PASSWORD_ENV, password)
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


# -- password --------------------------------------------------------------------------------------
def test_no_page_renders_before_the_password(dash_game, monkeypatch):
    at = start(monkeypatch, dash_game.env(), password="s3cret")
    for typed, opens in (("", False), ("wrong", False), ("s3cret ", False), ("s3cret", True)):
        if not opens:
            assert len(at.image) == 0 and not at.sidebar.text_input  # nothing of the runs, no sidebar
        at.text_input(key="_password").input(typed)
        at.button[0].click().run()
        assert not at.exception
        assert (len(at.image) == len(CAMERAS)) == opens, typed
        assert ("wrong password" in errors(at)) == (bool(typed) and not opens), typed


def test_password_comparison_is_exact():
    assert access.password_matches("é-pass", "é-pass")
    assert not access.password_matches("e-pass", "é-pass") and not access.password_matches("", "x")


# -- read-only ------------------------------------------------------------------------------------
@pytest.mark.parametrize("read_only", [False, True])
def test_read_only_has_no_save_and_no_process(dash_game, monkeypatch, read_only):
    env = json.loads(dash_game.env())
    env["read_only"] = read_only
    at = start(monkeypatch, json.dumps(env))
    at.switch_page("pages/prompts.py").run()
    assert not at.exception and not errors(at)
    keys = {b.key for b in at.button}
    assert ({"save_prompts", "process_start"} <= keys) != read_only
    assert any("Read-only" in i.value for i in at.info) == read_only


# -- paths ----------------------------------------------------------------------------------------
def _symlink_out(dash_game, tmp_path):
    outside = tmp_path / "outside"
    shutil.copytree(dash_game.root, outside)
    link = dash_game.runs_dir / "link"
    link.symlink_to(outside, target_is_directory=True)
    return outside


TRAVERSALS = (
    "../outside/game.yaml",  # relative, from the dashboard's working directory
    "{runs}/../outside/game.yaml",  # ../ out of the runs folder
    "{outside}/game.yaml",  # absolute
    "{runs}/link/game.yaml",  # a symlink inside the runs folder that points out
    "{runs}/link",
    "~/../../etc/passwd",
    "/",
)


def test_traversal_attempts_are_refused(dash_game, tmp_path, monkeypatch):
    outside = _symlink_out(dash_game, tmp_path)
    monkeypatch.chdir(dash_game.runs_dir)
    at = start(monkeypatch, dash_game.env())
    for typed in TRAVERSALS:
        at.sidebar.text_input(key="typed_path").input(typed.format(runs=dash_game.runs_dir, outside=outside)).run()
        assert not at.exception
        assert any("outside the folders this dashboard may use" in e for e in errors(at)), (typed, errors(at))
        assert at.session_state["game_select"] == str(dash_game.game_path)
        extra = at.session_state["_extra_games"] if "_extra_games" in at.session_state else []  # noqa: SIM401
        assert not any(str(outside) in g for g in extra)


def test_a_run_symlinked_in_from_outside_is_not_listed(dash_game, tmp_path, monkeypatch):
    outside = tmp_path / "elsewhere_run"
    shutil.copytree(dash_game.run_path, outside)
    (dash_game.runs_dir / "tiny" / "run9").symlink_to(outside, target_is_directory=True)
    at = start(monkeypatch, dash_game.env())
    options = at.sidebar.selectbox(key="run_select").options
    assert any("run1" in o for o in options) and not any("run9" in o for o in options)


# -- damaged runs -----------------------------------------------------------------------------------
def test_a_damaged_run_is_named_with_file_and_line(dash_game, monkeypatch):
    masks = dash_game.run_path / "masks" / "end.jsonl"
    lines = masks.read_text().splitlines(keepends=True)
    lines[2] = "{not json\n"
    masks.write_text("".join(lines))
    at = start(monkeypatch, dash_game.env())
    assert any(f"{masks}:3: not valid JSON" in e for e in errors(at)), errors(at)


# -- the command line -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args, env_password, ok",
    [
        (["--host", "0.0.0.0"], None, False),
        (["--host", "192.168.1.20", "--read-only"], None, False),
        (["--host", "0.0.0.0", "--password", ""], None, False),
        (["--host", "0.0.0.0", "--password", "pw"], None, True),
        (["--host", "0.0.0.0"], "pw", True),
        ([], None, True),
        (["--password", "pw", "--read-only"], None, True),
    ],
)
def test_a_shared_dashboard_needs_a_password(dash_game, launched, monkeypatch, args, env_password, ok):
    if env_password:
        monkeypatch.setenv(access.PASSWORD_ENV, env_password)
    result = CliRunner().invoke(cli_app, ["dashboard", str(dash_game.runs_dir), *args])
    assert (result.exit_code == 0) == ok, result.output
    if not ok:
        assert "--password" in str(result.exception) and not launched
        return
    ((command, env),) = launched
    password = env_password or (args[args.index("--password") + 1] if "--password" in args else None)
    assert env.get(cli_dashboard.PASSWORD_ENV) == password
    assert not password or password not in command  # never visible in `ps`
    assert json.loads(env[cli_dashboard.ENV_VAR]).get("read_only", False) == ("--read-only" in args)
    assert os.environ.get(cli_dashboard.PASSWORD_ENV) == env_password

"""``multicam dashboard``: start the analyst dashboard (Streamlit) on this machine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import typer

from multicam.cli import app
from multicam.errors import MulticamError

ENV_VAR = "MULTICAM_DASHBOARD"
PASSWORD_ENV = "MULTICAM_DASHBOARD_PASSWORD"


def dashboard_app() -> Path:
    """The installed ``multicam.dashboards`` package's ``app.py`` (a wheel, or the checkout when editable)."""
    from importlib.util import find_spec

    spec = find_spec("multicam.dashboards")
    app_py = Path(spec.origin).resolve().parent / "app.py" if spec and spec.origin else None
    if app_py is None or not app_py.is_file():
        raise MulticamError(
            f"the dashboard app is not installed ({app_py or 'multicam.dashboards'} is missing); "
            f"reinstall multicam (pip install multicam, or pip install -e . in a checkout)"
        )
    return app_py


def dashboard_command(app_py: Path, *, host: str, port: int) -> list[str]:
    """The ``streamlit run`` command line: headless, no usage statistics, bound to ``host``."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app_py),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--server.runOnSave",
        "false",
        "--client.toolbarMode",
        "minimal",
    ]


def dashboard_env(
    runs_dir: Path, games: list[Path], *, read_only: bool = False, password: str | None = None
) -> dict[str, str]:
    """The environment of the Streamlit process: the allowed folders as JSON in ``MULTICAM_DASHBOARD``,
    the password (never on the command line, where ``ps`` shows it) in ``MULTICAM_DASHBOARD_PASSWORD``."""
    import json

    config = {"runs_dir": str(runs_dir.resolve()), "games": [str(g.resolve()) for g in games]}
    if read_only:
        config["read_only"] = True
    env = {key: value for key, value in os.environ.items() if key != PASSWORD_ENV}
    if password:
        env[PASSWORD_ENV] = password
    return {**env, ENV_VAR: json.dumps(config)}


LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


@app.command()
def dashboard(
    runs_dir: Path = typer.Argument(Path("runs"), help="Runs directory (runs/<game>/<name>N). Created if missing."),
    game: list[Path] = typer.Option(None, "--game", help="A game file to open (repeat for several)."),
    port: int = typer.Option(8501, "--port", min=1, max=65535, help="Port to listen on."),
    host: str = typer.Option(
        "127.0.0.1",
        "--host",
        help="Address to listen on; any other than this machine (e.g. 0.0.0.0) needs a --password.",
    ),
    password: str | None = typer.Option(
        None,
        "--password",
        envvar=PASSWORD_ENV,
        show_envvar=True,
        help="Password asked before any page is shown (required with a --host other than 127.0.0.1).",
    ),
    read_only: bool = typer.Option(
        False, "--read-only", help="Review only: no saving prompts, no processing, nothing written."
    ),
) -> None:
    """Start the analyst dashboard: review runs, check consistency, label prompts and process.

    The dashboard reads and writes only inside RUNS_DIR and the folders of the --game files.
    """
    from multicam.game import load_game

    if host not in LOCAL_HOSTS and not password:
        raise MulticamError(
            f"--host {host} shares the dashboard (every run, and processing) with the network: give a "
            f"--password (or set {PASSWORD_ENV}); add --read-only to allow review only"
        )
    games = [load_game(g).path for g in (game or [])]
    if runs_dir.exists() and not runs_dir.is_dir():
        raise MulticamError(f"runs directory {runs_dir} is a file; pass a folder")
    runs_dir.mkdir(parents=True, exist_ok=True)
    command = dashboard_command(dashboard_app(), host=host, port=port)
    typer.echo(
        f"multicam dashboard on http://{host}:{port}  (runs: {runs_dir.resolve()}; "
        f"games: {', '.join(str(g) for g in games) or 'none'})"
    )
    if host not in LOCAL_HOSTS:
        typer.secho(
            f"warning: listening on {host}: anyone who can reach this machine and knows the password can "
            f"{'review' if read_only else 'use'} the dashboard (plain HTTP: use it on a trusted network)",
            fg=typer.colors.YELLOW,
            err=True,
        )
    env = dashboard_env(runs_dir, games, read_only=read_only, password=password)
    raise typer.Exit(run_until_stopped(command, env))


def run_until_stopped(command: list[str], env: dict[str, str], grace_s: float = 10.0) -> int:
    """Run the Streamlit server until it exits; Ctrl-C or SIGTERM stop it (killed after ``grace_s``)."""
    procs: list[subprocess.Popen] = []

    def _stop(*_args) -> None:
        for proc in procs:
            proc.terminate()
            timer = threading.Timer(grace_s, proc.kill)
            timer.daemon = True
            timer.start()

    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        procs.append(subprocess.Popen(command, env=env))
        try:
            return procs[0].wait()
        except KeyboardInterrupt:  # the server got Ctrl-C too
            _stop()
            procs[0].wait()
            return 0
    finally:
        signal.signal(signal.SIGTERM, previous)

"""`--address`: a batch and a split game on a Ray cluster started apart from multicam (`ray start --head`).

The head runs in its own temporary folder (every process of that cluster names it on its command line,
so the test stops exactly those processes: `ray stop` would stop every Ray on the machine). Since Ray
2.59, `ray start` clusters use token authentication: the client sets ``RAY_AUTH_MODE=token`` and reads
the token `ray start` wrote to ``~/.ray/auth_token``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from multicam.rundir import open_run

from .conftest import FRAMES, OPTIONS

pytestmark = [pytest.mark.sam2, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(temp_dir: str) -> None:
    subprocess.run(["pkill", "-9", "-f", temp_dir], check=False)


@pytest.fixture(scope="module")
def cluster():
    pytest.importorskip("ray")
    if shutil.which("pkill") is None:
        pytest.skip("pkill is needed to stop the test cluster")
    temp_dir = tempfile.mkdtemp(prefix="/tmp/mcray")  # short: Ray's socket paths live under it
    port = _free_port()
    ray_cli = Path(sys.executable).with_name("ray")
    head = subprocess.Popen(
        [str(ray_cli), "start", "--head", "--block", f"--port={port}", "--num-cpus=2", f"--temp-dir={temp_dir}"]
        + ["--include-dashboard=false", "--disable-usage-stats"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert head.poll() is None, "ray start --head exited"
                assert time.monotonic() < deadline, "the Ray head did not start within 90 s"
                time.sleep(0.5)
        time.sleep(3)  # the raylet registers after the GCS listens
        yield f"127.0.0.1:{port}"
    finally:
        head.send_signal(signal.SIGTERM)
        _stop(temp_dir)
        head.kill()
        head.wait(timeout=30)
        shutil.rmtree(temp_dir, ignore_errors=True)


def _multicam(*args: str, auth: bool = True) -> subprocess.CompletedProcess:
    env = (
        {**os.environ, "RAY_AUTH_MODE": "token"}
        if auth
        else {k: v for k, v in os.environ.items() if k != "RAY_AUTH_MODE"}
    )
    return subprocess.run(
        [sys.executable, "-m", "multicam", *args], capture_output=True, text=True, timeout=600, env=env
    )


def test_a_batch_and_a_split_game_run_on_a_cluster_given_by_its_address(cluster, one_game, tmp_path):
    runs = tmp_path / "runs"
    done = _multicam("batch", str(one_game), "--runs-dir", str(runs), "--address", cluster, "-q", *OPTIONS)
    assert done.returncode == 0, done.stderr[-2000:]
    (run_dir,) = [p.parent for p in (runs / "game0").glob("*/manifest.json")]
    assert open_run(run_dir).is_complete and sum(open_run(run_dir).manifest.frames_written.values()) == FRAMES

    options = [o for o in OPTIONS if o not in ("--feature-cache", "off")]
    split = _multicam(
        "process", str(one_game), "--runs-dir", str(runs), "--workers", "2", "--address", cluster, *options, "-q"
    )
    assert split.returncode == 0, split.stderr[-2000:]
    m = open_run(Path(split.stdout.split("run written to ")[1].split("\n")[0])).manifest
    assert m.workers is not None and m.workers.ray_address == cluster and len(m.workers.parts) == 2


def test_without_the_token_the_error_says_what_to_set(cluster, one_game, tmp_path):
    done = _multicam(
        "batch", str(one_game), "--runs-dir", str(tmp_path / "runs"), "--address", cluster, *OPTIONS, auth=False
    )
    assert done.returncode == 2
    errors = [x for x in done.stderr.splitlines() if x.startswith("error:")]
    assert len(errors) == 1 and "RAY_AUTH_MODE=token" in errors[0], done.stderr[-2000:]

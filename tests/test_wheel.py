"""The wheel: it lists every package, and a non-editable install starts ``multicam dashboard``."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest
from setuptools import find_packages

REPO = Path(__file__).resolve().parents[1]
NOT_SOURCES = (".git", ".venv", "venv", "build", "site", "runs", "sample_data", "__pycache__", "*.egg-info", "out")


def test_the_wheel_lists_every_package():
    """setuptools cannot discover the mapped dashboards folder, so pyproject.toml lists the packages by hand."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    setuptools_config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapped = {
        f"multicam.dashboards.{sub}" if sub else "multicam.dashboards"
        for sub in find_packages(str(REPO / "dashboards"))
        + [""]  # find_packages finds the subpackages of dashboards/, not dashboards itself
    }
    assert setuptools_config["package-dir"] == {"multicam.dashboards": "dashboards"}
    assert sorted(setuptools_config["packages"]) == sorted(
        set(find_packages(str(REPO), include=["multicam*"])) | mapped
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _health(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
            return response.read().decode()
    except OSError:
        return None


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory) -> Path:
    """A new venv holding the wheel built from this checkout; torch & co. come from the current environment."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"  # a copy: an in-tree build would leave build/ behind and reuse its stale files
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(*NOT_SOURCES))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            tmp / "dist",
            source,
        ],
        check=True,
    )
    (wheel,) = (tmp / "dist").glob("multicam-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    site_packages = Path(
        subprocess.run(
            [venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    # Plain path lines: the current environment's packages become visible, but not its .pth hooks (so not an
    # editable multicam), and the fresh venv's own site-packages comes first on sys.path.
    shared = [p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]
    (site_packages / "zz_shared.pth").write_text("\n".join(shared) + "\n")
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "--python", venv / "bin" / "python"),
            *("install", "--quiet", "--no-deps", "--ignore-installed", wheel),
        ],
        check=True,
    )
    return venv


@pytest.mark.slow
def test_the_installed_wheel_starts_the_dashboard(fresh_venv, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    port = _free_port()
    server = subprocess.Popen(
        [fresh_venv / "bin" / "multicam", "dashboard", str(tmp_path / "runs"), "--port", str(port)],
        cwd=tmp_path,  # not the checkout: nothing may come from its multicam/ or dashboards/ folders
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while (status := _health(port)) is None and server.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert status == "ok", server.stdout.read() if server.poll() is not None else "no answer in 90 s"
        (streamlit,) = psutil.Process(server.pid).children()
        app_py = Path(streamlit.cmdline()[streamlit.cmdline().index("run") + 1])
        assert app_py.name == "app.py" and app_py.parent.name == "dashboards"
        assert app_py.is_relative_to(fresh_venv.resolve()), app_py
        assert not app_py.is_relative_to(REPO)
    finally:
        server.terminate()
        server.wait(timeout=30)

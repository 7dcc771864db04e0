"""Model registry and checkpoint download (a local HTTP server; no internet)."""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import importlib.util
import socket
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from multicam import models
from multicam.cli import app
from multicam.errors import ModelError

PAYLOAD = bytes(range(256)) * 4096 + b"tail"  # ~1 MiB: more than one read block


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("MULTICAM_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict[str, tuple[bytes, int | None]] = {}

    def do_GET(self):  # noqa: N802 - http.server's naming
        body, announced = self.routes.get(self.path, (None, None))
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body) if announced is None else announced))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    """A local HTTP server: ``/ok.pt`` (full file), ``/short.pt`` (announces more than it sends)."""
    _Handler.routes = {"/ok.pt": (PAYLOAD, None), "/short.pt": (PAYLOAD[:1000], len(PAYLOAD))}
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _leftovers(home: Path) -> list[str]:
    d = home / "models"
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


# -- registry ----------------------------------------------------------------------------------
def test_registry_has_sam2_and_sam2_1_in_four_sizes():
    sizes = ("tiny", "small", "base_plus", "large")
    assert set(models.REGISTRY) == {f"{v}_hiera_{s}" for v in ("sam2", "sam2.1") for s in sizes}
    for spec in models.REGISTRY.values():
        version = "092824" if spec.name.startswith("sam2.1") else "072824"
        assert spec.url == f"https://dl.fbaipublicfiles.com/segment_anything_2/{version}/{spec.name}.pt"
        assert spec.params > 30_000_000
        assert spec.size_bytes is None or abs(spec.size_bytes - spec.params * 4) < 1_000_000


def test_registry_configs_exist_in_the_installed_sam2():
    root = Path(importlib.util.find_spec("sam2").submodule_search_locations[0])  # sam2 is not imported
    for spec in models.REGISTRY.values():
        assert (root / spec.config).is_file(), spec.config


def test_unknown_model_names_the_known_ones():
    with pytest.raises(ModelError, match="sam2.1_hiera_tiny"):
        models.get_model("sam3_giant")


def test_cache_follows_multicam_home(home):
    assert models.checkpoint_path("sam2.1_hiera_small") == home / "models" / "sam2.1_hiera_small.pt"
    assert models.cached_checkpoint("sam2.1_hiera_small") is None


# -- download ----------------------------------------------------------------------------------
def test_download_writes_the_file_and_its_sha256(server, home):
    path = models.download("sam2.1_hiera_tiny", url=f"{server}/ok.pt", progress=False)
    assert path == home / "models" / "sam2.1_hiera_tiny.pt"
    assert path.read_bytes() == PAYLOAD
    digest = hashlib.sha256(PAYLOAD).hexdigest()
    assert (path.parent / "sam2.1_hiera_tiny.pt.sha256").read_text().split()[0] == digest
    assert models.checkpoint_sha256(path) == digest
    assert _leftovers(home) == ["sam2.1_hiera_tiny.pt", "sam2.1_hiera_tiny.pt.sha256"]
    assert models.cached_checkpoint("sam2.1_hiera_tiny") == path


def test_download_from_a_file_url(tmp_path, home):
    src = tmp_path / "mirror.pt"
    src.write_bytes(PAYLOAD)
    path = models.download("sam2_hiera_small", url=src.as_uri(), progress=False)
    assert path.read_bytes() == PAYLOAD


def test_size_mismatch_with_the_server_leaves_no_file(server, home):
    with pytest.raises(ModelError, match=r"1000 bytes but the server announced"):
        models.download("sam2.1_hiera_tiny", url=f"{server}/short.pt", progress=False, timeout_s=5)
    assert _leftovers(home) == []


def test_size_mismatch_with_the_registry_leaves_no_file(server, home, monkeypatch):
    spec = replace(models.REGISTRY["sam2.1_hiera_tiny"], size_bytes=len(PAYLOAD) + 1)
    monkeypatch.setitem(models.REGISTRY, spec.name, spec)
    with pytest.raises(ModelError, match="the registry lists"):
        models.download(spec.name, url=f"{server}/ok.pt", progress=False)
    assert _leftovers(home) == []


def test_refused_connection_says_how_to_place_the_file_by_hand(home):
    with pytest.raises(ModelError) as err:
        models.download("sam2.1_hiera_tiny", url=f"http://127.0.0.1:{_closed_port()}/x.pt", progress=False)
    message = str(err.value)
    assert str(home / "models" / "sam2.1_hiera_tiny.pt") in message
    assert "model.checkpoint" in message and "https://dl.fbaipublicfiles.com" in message
    assert _leftovers(home) == []


def test_a_failed_download_keeps_an_existing_checkpoint(server, home):
    models.download("sam2.1_hiera_tiny", url=f"{server}/ok.pt", progress=False)
    with pytest.raises(ModelError):
        models.download("sam2.1_hiera_tiny", url=f"{server}/short.pt", progress=False, force=True, timeout_s=5)
    assert (home / "models" / "sam2.1_hiera_tiny.pt").read_bytes() == PAYLOAD


def test_resolve_checkpoint_points_to_untrained_when_nothing_can_be_had(home, monkeypatch):
    spec = replace(models.REGISTRY["sam2.1_hiera_tiny"], url=f"http://127.0.0.1:{_closed_port()}/t.pt")
    monkeypatch.setitem(models.REGISTRY, spec.name, spec)
    for download_missing in (True, False):
        with pytest.raises(ModelError, match="--untrained") as err:
            models.resolve_checkpoint(spec.name, download_missing=download_missing, progress=False)
        assert str(home / "models" / "sam2.1_hiera_tiny.pt") in str(err.value)


def test_resolve_checkpoint_prefers_an_explicit_file(tmp_path):
    ckpt = tmp_path / "mine.pt"
    ckpt.write_bytes(b"x")
    assert models.resolve_checkpoint("sam2.1_hiera_tiny", ckpt) == ckpt
    with pytest.raises(ModelError, match="not found"):
        models.resolve_checkpoint("sam2.1_hiera_tiny", tmp_path / "missing.pt")


# -- CLI ---------------------------------------------------------------------------------------
def test_cli_models_list_download_and_path(server, home):
    runner = CliRunner()
    listed = runner.invoke(app, ["models", "list"])
    assert listed.exit_code == 0, listed.output
    assert all(name in listed.output for name in models.REGISTRY)
    missing = runner.invoke(app, ["models", "path", "sam2.1_hiera_tiny"])
    assert isinstance(missing.exception, ModelError) and "not downloaded" in str(missing.exception)
    got = runner.invoke(app, ["models", "download", "sam2.1_hiera_tiny", "--url", f"{server}/ok.pt"])
    assert got.exit_code == 0, got.output
    assert hashlib.sha256(PAYLOAD).hexdigest() in got.output
    path = runner.invoke(app, ["models", "path", "sam2.1_hiera_tiny"])
    assert path.exit_code == 0 and path.output.strip() == str(home / "models" / "sam2.1_hiera_tiny.pt")
    relisted = runner.invoke(app, ["models", "list"])
    assert [line.split()[4] for line in relisted.output.splitlines() if line.startswith("sam2.1_hiera_tiny")] == ["yes"]

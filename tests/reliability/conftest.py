"""Helpers of the reliability suite: run the real `multicam` entry point, hash folders, build bad inputs."""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest


@dataclass(frozen=True)
class Outcome:
    """What a user sees: the exit code and the two streams."""

    code: int
    out: str
    err: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in (self.out + "\n" + self.err).splitlines() if line.lower().startswith("error:")]

    @property
    def text(self) -> str:
        return self.out + self.err


@pytest.fixture
def crash_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "crash_logs"
    monkeypatch.setenv("MULTICAM_CRASH_DIR", str(folder))
    monkeypatch.delenv("MULTICAM_DEBUG", raising=False)
    return folder


@pytest.fixture
def cli(capsys, crash_dir, monkeypatch):
    """Run ``multicam ARGS`` through :func:`multicam.cli.main` (the console script) and capture what it prints."""
    from multicam.cli import main

    def run(*args: str) -> Outcome:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["multicam", *map(str, args)])
        trace = ""
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except Exception:  # what Python prints for an exception nobody caught, with its exit code 1
            import traceback

            code, trace = 1, traceback.format_exc()
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err + trace)

    return run


def folder_digest(root: Path) -> dict[str, str]:
    """Every file and folder under ``root`` (symlinks not followed) with the SHA-256 of its bytes."""
    out: dict[str, str] = {}
    if not root.exists():
        return out
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        if p.is_symlink():
            out[rel] = f"link -> {p.readlink()}"
        elif p.is_dir():
            out[rel] = "dir"
        else:
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture
def unchanged():
    """``with unchanged(folder): ...`` fails when anything under ``folder`` was added, removed or changed."""
    import contextlib

    @contextlib.contextmanager
    def watch(*folders: Path, ignore: tuple[str, ...] = ()):
        before = [folder_digest(f) for f in folders]
        yield
        for folder, digest in zip(folders, before, strict=True):
            after = folder_digest(folder)
            keep = {k: v for k, v in after.items() if not k.startswith(ignore)} if ignore else after
            was = {k: v for k, v in digest.items() if not k.startswith(ignore)} if ignore else digest
            assert keep == was, f"{folder} changed: {sorted(set(keep.items()) ^ set(was.items()))[:6]}"

    return watch


# -- clips that are wrong in one way each ---------------------------------------------------------------
def write_vfr_clip(path: Path, times_ms: list[int], width: int = 64, height: int = 48) -> Path:
    """An H.264 MP4 whose frames are at the given times (a camera that dropped frames)."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        for t in times_ms:
            frame = av.VideoFrame.from_ndarray(np.zeros((height, width, 3), np.uint8), format="rgb24")
            frame.pts, frame.time_base = t, Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_zero_fps_clip(path: Path) -> Path:
    """An AVI whose stream says one frame per million seconds (a rate of about 0)."""
    import av

    with av.open(str(path), "w", format="avi") as container:
        stream = container.add_stream("mjpeg", rate=Fraction(1, 1_000_000))
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuvj420p"
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_audio_only(path: Path) -> Path:
    """An M4A with one AAC stream and no video."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 16000
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path

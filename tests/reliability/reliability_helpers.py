"""Helpers of the reliability tests (a module of its own: `conftest` is not importable by name when the
whole suite runs, every folder has one)."""

from __future__ import annotations

import hashlib
from fractions import Fraction
from pathlib import Path

import numpy as np


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

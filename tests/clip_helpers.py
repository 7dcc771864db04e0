"""The one clip writer of the tests: H.264 MP4 files from frames (tests/ is on sys.path via its conftest)."""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import numpy as np


def write_video(path: Path, images: Iterable[np.ndarray], *, fps: float, crf: int = 18, gop: int | None = None) -> Path:
    """Encode RGB ``images`` (all the same size) as an H.264 MP4 at ``fps``; returns ``path``."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = None
        for img in images:
            if stream is None:
                stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
                stream.width, stream.height, stream.pix_fmt = img.shape[1], img.shape[0], "yuv420p"
                stream.options = {"crf": str(crf), **({"g": str(gop)} if gop is not None else {})}
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        if stream is None:
            raise ValueError(f"no frames to write to {path}")
        for packet in stream.encode():
            container.mux(packet)
    return path


def square_frame(i: int, width: int, height: int) -> np.ndarray:
    """Frame i of the test clip: a white 8 px square at x = 2 * i, rows 10-17, on a red level of 20 * i."""
    img = np.zeros((height, width, 3), np.uint8)
    img[..., 0] = (i * 20) % 256
    x = (2 * i) % max(width - 8, 1)
    img[10:18, x : x + 8] = 255
    return img


def write_test_clip(path: Path, *, width: int = 64, height: int = 48, fps: int = 25, frames: int = 10) -> Path:
    """An H.264 MP4 whose frame i has a white square at x = 2 * i (so frames are identifiable)."""
    return write_video(path, (square_frame(i, width, height) for i in range(frames)), fps=fps, crf=18, gop=5)

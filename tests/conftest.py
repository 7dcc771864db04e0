"""Shared fixtures: small clips and games written on the fly."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE_GAME = REPO / "sample_data" / "demo_game" / "game.yaml"


def write_test_clip(path: Path, *, width: int = 64, height: int = 48, fps: int = 25, frames: int = 10,
                    audio: bool = False) -> Path:
    """An H.264 MP4 whose frame i has a white square at x = 2 * i (so frames are identifiable)."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "18", "g": "5"}
        for i in range(frames):
            img = np.zeros((height, width, 3), np.uint8)
            img[..., 0] = (i * 20) % 256
            x = (2 * i) % max(width - 8, 1)
            img[10:18, x:x + 8] = 255
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture
def clip_factory(tmp_path):
    def make(name: str = "cam.mp4", **kwargs) -> Path:
        return write_test_clip(tmp_path / "clips" / name, **kwargs)
    return make


@pytest.fixture
def tiny_game(tmp_path, clip_factory):
    """A two-camera game file with prompts; returns a function that writes it with overrides."""
    from ruamel.yaml import YAML

    clip_factory("a.mp4", width=64, height=48, fps=25, frames=10)
    clip_factory("b.mp4", width=80, height=60, fps=30, frames=12)

    def make(game_overrides: dict | None = None, prompts: dict | None = None) -> Path:
        game = {
            "name": "tiny",
            "reference": "a",
            "prompts": "prompts.yaml",
            "cameras": [
                {"name": "a", "video": "clips/a.mp4", "offset": 0.0},
                {"name": "b", "video": "clips/b.mp4", "offset": -0.1},
            ],
        }
        game.update(game_overrides or {})
        if prompts is None:
            prompts = {"objects": [{"id": 1, "name": "square", "prompts": [
                {"frame": 0, "positive": [[4, 14]], "box_xyxy": [0, 10, 8, 18]}]}]}
        yaml = YAML()
        with (tmp_path / "prompts.yaml").open("w") as fh:
            yaml.dump(prompts, fh)
        with (tmp_path / "game.yaml").open("w") as fh:
            yaml.dump(game, fh)
        return tmp_path / "game.yaml"

    return make

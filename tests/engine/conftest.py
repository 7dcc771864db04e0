"""A tiny multi-camera game for the engine tests: moving coloured discs, PyAV-written MP4s.

Three cameras with their own resolution, frame rate, length and offset; two objects
(a red and a blue disc) prompted on the reference camera. Also a module-wide SAM 2.1
tiny engine with random weights at 256 px (built once: it is the slow part).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

# (name, width, height, fps, frames, offset)
CAMERAS = (
    ("side", 160, 120, 10, 8, 0.0),
    ("end", 128, 96, 15, 9, -0.1),
    ("high", 96, 64, 10, 6, 0.15),
)
DISCS = ((1, "red", (230, 40, 40)), (2, "blue", (40, 60, 230)))
IMAGE_SIZE = 256


def disc_centre(object_id: int, t: float, width: int, height: int) -> tuple[float, float]:
    """Where disc ``object_id`` is at game time ``t`` in a ``width x height`` camera."""
    if object_id == 1:
        return width * (0.25 + 0.3 * t), height * 0.4
    return width * (0.7 - 0.2 * t), height * (0.65 + 0.1 * t)


def disc_radius(width: int) -> float:
    return max(width / 10, 5.0)


def render(width: int, height: int, t: float) -> np.ndarray:
    img = np.full((height, width, 3), (40, 140, 60), np.uint8)
    yy, xx = np.mgrid[0:height, 0:width]
    for oid, _, colour in DISCS:
        cx, cy = disc_centre(oid, t, width, height)
        img[(xx - cx) ** 2 + (yy - cy) ** 2 <= disc_radius(width) ** 2] = colour
    return img


def write_clip(path: Path, width: int, height: int, fps: int, frames: int, offset: float) -> Path:
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "12", "g": "4"}
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(render(width, height, offset + i / fps), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_game(root: Path, *, prompt_frame: int = 0, layout: str = "interleave",
               cameras=CAMERAS, extra_prompts: list | None = None) -> Path:
    """Write clips, prompts.yaml and game.yaml under ``root``; returns the game file."""
    from ruamel.yaml import YAML

    root.mkdir(parents=True, exist_ok=True)
    for name, w, h, fps, n, offset in cameras:
        write_clip(root / "clips" / f"{name}.mp4", w, h, fps, n, offset)
    ref_name, ref_w, ref_h, ref_fps, _, _ = cameras[0]
    objects = []
    for oid, name, _ in DISCS:
        cx, cy = disc_centre(oid, prompt_frame / ref_fps, ref_w, ref_h)
        r = disc_radius(ref_w)
        objects.append({"id": oid, "name": name, "team": None, "prompts": [{
            "frame": prompt_frame, "positive": [[round(cx, 1), round(cy, 1)]],
            "box_xyxy": [round(max(cx - r, 0), 1), round(max(cy - r, 0), 1),
                         round(min(cx + r, ref_w), 1), round(min(cy + r, ref_h), 1)]}]})
    if extra_prompts:
        objects.extend(extra_prompts)
    yaml = YAML()
    with (root / "prompts.yaml").open("w") as fh:
        yaml.dump({"objects": objects}, fh)
    game = {
        "name": "discs", "reference": ref_name, "prompts": "prompts.yaml",
        "processing": {"layout": layout, "image_size": IMAGE_SIZE, "device": "cpu"},
        "cameras": [{"name": n, "video": f"clips/{n}.mp4", "offset": o} for n, _, _, _, _, o in cameras],
    }
    with (root / "game.yaml").open("w") as fh:
        yaml.dump(game, fh)
    return root / "game.yaml"


@pytest.fixture(scope="session")
def disc_game(tmp_path_factory) -> Path:
    """The three-camera disc game, prompts on reference frame 0 (interleave layout)."""
    return write_game(tmp_path_factory.mktemp("disc_game"))


@pytest.fixture(scope="session")
def disc_game_late(tmp_path_factory) -> Path:
    """The same game with the prompts on reference frame 3 (frames before need backward tracking)."""
    return write_game(tmp_path_factory.mktemp("disc_game_late"), prompt_frame=3)


@pytest.fixture(scope="session")
def engine():
    """SAM 2.1 tiny, random weights, 256 px, CPU, float32 (shared: building costs ~1 s)."""
    from multicam.engine import Engine, EngineOptions
    from multicam.models import get_model

    return Engine.build(get_model("sam2.1_hiera_tiny").config, untrained=True,
                        options=EngineOptions(device="cpu", image_size=IMAGE_SIZE, dtype="float32"))

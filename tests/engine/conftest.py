"""A tiny multi-camera game for the engine tests: moving coloured discs, PyAV-written MP4s.

Three cameras with their own resolution, frame rate, length and offset; two objects
(a red and a blue disc) prompted on the reference camera. Also a module-wide SAM 2.1
tiny engine with random weights at 256 px (built once: it is the slow part).
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pytest
from clip_helpers import write_video

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
    return write_video(path, (render(width, height, offset + i / fps) for i in range(frames)), fps=fps, crf=12, gop=4)


def write_game(
    root: Path, *, prompt_frame: int = 0, layout: str = "interleave", cameras=CAMERAS, extra_prompts: list | None = None
) -> Path:
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
        objects.append(
            {
                "id": oid,
                "name": name,
                "team": None,
                "prompts": [
                    {
                        "frame": prompt_frame,
                        "positive": [[round(cx, 1), round(cy, 1)]],
                        "box_xyxy": [
                            round(max(cx - r, 0), 1),
                            round(max(cy - r, 0), 1),
                            round(min(cx + r, ref_w), 1),
                            round(min(cy + r, ref_h), 1),
                        ],
                    }
                ],
            }
        )
    if extra_prompts:
        objects.extend(extra_prompts)
    yaml = YAML()
    with (root / "prompts.yaml").open("w") as fh:
        yaml.dump({"objects": objects}, fh)
    game = {
        "name": "discs",
        "reference": ref_name,
        "prompts": "prompts.yaml",
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

    return Engine.build(
        get_model("sam2.1_hiera_tiny").config,
        untrained=True,
        options=EngineOptions(device="cpu", image_size=IMAGE_SIZE, dtype="float32"),
    )


def run(engine, game: Path, layout: str = "interleave", cameras: tuple[str, ...] | None = None):
    """Track a game; returns (frames in yield order, layout, the state, the opened game)."""
    from multicam.layout import build_layout, concat_layout, resolve_prompts
    from multicam.session import open_game

    opened = open_game(game)
    lay = build_layout(opened.timeline, layout)
    if cameras is not None:
        lay = concat_layout([opened.timeline.camera(c) for c in cameras], cameras[0])
    prompts = resolve_prompts(
        opened.prompts, lay, opened.reference, {n: i.resolution_wh for n, i in opened.clips.items()}
    )
    captured = {}
    open_state = engine.open_state

    def capture(*args, **kwargs):
        captured["state"] = open_state(*args, **kwargs)
        return captured["state"]

    engine.open_state = capture  # type: ignore[method-assign]
    try:
        clips = {n: opened.clip(n, cache_size=engine.options.decode_cache) for n in lay.camera_names}
        frames = list(engine.track(lay, clips, prompts))
    finally:
        del engine.open_state
    return frames, lay, captured["state"], opened


@pytest.fixture(scope="session")
def interleaved(engine, disc_game):
    """The disc game tracked in the interleave layout (2 decoded frames cached per clip),
    recording every memory view SAM 2 got."""
    from multicam.engine import CameraMemory, Engine

    engine = Engine(engine.predictor, engine.info, dataclasses.replace(engine.options, decode_cache=2), engine.dtype)
    calls = []
    view = CameraMemory.view

    def recording(self, index, output_dict):
        seq_of = {id(out): t for t, out in output_dict["non_cond_frame_outputs"].items()}
        cond_of = {id(out): t for t, out in output_dict["cond_frame_outputs"].items()}
        local, shown, n = view(self, index, output_dict)
        calls.append(
            {
                "index": index,
                "local": local,
                "num_frames": n,
                "non_cond": {key: seq_of[id(out)] for key, out in shown["non_cond_frame_outputs"].items()},
                "cond": {key: cond_of[id(out)] for key, out in shown["cond_frame_outputs"].items()},
                "all_tracked": sorted(output_dict["non_cond_frame_outputs"]),
            }
        )
        return local, shown, n

    CameraMemory.view = recording
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            frames, lay, state, opened = run(engine, disc_game, "interleave")
    finally:
        CameraMemory.view = view
    return frames, lay, state, opened, calls, caught

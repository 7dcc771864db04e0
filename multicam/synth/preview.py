"""A side-by-side picture of every camera of a game at one game time (for READMEs and checks)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def preview_image(game_path: str | Path, time: float | None = None, height: int = 270) -> np.ndarray:
    """Each camera's frame nearest to ``time`` (default: the middle of the time all clips share),
    scaled to ``height`` and labelled, side by side: RGB (height, W_total, 3) uint8.

    A camera without a frame at that time shows a grey tile.
    """
    from multicam.session import open_game

    opened = open_game(game_path, with_prompts=False, require_overlap=False)
    timeline = opened.timeline
    if time is None:
        start = max(c.start for c in timeline.cameras)
        end = min(c.end for c in timeline.cameras)
        time = 0.5 * (start + end) if end > start else 0.5 * (timeline.start + timeline.end)
    tiles = []
    for cam in timeline.cameras:
        info = opened.clips[cam.name]
        w = int(round(info.width * height / info.height))
        frame = cam.frame_at(time)
        if frame is None:
            tile = np.full((height, w, 3), 96, np.uint8)
        else:
            with opened.clip(cam.name) as clip:
                tile = cv2.resize(clip.frame(frame), (w, height), interpolation=cv2.INTER_AREA)
        label = f"{cam.name}  {info.width}x{info.height} @ {info.fps:g} fps"
        cv2.rectangle(tile, (0, 0), (w, 22), (0, 0, 0), -1)
        cv2.putText(tile, label, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
        tiles.append(tile)
        tiles.append(np.full((height, 4, 3), 255, np.uint8))
    return np.hstack(tiles[:-1])


def save_preview(game_path: str | Path, png_path: str | Path, time: float | None = None, height: int = 270) -> Path:
    """Write :func:`preview_image` as a PNG file and return its path."""
    png_path = Path(png_path)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    img = preview_image(game_path, time=time, height=height)
    if not cv2.imwrite(str(png_path), cv2.cvtColor(img, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write {png_path}")
    return png_path

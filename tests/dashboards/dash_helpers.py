"""A tiny three-camera game with ground truth and one run, for the dashboard tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from clip_helpers import write_test_clip

REPO = Path(__file__).resolve().parents[2]

# name, width, height, fps, frames, offset: different rates and offsets, so sync matters
CAMERAS = (("side", 64, 48, 25, 12, 0.0), ("end", 80, 60, 30, 14, -0.1), ("corner", 64, 48, 25, 10, 0.2))
OBJECTS = ((1, "square", "red"), (2, "band", None))


@dataclass(frozen=True)
class DashGame:
    game_path: Path
    runs_dir: Path
    run_path: Path
    gt_path: Path

    @property
    def root(self) -> Path:
        return self.game_path.parent

    def env(self, games: list[Path] | None = None) -> str:
        return json.dumps({"runs_dir": str(self.runs_dir), "games": [str(g) for g in (games or [self.game_path])]})


def label_map(frame: int, width: int, height: int, with_band: bool = True) -> np.ndarray:
    """Object 1: the clip's white square (x = 2 * frame, rows 10-17); object 2: a band of rows 30-33."""
    out = np.zeros((height, width), dtype=np.int32)
    x = (2 * frame) % max(width - 8, 1)
    out[10:18, x : x + 8] = 1
    if with_band:
        out[30:34, 4 : width - 4] = 2
    return out


def write_masks(path: Path, manifest: dict, kind: str, drop_band_every: int = 0) -> None:
    from multicam.masks import FrameMasks
    from multicam.rundir import CameraInfo, ObjectInfo, RunWriter

    cams = [CameraInfo(n, (w, h), float(fps), frames, off) for n, w, h, fps, frames, off in CAMERAS]
    objs = [ObjectInfo(i, name, team) for i, name, team in OBJECTS]
    with RunWriter(path, manifest, cams, objs, kind=kind) as writer:
        for cam in cams:
            for f in range(cam.frame_count):
                band = not (drop_band_every and f % drop_band_every == 0)
                lm = label_map(f, *cam.resolution_wh, with_band=band)
                fm = FrameMasks.from_label_map(cam.name, f, cam.offset + f / cam.fps, lm)
                if kind == "run":
                    fm = FrameMasks(
                        fm.camera,
                        fm.frame,
                        fm.time,
                        fm.resolution_wh,
                        tuple(type(o)(o.object_id, o.rle, o.box_xyxy, o.area, 2.5) for o in fm.objects),
                    )
                writer.write(fm)


def build_game(root: Path) -> DashGame:
    """Write the game (clips, game.yaml, prompts.yaml, ground_truth/) in ``root`` and a run in ``root/../runs``."""
    from ruamel.yaml import YAML

    for name, w, h, fps, frames, _ in CAMERAS:
        write_test_clip(root / "clips" / f"{name}.mp4", width=w, height=h, fps=fps, frames=frames)
    game = {
        "name": "tiny",
        "reference": "side",
        "prompts": "prompts.yaml",
        "ground_truth": "ground_truth",
        "cameras": [{"name": n, "video": f"clips/{n}.mp4", "offset": off} for n, *_, off in CAMERAS],
    }
    prompts = {
        "objects": [{"id": 1, "name": "square", "team": "red", "prompts": [{"frame": 0, "positive": [[4, 14]]}]}]
    }
    yaml = YAML()
    with (root / "game.yaml").open("w") as fh:
        yaml.dump(game, fh)
    with (root / "prompts.yaml").open("w") as fh:
        yaml.dump(prompts, fh)
    write_masks(root / "ground_truth", {"game": {"name": "tiny", "reference": "side"}}, "ground_truth")
    runs_dir = root.parent / "runs"
    run_path = runs_dir / "tiny" / "run1"
    write_masks(
        run_path,
        {
            "game_path": str((root / "game.yaml").resolve()),
            "game": {"name": "tiny", "reference": "side"},
            "model": {"name": "sam2.1_hiera_tiny", "untrained": True},
        },
        "run",
        drop_band_every=3,
    )
    return DashGame(
        game_path=(root / "game.yaml").resolve(),
        runs_dir=runs_dir.resolve(),
        run_path=run_path.resolve(),
        gt_path=(root / "ground_truth").resolve(),
    )

"""Court test helpers: a copy of the small synthetic game without its calibration, and clicks from its truth."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from multicam.court.camera import CameraModel, cameras_from_json
from multicam.court.templates import CourtTemplate, load_template


def true_cameras(calibration_json: Path) -> dict[str, CameraModel]:
    return cameras_from_json(json.loads(Path(calibration_json).read_text()))


def visible_landmarks(cam: CameraModel, template: CourtTemplate, inset: float = 2.0) -> list[str]:
    names = list(template.landmarks)
    uv = cam.project(template.xy(names))
    w, h = cam.resolution_wh
    return [n for n, (x, y) in zip(names, uv) if inset <= x <= w - inset and inset <= y <= h - inset]


def clicks_for(
    cameras: dict[str, CameraModel], template: CourtTemplate, n: int = 6, noise_px: float = 0.0, seed: int = 0
) -> dict[str, dict[str, list[float]]]:
    """``{camera: {landmark: [x, y]}}``: ``n`` landmarks each camera sees, spread over its view, with noise."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, cam in cameras.items():
        vis = visible_landmarks(cam, template)
        uv = cam.project(template.xy(vis))
        # farthest-point order: spread the clicks over the visible floor
        pick = [int(np.argmin(uv[:, 1]))]
        while len(pick) < min(n, len(vis)):
            d = np.min(np.linalg.norm(uv[:, None] - uv[pick][None], axis=2), axis=1)
            pick.append(int(np.argmax(d)))
        out[name] = {vis[i]: (uv[i] + rng.normal(0, noise_px, 2)).round(3).tolist() for i in pick}
    return out


def folder_state(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def bare_game(small_synth_game, tmp_path) -> Path:
    """A copy of the small synthetic game with no calibration (its true one kept outside as truth.json)."""
    src = small_synth_game.parent
    dst = tmp_path / "game"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("ground_truth", "preview*"))
    shutil.move(dst / "calibration.json", tmp_path / "truth.json")
    game = yaml.safe_load((dst / "game.yaml").read_text())
    game.pop("calibration", None)
    (dst / "game.yaml").write_text(yaml.safe_dump(game, sort_keys=False))
    return dst / "game.yaml"


@pytest.fixture
def fiba() -> CourtTemplate:
    return load_template("basketball_fiba")


def write_yaml(path: Path, data) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path

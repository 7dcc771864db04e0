"""Camera calibration for the ground check: each camera's image-to-ground homography.

The calibration file is JSON (written by ``multicam synth``, or by hand)::

    {"units": "m", "court_size_m": [28.0, 15.0],
     "cameras": {"side": {"resolution_wh": [960, 540], "H_image_to_ground": [[...], [...], [...]], ...}}}

Only ``cameras.<name>.H_image_to_ground`` (3x3, image pixels -> ground metres) is required;
``court_size_m`` is used for plots when present.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from multicam.errors import MulticamError
from multicam.game import GameConfig
from multicam.rundir import Run


class CalibrationError(MulticamError):
    """The calibration file is missing or malformed."""


@dataclass(frozen=True)
class Calibration:
    """Ground homographies of the cameras.

    Attributes:
        path: the file it was read from.
        image_to_ground: per camera, the ``(3, 3)`` homography from image pixels to ground metres.
        court_size_m: ``(length, width)`` of the court in metres, when the file gives it.
        resolution_wh: per camera, the resolution the homography is for, when the file gives it.
    """

    path: Path
    image_to_ground: dict[str, np.ndarray]
    court_size_m: tuple[float, float] | None = None
    resolution_wh: dict[str, tuple[int, int]] | None = None


def load_calibration(path: str | Path) -> Calibration:
    """Read a calibration JSON file.

    Raises:
        CalibrationError: missing file, not JSON, or no camera with a valid ``H_image_to_ground``.
    """
    path = Path(path)
    if not path.is_file():
        raise CalibrationError(f"calibration file not found: {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CalibrationError(f"{path}: not valid JSON ({exc.msg})") from exc
    cams = data.get("cameras") if isinstance(data, dict) else None
    if not isinstance(cams, dict) or not cams:
        raise CalibrationError(f"{path}: needs a 'cameras' mapping of camera name -> {{'H_image_to_ground': 3x3}}")
    homographies: dict[str, np.ndarray] = {}
    resolutions: dict[str, tuple[int, int]] = {}
    for name, cam in cams.items():
        h = np.asarray(cam.get("H_image_to_ground") if isinstance(cam, dict) else None, dtype=np.float64)
        if h.shape != (3, 3) or not np.all(np.isfinite(h)):
            raise CalibrationError(f"{path}: cameras.{name}.H_image_to_ground must be a 3x3 matrix of numbers")
        homographies[str(name)] = h
        if isinstance(cam.get("resolution_wh"), list | tuple) and len(cam["resolution_wh"]) == 2:
            resolutions[str(name)] = (int(cam["resolution_wh"][0]), int(cam["resolution_wh"][1]))
    court = data.get("court_size_m")
    court_size = (float(court[0]), float(court[1])) if isinstance(court, list | tuple) and len(court) == 2 else None
    return Calibration(
        path=path, image_to_ground=homographies, court_size_m=court_size, resolution_wh=resolutions or None
    )


def game_config(run: Run) -> tuple[Path | None, GameConfig | None]:
    """The run's game file (:meth:`Run.game_path`) and its config as the manifest recorded it.

    The recorded config is used (not the game file as it is now), so a run keeps finding its
    clips and calibration when the game file is gone or changed.
    """
    return run.game_path(), run.manifest.game_config


def find_clips(run: Run) -> dict[str, Path]:
    """The video clip of each camera of a run's game, for the cameras whose clip exists.

    Uses the game config's ``cameras[].video`` relative to the game file's folder, else the
    game file ``game.yaml`` in the run directory's parent (a ground-truth folder's game).
    """
    game_path, game = game_config(run)
    out: dict[str, Path] = {}
    if game_path is not None and game is not None:
        root = game_path.parent
        for cam in game.cameras:
            out[cam.name] = cam.video if cam.video.is_absolute() else root / cam.video
    if not out:
        game_file = run.path.parent / "game.yaml"
        if game_file.is_file():
            from multicam.game import load_game

            try:
                g = load_game(game_file)
            except MulticamError:
                return {}
            out = {name: g.video_path(name) for name in g.config.camera_names}
    return {name: p for name, p in out.items() if p.is_file() and name in run.cameras}

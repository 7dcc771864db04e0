"""The court's files: landmark clicks, floor points, and writing calibration.json (atomically)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from multicam.court.calibrate import CameraFit
from multicam.court.camera import CameraModel, calibration_json
from multicam.court.importers import court_transform, move_to_court, triangulate
from multicam.court.templates import CourtError, CourtTemplate
from multicam.io import atomic_path, write_json_atomic


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CameraClicks(_Frozen):
    """One camera's clicked landmarks."""

    frame: int | None = Field(default=None, ge=0, description="The frame the clicks were made on (for the record).")
    focal_px: float | None = Field(default=None, gt=0, description="Known focal length in pixels.")
    points: dict[str, tuple[float, float]] = Field(description="Landmark name -> [x, y] pixel.")


class ClicksFile(_Frozen):
    """A landmark clicks file (YAML)::

    template: basketball_fiba
    cameras:
      side:
        frame: 0
        points:
          corner_left_near: [102.5, 431.0]
          ...
    """

    template: str | None = None
    cameras: dict[str, CameraClicks] = Field(min_length=1)


class FloorPoint(_Frozen):
    world: tuple[float, float, float] = Field(description="The point in the imported calibration's frame.")
    court: str | tuple[float, float] = Field(description="A template landmark name, or [x, y] metres on the court.")


class FloorFile(_Frozen):
    """Points known in the imported calibration's frame and on the court (at least 3)."""

    points: tuple[FloorPoint, ...] = Field(min_length=3)


def _load(path: Path, model, what: str):
    from multicam.game import GameFileError, format_validation_error, read_yaml

    try:
        data = read_yaml(Path(path), what)
    except GameFileError as exc:
        raise CourtError(str(exc)) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise CourtError(format_validation_error(exc, str(path)).replace("\n", "; ")) from None


def load_clicks(path: str | Path) -> ClicksFile:
    return _load(Path(path), ClicksFile, "landmark clicks file")


def _dump_yaml_atomic(yaml, data, path: Path) -> None:
    """``yaml.dump(data)`` into ``path`` atomically (see :func:`multicam.io.atomic_path`)."""
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8") as fh:
        yaml.dump(data, fh)


def save_clicks(path: str | Path, clicks: ClicksFile) -> None:
    """Write a clicks file (YAML) atomically."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = None
    _dump_yaml_atomic(yaml, clicks.model_dump(mode="json", exclude_none=True), Path(path))


def load_floor(path: str | Path) -> FloorFile:
    return _load(Path(path), FloorFile, "floor points file")


def place_on_court(
    cameras: dict[str, CameraModel],
    template: CourtTemplate | None,
    floor: FloorFile | None = None,
    clicks: ClicksFile | None = None,
) -> tuple[dict[str, CameraModel], dict]:
    """Imported cameras moved into the court frame; returns ``(cameras, placement summary)``.

    Correspondences come from ``floor`` (world point <-> court point) and from landmarks of
    ``clicks`` seen by 2 or more cameras (triangulated with the imported cameras). Without any,
    the file's frame is taken as the court frame (a note says so).
    """
    world, court, used = [], [], []
    if floor is not None:
        for p in floor.points:
            if isinstance(p.court, str):
                if template is None:
                    raise CourtError(f"floor point {p.court!r} names a landmark: pass --template too")
                xy = template.xy([p.court])[0]
            else:
                xy = np.asarray(p.court, dtype=np.float64)
            world.append(p.world)
            court.append([xy[0], xy[1], 0.0])
            used.append(str(p.court))
    if clicks is not None and template is not None:
        names = sorted({n for c in clicks.cameras.values() for n in c.points})
        for n in names:
            seen = [c for c, cc in clicks.cameras.items() if n in cc.points and c in cameras]
            if len(seen) >= 2:
                world.append(triangulate([cameras[c] for c in seen], [clicks.cameras[c].points[n] for c in seen]))
                xy = template.xy([n])[0]
                court.append([xy[0], xy[1], 0.0])
                used.append(n)
    if not world:
        return cameras, {"method": "as_is", "note": "no floor points: the file's world frame is taken as the court's"}
    if len(world) < 3:
        raise CourtError(
            f"the floor needs at least 3 points known in the calibration's frame, got {len(world)} ({used}); "
            "give --floor FILE or click more landmarks in 2 or more cameras"
        )
    world_a, court_a = np.asarray(world, np.float64), np.asarray(court, np.float64)
    scale, rot, shift = court_transform(world_a, court_a)
    residual = np.linalg.norm(scale * world_a @ rot.T + shift - court_a, axis=1)
    moved = {n: move_to_court(c, scale, rot, shift) for n, c in cameras.items()}
    summary = {
        "method": "similarity",
        "points": used,
        "scale": round(scale, 9),
        "rms_m": round(float(np.sqrt(np.mean(residual**2))), 4),
        "max_error_m": round(float(residual.max()), 4),
    }
    return moved, summary


def check_resolutions(cameras: dict[str, CameraModel], clips_wh: dict[str, tuple[int, int]], source: str) -> None:
    """Every game camera present with its clip's image size, or a :class:`CourtError` naming the first problem."""
    missing = [c for c in clips_wh if c not in cameras]
    if missing:
        raise CourtError(
            f"{source}: camera(s) {missing} of the game are missing; it has {sorted(cameras)} "
            "(rename them in the file to the game's camera names)"
        )
    for name, wh in clips_wh.items():
        if tuple(cameras[name].resolution_wh) != tuple(wh):
            got = cameras[name].resolution_wh
            raise CourtError(
                f"{source}: camera {name} is calibrated for {got[0]}x{got[1]} images but its clip is {wh[0]}x{wh[1]}; "
                "calibrate at the clip's resolution"
            )


def calibration_content(
    cameras: dict[str, CameraModel],
    template: CourtTemplate | None,
    source: str,
    fits: dict[str, CameraFit] | None = None,
    placement: dict | None = None,
) -> dict:
    """calibration.json's content: the synth format plus where it came from and how well it fits."""
    extra: dict = {"source": source}
    if template is not None:
        extra["template"] = template.name
    if placement is not None:
        extra["placement"] = placement
    data = calibration_json(
        list(cameras.values()), (template.length_m, template.width_m) if template is not None else None, **extra
    )
    for name, fit in (fits or {}).items():
        data["cameras"][name]["fit"] = fit.to_json()
    return data


def write_calibration(path: Path, data: dict) -> None:
    write_json_atomic(Path(path), data)


def set_game_calibration(game_path: Path, relative: str) -> bool:
    """Add ``calibration: <relative>`` to a game file that has none (comments kept); True when written."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    data = yaml.load(game_path.read_text(encoding="utf-8"))
    if data.get("calibration"):
        return False
    keys = list(data.keys())
    pos = keys.index("prompts") + 1 if "prompts" in keys else len(keys)
    data.insert(pos, "calibration", relative)
    _dump_yaml_atomic(yaml, data, game_path)
    return True


def load_cameras(path: str | Path) -> dict[str, CameraModel]:
    """The fully calibrated cameras (K, R, t) of a calibration.json; a :class:`CourtError` when none."""
    import json

    from multicam.court.camera import cameras_from_json

    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CourtError(f"calibration file not found: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CourtError(f"{path}: not valid JSON ({exc})") from None
    try:
        cams = cameras_from_json(data) if isinstance(data, dict) else {}
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise CourtError(f"{path}: a camera entry is malformed ({exc})") from None
    if not cams:
        raise CourtError(
            f"{path}: no camera with resolution_wh, K, R and t; run `multicam calibrate` to make a full calibration"
        )
    return cams

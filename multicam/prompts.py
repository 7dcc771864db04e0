"""Prompts: the objects to track and where an analyst clicked them.

A prompts file is YAML::

    objects:
      - id: 1                     # int >= 1, the object's id in every camera
        name: ball
        team: null                # optional
        prompts:
          - frame: 0              # 0-based frame of the prompt's camera ...
            # time: 0.0           # ... or a game time in seconds (nearest frame)
            camera: side          # optional; defaults to the reference camera
            positive: [[412, 230]]        # (x, y) pixels of that camera
            negative: []
            box_xyxy: [400, 220, 425, 242]  # optional (x0, y0, x1, y1) pixels

Each prompt needs at least one positive point or a box. :func:`load_prompts`
checks the file's shape; :func:`validate_prompts` checks it against the game's
cameras (names, frame ranges, image bounds).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from multicam.errors import PromptError
from multicam.io import atomic_path


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Prompt(_Frozen):
    """Clicks and/or a box on one frame of one camera, in that camera's pixels."""

    frame: int | None = Field(default=None, ge=0, description="0-based frame of the camera's clip.")
    time: float | None = Field(default=None, description="Game time (s); the nearest frame is used.")
    camera: str | None = Field(default=None, description="Camera name; defaults to the reference.")
    positive: tuple[tuple[float, float], ...] = Field(default=(), description="(x, y) points on the object.")
    negative: tuple[tuple[float, float], ...] = Field(default=(), description="(x, y) points NOT on the object.")
    box_xyxy: tuple[float, float, float, float] | None = Field(
        default=None, description="Box (x0, y0, x1, y1) around the object."
    )

    @model_validator(mode="after")
    def _check(self) -> Prompt:
        if (self.frame is None) == (self.time is None):
            raise ValueError("give exactly one of 'frame' (0-based index) or 'time' (seconds)")
        if not self.positive and self.box_xyxy is None:
            raise ValueError("a prompt needs at least one positive point or a box_xyxy")
        if self.box_xyxy is not None:
            x0, y0, x1, y1 = self.box_xyxy
            wrong = [
                f"{a} must be smaller than {b}"
                for a, b, lo, hi in (("x0", "x1", x0, x1), ("y0", "y1", y0, y1))
                if hi <= lo
            ]
            if wrong:
                box = ", ".join(f"{v:g}" for v in self.box_xyxy)
                raise ValueError(f"box_xyxy [{box}]: {' and '.join(wrong)} (a box is [left, top, right, bottom])")
        return self


class ObjectPrompts(_Frozen):
    """An object to track: its id, name, optional team, and one or more prompts."""

    id: int = Field(ge=1, description="Object id (>= 1), the same in every camera.")
    name: str = Field(min_length=1, description="The object's name, e.g. 'ball' or 'home 7'.")
    team: str | None = Field(default=None, description="Team name, or null (the ball, referees).")
    prompts: tuple[Prompt, ...] = Field(min_length=1, description="Where the object was clicked; at least one.")


class PromptsFile(_Frozen):
    """The whole prompts file."""

    objects: tuple[ObjectPrompts, ...] = Field(default=(), description="The objects to track.")

    @model_validator(mode="after")
    def _merge_ids(self) -> PromptsFile:
        seen: dict[int, ObjectPrompts] = {}
        for obj in self.objects:
            other = seen.get(obj.id)
            if other is not None and (other.name != obj.name or other.team != obj.team):
                raise ValueError(
                    f"object id {obj.id} is used for both {other.name!r} and {obj.name!r}; give each object its own id"
                )
            seen[obj.id] = obj
        return self

    def merged(self) -> tuple[ObjectPrompts, ...]:
        """Objects by id, with the prompts of entries that repeat an id joined, sorted by id."""
        by_id: dict[int, ObjectPrompts] = {}
        for obj in self.objects:
            if obj.id in by_id:
                prev = by_id[obj.id]
                by_id[obj.id] = prev.model_copy(update={"prompts": prev.prompts + obj.prompts})
            else:
                by_id[obj.id] = obj
        return tuple(by_id[i] for i in sorted(by_id))


def load_prompts(path: str | Path) -> PromptsFile:
    """Read and check the shape of a prompts file."""
    from multicam.game import format_validation_error, read_yaml

    path = Path(path)
    data = read_yaml(path, "prompts file")
    if data is None:
        data = {"objects": []}
    if not isinstance(data, dict):
        raise PromptError(f"{path}: a prompts file is a YAML mapping with an 'objects:' list")
    try:
        return PromptsFile.model_validate(data)
    except ValidationError as exc:
        raise PromptError(format_validation_error(exc, str(path))) from None


def save_prompts(prompts: PromptsFile, path: str | Path) -> None:
    """Write a prompts file (atomically: a failed write leaves the old file intact)."""
    from ruamel.yaml import YAML

    path = Path(path)
    data = prompts.model_dump(mode="json", exclude_none=True)
    for obj in data["objects"]:
        obj.setdefault("team", None)
        for p in obj["prompts"]:
            for key in ("positive", "negative"):
                p[key] = [list(pt) for pt in p.get(key, [])]
            if "box_xyxy" in p:
                p["box_xyxy"] = list(p["box_xyxy"])
    yaml = YAML()
    yaml.default_flow_style = None
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8") as fh:
        yaml.dump(data, fh)


def validate_prompts(
    prompts: PromptsFile,
    *,
    reference: str,
    cameras: Mapping[str, tuple[int, int, int]],
    source: str = "prompts",
) -> None:
    """Check prompts against the game's cameras.

    Args:
        prompts: the parsed prompts file.
        reference: the reference camera's name (the default camera of a prompt).
        cameras: per camera name, ``(width, height, frame_count)``.
        source: file name used in error messages.

    Raises:
        PromptError: naming the object, the prompt and what to fix.
    """
    for obj in prompts.objects:
        for k, p in enumerate(obj.prompts):
            where = f"{source}: object {obj.id} ({obj.name}), prompt {k}"
            cam = p.camera or reference
            if cam not in cameras:
                raise PromptError(f"{where}: unknown camera {cam!r}; the game's cameras are {sorted(cameras)}")
            width, height, frames = cameras[cam]
            if p.frame is not None and p.frame >= frames:
                raise PromptError(f"{where}: frame {p.frame} does not exist; camera {cam!r} has frames 0..{frames - 1}")
            for kind, pts in (("positive", p.positive), ("negative", p.negative)):
                for x, y in pts:
                    if not (0 <= x < width and 0 <= y < height):
                        raise PromptError(
                            f"{where}: {kind} point ({x:g}, {y:g}) is outside camera {cam!r}'s {width}x{height} image"
                        )
            if p.box_xyxy is not None:
                x0, y0, x1, y1 = p.box_xyxy
                if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
                    raise PromptError(
                        f"{where}: box_xyxy {list(p.box_xyxy)} reaches outside camera {cam!r}'s {width}x{height} image"
                    )

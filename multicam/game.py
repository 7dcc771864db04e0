"""The game file: which clips make up a game, how they line up in time, and what to track.

A game file is YAML; every relative path in it is relative to the game file's folder::

    name: demo_game            # used for the runs/<name>/ folder
    reference: side            # camera the prompts are labelled on
    prompts: prompts.yaml      # objects and their prompts (see multicam.prompts)
    calibration: calibration.json   # optional: intrinsics, extrinsics, ground homographies
    ground_truth: ground_truth      # optional: masks in run-directory format
    model:
      name: sam2.1_hiera_tiny  # a registry name (multicam models list) ...
      checkpoint: null         # ... or an explicit checkpoint file
    processing:
      layout: interleave       # interleave | concat
      image_size: 1024         # SAM 2 input size, a multiple of 32
      device: auto             # auto | cpu | cuda | cuda:N | mps
      prompt_assist: null      # null | geometry (derived box prompts from the calibration)
    cameras:
      - name: side
        video: clips/side.mp4
        offset: 0.0            # game time (s) of the clip's first frame, or "auto"
      - name: end
        video: clips/end.mp4
        offset: -0.36

The reference camera's offset is 0 by definition: a camera whose clip started
0.36 s before the reference clip has ``offset: -0.36``. A camera's local time is
``game_time - offset`` and its frame ``i`` is shown at game time ``offset + i / fps``.

:func:`load_game` parses and checks the file itself (schema, names, paths exist);
:func:`multicam.session.open_game` also opens the clips and checks the prompts
against them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from multicam.errors import GameFileError

Layout = Literal["interleave", "concat"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CameraConfig(_Frozen):
    """One camera: a name, its clip and its time offset against the reference camera."""

    name: str = Field(
        min_length=1, pattern=r"^[A-Za-z0-9_.-]+$", description="Camera name: letters, digits, '_', '-', '.'."
    )
    video: Path = Field(description="Path of the clip (MP4 or any format FFmpeg reads).")
    offset: float | Literal["auto"] = Field(
        default=0.0, description="Game time in seconds of the clip's first frame (reference clock), or 'auto'."
    )


class ModelConfig(_Frozen):
    """Which SAM 2 model to run: a registry name, or a checkpoint file with its config."""

    name: str = Field(default="sam2.1_hiera_tiny", description="Model name from `multicam models list`.")
    checkpoint: Path | None = Field(
        default=None, description="Explicit checkpoint (.pt) file; overrides the download cache."
    )


class ProcessingConfig(_Frozen):
    """How the engine lays out and runs the game."""

    layout: Layout = Field(
        default="interleave", description="interleave (frames grouped by game time) or concat (one clip after another)."
    )
    image_size: int = Field(default=1024, ge=64, le=4096, description="SAM 2 input size (multiple of 32).")
    device: str = Field(default="auto", description="auto, cpu, cuda, cuda:N or mps.")
    prompt_assist: Literal["geometry"] | None = Field(
        default=None,
        description="geometry: add box prompts projected from the reference camera's (needs a calibration); "
        "empty, none or off: no assist.",
    )

    @field_validator("image_size")
    @classmethod
    def _multiple_of_32(cls, value: int) -> int:
        if value % 32:
            raise ValueError(f"must be a multiple of 32 (e.g. {round(value / 32) * 32}), got {value}")
        return value

    @field_validator("prompt_assist", mode="before")
    @classmethod
    def _assist_off(cls, value):
        # YAML 1.1 readers turn a bare `off` into False
        return None if value in (False, None) or str(value).lower() in ("off", "none", "false", "") else value

    @field_validator("device")
    @classmethod
    def _known_device(cls, value: str) -> str:
        if value in {"auto", "cpu", "mps", "cuda"} or (value.startswith("cuda:") and value[5:].isdigit()):
            return value
        raise ValueError(f"must be auto, cpu, cuda, cuda:N or mps, got {value!r}")


class GameConfig(_Frozen):
    """The parsed game file, with paths as written (relative to the game file's folder)."""

    name: str = Field(
        min_length=1,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="Game name (runs go to runs/<name>/): letters, digits, '_', '-', '.'.",
    )
    reference: str = Field(description="The camera the prompts are labelled on; its offset is 0 and defines game time.")
    cameras: tuple[CameraConfig, ...] = Field(min_length=1, description="The game's cameras, each with its clip.")
    prompts: Path | None = Field(default=None, description="The prompts file (YAML).")
    calibration: Path | None = Field(
        default=None, description="Camera calibration (JSON); enables the ground-plane checks of reports."
    )
    ground_truth: Path | None = Field(
        default=None, description="Folder of ground-truth masks in run-directory format (for eval)."
    )
    model: ModelConfig = Field(default=ModelConfig(), description="The SAM 2 model.")
    processing: ProcessingConfig = Field(
        default=ProcessingConfig(), description="Defaults of `multicam process` (each can be overridden there)."
    )

    @model_validator(mode="after")
    def _check_cameras(self) -> GameConfig:
        names = [c.name for c in self.cameras]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"cameras: duplicate camera name(s) {duplicates}; every camera needs its own name")
        if self.reference not in names:
            raise ValueError(f"reference: camera {self.reference!r} is not one of the cameras {names}")
        ref = self.camera(self.reference)
        if ref.offset not in (0.0, "auto") and ref.offset != 0:
            raise ValueError(
                f"cameras: the reference camera {self.reference!r} must have offset 0 "
                f"(it defines game time), got {ref.offset}"
            )
        return self

    def camera(self, name: str) -> CameraConfig:
        for cam in self.cameras:
            if cam.name == name:
                return cam
        raise GameFileError(f"unknown camera {name!r}; the game's cameras are {[c.name for c in self.cameras]}")

    @property
    def camera_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.cameras)


class Game:
    """A loaded game file: its config and the folder its relative paths start from."""

    def __init__(self, config: GameConfig, path: Path):
        self.config = config
        self.path = path.resolve()
        self.root = self.path.parent

    def resolve(self, p: Path | None) -> Path | None:
        """An absolute path for a path written in the game file."""
        if p is None:
            return None
        p = Path(p).expanduser()
        return p if p.is_absolute() else (self.root / p).resolve()

    @property
    def name(self) -> str:
        return self.config.name

    def video_path(self, camera: str) -> Path:
        return self.resolve(self.config.camera(camera).video)  # type: ignore[return-value]

    @property
    def prompts_path(self) -> Path | None:
        return self.resolve(self.config.prompts)

    @property
    def calibration_path(self) -> Path | None:
        return self.resolve(self.config.calibration)

    @property
    def ground_truth_path(self) -> Path | None:
        return self.resolve(self.config.ground_truth)

    @property
    def checkpoint_path(self) -> Path | None:
        return self.resolve(self.config.model.checkpoint)


# what to write, for fields whose type errors say little on their own (matched on the field's name)
_FIELD_HINTS = {
    "offset": "give a number of seconds (e.g. -0.36) or 'auto'",
    "box_xyxy": "give four numbers [x0, y0, x1, y1] in pixels",
    "positive": "give a list of [x, y] points in pixels, e.g. [[412, 230]]",
    "negative": "give a list of [x, y] points in pixels, e.g. [[412, 230]]",
    "video": "give the path of the clip, relative to the game file's folder",
    "cameras": "give a list of cameras, each with name: and video:",
    "objects": "give a list of objects, each with id:, name: and prompts:",
}
_NAME_PATTERN = "use only letters, digits, '_', '-' and '.' (no spaces)"
_UNION_TAGS = {"float", "int", "str", "bool", "none", "list", "tuple", "dict", "function-after", "lax-or-strict"}
_TYPE_WORDS = {
    "float": "a number",
    "string": "text",
    "int": "a whole number",
    "str": "text",
    "bool": "true or false",
    "tuple": "a list",
    "list": "a list",
    "dict": "a mapping (key: value lines)",
    "model": "a mapping (key: value lines)",
    "path": "a file path",
}


def _is_union_tag(part: object) -> bool:
    """pydantic names the member of a union it tried (``float``, ``literal['auto']``) in the location."""
    return isinstance(part, str) and ("[" in part or part in _UNION_TAGS)


def _human_message(err: dict) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "extra_forbidden":
        return "unknown field (check the spelling; see the file format documentation)"
    if kind == "missing":
        return "required field is missing"
    if kind == "literal_error":
        return f"give {ctx.get('expected', 'one of the allowed values')}"
    if kind == "string_pattern_mismatch":
        return _NAME_PATTERN if ctx.get("pattern") == r"^[A-Za-z0-9_.-]+$" else "has characters that are not allowed"
    if kind == "string_too_short":
        return "must not be empty"
    if kind in ("too_short", "too_long"):
        n = ctx.get("min_length" if kind == "too_short" else "max_length")
        return f"give at {'least' if kind == 'too_short' else 'most'} {n} item{'s' if n != 1 else ''}"
    bounds = {
        "greater_than_equal": ("at least", "ge"),
        "greater_than": ("greater than", "gt"),
        "less_than_equal": ("at most", "le"),
        "less_than": ("less than", "lt"),
    }
    if kind in bounds:
        words, key = bounds[kind]
        return f"must be {words} {ctx.get(key)}"
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", err["msg"])).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    base = kind.split("_")[0]
    if base in _TYPE_WORDS and (kind.endswith("_type") or kind.endswith("_parsing") or kind.endswith("_from_float")):
        return f"give {_TYPE_WORDS[base]}, not {_describe(err.get('input'))}"
    return err["msg"].replace(" after validation", "")


def _describe(value: object) -> str:
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text {value[:40]!r}"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _field_hint(err: dict, loc: tuple) -> tuple[tuple, str] | None:
    """For a wrong type or shape in a field with a hint: the field's location and what to write there."""
    kind = err["type"]
    if not (kind.endswith(("_type", "_parsing")) or kind == "literal_error" or kind == "missing"):
        return None
    for k in range(len(loc) - 1, -1, -1):
        if loc[k] in _FIELD_HINTS and all(isinstance(p, int) for p in loc[k + 1 :]):
            if kind == "missing" and k == len(loc) - 1:
                return None  # the field itself is missing: say so
            return loc[: k + 1], _FIELD_HINTS[loc[k]]
    return None


def format_validation_error(exc: ValidationError, source: str) -> str:
    """One line per problem, written for people: ``source: field.path: what is wrong and what to write``.

    pydantic's internals stay out: union members (``literal['auto']``), follow-on errors of a
    list whose items failed, and "after validation" wording.
    """
    problems: dict[str, list[str]] = {}
    errors = exc.errors()
    locs = [tuple(p for p in err["loc"] if not _is_union_tag(p)) for err in errors]
    for err, loc in zip(errors, locs, strict=True):
        if err["type"] == "too_short" and any(other != loc and other[: len(loc)] == loc for other in locs):
            continue  # a list whose items failed: pydantic also says it is empty; the item errors say why
        hint = _field_hint(err, loc)
        if hint is not None:
            loc, message = hint
        else:
            message = _human_message(err)
        key = ".".join(str(p) for p in loc)
        if message not in problems.setdefault(key, []):
            problems[key].append(message)
    lines = [
        f"{source}: {key}: {'; '.join(messages)}" if key else f"{source}: {'; '.join(messages)}"
        for key, messages in problems.items()
    ]
    return "\n".join(lines)


def read_yaml(path: Path, what: str) -> object:
    """Parse a YAML file; missing or malformed files are a :class:`GameFileError`."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    if path.is_dir():
        raise GameFileError(f"{path} is a folder; give the {what} (a .yaml file) inside it")
    if not path.is_file():
        raise GameFileError(f"{what} not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise GameFileError(
            f"{path}: not a text file (byte {exc.start} is not UTF-8); give the {what}, a YAML text file"
        ) from None
    except OSError as exc:
        raise GameFileError(f"{path}: cannot read the {what} ({exc.strerror})") from None
    try:
        return YAML(typ="safe", pure=True).load(text)
    except YAMLError as exc:
        first = " ".join(str(exc).split())
        raise GameFileError(f"{path}: not valid YAML: {first}") from None


def load_game(path: str | Path) -> Game:
    """Parse and check a game file: schema, camera names, and that the files it names exist."""
    path = Path(path)
    data = read_yaml(path, "game file")
    if not isinstance(data, dict):
        raise GameFileError(f"{path}: a game file is a YAML mapping (name:, reference:, cameras: ...)")
    try:
        config = GameConfig.model_validate(data)
    except ValidationError as exc:
        raise GameFileError(format_validation_error(exc, str(path))) from None
    game = Game(config, path)
    for i, cam in enumerate(config.cameras):
        video = game.video_path(cam.name)
        if not video.is_file():
            raise GameFileError(f"{path}: cameras.{i}.video: clip of camera {cam.name!r} not found: {video}")
    for field_name in ("prompts", "calibration"):
        p = game.resolve(getattr(config, field_name))
        if p is not None and not p.is_file():
            raise GameFileError(f"{path}: {field_name}: file not found: {p}")
    gt = game.ground_truth_path
    if gt is not None and not gt.is_dir():
        raise GameFileError(f"{path}: ground_truth: folder not found: {gt}")
    ckpt = game.checkpoint_path
    if ckpt is not None and not ckpt.is_file():
        raise GameFileError(f"{path}: model.checkpoint: file not found: {ckpt}")
    return game

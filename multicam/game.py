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

    @field_validator("image_size")
    @classmethod
    def _multiple_of_32(cls, value: int) -> int:
        if value % 32:
            raise ValueError(f"must be a multiple of 32 (e.g. {round(value / 32) * 32}), got {value}")
        return value

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


def format_validation_error(exc: ValidationError, source: str) -> str:
    """One line per problem: ``source: field.path: what is wrong``."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling; see the game file documentation)"
        elif err["type"] == "missing":
            msg = "required field is missing"
        lines.append(f"{source}: {loc}: {msg}")
    return "\n".join(lines)


def read_yaml(path: Path, what: str) -> object:
    """Parse a YAML file; missing or malformed files are a :class:`GameFileError`."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    if not path.is_file():
        raise GameFileError(f"{what} not found: {path}")
    try:
        return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    except YAMLError as exc:
        raise GameFileError(f"{path}: not valid YAML: {exc}") from exc


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

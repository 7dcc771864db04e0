"""The run manifest (``manifest.json`` of a run directory or ground-truth folder) as a typed record.

Written by :class:`multicam.rundir.RunWriter` (for ``multicam process`` and ``multicam synth``),
read by :class:`multicam.rundir.Run` (``run.manifest`` is a :class:`RunManifest`). Every part is
a frozen pydantic model that refuses unknown fields, so a typo or a renamed field fails at once.

``format_version`` is the schema version: a reader refuses a manifest newer than it knows
(:data:`FORMAT_VERSION`), and a change of the schema that old readers cannot read raises it.
Fields that a run writes only in some cases (``error``, ``resumes``, ``synth``...) are left out of
the file when unset.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_serializer, field_validator

from multicam.errors import MulticamError
from multicam.game import GameConfig, format_validation_error

FORMAT = "multicam-run"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"

UNTRAINED_WARNING = (
    "UNTRAINED MODEL: masks from RANDOM weights (--untrained); they show that the pipeline runs, "
    "not what SAM 2 sees: do not evaluate or publish them or their scores"
)
"""The one text that says a run's masks came from random weights (CLI, manifest, report, dashboard)."""

RunStatus = Literal["running", "complete", "failed", "interrupted"]
RunKind = Literal["run", "ground_truth"]


class Record(BaseModel):
    """Base of the manifest's parts: frozen, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True)
class ObjectInfo:
    """An object tracked in a run: id, name and optional team (``{"id", "name", "team"}`` in JSON)."""

    object_id: int
    name: str
    team: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.object_id, "name": self.name, "team": self.team}


@dataclass(frozen=True)
class CameraInfo:
    """A camera as recorded in a run: resolution, rate, frame count, offset on the game clock."""

    name: str
    resolution_wh: tuple[int, int]
    fps: float
    frame_count: int
    offset: float

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "resolution_wh": list(self.resolution_wh),
            "fps": self.fps,
            "frame_count": self.frame_count,
            "offset": self.offset,
        }


class GameRef(Record):
    """The game a run was made from (a run's ``game``)."""

    name: str
    path: Path | None = None
    reference: str | None = None


class ModelInfo(Record):
    """The model that made the masks."""

    name: str
    config: str | None = None
    checkpoint: str | None = None
    sha256: str | None = None
    untrained: bool = False
    params: int | None = None
    warning: str | None = None


class Timings(Record):
    """Seconds spent: building the model, adding prompts, tracking; whole run."""

    build_s: float | None = None
    prompt_s: float | None = None
    track_s: float | None = None
    frames_per_s: float | None = None
    wall_s: float | None = None


class RunOptions(Record):
    """How the run was made, beyond the game's config (what ``--resume`` needs to continue it)."""

    dtype: str = "auto"
    compile: bool = False
    batch_objects: bool = False
    decode_cache: int = 8
    prefetch: int = 4
    threads: int | None = None
    feature_cache: str | None = None
    feature_cache_gb: float = 20.0
    snapshot_every_s: float | None = 60.0
    untrained: bool = False
    download: bool = True
    encoder_batch: int = 1
    from_run: str | None = None


class ProcessInfo(Record):
    """The process writing the run (to tell a live run from a crashed one)."""

    pid: int
    host: str


class MemoryStats(Record):
    """Peaks of what the engine held."""

    max_held_outputs: int
    max_held_bytes: int
    max_held_decoded_frames: int


class FeatureStats(Record):
    """Image-feature cache use: where, encoder forwards, loads and the cache's counters."""

    cache: str | None = None
    encoder_forwards: int = 0
    loaded: int = 0
    hits: int | None = None
    misses: int | None = None
    stores: int | None = None
    skipped_full: int | None = None
    evicted: int | None = None
    bytes_written: int | None = None
    encoder_batches: int | None = None
    failed: int | None = None


class ResumeInfo(Record):
    """One ``--resume`` of the run."""

    at: str
    frames_kept: int
    previous_status: str
    snapshot: bool
    replayed_frames: int | None = None


class PartInfo(Record):
    """One part of a run split across workers: a group of objects tracked in its own SAM 2 state."""

    objects: list[int] = Field(description="the object ids this part tracks")
    run: str = Field(description="the part's own run folder, relative to the run")
    node: str | None = Field(default=None, description="the worker's host (IP)")
    seconds: float | None = None
    frames_per_s: float | None = None


class WorkersInfo(Record):
    """How a run was split across workers (``multicam process --workers N``)."""

    count: int = Field(ge=1, description="workers asked for")
    ray_address: str | None = Field(default=None, description="the Ray cluster joined (None: a local Ray)")
    threads_per_worker: int | None = None
    feature_chunks: int = Field(default=0, description="stage 1: chunks of frames encoded in parallel")
    frames_encoded: int = Field(default=0, description="stage 1: frames whose features were computed")
    encode_s: float | None = Field(default=None, description="stage 1 wall time")
    track_s: float | None = Field(default=None, description="stage 2 wall time (parts in parallel)")
    merge_s: float | None = Field(default=None, description="stage 3 wall time")
    parts: list[PartInfo] = Field(default_factory=list)


class OffsetResolution(Record):
    """How an ``offset: auto`` camera's offset was found (see :meth:`multicam.sync.SyncResult.as_dict`)."""

    offset: float
    confidence: float | None = None
    method: str | None = None
    reference: str | None = None
    offset_frames: float | None = None
    peak: float | None = None
    second_peak: float | None = None
    psr: float | None = None
    overlap_s: float | None = None
    notes: list[str] | None = None


class DerivedPrompt(Record):
    """A box prompt made for another camera from a reference-camera box (prompt assist by geometry)."""

    object_id: int
    camera: str
    frame: int
    time: float
    box_xyxy: tuple[float, float, float, float]
    floor_xy: tuple[float, float] = Field(description="where the object stands on the court (m)")
    source_frame: int = Field(description="the reference camera's frame of the box it was made from")

    @field_serializer("time")
    def _dump_time(self, value: float) -> float:
        return round(value, 4)

    @field_serializer("box_xyxy")
    def _dump_box(self, value: tuple[float, ...]) -> list[float]:
        return [round(v, 1) for v in value]

    @field_serializer("floor_xy")
    def _dump_floor(self, value: tuple[float, ...]) -> list[float]:
        return [round(v, 3) for v in value]


class SkippedPrompt(Record):
    """A derived prompt not made, and why (ambiguous, outside the image, airborne object...)."""

    object_id: int
    camera: str
    time: float
    reason: str

    @field_serializer("time")
    def _dump_time(self, value: float) -> float:
        return round(value, 4)


class DerivedPrompts(Record):
    """The prompts a run added by geometry (``processing.prompt_assist``), and the ones it skipped."""

    method: Literal["geometry"] = "geometry"
    calibration: str | None = Field(default=None, description="the calibration file the boxes were projected with")
    prompts: list[DerivedPrompt] = Field(default_factory=list)
    skipped: list[SkippedPrompt] = Field(default_factory=list)


class RunManifest(Record):
    """``manifest.json`` of a run (``kind: run``) or a ground-truth folder (``kind: ground_truth``)."""

    format: Literal["multicam-run"] = FORMAT
    format_version: int = Field(default=FORMAT_VERSION, ge=1, description="schema version")
    kind: RunKind = "run"
    game: GameRef | GameConfig | None = Field(
        default=None, description="a run: name, path and reference; ground truth: the game's config"
    )
    game_path: Path | None = Field(default=None, description="game file (older runs; now game.path)")
    reference: str | None = None
    config: GameConfig | None = Field(default=None, description="the resolved game config of a run")
    model: ModelInfo | None = None
    versions: dict[str, str] = Field(default_factory=dict)
    device: str | None = None
    dtype: str | None = None
    image_size: int | None = None
    compiled: bool | None = None
    fill_hole_area: int | None = None
    layout: str | None = None
    sequence_frames: int | None = None
    offsets_resolved: dict[str, OffsetResolution] = Field(default_factory=dict)
    timings: Timings = Timings()
    options: RunOptions | None = None
    prompts_sha256: str | None = None
    derived_prompts: DerivedPrompts | None = Field(
        default=None, description="prompts added by geometry (processing.prompt_assist: geometry)"
    )
    inputs_sha256: str | None = Field(
        default=None, description="digest of what determines the masks (multicam.pipeline.inputs_digest)"
    )
    process: ProcessInfo | None = None
    synth: dict[str, Any] | None = Field(default=None, description="ground truth: the SynthConfig it was made with")
    calibration: str | None = Field(default=None, description="ground truth: calibration file, relative to it")
    cameras: list[CameraInfo] = Field(default_factory=list)
    objects: list[ObjectInfo] = Field(default_factory=list)
    status: RunStatus = "running"
    started_at: str | None = None
    finished_at: str | None = None
    frames_written: dict[str, int] = Field(default_factory=dict)
    memory: MemoryStats | None = None
    features: FeatureStats | None = None
    resumes: list[ResumeInfo] = Field(default_factory=list)
    mask_determinants: dict[str, Any] | None = Field(
        default=None, description="what besides each object's prompts determines its masks (multicam.correction)"
    )
    object_prompts_sha256: dict[str, str] | None = Field(
        default=None, description="per object id, its prompts' SHA-256"
    )
    correction: dict[str, Any] | None = Field(
        default=None, description="--from: source_run, retracked and reused objects, reason"
    )
    tracked_objects: list[int] | None = Field(
        default=None, description="a part of a split run: the objects it tracks (None: every object)"
    )
    workers: WorkersInfo | None = Field(default=None, description="--workers: how the run was split")
    error: str | None = None

    @field_validator("objects", mode="before")
    @classmethod
    def _objects(cls, value: Any) -> Any:
        if not isinstance(value, list | tuple):
            return value
        return [
            {"object_id": o["id"], **{k: v for k, v in o.items() if k != "id"}}
            if isinstance(o, dict) and "id" in o
            else o
            for o in value
        ]

    @field_serializer("cameras")
    def _dump_cameras(self, value: list[CameraInfo]) -> list[dict[str, Any]]:
        return [c.to_json() for c in value]

    @field_serializer("objects")
    def _dump_objects(self, value: list[ObjectInfo]) -> list[dict[str, Any]]:
        return [o.to_json() for o in value]

    # -- derived ----------------------------------------------------------------------------------
    @property
    def untrained(self) -> bool:
        """True when the masks came from random weights."""
        return self.model is not None and self.model.untrained

    @property
    def game_name(self) -> str | None:
        return None if self.game is None else self.game.name

    @property
    def game_reference(self) -> str | None:
        """The reference camera: ``reference``, else the game's."""
        return self.reference or (None if self.game is None else self.game.reference)

    @property
    def recorded_game_path(self) -> Path | None:
        """The game file the manifest names (``game.path``, or ``game_path`` of older runs)."""
        if isinstance(self.game, GameRef) and self.game.path is not None:
            return self.game.path
        return self.game_path

    @property
    def game_config(self) -> GameConfig | None:
        """The game's config as recorded: a run's ``config``, or ground truth's ``game``."""
        if self.config is not None:
            return self.config
        return self.game if isinstance(self.game, GameConfig) else None

    def to_json(self) -> dict[str, Any]:
        """The JSON written to ``manifest.json`` (fields never set are left out)."""
        return self.model_dump(mode="json", exclude_unset=True)

    def updated(self, **fields: Any) -> RunManifest:
        """A copy with ``fields`` replaced (and checked)."""
        return RunManifest.model_validate({**self.model_dump(exclude_unset=True), **fields})


RecordT = TypeVar("RecordT", bound=BaseModel)


def read_versioned(
    path: Path, model: type[RecordT], *, fmt: str, version: int, what: str, error: type[MulticamError], fix: str
) -> RecordT:
    """Read a JSON file whose ``format`` is ``fmt`` and whose ``format_version`` is at most ``version``.

    Args:
        model: the record to check it with.
        what: what the file is, for messages ("a multicam run manifest").
        error: the error raised, with one line naming the file (and field) and ``fix``.
        fix: what the user should do, e.g. "run `multicam report` again".
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8 text"
        raise error(f"{path}: not valid JSON ({reason}); {fix}") from None
    if not isinstance(data, dict) or data.get("format") != fmt:
        raise error(f"{path}: not {what}; {fix}")
    found = data.get("format_version", 1)
    if not isinstance(found, int) or found > version:
        raise error(
            f"{path}: format_version {found} was written by a newer multicam (this one reads up to {version}); "
            "upgrade multicam"
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(format_validation_error(exc, str(path)) + f"; {fix}") from None

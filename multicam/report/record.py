"""``report.json`` as a typed record: what :func:`multicam.report.build_report` writes and every reader reads.

:class:`ReportRecord` is the whole file; each check of :mod:`multicam.report.builder` returns its
own section (:class:`PresenceEntry`, :class:`GroundSection`, :class:`AppearanceSection`...).
All parts are frozen pydantic models that refuse unknown fields. Scores and similarities are
rounded to 4 decimals; ``None`` stands for "not measured" (and for NaN).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from multicam.errors import MulticamError
from multicam.manifest import Record, read_versioned

REPORT_FORMAT = "multicam-report"
REPORT_FORMAT_VERSION = 1


class ReportOptions(Record):
    """Thresholds of the consistency checks."""

    tolerance_m: float = Field(default=1.0, gt=0, description="Ground spread (m) above which cameras disagree.")
    low_score: float = Field(default=1.0, description="Object score logit below which a present object is flagged.")
    jump_iou: float = Field(default=0.3, ge=0, le=1, description="Consecutive-mask IoU below which a mask jumps.")
    jump_area_ratio: float = Field(default=3.0, gt=1, description="Area change factor that counts as a jump.")
    jump_min_area: int = Field(default=100, ge=0, description="Pixels the larger mask needs for an area jump.")
    overlap_fraction: float = Field(
        default=0.2, gt=0, le=1, description="Shared share of the smaller mask that flags an overlap."
    )
    swap_iou_margin: float = Field(default=0.2, ge=0, description="IoU margin of the exchanged assignment.")
    appearance_samples: int = Field(default=12, ge=0, description="Frames per camera sampled for colours.")
    appearance_margin: float = Field(
        default=0.05, ge=0, description="Similarity margin by which another object must match better."
    )
    appearance_min_pixels: int = Field(default=50, ge=1, description="Mask pixels needed for a colour histogram.")
    airborne: tuple[str, ...] = Field(
        default=("ball",),
        description="Object names whose foot point is not on the ground (plotted, not flagged or scored).",
    )


# -- per camera and object ------------------------------------------------------------------
class SegmentRecord(Record):
    """A run of frames (both ends inclusive): ``present``, ``gap``/``end`` (lost) or ``low_score``."""

    start_frame: int
    end_frame: int
    kind: str
    frames: int
    at_border: bool = False


class PresenceEntry(Record):
    """Where an object has a mask in one camera."""

    present_frames: int
    processed_frames: int
    first_frame: int | None
    last_frame: int | None
    segments: list[SegmentRecord]
    lost: list[SegmentRecord]
    low_score: list[SegmentRecord]
    mean_score: float | None


class JumpRecord(Record):
    frame: int
    time: float | None
    iou: float | None
    area_ratio: float | None
    reason: str


class StabilityEntry(Record):
    """How an object's mask changes between consecutive frames of one camera."""

    transitions: int
    mean_iou: float | None
    min_iou: float | None
    jumps: list[JumpRecord]


class OverlapRecord(Record):
    """Consecutive frames where two objects claim the same pixels."""

    camera: str
    time: float | None
    object_ids: list[int]
    start_frame: int
    end_frame: int
    frames: int
    max_fraction: float | None
    max_pixels: int


class SwapRecord(Record):
    """Two objects exchanging identities between two frames."""

    camera: str
    frame: int
    time: float | None
    object_ids: list[int]
    by: str
    straight: float | None
    crossed: float | None


# -- ground ---------------------------------------------------------------------------------
class CameraAgreement(Record):
    compared: int = 0
    agree: int = 0


class GroundObject(Record):
    compared: int
    flagged: int
    cameras: dict[str, CameraAgreement]
    median_spread_m: float | None
    max_spread_m: float | None
    scored: bool


class GroundFlag(Record):
    camera: str
    object_id: int
    start_frame: int
    end_frame: int
    time: float | None
    moments: int
    max_spread_m: float | None


class GroundTrack(Record):
    """An object's ground positions seen by one camera (one list entry per frame)."""

    frame: list[int] = Field(default_factory=list)
    time: list[float | None] = Field(default_factory=list)
    x_m: list[float | None] = Field(default_factory=list)
    y_m: list[float | None] = Field(default_factory=list)
    hidden: list[bool] = Field(default_factory=list)


class GroundSection(Record):
    """The ground check: do the calibrated cameras put each object at the same place on the court?"""

    available: bool = False
    reason: str | None = None
    calibration: str | None = None
    tolerance_m: float
    court_size_m: list[float] | None = None
    excluded_objects: list[int] = Field(default_factory=list)
    objects: dict[str, GroundObject] = Field(default_factory=dict)
    flagged: list[GroundFlag] = Field(default_factory=list)
    tracks: dict[str, dict[str, GroundTrack]] = Field(default_factory=dict)


# -- appearance -----------------------------------------------------------------------------
class AppearanceMatchRecord(Record):
    camera: str
    object_id: int
    own: float | None
    best_other: int | None
    best_other_similarity: float | None
    same_team: bool
    flagged: bool
    score: float | None
    pixels: int
    similarity: dict[str, float | None]


class AppearanceSection(Record):
    """The appearance check: does each object look like itself in the reference camera?"""

    available: bool = False
    reason: str | None = None
    frames_sampled: dict[str, int] = Field(default_factory=dict)
    matches: list[AppearanceMatchRecord] = Field(default_factory=list)


# -- scores and the whole report ------------------------------------------------------------
class PairScore(Record):
    camera: str
    object_id: int
    score: float | None
    components: dict[str, float | None]


class ObjectScore(Record):
    name: str
    score: float | None
    cameras: dict[str, float | None]


class CameraScore(Record):
    score: float | None


class Scores(Record):
    overall: float | None
    objects: dict[str, ObjectScore]
    cameras: dict[str, CameraScore]
    pairs: list[PairScore]


class CameraSummary(Record):
    resolution_wh: tuple[int, int]
    fps: float
    frame_count: int
    offset: float
    frames_processed: int
    first_frame: int | None
    last_frame: int | None


class ObjectSummary(Record):
    name: str
    team: str | None


class MomentRecord(Record):
    """A moment to review (see :class:`multicam.report.builder.Moment`)."""

    camera: str
    time: float
    frame: int
    end_frame: int
    object_id: int
    other_object_id: int | None
    kind: str
    reason: str
    severity: float


class ReportRecord(Record):
    """``report.json``."""

    format: Literal["multicam-report"] = REPORT_FORMAT
    format_version: int = Field(default=REPORT_FORMAT_VERSION, ge=1, description="schema version")
    created_at: str
    run: str
    kind: str
    status: str
    game: str
    reference: str
    untrained: bool
    warnings: list[str]
    notes: list[str]
    settings: ReportOptions
    cameras: dict[str, CameraSummary]
    objects: dict[str, ObjectSummary]
    scores: Scores
    presence: dict[str, dict[str, PresenceEntry]]
    stability: dict[str, dict[str, StabilityEntry]]
    overlaps: list[OverlapRecord]
    swaps: list[SwapRecord]
    ground: GroundSection
    appearance: AppearanceSection
    review: list[MomentRecord]

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def read_report(path: str | Path) -> ReportRecord:
    """Read a ``report.json``.

    Raises:
        MulticamError: not JSON, not a report, written by a newer multicam, or a field the schema rejects.
    """
    return read_versioned(
        Path(path),
        ReportRecord,
        fmt=REPORT_FORMAT,
        version=REPORT_FORMAT_VERSION,
        what="a multicam report",
        error=MulticamError,
        fix="run `multicam report` again",
    )

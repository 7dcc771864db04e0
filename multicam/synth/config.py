"""The synthetic game's configuration: one frozen model, everything derived from it is deterministic."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_CAMERAS = 8

CAMERA_NAMES = ("side", "end", "corner", "end_far", "side_far", "corner_low", "high", "corner_far")
"""Camera names in order; camera 0 (``side``) is the reference."""

DEFAULT_OFFSETS = (0.0, -0.347, 0.273, 0.419, -0.183, 0.088, -0.452, 0.306)
"""Default game time (s) of each clip's first frame: not multiples of a frame period."""

DEFAULT_DURATION_DELTAS = (0.0, 0.21, -0.17, 0.12, -0.09, 0.25, -0.2, 0.15)
"""Default per-camera clip length minus ``duration_s`` (s)."""

DEFAULT_FPS = (25.0, 30.0)
"""Default frame rates, alternating over the cameras."""


class SynthConfig(BaseModel):
    """What ``multicam synth`` generates. The same config (and seed) always gives the same game.

    Per-camera tuples (``fps``, ``offsets``, ``durations``) have one value per camera, or
    one value for every camera (``fps`` only); ``None`` means the defaults.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = Field(default=0, ge=0, description="Random seed of the scene, cameras' noise and audio.")
    name: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9_.-]+$", description="Game name; default: the output folder's name."
    )
    num_cameras: int = Field(default=3, ge=1, le=MAX_CAMERAS, description="Number of cameras (1-8).")
    players_per_team: int = Field(default=3, ge=0, le=11, description="Players in each of the two teams.")
    duration_s: float = Field(default=4.0, gt=0, le=7200, description="Length of the reference clip (s).")
    width: int = Field(
        default=960, ge=64, le=3840, description="Width of the widest (reference) camera; the others are smaller."
    )
    fps: tuple[float, ...] | None = Field(
        default=None, description="Frames per second per camera (one value: all); default 25, 30, 25, ..."
    )
    offsets: tuple[float, ...] | None = Field(
        default=None, description="Game time (s) of each clip's first frame; the first must be 0."
    )
    durations: tuple[float, ...] | None = Field(
        default=None, description="Clip length (s) per camera; default duration_s plus a little per camera."
    )
    audio: bool = Field(default=True, description="Give each clip an AAC audio track (48 kHz mono).")
    motion_blur: bool = Field(default=False, description="Average sub-frame renders (pixels only).")
    noise_std: float = Field(default=2.0, ge=0, le=50, description="Std of Gaussian pixel noise (0-255 scale).")
    crf: int = Field(default=26, ge=0, le=51, description="H.264 quality: lower is better and bigger.")
    court_size_m: tuple[float, float] = Field(default=(28.0, 15.0), description="Court length and width (m).")

    @model_validator(mode="after")
    def _check(self) -> SynthConfig:
        n = self.num_cameras
        if self.fps is not None:
            if len(self.fps) not in (1, n):
                raise ValueError(f"fps: give 1 or {n} values (one per camera), got {len(self.fps)}")
            if any(f <= 0 or f > 240 for f in self.fps):
                raise ValueError(f"fps: every rate must be in (0, 240], got {list(self.fps)}")
        for field in ("offsets", "durations"):
            values = getattr(self, field)
            if values is not None and len(values) != n:
                raise ValueError(f"{field}: give exactly {n} values (one per camera), got {len(values)}")
        if self.offsets is not None and self.offsets[0] != 0:
            raise ValueError(f"offsets: the first camera is the reference, its offset must be 0, got {self.offsets[0]}")
        if self.durations is not None and any(d <= 0 for d in self.durations):
            raise ValueError(f"durations: every clip needs a positive length, got {list(self.durations)}")
        if self.court_size_m[0] <= 2 or self.court_size_m[1] <= 2:
            raise ValueError(f"court_size_m: length and width must exceed 2 m, got {list(self.court_size_m)}")
        return self

    # -- derived per-camera values ---------------------------------------------------------
    @property
    def camera_names(self) -> tuple[str, ...]:
        return CAMERA_NAMES[: self.num_cameras]

    @property
    def camera_fps(self) -> tuple[float, ...]:
        if self.fps is None:
            return tuple(DEFAULT_FPS[i % 2] for i in range(self.num_cameras))
        return self.fps * self.num_cameras if len(self.fps) == 1 else self.fps

    @property
    def camera_offsets(self) -> tuple[float, ...]:
        return self.offsets if self.offsets is not None else DEFAULT_OFFSETS[: self.num_cameras]

    @property
    def camera_durations(self) -> tuple[float, ...]:
        if self.durations is not None:
            return self.durations
        return tuple(
            max(self.duration_s + d, 0.5 * self.duration_s) if i else self.duration_s
            for i, d in enumerate(DEFAULT_DURATION_DELTAS[: self.num_cameras])
        )

    @property
    def camera_frame_counts(self) -> tuple[int, ...]:
        return tuple(max(1, int(round(d * f))) for d, f in zip(self.camera_durations, self.camera_fps))

    @property
    def total_frames(self) -> int:
        """Frames over all cameras (for progress bars)."""
        return sum(self.camera_frame_counts)

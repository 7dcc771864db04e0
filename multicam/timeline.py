"""The synchronized timeline: game time <-> (camera, local frame). Pure functions, no I/O.

Game time is the reference camera's clock: the reference clip's frame ``i`` is at
``i / fps_ref``. A camera with offset ``o`` shows its frame ``i`` at game time
``o + i / fps``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class CameraTiming:
    """When a camera's frames happen on the game clock.

    Attributes:
        name: camera name.
        fps: frames per second.
        frame_count: number of frames in the clip.
        offset: game time in seconds of frame 0.
    """

    name: str
    fps: float
    frame_count: int
    offset: float = 0.0

    def time_of(self, frame: int) -> float:
        """Game time (s) of a 0-based local frame."""
        return self.offset + frame / self.fps

    def frame_at(self, time: float) -> int | None:
        """The local frame nearest to a game time, or None outside the clip (half a frame of slack)."""
        x = (time - self.offset) * self.fps
        if x < -0.5 or x > self.frame_count - 0.5:
            return None
        return min(max(int(math.floor(x + 0.5)), 0), self.frame_count - 1)

    @property
    def start(self) -> float:
        return self.offset

    @property
    def end(self) -> float:
        """Game time just after the last frame."""
        return self.offset + self.frame_count / self.fps


@dataclass(frozen=True)
class Timeline:
    """All cameras of a game on one clock.

    Attributes:
        cameras: each camera's timing; the first is not special, ``reference`` names the reference.
        reference: name of the reference camera.
    """

    cameras: tuple[CameraTiming, ...]
    reference: str

    def __post_init__(self) -> None:
        names = [c.name for c in self.cameras]
        if self.reference not in names:
            raise ValueError(f"reference camera {self.reference!r} not in {names}")

    def camera(self, name: str) -> CameraTiming:
        for cam in self.cameras:
            if cam.name == name:
                return cam
        raise KeyError(f"unknown camera {name!r}; cameras are {[c.name for c in self.cameras]}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.cameras)

    @property
    def start(self) -> float:
        return min(c.start for c in self.cameras)

    @property
    def end(self) -> float:
        return max(c.end for c in self.cameras)

    def overlap(self, name: str, other: str | None = None) -> tuple[float, float] | None:
        """The game-time span ``(start, end)`` both cameras cover (default other: the reference); None if none."""
        a, b = self.camera(name), self.camera(other or self.reference)
        start, end = max(a.start, b.start), min(a.end, b.end)
        return (start, end) if end > start else None

    def frames_at(self, time: float) -> dict[str, int | None]:
        """Each camera's frame nearest to a game time (None where the camera has no frame then)."""
        return {c.name: c.frame_at(time) for c in self.cameras}

    def convert(self, camera: str, frame: int, to_camera: str) -> int | None:
        """The frame of ``to_camera`` shown at the same moment as ``camera``'s ``frame``."""
        return self.camera(to_camera).frame_at(self.camera(camera).time_of(frame))

    def ticks(self, fps: float | None = None) -> Iterator[float]:
        """Game times from start to end at ``fps`` (default: the fastest camera's rate)."""
        fps = fps or max(c.fps for c in self.cameras)
        n = int(math.ceil((self.end - self.start) * fps - 1e-9))
        for k in range(n):
            yield self.start + k / fps


def synchronized_order(
    cameras: Sequence[CameraTiming], order: Sequence[str] | None = None
) -> list[tuple[str, int, float]]:
    """Every frame of every camera as ``(camera, frame, time)``, sorted by game time.

    Frames at the same time (within 1 µs) keep the camera order ``order`` (default: as given).
    """
    rank = {name: k for k, name in enumerate(order or [c.name for c in cameras])}
    items = [(c.name, i, c.time_of(i)) for c in cameras for i in range(c.frame_count)]
    items.sort(key=lambda it: (round(it[2], 6), rank[it[0]], it[1]))
    return items

"""Sequence layouts: every camera's frames as ONE sequence for one SAM 2 inference state.

Pure functions and small data types, no I/O and no torch. A layout maps each
sequence index to ``(camera, local frame, game time)`` and back:

* ``concat``: the reference clip, then each other clip in game-file order. SAM 2 sees
  one long video; its memory at the first frame of a camera comes from the end of the
  previous one.
* ``interleave``: frames grouped by synchronized game time - reference frame at t,
  camera B at t, camera C at t, reference at t + 1, ... Cameras with other frame rates,
  offsets or lengths fall where their frames happen on the game clock (ties: reference
  first, then game-file order). SAM 2's memory for a camera's frame is taken from the
  previous frames of the SAME camera (see :meth:`SequenceLayout.camera_memory`).

Prompts are resolved here too (:func:`resolve_prompts`): a prompt's camera and frame
(or game time) become a sequence index, its points stay in that camera's pixels.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from multicam.errors import PromptError
from multicam.prompts import PromptsFile
from multicam.timeline import CameraTiming, Timeline

LayoutKind = Literal["interleave", "concat"]
LAYOUTS: tuple[str, ...] = ("interleave", "concat")


@dataclass(frozen=True)
class SequenceFrame:
    """One position of the sequence.

    Attributes:
        index: 0-based position in the sequence.
        camera: camera name.
        frame: 0-based frame index in that camera's clip.
        time: game time of the frame in seconds (reference clock).
    """

    index: int
    camera: str
    frame: int
    time: float


@dataclass(frozen=True, eq=False)
class SequenceLayout:
    """All frames of all cameras in the order SAM 2 sees them.

    Build with :func:`build_layout` (or :func:`concat_layout` / :func:`interleave_layout`).

    Attributes:
        kind: ``"interleave"`` or ``"concat"``.
        cameras: camera timings in camera-rank order (reference first).
        camera_ids: ``(N,)`` int32, rank in ``cameras`` of each sequence frame's camera.
        frames: ``(N,)`` int64, each sequence frame's 0-based local frame.
        times: ``(N,)`` float64, each sequence frame's game time (s).
    """

    kind: str
    cameras: tuple[CameraTiming, ...]
    camera_ids: np.ndarray
    frames: np.ndarray
    times: np.ndarray
    _index: tuple[np.ndarray, ...] = field(repr=False, default=())

    def __post_init__(self) -> None:
        index = []
        for rank, cam in enumerate(self.cameras):
            seq = np.full(cam.frame_count, -1, dtype=np.int64)
            mine = np.flatnonzero(self.camera_ids == rank)
            seq[self.frames[mine]] = mine
            index.append(seq)
        object.__setattr__(self, "_index", tuple(index))
        for arr in (self.camera_ids, self.frames, self.times):
            arr.setflags(write=False)

    # -- sequence index -> frame -------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.frames.shape[0])

    def __getitem__(self, index: int) -> SequenceFrame:
        n = len(self)
        if not 0 <= index < n:
            raise IndexError(f"sequence index {index} out of range 0..{n - 1}")
        return SequenceFrame(
            index=int(index),
            camera=self.cameras[int(self.camera_ids[index])].name,
            frame=int(self.frames[index]),
            time=float(self.times[index]),
        )

    def __iter__(self) -> Iterator[SequenceFrame]:
        for i in range(len(self)):
            yield self[i]

    @property
    def camera_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.cameras)

    def camera_rank(self, camera: str) -> int:
        for rank, cam in enumerate(self.cameras):
            if cam.name == camera:
                return rank
        raise KeyError(f"unknown camera {camera!r}; the layout's cameras are {list(self.camera_names)}")

    # -- frame -> sequence index -------------------------------------------------------------
    def index_of(self, camera: str, frame: int) -> int:
        """The sequence index of a camera's 0-based local frame."""
        seq = self._index[self.camera_rank(camera)]
        if not 0 <= frame < seq.shape[0]:
            raise IndexError(f"frame {frame} out of range 0..{seq.shape[0] - 1} of camera {camera!r}")
        return int(seq[frame])

    def indices_of(self, camera: str) -> np.ndarray:
        """``(frame_count,)`` int64: the sequence index of each of a camera's frames, in frame order."""
        return self._index[self.camera_rank(camera)]

    # -- SAM 2 memory ------------------------------------------------------------------------
    @property
    def camera_memory(self) -> bool:
        """Whether SAM 2's memory for a frame must come from the same camera's frames."""
        return self.kind == "interleave"

    def position_on(self, index: int, rank: int) -> float:
        """Where sequence frame ``index`` falls on camera ``rank``'s frame axis.

        Its own frames give their local frame index; another camera's frame gives the
        (fractional) local frame of the same game time, ``(time - offset) * fps``.
        """
        if int(self.camera_ids[index]) == rank:
            return float(self.frames[index])
        cam = self.cameras[rank]
        return (float(self.times[index]) - cam.offset) * cam.fps


def _ordered(cameras: Sequence[CameraTiming], reference: str | None) -> tuple[CameraTiming, ...]:
    cams = tuple(cameras)
    names = [c.name for c in cams]
    if len(set(names)) != len(names):
        raise ValueError(f"camera names must be unique, got {names}")
    if reference is None or not cams:
        return cams
    if reference not in names:
        raise ValueError(f"reference camera {reference!r} not in {names}")
    ref = names.index(reference)
    return (cams[ref],) + cams[:ref] + cams[ref + 1 :]


def _local_arrays(cams: tuple[CameraTiming, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    counts = [max(int(c.frame_count), 0) for c in cams]
    camera_ids = np.repeat(np.arange(len(cams), dtype=np.int32), counts)
    frames = np.concatenate([np.arange(n, dtype=np.int64) for n in counts]) if cams else np.zeros(0, np.int64)
    offsets = np.repeat(np.array([c.offset for c in cams], dtype=np.float64), counts)
    fps = np.repeat(np.array([c.fps for c in cams], dtype=np.float64), counts)
    times = offsets + frames / fps if cams else np.zeros(0, np.float64)
    return camera_ids, frames, times


def concat_layout(cameras: Sequence[CameraTiming], reference: str | None = None) -> SequenceLayout:
    """The reference clip's frames, then each other clip's, in the order given."""
    cams = _ordered(cameras, reference)
    camera_ids, frames, times = _local_arrays(cams)
    return SequenceLayout("concat", cams, camera_ids, frames, times)


def interleave_layout(cameras: Sequence[CameraTiming], reference: str | None = None) -> SequenceLayout:
    """Every camera's frames sorted by game time (1 µs ties: reference first, then the order given).

    The same order as :func:`multicam.timeline.synchronized_order` with the reference first.
    """
    cams = _ordered(cameras, reference)
    camera_ids, frames, times = _local_arrays(cams)
    order = np.lexsort((frames, camera_ids, np.round(times, 6)))
    return SequenceLayout("interleave", cams, camera_ids[order], frames[order], times[order])


def build_layout(timeline: Timeline, kind: str) -> SequenceLayout:
    """The layout ``kind`` (``interleave`` or ``concat``) of a game's timeline, reference first."""
    if kind == "interleave":
        return interleave_layout(timeline.cameras, timeline.reference)
    if kind == "concat":
        return concat_layout(timeline.cameras, timeline.reference)
    raise ValueError(f"unknown layout {kind!r}; use one of {list(LAYOUTS)}")


# -- prompts ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class FramePrompt:
    """All of one object's clicks and box on one frame, ready for the engine.

    Attributes:
        object_id: the object's id (the same in every camera).
        camera: the camera the prompt was made on.
        frame: 0-based frame of that camera.
        index: the frame's sequence index in the layout.
        positive: ``(x, y)`` pixels of that camera, foreground clicks.
        negative: ``(x, y)`` pixels, background clicks.
        box_xyxy: ``(x0, y0, x1, y1)`` pixels, or None.
        resolution_wh: ``(W, H)`` of that camera (to normalise the coordinates).
    """

    object_id: int
    camera: str
    frame: int
    index: int
    positive: tuple[tuple[float, float], ...]
    negative: tuple[tuple[float, float], ...]
    box_xyxy: tuple[float, float, float, float] | None
    resolution_wh: tuple[int, int]


def resolve_prompts(
    prompts: PromptsFile,
    layout: SequenceLayout,
    reference: str,
    resolutions: dict[str, tuple[int, int]],
    source: str = "prompts",
) -> list[FramePrompt]:
    """Turn a checked prompts file into per-(object, frame) prompts on the layout.

    A prompt given by ``time`` uses its camera's nearest frame. Several prompts of one
    object on one frame are joined (their clicks added up; at most one box).

    Args:
        prompts: the prompts file (already checked with :func:`multicam.prompts.validate_prompts`).
        layout: the sequence layout.
        reference: the reference camera (the default camera of a prompt).
        resolutions: per camera, ``(W, H)``.
        source: file name for error messages.

    Returns:
        The prompts sorted by sequence index, then object id.

    Raises:
        PromptError: unknown camera, a time outside the camera's clip, two boxes on one frame.
    """
    merged: dict[tuple[int, int], FramePrompt] = {}
    for obj in prompts.merged():
        for k, p in enumerate(obj.prompts):
            where = f"{source}: object {obj.id} ({obj.name}), prompt {k}"
            cam_name = p.camera or reference
            try:
                rank = layout.camera_rank(cam_name)
            except KeyError:
                raise PromptError(
                    f"{where}: unknown camera {cam_name!r}; the game's cameras are {list(layout.camera_names)}"
                ) from None
            cam = layout.cameras[rank]
            if p.frame is not None:
                frame = p.frame
            else:
                frame = cam.frame_at(float(p.time))  # type: ignore[arg-type]
                if frame is None:
                    raise PromptError(
                        f"{where}: time {p.time:g}s is outside camera {cam_name!r}'s clip "
                        f"({cam.start:.3f}s to {cam.end:.3f}s); use a time inside it"
                    )
            if not 0 <= frame < cam.frame_count:
                raise PromptError(
                    f"{where}: frame {frame} does not exist; camera {cam_name!r} has frames 0..{cam.frame_count - 1}"
                )
            index = layout.index_of(cam_name, frame)
            new = FramePrompt(
                object_id=obj.id,
                camera=cam_name,
                frame=frame,
                index=index,
                positive=tuple(p.positive),
                negative=tuple(p.negative),
                box_xyxy=p.box_xyxy,
                resolution_wh=resolutions[cam_name],
            )
            old = merged.get((obj.id, index))
            if old is not None:
                if old.box_xyxy is not None and new.box_xyxy is not None:
                    raise PromptError(
                        f"{where}: object {obj.id} already has a box on camera {cam_name!r} "
                        f"frame {frame}; give one box per object and frame"
                    )
                new = FramePrompt(
                    object_id=obj.id,
                    camera=cam_name,
                    frame=frame,
                    index=index,
                    positive=old.positive + new.positive,
                    negative=old.negative + new.negative,
                    box_xyxy=old.box_xyxy or new.box_xyxy,
                    resolution_wh=new.resolution_wh,
                )
            merged[(obj.id, index)] = new
    return sorted(merged.values(), key=lambda fp: (fp.index, fp.object_id))

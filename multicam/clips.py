"""Video clips: metadata and lazy, bounded-memory frame decoding (PyAV).

A :class:`Clip` opens its file only when a frame is asked for, decodes forward
for sequential reads (the common case) and seeks to the nearest key frame for
random access. It keeps at most ``cache_size`` decoded frames.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from multicam.errors import ClipError


@dataclass(frozen=True)
class ClipInfo:
    """What a clip is, read from its container without decoding the pictures.

    Attributes:
        path: the clip's file.
        resolution_wh: ``(W, H)`` of the frames in pixels.
        fps: frames per second (average rate of the stream).
        frame_count: number of video frames.
        has_audio: whether the clip has an audio stream.
        audio_sample_rate: its sample rate in Hz, or 0 without audio.
    """

    path: Path
    resolution_wh: tuple[int, int]
    fps: float
    frame_count: int
    has_audio: bool
    audio_sample_rate: int = 0

    @property
    def duration(self) -> float:
        """Seconds covered by the frames: ``frame_count / fps``."""
        return self.frame_count / self.fps

    @property
    def width(self) -> int:
        return self.resolution_wh[0]

    @property
    def height(self) -> int:
        return self.resolution_wh[1]


def open_container(path: Path):
    """Open a media file with PyAV; a missing or unreadable file is a :class:`ClipError`."""
    import av

    if not path.is_file():
        raise ClipError(f"clip not found: {path}")
    try:
        return av.open(str(path))
    except Exception as exc:  # PyAV raises many FFmpeg error types
        raise ClipError(f"cannot read {path}: {exc} (is it a video file? re-export it as MP4)") from exc


def video_stream(container, path: Path):
    """The first video stream of an opened container; none is a :class:`ClipError`."""
    if not container.streams.video:
        raise ClipError(f"{path} has no video stream")
    return container.streams.video[0]


MIN_FPS, MAX_FPS = 1, 1000
REENCODE = "re-encode it at the camera's constant frame rate, e.g. ffmpeg -i IN -vf fps=25 OUT.mp4"


def _check_constant_rate(path: Path, pts: list[int], time_base) -> None:
    """Refuse a variable frame rate: frame ``i`` must be at ``i / fps`` for the game clock to hold.

    A gap between two frames of more than 1.5 times (or less than half) the usual one means frames
    were dropped or the camera changed its rate.
    """
    import statistics

    gaps = [b - a for a, b in zip(pts, pts[1:], strict=False)]
    if len(gaps) < 2:
        return
    usual = statistics.median(gaps)
    odd = [k for k, g in enumerate(gaps) if not 0.5 * usual <= g <= 1.5 * usual]
    if usual > 0 and not odd:
        return
    seconds = float(time_base or 0)
    where = f" (first at {pts[odd[0]] * seconds:.3f}s)" if odd and seconds else ""
    raise ClipError(
        f"{path}: variable frame rate: {len(odd)} of {len(gaps)} frame intervals differ from the usual "
        f"one{where}, so frame numbers do not map to times; {REENCODE}"
    )


def probe_clip(path: str | Path) -> ClipInfo:
    """Read a clip's resolution, frame rate, frame count and audio without decoding pictures.

    Raises:
        ClipError: missing file, not a video, no video stream, or no frames.
    """
    path = Path(path)
    container = open_container(path)
    try:
        stream = video_stream(container, path)
        rate = stream.average_rate or stream.guessed_rate
        if not rate or rate <= 0:
            raise ClipError(f"{path}: the video stream has no frame rate; {REENCODE}")
        if not MIN_FPS <= rate <= MAX_FPS:
            raise ClipError(
                f"{path}: the video stream says {float(rate):.6g} frames per second, which no camera films at; {REENCODE}"
            )
        pts: list[int] = []
        try:
            for packet in container.demux(stream):
                if packet.size and packet.pts is not None:
                    pts.append(packet.pts)
        except Exception as exc:
            raise ClipError(f"{path}: the video is corrupt or truncated ({exc})") from exc
        count = len(pts)
        if count == 0:
            raise ClipError(f"{path}: the video stream has no frames")
        _check_constant_rate(path, sorted(pts), stream.time_base)
        audio = container.streams.audio[0] if container.streams.audio else None
        return ClipInfo(
            path=path,
            resolution_wh=(int(stream.codec_context.width), int(stream.codec_context.height)),
            fps=float(rate),
            frame_count=count,
            has_audio=audio is not None,
            audio_sample_rate=int(audio.rate) if audio is not None else 0,
        )
    finally:
        container.close()


class Clip:
    """Lazy access to a clip's frames as RGB ``uint8`` arrays of shape ``(H, W, 3)``.

    Args:
        path: the clip's file.
        info: its :class:`ClipInfo` (probed when omitted).
        cache_size: most decoded frames kept in memory at once.
    """

    def __init__(self, path: str | Path, info: ClipInfo | None = None, cache_size: int = 4):
        self.path = Path(path)
        self.info = info if info is not None else probe_clip(self.path)
        self.cache_size = max(1, int(cache_size))
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._container = None
        self._frames: Iterator | None = None
        self._next_index: int | None = None
        self._lock = threading.Lock()
        self.decoded_frames = 0  # how many pictures were decoded (for tests and benchmarks)
        self.seeks = 0

    def __len__(self) -> int:
        return self.info.frame_count

    def __getitem__(self, index: int) -> np.ndarray:
        return self.frame(index)

    @property
    def cached_frames(self) -> int:
        return len(self._cache)

    def frame(self, index: int) -> np.ndarray:
        """The frame at 0-based ``index`` as RGB ``(H, W, 3)`` uint8."""
        if not 0 <= index < self.info.frame_count:
            raise IndexError(f"frame {index} out of range 0..{self.info.frame_count - 1} in {self.path}")
        with self._lock:
            if index in self._cache:
                self._cache.move_to_end(index)
                return self._cache[index]
            if self._next_index is None or not (self._next_index <= index <= self._next_index + 16):
                self._seek(index)
            while True:
                i, img = self._decode_next()
                if i is None:
                    raise ClipError(f"{self.path}: frame {index} could not be decoded (truncated file?)")
                if i >= index - (self.cache_size - 1):
                    self._remember(i, img)
                if i >= index:
                    break
            if index not in self._cache:  # a missing frame number: use the nearest decoded one
                self._remember(index, img)
            return self._cache[index]

    def iter_frames(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(index, rgb)`` for frames ``start`` to ``stop`` (exclusive), decoding each once."""
        stop = self.info.frame_count if stop is None else min(stop, self.info.frame_count)
        for i in range(start, stop):
            yield i, self.frame(i)

    def close(self) -> None:
        with self._lock:
            if self._container is not None:
                self._container.close()
            self._container = None
            self._frames = None
            self._next_index = None
            self._cache.clear()

    def __enter__(self) -> Clip:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __getstate__(self):  # clips cross process boundaries (e.g. dataloaders) unopened
        state = self.__dict__.copy()
        state.update(_container=None, _frames=None, _next_index=None, _cache=OrderedDict(), _lock=None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    # -- internals -------------------------------------------------------------------------
    def _remember(self, index: int, img: np.ndarray) -> None:
        self._cache[index] = img
        self._cache.move_to_end(index)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def _seek(self, index: int) -> None:
        if self._container is None:
            self._container = open_container(self.path)
            self._container.streams.video[0].thread_type = "AUTO"
        stream = self._container.streams.video[0]
        self._stream = stream
        self._time_base = stream.time_base or Fraction(1, 90000)
        self._start_pts = stream.start_time if stream.start_time is not None else 0
        target_seconds = index / self.info.fps
        target_pts = int(self._start_pts + target_seconds / self._time_base)
        self._container.seek(max(target_pts, self._start_pts), stream=stream, backward=True, any_frame=False)
        if index > 0:
            self.seeks += 1
        self._frames = self._container.decode(stream)
        self._next_index = -1  # unknown until the first decoded frame

    def _decode_next(self) -> tuple[int | None, np.ndarray | None]:
        try:
            frame = next(self._frames)  # type: ignore[arg-type]
        except StopIteration:
            self._next_index = None
            return None, None
        except Exception as exc:
            self._next_index = None
            raise ClipError(f"{self.path}: decoding failed ({exc}); the file may be corrupt") from exc
        self.decoded_frames += 1
        if frame.pts is None:
            index = max(self._next_index or 0, 0)
        else:
            index = int(round(float((frame.pts - self._start_pts) * self._time_base) * self.info.fps))
        self._next_index = index + 1
        return index, frame.to_ndarray(format="rgb24")

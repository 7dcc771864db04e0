"""An opened game: its clips probed, its timeline built and its prompts checked.

This is the first step of a frame's path: game file -> clips -> timeline. Everything
downstream (layouts, the engine, reports, the dashboard) takes an :class:`OpenGame`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from multicam.clips import Clip, ClipInfo, probe_clip
from multicam.errors import ClipError, GameFileError
from multicam.game import Game, load_game
from multicam.prompts import PromptsFile, load_prompts, validate_prompts
from multicam.timeline import CameraTiming, Timeline


@dataclass(frozen=True)
class OpenGame:
    """A checked game ready to process.

    Attributes:
        game: the loaded game file.
        clips: per camera name, its probed clip info (game file order).
        timeline: cameras on the game clock, with resolved offsets.
        prompts: the checked prompts (empty when the game names no prompts file).
        offsets_resolved: per camera whose offset was ``auto``, how it was resolved (method, confidence).
    """

    game: Game
    clips: dict[str, ClipInfo]
    timeline: Timeline
    prompts: PromptsFile
    offsets_resolved: dict[str, dict] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.game.name

    @property
    def reference(self) -> str:
        return self.game.config.reference

    @property
    def camera_names(self) -> tuple[str, ...]:
        return self.game.config.camera_names

    def clip(self, camera: str, cache_size: int = 4) -> Clip:
        """A lazy frame reader for a camera's clip."""
        return Clip(self.clips[camera].path, info=self.clips[camera], cache_size=cache_size)


def file_offsets(game: Game) -> dict[str, float]:
    """Each camera's offset as the game file gives it (the reference and ``auto`` offsets: 0)."""
    return {
        c.name: 0.0 if c.name == game.config.reference or c.offset == "auto" else float(c.offset)
        for c in game.config.cameras
    }


def clips_timeline(game: Game, infos: Mapping[str, ClipInfo], offsets: Mapping[str, float] | None = None) -> Timeline:
    """The game's cameras on the game clock from their probed clips (offsets: :func:`file_offsets` by default).

    A run's timeline (offsets as the run resolved them) is :meth:`multicam.rundir.Run.timeline`.
    """
    offsets = file_offsets(game) if offsets is None else offsets
    return Timeline(
        cameras=tuple(
            CameraTiming(name=n, fps=infos[n].fps, frame_count=infos[n].frame_count, offset=offsets[n])
            for n in game.config.camera_names
        ),
        reference=game.config.reference,
    )


def open_game(path: str | Path | Game, *, with_prompts: bool = True, require_overlap: bool = True) -> OpenGame:
    """Load a game file, probe every clip, resolve offsets and check the prompts.

    ``require_overlap`` refuses a camera that shares no game time with the reference (needed to track;
    a preview or an offset estimate can do without).

    Raises:
        GameFileError, ClipError, PromptError: with a message naming what to fix.
    """
    game = path if isinstance(path, Game) else load_game(path)
    infos: dict[str, ClipInfo] = {}
    for cam in game.config.cameras:
        try:
            infos[cam.name] = probe_clip(game.video_path(cam.name))
        except ClipError as exc:
            raise ClipError(f"camera {cam.name!r}: {exc}") from None
    offsets = file_offsets(game)
    resolved: dict[str, dict] = {}
    auto = [c.name for c in game.config.cameras if c.offset == "auto" and c.name != game.config.reference]
    if auto:
        try:
            from multicam.sync import resolve_auto_offsets
        except ImportError as exc:  # pragma: no cover - sync ships with the package
            raise GameFileError(f"offset: auto needs multicam.sync ({exc})") from exc
        for name, result in resolve_auto_offsets(game, infos, auto).items():
            offsets[name] = float(result["offset"])
            resolved[name] = result
    timeline = clips_timeline(game, infos, offsets)
    if require_overlap:
        check_overlap(timeline, str(game.path))
    prompts = PromptsFile()
    if with_prompts and game.prompts_path is not None:
        prompts = load_prompts(game.prompts_path)
        validate_prompts(
            prompts,
            reference=game.config.reference,
            cameras={n: (i.width, i.height, i.frame_count) for n, i in infos.items()},
            source=str(game.prompts_path),
        )
    return OpenGame(game=game, clips=infos, timeline=timeline, prompts=prompts, offsets_resolved=resolved)


def _span(start: float, end: float) -> str:
    return f"{start:.2f}s to {end:.2f}s"


def check_overlap(timeline: Timeline, source: str) -> None:
    """Refuse a camera that shares no game time with the reference: prompts cannot reach its frames.

    Raises:
        GameFileError: naming the camera, both time ranges and the fix.
    """
    ref = timeline.camera(timeline.reference)
    for cam in timeline.cameras:
        if cam.name != ref.name and timeline.overlap(cam.name) is None:
            raise GameFileError(
                f"{source}: camera {cam.name!r} covers game time {_span(cam.start, cam.end)} and the reference "
                f"{ref.name!r} {_span(ref.start, ref.end)}: they never overlap, so no object can be followed "
                f"into {cam.name!r}; check its offset (seconds from the reference clip's start) or use offset: auto"
            )


def describe_overlap(timeline: Timeline, camera: str) -> str:
    """A camera's overlap with the reference in game time, e.g. ``0.00s to 0.40s (40% of the clip)``."""
    cam = timeline.camera(camera)
    if camera == timeline.reference:
        return "reference"
    span = timeline.overlap(camera)
    if span is None:
        return "none"
    share = (span[1] - span[0]) / (cam.end - cam.start)
    return f"{_span(*span)} ({share:.0%} of the clip)"


def partial_overlaps(timeline: Timeline) -> list[str]:
    """One line per camera that overlaps the reference only in part (frames outside it have no prompts' reach)."""
    lines = []
    for cam in timeline.cameras:
        span = timeline.overlap(cam.name)
        if cam.name == timeline.reference or span is None:
            continue
        if span[1] - span[0] < (cam.end - cam.start) - 0.5 / cam.fps:
            lines.append(
                f"camera {cam.name!r} overlaps the reference {timeline.reference!r} only from "
                f"{describe_overlap(timeline, cam.name)}; it covers {_span(cam.start, cam.end)}"
            )
    return lines

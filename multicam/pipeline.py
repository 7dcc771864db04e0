"""``multicam process``: game -> layout -> SAM 2 engine -> run directory, streamed frame by frame.

::

    result = process_game("game.yaml", ProcessOptions(untrained=True, image_size=256))
    run = open_run(result.run_dir)

The run directory (:mod:`multicam.rundir`) is written as frames come out of the engine:
a crash or Ctrl-C leaves every finished frame readable and the manifest's status
``failed`` / ``interrupted`` (never ``complete``).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from multicam.errors import GameFileError, PromptError
from multicam.game import GameConfig, format_validation_error
from multicam.layout import build_layout, resolve_prompts
from multicam.masks import FrameMasks
from multicam.models import checkpoint_sha256, get_model, resolve_checkpoint
from multicam.rundir import CameraInfo, ObjectInfo, RunWriter, next_run_dir
from multicam.session import OpenGame, open_game

UNTRAINED_WARNING = ("masks from RANDOM weights (--untrained): they show that the pipeline runs, "
                     "not what SAM 2 sees; do not evaluate or publish them")


@dataclass(frozen=True)
class ProcessOptions:
    """Overrides of the game file and how to run. ``None`` keeps the game file's value.

    Attributes:
        model: registry model name (``multicam models list``).
        checkpoint: checkpoint file (relative to the working directory).
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
        image_size: SAM 2 input size (multiple of 32).
        layout: ``interleave`` or ``concat``.
        dtype: autocast dtype (``auto``: bfloat16 on CUDA, float32 elsewhere).
        compile: ``torch.compile`` the model.
        untrained: random weights (marked as such in the manifest).
        name: run folder prefix: ``runs/<game>/<name>N``.
        runs_dir: where run folders go.
        download: download a missing checkpoint of a registry model.
        progress: show progress bars.
        decode_cache: decoded frames each clip keeps.
    """

    model: str | None = None
    checkpoint: Path | None = None
    device: str | None = None
    image_size: int | None = None
    layout: str | None = None
    dtype: str = "auto"
    compile: bool = False
    untrained: bool = False
    name: str = "run"
    runs_dir: Path = Path("runs")
    download: bool = True
    progress: bool = True
    decode_cache: int = 8


@dataclass(frozen=True)
class ProcessResult:
    """What a finished run produced.

    Attributes:
        run_dir: the run directory.
        frames: frames written (all cameras).
        untrained: whether the masks came from random weights.
        track_s: seconds of tracking.
        manifest: the final manifest.
    """

    run_dir: Path
    frames: int
    untrained: bool
    track_s: float
    manifest: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def frames_per_s(self) -> float:
        return self.frames / self.track_s if self.track_s > 0 else 0.0


def resolved_config(config: GameConfig, options: ProcessOptions, *, checkpoint: Path | None = None) -> GameConfig:
    """The game's config with the command-line overrides applied (and checked by the schema).

    Raises:
        GameFileError: an override the schema rejects (e.g. an image size not a multiple of 32).
    """
    data = config.model_dump(mode="python")
    if options.model is not None:
        data["model"]["name"] = options.model
        if options.checkpoint is None and checkpoint is None:
            data["model"]["checkpoint"] = None  # the game's checkpoint belongs to the game's model
    if checkpoint is not None:
        data["model"]["checkpoint"] = checkpoint
    for key, value in (("device", options.device), ("image_size", options.image_size),
                       ("layout", options.layout)):
        if value is not None:
            data["processing"][key] = value
    try:
        return GameConfig.model_validate(data)
    except ValidationError as exc:
        raise GameFileError(format_validation_error(exc, "options")) from None


def _manifest(opened: OpenGame, config: GameConfig, engine_info: Any, spec: Any, checkpoint: Path | None,
              sha256: str | None, frames: int) -> dict[str, Any]:
    from multicam.engine import versions

    return {
        "game": {"name": opened.name, "path": str(opened.game.path), "reference": opened.reference},
        "reference": opened.reference,
        "config": config.model_dump(mode="json"),
        "model": {
            "name": spec.name, "config": spec.config,
            "checkpoint": None if checkpoint is None else str(checkpoint), "sha256": sha256,
            "untrained": engine_info.untrained, "params": engine_info.params,
            **({"warning": UNTRAINED_WARNING} if engine_info.untrained else {}),
        },
        "versions": versions(),
        "device": engine_info.device,
        "dtype": engine_info.dtype,
        "image_size": engine_info.image_size,
        "compiled": engine_info.compiled,
        "fill_hole_area": engine_info.fill_hole_area,
        "layout": config.processing.layout,
        "sequence_frames": frames,
        "offsets_resolved": opened.offsets_resolved,
        "timings": {"build_s": engine_info.build_s},
    }


def process_game(game: str | Path | OpenGame, options: ProcessOptions = ProcessOptions(), *,
                 on_frame: Callable[[FrameMasks], None] | None = None) -> ProcessResult:
    """Run SAM 2 over every camera of a game and write a run directory.

    Args:
        game: a game file or an already opened game.
        options: command-line overrides and run settings.
        on_frame: called with each frame's masks after it is written.

    Returns:
        The run directory and counts.

    Raises:
        GameFileError, ClipError, PromptError: a problem in the game, its clips or prompts.
        ModelError: no checkpoint (the message says how to get one, or to use ``--untrained``),
            or an unavailable device.
    """
    from tqdm import tqdm

    opened = game if isinstance(game, OpenGame) else open_game(game)
    config = resolved_config(opened.game.config, options)
    if options.untrained:
        config = config.model_copy(update={"model": config.model.model_copy(update={"checkpoint": None})})
    if not opened.prompts.objects:
        where = opened.game.prompts_path or f"{opened.game.path} (no 'prompts:' file named)"
        raise PromptError(f"nothing to track: no objects in {where}; label at least one object "
                          f"(a click or a box) on the reference camera {opened.reference!r}")
    spec = get_model(config.model.name)
    checkpoint: Path | None = None
    if not options.untrained:
        explicit = options.checkpoint
        if explicit is None and options.model is None:
            explicit = opened.game.checkpoint_path
        checkpoint = resolve_checkpoint(spec.name, explicit, download_missing=options.download,
                                        progress=options.progress).resolve()
        config = resolved_config(opened.game.config, options, checkpoint=checkpoint)

    layout = build_layout(opened.timeline, config.processing.layout)
    prompts = resolve_prompts(opened.prompts, layout, opened.reference,
                              {n: i.resolution_wh for n, i in opened.clips.items()},
                              source=str(opened.game.prompts_path))
    from multicam.engine import Engine, EngineOptions

    engine = Engine.build(spec.config, checkpoint, untrained=options.untrained, options=EngineOptions(
        device=config.processing.device, image_size=config.processing.image_size, dtype=options.dtype,
        compile=options.compile, decode_cache=options.decode_cache))
    sha256 = checkpoint_sha256(checkpoint) if checkpoint is not None else None

    cameras = [CameraInfo(name=c.name, resolution_wh=opened.clips[c.name].resolution_wh, fps=c.fps,
                          frame_count=c.frame_count, offset=c.offset) for c in opened.timeline.cameras]
    objects = [ObjectInfo(object_id=o.id, name=o.name, team=o.team) for o in opened.prompts.merged()]
    manifest = _manifest(opened, config, engine.info, spec, checkpoint, sha256, len(layout))
    run_dir = next_run_dir(options.runs_dir, opened.name, options.name)
    clips = {name: opened.clip(name, cache_size=options.decode_cache) for name in opened.camera_names}
    frames = 0
    t0 = time.perf_counter()
    with RunWriter(run_dir, manifest, cameras, objects) as writer, \
            tqdm(total=len(layout), unit="frame", desc=f"{opened.name} ({layout.kind})",
                 disable=not options.progress, dynamic_ncols=True) as bar, \
            contextlib.closing(engine.track(layout, clips, prompts)) as stream:
        try:
            for frame_masks in stream:
                writer.write(frame_masks)
                frames += 1
                bar.update(1)
                if on_frame is not None:
                    on_frame(frame_masks)
        finally:
            track_s = time.perf_counter() - t0
            stats = engine.stats
            writer.update(timings={
                "build_s": engine.info.build_s, "prompt_s": round(stats.prompt_s, 3),
                "track_s": round(track_s, 3),
                "frames_per_s": round(frames / track_s, 3) if track_s > 0 else None,
            }, memory={
                "max_held_outputs": stats.max_held_outputs, "max_held_bytes": stats.max_held_bytes,
                "max_held_decoded_frames": stats.max_held_frames,
            })
    return ProcessResult(run_dir=run_dir, frames=frames, untrained=options.untrained, track_s=track_s,
                         manifest=writer.manifest)

"""``multicam process``: game -> layout -> SAM 2 engine -> run directory, streamed frame by frame.

::

    result = process_game("game.yaml", ProcessOptions(untrained=True, image_size=256))
    run = open_run(result.run_dir)

The run directory (:mod:`multicam.rundir`) is written as frames come out of the engine:
a crash or Ctrl-C leaves every finished frame readable and the manifest's status
``failed`` / ``interrupted`` (never ``complete``). :func:`resume_run` continues such a run.

Frames are decoded (a prefetch thread in the engine) and written (a writer thread here)
while the model works on the next frame. Every ``snapshot_every_s`` seconds the engine's
state (SAM 2's memory window only) is saved to ``RUN/resume/state.pt``, so that a resumed
run replays at most that many seconds of frames and gives the same masks.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import hashlib
import json
import os
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from multicam.correction import (
    CorrectionPlan,
    SourceMasks,
    merge_frame,
    object_prompt_digests,
    plan_correction,
    sequence_sha256,
)
from multicam.errors import DiskFullError, GameFileError, PromptError, RunDirError
from multicam.game import Game, GameConfig, format_validation_error
from multicam.integrity import check_runs_dir, disk_full, run_lock, run_state
from multicam.io import write_text_atomic
from multicam.layout import FramePrompt, SequenceLayout, build_layout, resolve_prompts
from multicam.manifest import (
    UNTRAINED_WARNING,
    CameraInfo,
    DerivedPrompts,
    ObjectInfo,
    PartInfo,
    ProcessInfo,
    RunManifest,
    RunOptions,
    WorkersInfo,
)
from multicam.masks import FrameMasks
from multicam.models import checkpoint_sha256, get_model, resolve_checkpoint
from multicam.rundir import Run, RunWriter, next_run_dir, now_iso, open_run
from multicam.session import OpenGame, open_game


class ProcessOptions(BaseModel):
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
        batch_objects: track the objects of a frame as one batch (faster with many objects;
            masks equal to one-by-one tracking up to floating-point rounding); None: auto,
            on for CUDA, off elsewhere.
        feature_cache: where image features are cached for re-runs: ``auto``
            (``RUNS_DIR/.features``), a folder, or ``off``.
        feature_cache_gb: size limit of the feature cache (least recently used files go first).
        prefetch: frames decoded ahead on a thread (0: decode on demand).
        threads: CPU threads for torch (None: one per core).
        snapshot_every_s: seconds between two saves of the tracking state for ``--resume``
            (0: after every frame; None: never, a resume then re-tracks the interrupted direction).
        encoder_batch: frames per image-encoder forward pass (0: auto: 1 on the CPU, on CUDA the
            number of cameras, twice that with the feature cache; 1: one by one).
        from_run: a previous complete run of the game: only the objects whose prompts changed
            are tracked, the others' masks are copied from it when nothing else that
            determines them changed (:mod:`multicam.correction`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

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
    batch_objects: bool | None = None
    feature_cache: str | Path | None = "auto"
    feature_cache_gb: float = 20.0
    prefetch: int = 4
    threads: int | None = None
    snapshot_every_s: float | None = 60.0
    encoder_batch: int = 0
    from_run: Path | None = None


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
    manifest: RunManifest | None = field(repr=False, default=None)

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
    for key, value in (("device", options.device), ("image_size", options.image_size), ("layout", options.layout)):
        if value is not None:
            data["processing"][key] = value
    try:
        return GameConfig.model_validate(data)
    except ValidationError as exc:
        raise GameFileError(format_validation_error(exc, "options")) from None


def _manifest(
    opened: OpenGame,
    config: GameConfig,
    engine_info: Any,
    spec: Any,
    checkpoint: Path | None,
    sha256: str | None,
    frames: int,
) -> dict[str, Any]:
    """The manifest fields a run knows before it starts (checked by :class:`RunManifest` in RunWriter)."""
    from multicam.engine import versions

    return {
        "game": {"name": opened.name, "path": str(opened.game.path), "reference": opened.reference},
        "reference": opened.reference,
        "config": config.model_dump(mode="json"),
        "model": {
            "name": spec.name,
            "config": spec.config,
            "checkpoint": None if checkpoint is None else str(checkpoint),
            "sha256": sha256,
            "untrained": engine_info.untrained,
            "params": engine_info.params,
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


class _BackgroundWriter:
    """Converts tracked frames to masks and writes them on a thread, in order.

    The model thread hands frames over with :meth:`put` (blocking when ``depth`` frames
    wait). A failure on the thread (disk full, an ``on_frame`` callback raising) stops the
    writing: later frames are not written, and the error is raised in the model thread at
    its next :meth:`put`, :meth:`drain` or :meth:`close`.
    """

    def __init__(
        self,
        writer: RunWriter,
        on_frame: Callable[[FrameMasks], None] | None,
        bar,
        depth: int = 8,
        merge: Callable[[FrameMasks], FrameMasks] | None = None,
    ):
        self._writer = writer
        self._on_frame = on_frame
        self._merge = merge
        self._bar = bar
        self._queue: queue.Queue = queue.Queue(maxsize=max(depth, 1))
        self._error: BaseException | None = None
        self.written = 0
        self._thread = threading.Thread(target=self._run, name="multicam-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                if self._error is not None:
                    continue  # failed: drop what is left
                try:
                    frame_masks = item.to_masks()
                    if self._merge is not None:
                        frame_masks = self._merge(frame_masks)
                    self._writer.write(frame_masks)
                    self.written += 1
                    self._bar.update(1)
                    if self._on_frame is not None:
                        self._on_frame(frame_masks)
                except BaseException as exc:  # handed to the model thread
                    self._error = exc
            finally:
                self._queue.task_done()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def put(self, tracked) -> None:
        self._raise()
        self._queue.put(tracked)

    def drain(self) -> None:
        """Wait until every frame handed over is written."""
        self._queue.join()
        self._raise()

    def close(self, *, raise_error: bool = True) -> None:
        """Write what is queued, stop the thread; raise its error if it had one."""
        self._queue.put(None)
        self._thread.join()
        if raise_error:
            self._raise()


def prompts_digest(prompts: Sequence[FramePrompt]) -> str:
    """SHA-256 of the resolved prompts (a resumed run must track the same prompts)."""
    text = json.dumps([p.__dict__ for p in prompts], sort_keys=True, default=list)
    return hashlib.sha256(text.encode()).hexdigest()


INPUTS_DIGEST_VERSION = 1


def inputs_digest(game: Game, options: ProcessOptions) -> str:
    """SHA-256 of what determines a run's masks, without opening a clip or the model.

    It covers the game file's and prompts file's contents (and the calibration's with
    ``processing.prompt_assist``), each clip's size and modification time, the model (name, and
    the checkpoint file's path, size and time unless ``untrained``) and the options that change masks (image size, layout, device, dtype, compile, batched
    objects). Two runs with the same digest track the same frames with the same model and
    settings; ``multicam batch`` skips a game whose complete run has its current digest.
    """
    config = resolved_config(game.config, options)
    checkpoint = None
    if not options.untrained:
        explicit = options.checkpoint
        if explicit is None and options.model is None:
            explicit = game.checkpoint_path
        if explicit is not None:
            p = Path(explicit).expanduser().resolve()
            st = p.stat() if p.is_file() else None
            checkpoint = [str(p), st.st_size if st else None, st.st_mtime_ns if st else None]

    def content(path: Path | None) -> str | None:
        return None if path is None or not path.is_file() else hashlib.sha256(path.read_bytes()).hexdigest()

    clips = []
    for name in config.camera_names:
        st = game.video_path(name).stat()
        clips.append([name, st.st_size, st.st_mtime_ns])
    processing = config.processing.model_dump(mode="json", exclude={"prompt_assist"})
    if config.processing.prompt_assist is not None:  # derived prompts follow the calibration too
        processing.update(prompt_assist=config.processing.prompt_assist, calibration=content(game.calibration_path))
    data = {
        "version": INPUTS_DIGEST_VERSION,
        "game_file": content(game.path),
        "prompts_file": content(game.prompts_path),
        "clips": clips,
        "model": config.model.name,
        "checkpoint": checkpoint,
        "untrained": options.untrained,
        "processing": processing,
        "dtype": options.dtype,
        "compile": options.compile,
        "batch_objects": options.batch_objects,
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _feature_cache_dir(options: ProcessOptions) -> Path | None:
    value = options.feature_cache
    if value is None or str(value).lower() in ("off", "none", "no", "false", ""):
        return None
    if str(value).lower() == "auto":
        return Path(options.runs_dir) / ".features"
    return Path(value)


@dataclass
class _Prepared:
    opened: OpenGame
    config: GameConfig
    spec: Any
    checkpoint: Path | None
    layout: SequenceLayout
    prompts: list[FramePrompt]
    derived_prompts: DerivedPrompts | None = None


def _prepare(opened: OpenGame, options: ProcessOptions) -> _Prepared:
    config = resolved_config(opened.game.config, options)
    if options.untrained:
        config = config.model_copy(update={"model": config.model.model_copy(update={"checkpoint": None})})
    if not opened.prompts.objects:
        where = opened.game.prompts_path or f"{opened.game.path} (no 'prompts:' file named)"
        raise PromptError(
            f"nothing to track: no objects in {where}; label at least one object "
            f"(a click or a box) on the reference camera {opened.reference!r}"
        )
    spec = get_model(config.model.name)
    checkpoint: Path | None = None
    if not options.untrained:
        explicit = options.checkpoint
        if explicit is None and options.model is None:
            explicit = opened.game.checkpoint_path
        checkpoint = resolve_checkpoint(
            spec.name, explicit, download_missing=options.download, progress=options.progress
        ).resolve()
        config = resolved_config(opened.game.config, options, checkpoint=checkpoint)
    layout = build_layout(opened.timeline, config.processing.layout)
    prompts = resolve_prompts(
        opened.prompts,
        layout,
        opened.reference,
        {n: i.resolution_wh for n, i in opened.clips.items()},
        source=str(opened.game.prompts_path),
    )
    derived = None
    if config.processing.prompt_assist == "geometry":
        from multicam.court.assist import assist_game_prompts

        prompts, derived = assist_game_prompts(opened, layout, prompts)
    return _Prepared(opened, config, spec, checkpoint, layout, prompts, derived)


def _build_engine(prep: _Prepared, options: ProcessOptions):
    from multicam.engine import Engine, EngineOptions

    return Engine.build(
        prep.spec.config,
        prep.checkpoint,
        untrained=options.untrained,
        options=EngineOptions(
            device=prep.config.processing.device,
            image_size=prep.config.processing.image_size,
            dtype=options.dtype,
            compile=options.compile,
            decode_cache=options.decode_cache,
            batch_objects=options.batch_objects,
            prefetch=options.prefetch,
            threads=options.threads,
            encoder_batch=options.encoder_batch,
        ),
    )


def _run_options(options: ProcessOptions, batch_objects: bool | None = None) -> RunOptions:
    """The run's options as recorded (``batch_objects``: the engine's resolved value)."""
    cache = _feature_cache_dir(options)
    return RunOptions(
        dtype=options.dtype,
        compile=options.compile,
        batch_objects=bool(options.batch_objects if batch_objects is None else batch_objects),
        decode_cache=options.decode_cache,
        prefetch=options.prefetch,
        threads=options.threads,
        feature_cache=None if cache is None else str(cache.resolve()),
        feature_cache_gb=options.feature_cache_gb,
        snapshot_every_s=options.snapshot_every_s,
        untrained=options.untrained,
        download=options.download,
        encoder_batch=options.encoder_batch,
        from_run=None if options.from_run is None else str(Path(options.from_run).resolve()),
    )


def process_game(
    game: str | Path | OpenGame,
    options: ProcessOptions = ProcessOptions(),
    *,
    on_frame: Callable[[FrameMasks], None] | None = None,
    objects: Sequence[int] | None = None,
    run_dir: Path | None = None,
) -> ProcessResult:
    """Run SAM 2 over every camera of a game and write a run directory.

    Args:
        game: a game file or an already opened game.
        options: command-line overrides and run settings.
        on_frame: called with each frame's masks after it is written (on the writer thread).
        objects: track only these object ids (one part of a run split across workers,
            :mod:`multicam.workers`); the tracking passes split where a run of every object
            splits, so each object's masks are those of the whole run.
        run_dir: the (new or empty) run folder; default: the next ``RUNS_DIR/<game>/<name>N``.

    Returns:
        The run directory and counts.

    Raises:
        GameFileError, ClipError, PromptError: a problem in the game, its clips or prompts.
        ModelError: no checkpoint (the message says how to get one, or to use ``--untrained``),
            or an unavailable device.
    """
    opened = game if isinstance(game, OpenGame) else open_game(game)
    check_runs_dir(options.runs_dir, opened.name)
    source = _source_run(options.from_run)
    prep = _prepare(opened, options)
    engine = _build_engine(prep, options)
    sha256 = checkpoint_sha256(prep.checkpoint) if prep.checkpoint is not None else None
    manifest = _manifest(opened, prep.config, engine.info, prep.spec, prep.checkpoint, sha256, len(prep.layout))
    manifest.update(
        options=_run_options(options, engine.options.batch_objects),
        prompts_sha256=prompts_digest(prep.prompts),
        inputs_sha256=inputs_digest(opened.game, options),
    )
    if prep.derived_prompts is not None:
        manifest["derived_prompts"] = prep.derived_prompts
    manifest.update(_correction_fields(prep, engine, sha256))
    plan = None
    if source is not None:
        if objects is not None:
            raise RunDirError("--from and a split into object groups cannot be combined: run the correction alone")
        plan = plan_correction(source, manifest["mask_determinants"], object_prompt_digests(prep.prompts))
        manifest["correction"] = plan.to_json()
    if objects is not None:
        manifest["tracked_objects"] = _object_subset(prep, objects)
    if run_dir is None:
        run_dir = next_run_dir(options.runs_dir, opened.name, options.name)
    else:
        run_dir.mkdir(parents=True, exist_ok=True)
    with run_lock(run_dir):
        return _run(prep, engine, options, run_dir, manifest, sha256, on_frame=on_frame, plan=plan, objects=objects)


def _object_subset(prep: _Prepared, objects: Sequence[int]) -> list[int]:
    """The requested object ids, sorted, each one an object of the prompts."""
    known = sorted({p.object_id for p in prep.prompts})
    unknown = sorted(set(objects) - set(known))
    if unknown or not objects:
        raise PromptError(f"objects {sorted(objects)} to track: the prompts have objects {known}")
    return sorted(set(objects))


# -- incremental corrections (--from RUN) -------------------------------------------------------------
def _source_run(path: Path | str | None) -> Run | None:
    """The run a correction starts from: a complete run made by ``multicam process``.

    Raises:
        RunDirError: not a run, or not complete.
    """
    if path is None:
        return None
    run = open_run(path)
    if run.kind != "run":
        raise RunDirError(f"--from {path}: it is {run.kind}, not a run made by `multicam process`")
    if not run.is_complete:
        raise RunDirError(
            f"--from {path}: the run is {run.status}, not complete; finish it first "
            f"(multicam process --resume {path}) or pass a complete run"
        )
    return run


def _mask_determinants(prep: _Prepared, engine: Any, sha256: str | None) -> dict[str, Any]:
    """Everything besides an object's own prompts that determines its masks (:mod:`multicam.correction`)."""
    from multicam.engine import versions
    from multicam.engine.features import clip_identity

    info = engine.info
    v = versions()
    return {
        "model_config": info.config,
        "weights": sha256 if sha256 is not None else f"random-seed-{engine.options.seed}",
        "untrained": info.untrained,
        "image_size": info.image_size,
        "dtype": info.dtype,
        "device": info.device,
        "compiled": info.compiled,
        "fill_hole_area": info.fill_hole_area,
        "batch_objects": bool(engine.options.batch_objects),
        "layout": prep.layout.kind,
        "sequence_sha256": sequence_sha256(prep.layout),
        "clips": {name: clip_identity(prep.opened.clips[name].path) for name in prep.layout.camera_names},
        "tracking_start": min((p.index for p in prep.prompts), default=None),
        "sam2": v["sam2"],
        "torch": v["torch"],
    }


def _correction_fields(prep: _Prepared, engine: Any, sha256: str | None) -> dict[str, Any]:
    """The manifest fields a later ``--from`` run compares against."""
    digests = object_prompt_digests(prep.prompts)
    return {
        "mask_determinants": _mask_determinants(prep, engine, sha256),
        "object_prompts_sha256": {str(k): v for k, v in digests.items()},
    }


@dataclass(frozen=True)
class _CopiedFrame:
    """A frame with nothing to track (every object's masks are copied): its empty masks, to merge into."""

    camera: str
    frame: int
    time: float
    resolution_wh: tuple[int, int]

    def to_masks(self) -> FrameMasks:
        return FrameMasks(camera=self.camera, frame=self.frame, time=self.time, resolution_wh=self.resolution_wh)


def _copy_stream(prep: _Prepared, resolution: dict[str, tuple[int, int]], done: int) -> Iterator[_CopiedFrame]:
    """The tracking order's frames after the first ``done``, with no object tracked."""
    from multicam.engine import tracking_passes

    position = 0
    for order, _ in tracking_passes(prep.layout, prep.prompts):
        for index in order:
            position += 1
            if position <= done:
                continue
            where = prep.layout[index]
            yield _CopiedFrame(where.camera, where.frame, where.time, resolution[where.camera])


def _tracked_stream(
    prep: _Prepared,
    engine: Any,
    clips: dict,
    features: Any,
    resume: Any,
    plan: CorrectionPlan | None,
    objects: Sequence[int] | None = None,
):
    """The engine's frames (only the re-tracked objects of a correction, or the given ``objects``),
    or copied frames when none is tracked."""
    if objects is None and plan is not None and plan.reuse:
        objects = plan.retrack
    if objects is None:
        return engine.track_frames(prep.layout, clips, prep.prompts, features=features, resume=resume)
    retrack = set(objects)
    subset = [p for p in prep.prompts if p.object_id in retrack]
    if not subset:
        resolution = {name: prep.opened.clips[name].resolution_wh for name in prep.layout.camera_names}
        return _copy_stream(prep, resolution, resume.done if resume is not None else 0)
    start = min(p.index for p in prep.prompts)  # the split of a run of every object
    return engine.track_frames(prep.layout, clips, subset, features=features, resume=resume, start=start)


def _merger(prep: _Prepared, plan: CorrectionPlan | None) -> Callable[[FrameMasks], FrameMasks] | None:
    """Per frame: the re-tracked objects' masks merged with the reused ones read from the source run."""
    if plan is None or not plan.reuse:
        return None
    source = SourceMasks(open_run(plan.source_run), prep.layout.camera_names)
    return lambda tracked: merge_frame(tracked, source.get(tracked.camera, tracked.frame), plan.reuse)


def _cameras_and_objects(opened: OpenGame) -> tuple[list[CameraInfo], list[ObjectInfo]]:
    """A run's cameras and objects as its manifest records them."""
    cameras = [
        CameraInfo(
            name=c.name,
            resolution_wh=opened.clips[c.name].resolution_wh,
            fps=c.fps,
            frame_count=c.frame_count,
            offset=c.offset,
        )
        for c in opened.timeline.cameras
    ]
    objects = [ObjectInfo(object_id=o.id, name=o.name, team=o.team) for o in opened.prompts.merged()]
    return cameras, objects


def _run(
    prep: _Prepared,
    engine: Any,
    options: ProcessOptions,
    run_dir: Path,
    manifest: dict[str, Any],
    sha256: str | None,
    *,
    on_frame: Callable[[FrameMasks], None] | None,
    resume: Any = None,
    kept: dict[str, int] | None = None,
    resumes: list[dict[str, Any]] | None = None,
    plan: CorrectionPlan | None = None,
    objects: Sequence[int] | None = None,
) -> ProcessResult:
    """Track and write; ``resume`` (an engine ResumePoint) continues a run whose first frames are ``kept``.

    ``objects``: track only these (a part of a split run)."""
    from multicam.engine import FeatureCache, describe_cache
    from multicam.progress import progress

    opened, layout = prep.opened, prep.layout
    cameras, objects_info = _cameras_and_objects(opened)
    clips = {name: opened.clip(name, cache_size=options.decode_cache) for name in opened.camera_names}
    cache_dir = _feature_cache_dir(options)
    cache = None if cache_dir is None else FeatureCache(cache_dir, int(options.feature_cache_gb * 2**30))
    features = None if cache is None else engine.feature_store(cache, clips, sha256)
    manifest = {**manifest, "process": ProcessInfo(pid=os.getpid(), host=socket.gethostname())}
    snapshot_path = run_dir / "resume" / "state.pt"
    done_before = resume.done if resume is not None else 0
    frames = 0
    t0 = time.perf_counter()
    with (
        RunWriter(run_dir, manifest, cameras, objects_info) as writer,
        progress(
            total=len(layout),
            initial=done_before,
            unit="frame",
            desc=f"{opened.name} ({layout.kind})",
            disable=not options.progress,
            dynamic_ncols=True,
        ) as bar,
    ):
        if kept is not None:
            writer.update(
                frames_written=dict(kept),
                started_at=manifest.get("started_at") or writer.manifest.started_at,
                resumes=resumes or [],
            )
            writer.clear("error")
            writer.write_manifest()
        background = _BackgroundWriter(writer, on_frame, bar, merge=_merger(prep, plan))
        last_snapshot = time.monotonic()
        try:
            with contextlib.closing(_tracked_stream(prep, engine, clips, features, resume, plan, objects)) as stream:
                for tracked in stream:
                    background.put(tracked)
                    if (
                        options.snapshot_every_s is not None
                        and time.monotonic() - last_snapshot >= options.snapshot_every_s
                    ):
                        background.drain()
                        engine.save_snapshot(snapshot_path)
                        last_snapshot = time.monotonic()
            background.close()
        except BaseException as exc:
            background.close(raise_error=False)
            if disk_full(exc):
                kept_frames = background.written + done_before
                raise DiskFullError(
                    f"disk full while writing {run_dir} ({exc.strerror or exc}); its {kept_frames} finished "
                    f"frames are kept: free some space, then continue with `multicam process --resume {run_dir}`"
                ) from exc
            raise
        finally:
            frames = background.written
            track_s = time.perf_counter() - t0
            stats = engine.stats
            writer.update(
                timings={
                    "build_s": engine.info.build_s,
                    "prompt_s": round(stats.prompt_s, 3),
                    "track_s": round(track_s, 3),
                    "frames_per_s": round(frames / track_s, 3) if track_s > 0 else None,
                },
                memory={
                    "max_held_outputs": stats.max_held_outputs,
                    "max_held_bytes": stats.max_held_bytes,
                    "max_held_decoded_frames": stats.max_held_frames,
                },
                features={
                    "cache": None if cache is None else str(cache.root),
                    "encoder_forwards": stats.encoder_forwards,
                    "encoder_batches": stats.encoder_batches,
                    "loaded": stats.features_loaded,
                    **({} if cache is None else describe_cache(cache.stats)),
                },
            )
            if resumes:
                writer.update(resumes=[*resumes[:-1], {**resumes[-1], "replayed_frames": stats.replayed}])
    snapshot_path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        snapshot_path.parent.rmdir()
    return ProcessResult(
        run_dir=run_dir, frames=frames, untrained=options.untrained, track_s=track_s, manifest=writer.manifest
    )


_WRITER_FIELDS = frozenset(
    {
        "format",
        "format_version",
        "kind",
        "cameras",
        "objects",
        "status",
        "started_at",
        "finished_at",
        "frames_written",
        "error",
        "process",
    }
)
"""Manifest fields that belong to the process writing a run (RunWriter and ProcessInfo set them anew)."""


# -- resume ------------------------------------------------------------------------------------------
RESUMABLE = ("running", "failed", "interrupted")


def _read_complete_lines(path: Path) -> list[str]:
    """The complete lines of a file (a last line cut short by a crash is left out)."""
    if not path.is_file():
        return []
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    return lines[:-1]  # the part after the last newline is empty or incomplete


def _write_lines(path: Path, lines: Sequence[str]) -> None:
    write_text_atomic(path, "".join(line + "\n" for line in lines))


def finished_frames(run_dir: Path, layout: SequenceLayout, prompts: Sequence[FramePrompt]) -> int:
    """How many frames of the tracking order a run finished, after making its files consistent.

    The finished frames are the longest prefix of the tracking order whose masks line and
    tracks rows are all written. Lines or rows after it (a frame cut short by a crash) are
    removed from ``masks/<camera>.jsonl`` and ``tracks.csv``.
    """
    from multicam.engine import tracking_passes

    masks_dir = run_dir / "masks"
    lines: dict[str, list[str]] = {}
    frames_of: dict[str, list[int]] = {}
    for name in layout.camera_names:
        kept, numbers = [], []
        for line in _read_complete_lines(masks_dir / f"{name}.jsonl"):
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                break
            kept.append(line)
            numbers.append(int(data["frame"]))
        lines[name], frames_of[name] = kept, numbers
    # the tracking order's prefix present in the files, camera by camera in file order
    position = {name: 0 for name in layout.camera_names}
    done = 0
    last: tuple[str, int] | None = None
    for order, _ in tracking_passes(layout, prompts):
        stop = False
        for index in order:
            where = layout[index]
            k = position[where.camera]
            if k < len(frames_of[where.camera]) and frames_of[where.camera][k] == where.frame:
                position[where.camera] = k + 1
                done += 1
                last = (where.camera, where.frame)
            else:
                stop = True
                break
        if stop:
            break
    rows_path = run_dir / "tracks.csv"
    rows = _read_complete_lines(rows_path)
    header, body = (rows[0], rows[1:]) if rows else (None, [])
    kept_rows = []
    counts: dict[tuple[str, int], int] = {}
    allowed = {name: set(frames_of[name][: position[name]]) for name in layout.camera_names}
    for row in body:
        fields = next(csv.reader([row]))
        if len(fields) < 2 or not fields[1].isdigit() or fields[0] not in allowed:
            continue
        key = (fields[0], int(fields[1]))
        if key[1] in allowed[key[0]]:
            kept_rows.append((key, row))
            counts[key] = counts.get(key, 0) + 1
    if last is not None:
        camera, frame = last
        line = lines[camera][position[camera] - 1]
        expected = sum(1 for o in json.loads(line)["objects"] if o.get("box_xyxy") is not None)
        if counts.get(last, 0) != expected:  # its tracks rows were cut short: do the frame again
            position[camera] -= 1
            done -= 1
            kept_rows = [(key, row) for key, row in kept_rows if key != last]
    for name in layout.camera_names:
        _write_lines(masks_dir / f"{name}.jsonl", lines[name][: position[name]])
    if header is not None:
        _write_lines(rows_path, [header] + [row for _, row in kept_rows])
    return done


def resume_run(
    run_dir: str | Path,
    *,
    progress: bool = True,
    on_frame: Callable[[FrameMasks], None] | None = None,
    snapshot_every_s: float | None = None,
) -> ProcessResult:
    """Continue an interrupted run (status running, failed or interrupted) in its own directory.

    Frames already written are kept; the engine restarts from the last state snapshot
    (``RUN/resume/state.pt``) and tracks the frames between it and the first missing frame
    again without writing them, or, without a snapshot, tracks the interrupted direction
    again from its start. The masks are the same as those of an uninterrupted run.

    Raises:
        RunDirError: not a run, a complete run, a run still running, or a game whose clips,
            layout or prompts changed since the run started.
    """
    run_dir = Path(run_dir)
    run = open_run(run_dir)
    m = run.manifest
    if run.kind != "run":
        raise RunDirError(f"{run_dir} is {run.kind}, not a run made by `multicam process`; nothing to resume")
    if run.status not in RESUMABLE:
        raise RunDirError(f"{run_dir} is {run.status}; only a run that is {', '.join(RESUMABLE)} can be resumed")
    if run_state(run) == "running":
        proc = m.process
        raise RunDirError(
            f"{run_dir} is still being written by process {proc.pid if proc else '?'} on {proc.host if proc else '?'}; "
            f"stop it first (Ctrl-C), then resume"
        )
    game_path = m.recorded_game_path
    if m.workers is not None:
        raise RunDirError(
            f"{run_dir} was split across {m.workers.count} workers: continue it with "
            f"`multicam process --resume {run_dir}` (multicam.workers.resume_split)"
        )
    if m.options is None or m.prompts_sha256 is None or m.config is None or game_path is None:
        raise RunDirError(f"{run_dir} was written by an older multicam without resume information; start a new run")
    with run_lock(run_dir):  # a second --resume of the same run is refused, not interleaved
        return _resume_locked(run, progress=progress, on_frame=on_frame, snapshot_every_s=snapshot_every_s)


def _resume_locked(
    run: Any,
    *,
    progress: bool,
    on_frame: Callable[[FrameMasks], None] | None,
    snapshot_every_s: float | None,
) -> ProcessResult:
    run_dir, m = run.path, run.manifest
    game_path = m.recorded_game_path
    options = resumed_options(m, run_dir, progress=progress, snapshot_every_s=snapshot_every_s)
    opened = open_game(game_path)
    prep = _prepare(opened, options)
    if len(prep.layout) != m.sequence_frames:
        raise RunDirError(
            f"the game {game_path} now has {len(prep.layout)} sequence frames, the run "
            f"{m.sequence_frames}: its clips changed; start a new run"
        )
    if prompts_digest(prep.prompts) != m.prompts_sha256:
        raise RunDirError(
            f"the prompts of {game_path} changed since {run_dir} started; start a new "
            f"run (the feature cache makes it fast)"
        )
    from multicam.engine import ResumePoint

    done = finished_frames(run_dir, prep.layout, prep.prompts)
    snapshot = run_dir / "resume" / "state.pt"
    kept = {
        name: sum(1 for _ in _read_complete_lines(run_dir / "masks" / f"{name}.jsonl"))
        for name in prep.layout.camera_names
    }
    engine = _build_engine(prep, options)
    sha256 = None if m.model is None else m.model.sha256
    manifest = m.model_dump(exclude_unset=True, exclude=_WRITER_FIELDS - {"started_at"})
    resumes = [r.model_dump(exclude_unset=True) for r in m.resumes] + [
        {"at": now_iso(), "frames_kept": done, "previous_status": run.status, "snapshot": snapshot.is_file()}
    ]
    return _run(
        prep,
        engine,
        options,
        run_dir,
        manifest,
        sha256,
        on_frame=on_frame,
        resume=ResumePoint(done=done, snapshot=snapshot if snapshot.is_file() else None),
        kept=kept,
        resumes=resumes,
        plan=CorrectionPlan.from_json(m.correction) if m.correction else None,
        objects=m.tracked_objects,
    )


def resumed_options(
    m: RunManifest, run_dir: Path, *, progress: bool = True, snapshot_every_s: float | None = None
) -> ProcessOptions:
    """The options a run was made with, from its manifest (to continue it with the same settings)."""
    saved, cfg = m.options, m.config
    if saved is None or cfg is None:
        raise RunDirError(f"{run_dir} was written by an older multicam without resume information; start a new run")
    return ProcessOptions(
        model=cfg.model.name,
        checkpoint=cfg.model.checkpoint,
        device=cfg.processing.device,
        image_size=cfg.processing.image_size,
        layout=cfg.processing.layout,
        dtype=saved.dtype,
        compile=saved.compile,
        untrained=saved.untrained,
        runs_dir=run_dir.parent.parent,
        download=False,
        progress=progress,
        decode_cache=saved.decode_cache,
        batch_objects=saved.batch_objects,
        feature_cache=saved.feature_cache or "off",
        feature_cache_gb=saved.feature_cache_gb,
        prefetch=saved.prefetch,
        threads=saved.threads,
        encoder_batch=saved.encoder_batch,
        snapshot_every_s=saved.snapshot_every_s if snapshot_every_s is None else snapshot_every_s,
        from_run=None if saved.from_run is None else Path(saved.from_run),
    )


# -- one run split across workers (multicam.workers runs the stages) ----------------------------------
PART_DIR = "parts"


class SplitStages(Protocol):
    """Runs the parallel stages of a split run (:mod:`multicam.workers` runs them as Ray tasks)."""

    def encode(self, chunks: Sequence[Sequence[int]]) -> int:
        """Stage 1: each chunk's image features into the feature cache (:func:`encode_features`); frames encoded."""
        ...

    def track(self, groups: Sequence[Sequence[int]], part_dirs: Sequence[Path], frames: int) -> list[PartInfo]:
        """Stage 2: each group of objects tracked into its part folder (``process_game(objects=, run_dir=)``);
        ``frames``: the sequence frames each part tracks."""
        ...


def frame_chunks(frames: int, parts: int) -> list[range]:
    """``frames`` sequence frames cut into at most ``parts`` disjoint, contiguous, near-equal ranges."""
    parts = max(1, min(int(parts), int(frames)))
    bounds = [round(k * frames / parts) for k in range(parts + 1)]
    return [range(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]


def object_groups(object_ids: Sequence[int], parts: int) -> list[list[int]]:
    """Object ids dealt round-robin into at most ``parts`` non-empty groups (near-equal sizes)."""
    ids = sorted(set(int(i) for i in object_ids))
    parts = max(1, min(int(parts), len(ids)))
    return [ids[k::parts] for k in range(parts) if ids[k::parts]]


def encode_features(game: str | Path, options: ProcessOptions, indices: Sequence[int]) -> int:
    """Stage 1 of a split run: the image features of some sequence frames into the feature cache.

    Frames already cached are skipped, so a retried chunk continues where it stopped.

    Returns:
        the number of frames encoded.
    """
    from multicam.engine import FeatureCache

    cache_dir = _feature_cache_dir(options)
    if cache_dir is None:
        raise RunDirError(_NEEDS_CACHE)
    opened = open_game(game)
    prep = _prepare(opened, options)
    engine = _build_engine(prep, options)
    sha256 = checkpoint_sha256(prep.checkpoint) if prep.checkpoint is not None else None
    clips = {name: opened.clip(name, cache_size=options.decode_cache) for name in opened.camera_names}
    store = engine.feature_store(FeatureCache(cache_dir, int(options.feature_cache_gb * 2**30)), clips, sha256)
    try:
        return engine.encode_frames(prep.layout, clips, indices, store)
    finally:
        store.close()


_NEEDS_CACHE = (
    "--workers passes image features between workers through the feature cache: "
    "leave --feature-cache on (auto or a folder every worker can reach)"
)
_PART_FIELDS = _WRITER_FIELDS | {
    "tracked_objects",
    "timings",
    "memory",
    "features",
    "resumes",
    "options",
}


def run_split(
    game: str | Path | OpenGame,
    options: ProcessOptions,
    workers: WorkersInfo,
    stages: SplitStages,
    *,
    run_dir: Path | None = None,
) -> ProcessResult:
    """One run of a game made by several workers, into one ordinary run folder.

    Stage 1 computes the image features of disjoint chunks of the sequence in parallel into
    the feature cache; stage 2 tracks groups of objects in separate SAM 2 states in parallel
    (each part a run folder of its own under ``RUN/parts/``, tracking only its objects, which
    sam2 tracks independently of each other); stage 3 merges the parts' masks frame by frame,
    in the tracking order of a single-state run, into ``RUN/masks``. The parts' masks are
    removed once merged (their manifests stay).

    Args:
        run_dir: continue this split run (its finished stages are not done again); default:
            a new run folder.
    """
    opened = game if isinstance(game, OpenGame) else open_game(game)
    cache_dir = _feature_cache_dir(options)
    if cache_dir is None:
        raise RunDirError(_NEEDS_CACHE)
    if options.from_run is not None:
        raise RunDirError("--workers and --from cannot be combined: a correction tracks only the changed objects")
    options = options.model_copy(update={"feature_cache": str(cache_dir.resolve())})
    check_runs_dir(options.runs_dir, opened.name)
    prep = _prepare(opened, options)
    cameras, objects_info = _cameras_and_objects(opened)
    resumes: list[dict[str, Any]] = []
    started_at = None
    if run_dir is None:
        run_dir = next_run_dir(options.runs_dir, opened.name, options.name)
    else:  # a continued split run: the merge is done again from the parts
        m = open_run(run_dir).manifest
        started_at, resumes = m.started_at, [r.model_dump(exclude_unset=True) for r in m.resumes]
        resumes.append({"at": now_iso(), "frames_kept": 0, "previous_status": m.status, "snapshot": False})
        for path in [*(run_dir / "masks").glob("*.jsonl"), run_dir / "tracks.csv"]:
            path.unlink(missing_ok=True)
    manifest = {
        "game": {"name": opened.name, "path": str(opened.game.path), "reference": opened.reference},
        "reference": opened.reference,
        "config": prep.config.model_dump(mode="json"),
        "layout": prep.config.processing.layout,
        "sequence_frames": len(prep.layout),
        "offsets_resolved": opened.offsets_resolved,
        "options": _run_options(options),
        "prompts_sha256": prompts_digest(prep.prompts),
        "inputs_sha256": inputs_digest(opened.game, options),
        "workers": workers,
        "process": ProcessInfo(pid=os.getpid(), host=socket.gethostname()),
        "resumes": resumes,
    }
    t0 = time.perf_counter()
    with run_lock(run_dir), RunWriter(run_dir, manifest, cameras, objects_info) as writer:
        if started_at is not None:
            writer.update(started_at=started_at)
        writer.write_manifest()
        chunks = frame_chunks(len(prep.layout), workers.count)
        t = time.perf_counter()
        encoded = stages.encode([list(c) for c in chunks])
        info = workers.model_copy(
            update={
                "feature_chunks": len(chunks),
                "frames_encoded": encoded,
                "encode_s": round(time.perf_counter() - t, 3),
            }
        )
        writer.update(workers=info)
        writer.write_manifest()
        groups = object_groups([p.object_id for p in prep.prompts], workers.count)
        part_dirs = [run_dir / PART_DIR / f"part{k + 1}" for k in range(len(groups))]
        t = time.perf_counter()
        parts = stages.track(groups, part_dirs, len(prep.layout))
        info = info.model_copy(update={"parts": parts, "track_s": round(time.perf_counter() - t, 3)})
        writer.update(workers=info)
        writer.write_manifest()
        t = time.perf_counter()
        frames = _merge_parts(prep, writer, [open_run(d) for d in part_dirs])
        track_s = time.perf_counter() - t0
        writer.update(
            workers=info.model_copy(update={"merge_s": round(time.perf_counter() - t, 3)}),
            timings={"track_s": round(track_s, 3), "frames_per_s": round(frames / track_s, 3) if track_s else None},
        )
    for d in part_dirs:  # merged: the parts' masks are in the run now
        for path in [*(d / "masks").glob("*.jsonl"), d / "tracks.csv"]:
            path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            (d / "masks").rmdir()
    return ProcessResult(
        run_dir=run_dir, frames=frames, untrained=options.untrained, track_s=track_s, manifest=writer.manifest
    )


def _merge_parts(prep: _Prepared, writer: RunWriter, parts: Sequence[Run]) -> int:
    """Stage 3: every part's masks, frame by frame in the tracking order, into the run; frames written."""
    first = parts[0].manifest
    for part in parts:
        m = part.manifest
        if not part.is_complete or m.prompts_sha256 != first.prompts_sha256:
            raise RunDirError(f"{part.path}: a part of the split run is {part.status} or from other prompts")
        if m.mask_determinants != first.mask_determinants:
            raise RunDirError(f"{part.path}: made with other settings than {parts[0].path}; continue the run again")
    writer.update(**first.model_dump(exclude_unset=True, exclude=_PART_FIELDS))
    writer.write_manifest()
    cameras = prep.layout.camera_names
    sources = [SourceMasks(part, cameras) for part in parts]
    resolution = {name: prep.opened.clips[name].resolution_wh for name in cameras}
    frames = 0
    for frame in _copy_stream(prep, resolution, 0):
        found = [fm for fm in (s.get(frame.camera, frame.frame) for s in sources) if fm is not None]
        objects = sorted((o for fm in found for o in fm.objects), key=lambda o: o.object_id)
        writer.write(dataclasses.replace(frame.to_masks(), objects=tuple(objects)))
        frames += 1
    return frames

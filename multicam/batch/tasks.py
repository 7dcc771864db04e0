"""What runs on a Ray worker: one game's processing, its report and its render, and a progress actor.

:func:`process_one` is exactly ``multicam process`` (or ``--resume``) for one game, after checking
that this node sees the game's files and the runs folder. It decides by itself whether to skip,
resume or start the run (:func:`multicam.batch.plan.decide`), so a retried task resumes the run
its first attempt began: the frames that attempt wrote are kept and none is written twice.

A user error (missing clip, invalid prompts) is returned as a failed :class:`GameOutcome`, never
retried; anything else (a worker killed, out of memory, an unexpected exception) is left to Ray's
retries.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import ray
from pydantic import BaseModel, ConfigDict

from multicam.batch.plan import decide, process_options, runs_of
from multicam.batch.record import StepRecord
from multicam.batch.spec import BatchError, GameOptions
from multicam.errors import GameFileError, MulticamError
from multicam.rundir import now_iso
from multicam.workers import node_name

SHARED_STORAGE = (
    "on a Ray cluster, the game folders and the runs folder must be on storage that every node "
    "mounts at the same path (see docs/guide/batch.md)"
)
PROGRESS_EVERY_S = 0.5


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GameTask(_Frozen):
    """What a worker needs to process one game."""

    key: str
    game: str
    options: GameOptions
    runs_dir: str
    record_dir: str
    since: str | None = None
    threads: int | None = None
    workers: int = 1
    gpus: float = 0.0
    retries: int = 2


class GameOutcome(_Frozen):
    """What a worker reports back about one game."""

    key: str
    status: Literal["complete", "skipped", "failed"]
    action: Literal["new", "resume", "skip"] | None = None
    run_dir: str | None = None
    digest: str | None = None
    node: str | None = None
    attempt: int = 1
    frames: int = 0
    seconds: float | None = None
    frames_per_s: float | None = None
    untrained: bool | None = None
    error: str | None = None
    started_at: str
    finished_at: str


@ray.remote(num_cpus=0)
class Progress:
    """Frames done per game, and attempts, reported by the workers and read by the driver."""

    def __init__(self) -> None:
        self.frames: dict[str, int] = {}
        self.attempts: dict[str, int] = {}
        self.nodes: dict[str, str] = {}

    def start(self, key: str, node: str, frames_done: int) -> int:
        self.attempts[key] = self.attempts.get(key, 0) + 1
        self.nodes[key] = node
        self.frames[key] = frames_done
        return self.attempts[key]

    def add(self, key: str, frames: int) -> None:
        self.frames[key] = self.frames.get(key, 0) + frames

    def snapshot(self) -> dict[str, dict[str, Any]]:
        return {"frames": dict(self.frames), "attempts": dict(self.attempts), "nodes": dict(self.nodes)}


class _FrameCounter:
    """``on_frame`` for the pipeline: counts frames, sends them to the progress actor now and then."""

    def __init__(self, key: str, progress, then: Callable | None):
        self.key, self.progress, self.then = key, progress, then
        self.pending = 0
        self.last = time.monotonic()
        self.lock = threading.Lock()

    def __call__(self, frame_masks) -> None:
        with self.lock:
            self.pending += 1
            if time.monotonic() - self.last >= PROGRESS_EVERY_S:
                self.flush()
        if self.then is not None:
            self.then(frame_masks)

    def flush(self) -> None:
        if self.pending and self.progress is not None:
            self.progress.add.remote(self.key, self.pending)
        self.pending = 0
        self.last = time.monotonic()


def _check_visible(task: GameTask, node: str):
    """The game as this node sees it; a file it cannot see is an error naming the path and the node."""
    from multicam.game import load_game

    if not Path(task.record_dir).is_dir():
        raise BatchError(f"the runs folder {task.runs_dir} is not visible on node {node}: {SHARED_STORAGE}")
    if not Path(task.game).is_file():
        raise GameFileError(f"game file not found on node {node}: {task.game}; {SHARED_STORAGE}")
    try:
        return load_game(task.game)
    except GameFileError as exc:
        if "not found" in str(exc):
            raise GameFileError(f"{exc} (on node {node}; {SHARED_STORAGE})") from None
        raise


def _frames_written(run_dir: Path) -> int:
    from multicam.rundir import open_run

    try:
        return sum(open_run(run_dir).manifest.frames_written.values())
    except MulticamError:
        return 0


def process_one(task: GameTask, progress=None, on_frame: Callable | None = None) -> GameOutcome:
    """Skip, resume or process one game, as ``multicam process`` would; user errors come back as ``failed``."""
    from multicam.pipeline import inputs_digest, process_game

    node = node_name()
    started = now_iso()
    attempt = 1
    base: dict[str, Any] = {"key": task.key, "node": node, "started_at": started}
    try:
        game = _check_visible(task, node)
        options = process_options(task.options.model_dump(), Path(task.runs_dir), task.threads)
        digest = inputs_digest(game, options)
        base["digest"] = digest
        decision = decide(runs_of(Path(task.runs_dir), game.name), digest, since=task.since)
        base["action"] = decision.action
        done = 0 if decision.run_dir is None else _frames_written(decision.run_dir)
        if progress is not None:
            attempt = ray.get(progress.start.remote(task.key, node, done))
        base["attempt"] = attempt
        if decision.action == "skip":
            return GameOutcome(
                **base,
                status="skipped",
                run_dir=str(decision.run_dir),
                untrained=options.untrained,
                finished_at=now_iso(),
            )
        counter = _FrameCounter(task.key, progress, on_frame)
        if decision.action == "resume":
            base["run_dir"] = str(decision.run_dir)
            result = _resume(decision.run_dir, counter)
        elif task.workers > 1:
            result = _split(task, game.path, options, counter)
        else:
            result = process_game(game.path, options, on_frame=counter)
        counter.flush()
    except MulticamError as exc:
        return GameOutcome(**base, status="failed", error=str(exc).replace("\n", "; "), finished_at=now_iso())
    return GameOutcome(
        **base | {"run_dir": str(result.run_dir)},
        status="complete",
        frames=result.frames,
        seconds=round(result.track_s, 3),
        frames_per_s=round(result.frames_per_s, 3),
        untrained=result.untrained,
        finished_at=now_iso(),
    )


def _resume(run_dir: Path, counter: _FrameCounter):
    """Continue a game's interrupted run (split across workers or not)."""
    from multicam.pipeline import resume_run
    from multicam.rundir import open_run
    from multicam.workers import resume_split

    if open_run(run_dir).manifest.workers is None:
        return resume_run(run_dir, progress=False, on_frame=counter)
    result = resume_split(run_dir, progress=False)
    counter.pending += result.frames  # the parts' frames, counted once the run is merged
    return result


def _split(task: GameTask, game: Path, options, counter: _FrameCounter):
    """One game across ``task.workers`` Ray workers (nested tasks in the batch's Ray)."""
    from multicam.workers import WorkerSettings, process_split

    settings = WorkerSettings(count=task.workers, threads=task.threads, gpus=task.gpus, retries=task.retries)
    result = process_split(game, options.model_copy(update={"progress": False}), settings)
    counter.pending += result.frames
    return result


def _usable(outcome: GameOutcome, step: str) -> Path | StepRecord:
    if outcome.status not in ("complete", "skipped") or outcome.run_dir is None:
        return StepRecord(status="skipped", error=f"no complete run to {step}")
    return Path(outcome.run_dir)


def _fresh(path: Path, run_dir: Path) -> bool:
    """``path`` exists and is newer than the run's manifest (a skipped game keeps its outputs)."""
    manifest = run_dir / "manifest.json"
    return path.is_file() and manifest.is_file() and path.stat().st_mtime >= manifest.stat().st_mtime


def report_one(outcome: GameOutcome) -> StepRecord:
    """``multicam report RUN`` for a game's run (kept when already newer than the run)."""
    from multicam.report import report_run
    from multicam.rundir import open_run

    run_dir = _usable(outcome, "report")
    if isinstance(run_dir, StepRecord):
        return run_dir
    t0 = time.perf_counter()
    html = run_dir / "report" / "report.html"
    if _fresh(run_dir / "report" / "report.json", run_dir) and html.is_file():
        return StepRecord(status="complete", path=str(html), seconds=0.0)
    try:
        _, _, html = report_run(open_run(run_dir))
    except MulticamError as exc:
        return StepRecord(status="failed", error=str(exc), seconds=round(time.perf_counter() - t0, 3))
    return StepRecord(status="complete", path=str(html), seconds=round(time.perf_counter() - t0, 3))


def render_one(outcome: GameOutcome) -> StepRecord:
    """``multicam render RUN`` for a game's run: per-camera videos and the mosaic in ``RUN/render``."""
    from multicam.render import plan_render, write_video

    run_dir = _usable(outcome, "render")
    if isinstance(run_dir, StepRecord):
        return run_dir
    t0 = time.perf_counter()
    out = run_dir / "render"
    if _fresh(out / "mosaic.mp4", run_dir):
        return StepRecord(status="complete", path=str(out), seconds=0.0)
    try:
        for job in plan_render(run_dir, out_dir=out):
            write_video(job.frames(), job.path, job.fps)
    except MulticamError as exc:
        return StepRecord(status="failed", error=str(exc), seconds=round(time.perf_counter() - t0, 3))
    return StepRecord(status="complete", path=str(out), seconds=round(time.perf_counter() - t0, 3))


process_task = ray.remote(process_one)
report_task = ray.remote(report_one)
render_task = ray.remote(render_one)

"""The driver of ``multicam batch``: plans the games, runs them as Ray tasks, keeps the record.

Ray schedules the tasks (one per game, plus dependent ``report`` / ``render`` tasks), places them
on nodes with the resources asked for, retries those whose worker dies, and cancels them on
Ctrl-C. This module only submits (at most ``max_parallel`` games at a time, the documented
``ray.wait`` pattern), shows one progress bar and writes the batch record.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from pathlib import Path

from multicam.batch.plan import decide, process_options, runs_of
from multicam.batch.record import (
    BatchRecord,
    BatchSettings,
    GameRecord,
    StepRecord,
    new_record_dir,
    write_record,
)
from multicam.batch.spec import BatchError, GameJob
from multicam.errors import MulticamError
from multicam.rundir import now_iso
from multicam.workers import alive_nodes, infeasible, ray_session

POLL_S = 0.5
CANCEL_WAIT_S = 30.0


def check_resources(settings: BatchSettings) -> dict[str, float]:
    """Fail at once when no node can run a game with the resources asked; returns the cluster's totals."""
    import ray

    need = {"CPU": settings.cpus_per_game, "GPU": settings.gpus_per_game}
    reason = infeasible(alive_nodes(), need, what="game", flags="--gpus-per-game / --cpus-per-game")
    if reason is not None:
        raise BatchError(reason)
    return {k: float(v) for k, v in ray.cluster_resources().items() if k in ("CPU", "GPU", "memory")}


def _frames_total(game) -> int | None:
    """Frames of every camera of a game (probing the clips' headers), for the progress bar."""
    from multicam.clips import probe_clip

    try:
        return sum(probe_clip(game.video_path(c)).frame_count for c in game.config.camera_names)
    except MulticamError:
        return None


def plan_game(job: GameJob, settings: BatchSettings, since: str | None) -> GameRecord:
    """The record of one game before it runs: its digest and action, or its error."""
    from multicam.game import load_game
    from multicam.pipeline import inputs_digest

    record = GameRecord(key=job.key, game=str(job.game), name=job.name, options=job.options)
    if job.error is not None:
        return record.model_copy(update={"status": "failed", "error": job.error})
    try:
        game = load_game(job.game)
        options = process_options(job.options.model_dump(), Path(settings.runs_dir), None)
        digest = inputs_digest(game, options)
    except MulticamError as exc:
        return record.model_copy(update={"status": "failed", "error": str(exc).replace("\n", "; ")})
    decision = decide(runs_of(Path(settings.runs_dir), game.name), digest, since=since)
    update = {"digest": digest, "action": decision.action, "frames_total": _frames_total(game)}
    if decision.action == "skip":
        update |= {"status": "skipped", "run_dir": str(decision.run_dir), "untrained": options.untrained}
    return record.model_copy(update=update)


def _error_line(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None)
    if cause is not None and not isinstance(cause, type(exc)):
        return f"{type(cause).__name__}: {cause}".splitlines()[0]
    return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"


class _Driver:
    """Submits tasks, follows them, and keeps the record up to date."""

    def __init__(self, record: BatchRecord, settings: BatchSettings, progress_bar: bool, on_frame: Callable | None):
        from multicam.batch.tasks import Progress

        self.record = record
        self.settings = settings
        self.on_frame = on_frame
        self.actor = Progress.remote()
        self.inflight: dict = {}  # ref -> (key, stage)
        self.processing: set[str] = set()
        self.finished_frames: dict[str, int] = {}
        self.todo = [g.key for g in record.games if g.status == "pending"]
        self.total = sum(record.game(k).frames_total or 0 for k in self.todo)
        self.bar = None
        if progress_bar:
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, unit="frame", desc=record.name, dynamic_ncols=True)

    def save(self) -> None:
        write_record(self.record)

    def update(self, key: str, **changes) -> None:
        self.record = self.record.with_game(key, **changes)

    def submit(self, key: str) -> None:
        from multicam.batch.tasks import GameTask, process_task

        s, game = self.settings, self.record.game(key)
        task = GameTask(
            key=key,
            game=game.game,
            options=game.options,
            runs_dir=s.runs_dir,
            record_dir=self.record.path,
            since=self.record.started_at if s.force else None,
            threads=max(1, int(s.cpus_per_game)) if s.cpus_per_game >= 1 else None,
            workers=s.workers_per_game,
            gpus=s.gpus_per_game,
            retries=s.retries,
        )
        ref = process_task.options(
            num_cpus=s.cpus_per_game,
            num_gpus=s.gpus_per_game,
            max_retries=s.retries,
            retry_exceptions=True,
            name=f"multicam process {key}",
        ).remote(task, self.actor, self.on_frame)
        self.inflight[ref] = (key, "process")
        self.processing.add(key)
        self.submit_steps(key, ref)

    def submit_steps(self, key: str, outcome) -> None:
        """``report`` / ``render`` tasks after a game's processing task (or on its skipped run)."""
        from multicam.batch.tasks import render_task, report_task

        s = self.settings
        for stage, fn in (("report", report_task), ("render", render_task)):
            if getattr(s, stage):
                step = fn.options(
                    num_cpus=1, max_retries=s.retries, retry_exceptions=True, name=f"multicam {stage} {key}"
                )
                self.inflight[step.remote(outcome)] = (key, stage)
                self.update(key, **{stage: StepRecord()})

    def finish_process(self, key: str, ref) -> None:
        import ray

        from multicam.batch.tasks import GameOutcome

        self.processing.discard(key)
        game = self.record.game(key)
        try:
            out: GameOutcome = ray.get(ref)
        except ray.exceptions.TaskCancelledError:
            self.update(key, status="interrupted", error="cancelled (Ctrl-C or SIGTERM); run the batch again to resume")
            return
        except ray.exceptions.RayError as exc:
            self.update(key, status="failed", error=_error_line(exc), finished_at=now_iso())
            self.finished_frames[key] = game.frames_total or 0
            return
        self.update(
            key,
            status=out.status,
            action=out.action or game.action,
            run_dir=out.run_dir,
            digest=out.digest or game.digest,
            attempts=max(out.attempt, game.attempts),
            node=out.node,
            started_at=out.started_at,
            finished_at=out.finished_at,
            frames=out.frames,
            seconds=out.seconds,
            frames_per_s=out.frames_per_s,
            untrained=out.untrained,
            error=out.error,
        )
        self.finished_frames[key] = game.frames_total or 0

    def finish_step(self, key: str, stage: str, ref) -> None:
        import ray

        try:
            step = ray.get(ref)
        except ray.exceptions.TaskCancelledError:
            step = StepRecord(status="skipped", error="cancelled")
        except ray.exceptions.RayError as exc:
            step = StepRecord(status="failed", error=_error_line(exc))
        self.update(key, **{stage: step})

    def poll(self) -> bool:
        """Read the workers' progress into the record (attempts, node, running) and the bar."""
        import ray

        snap = ray.get(self.actor.snapshot.remote())
        changed = False
        for key, attempts in snap["attempts"].items():
            game = self.record.game(key)
            if attempts != game.attempts or (game.status == "pending" and key in self.processing):
                status = "running" if game.status == "pending" else game.status
                self.update(key, attempts=attempts, node=snap["nodes"].get(key), status=status)
                changed = True
        if self.bar is not None:
            frames = {**snap["frames"], **self.finished_frames}
            n = min(sum(frames.get(k, 0) for k in self.todo), self.total or 0)
            done = sum(1 for k in self.todo if self.record.game(k).status not in ("pending", "running"))
            postfix = f"games {done}/{len(self.todo)}"
            if n != self.bar.n or postfix != self.bar.postfix:
                self.bar.n = n
                self.bar.set_postfix_str(postfix, refresh=False)
                self.bar.refresh()
        return changed

    def run(self) -> None:
        import ray

        from multicam.batch.tasks import GameOutcome

        queue = list(self.todo)
        limit = self.settings.max_parallel or len(queue) or 1
        for g in self.record.games:
            if g.status == "skipped":
                now = now_iso()
                skipped = GameOutcome(
                    key=g.key, status="skipped", action="skip", run_dir=g.run_dir, started_at=now, finished_at=now
                )
                self.submit_steps(g.key, skipped)
        self.save()
        while queue or self.inflight:
            while queue and len(self.processing) < limit:
                self.submit(queue.pop(0))
            ready, _ = ray.wait(list(self.inflight), num_returns=1, timeout=POLL_S)
            changed = self.poll()
            for ref in ready:
                key, stage = self.inflight.pop(ref)
                if stage == "process":
                    self.finish_process(key, ref)
                else:
                    self.finish_step(key, stage, ref)
                changed = True
            if changed:
                self.save()
        self.poll()

    def cancel(self) -> None:
        """Cancel every task in flight, wait for them to close their runs as interrupted, record it."""
        import ray

        refs = list(self.inflight)
        for ref in refs:
            with contextlib.suppress(Exception):
                ray.cancel(ref)
        if refs:
            with contextlib.suppress(Exception):
                ray.wait(refs, num_returns=len(refs), timeout=CANCEL_WAIT_S)
        for ref in refs:
            key, stage = self.inflight.pop(ref)
            if stage == "process":
                self.update(key, status="interrupted", error="interrupted; run the batch again to resume its run")
        self.record = self.record.model_copy(update={"status": "interrupted", "finished_at": now_iso()})
        self.save()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_batch(
    jobs: Sequence[GameJob],
    settings: BatchSettings,
    *,
    name: str = "batch",
    sources: Sequence[str] = (),
    progress: bool = True,
    log_to_driver: bool = False,
    on_frame: Callable | None = None,
    on_record: Callable[[BatchRecord], None] | None = None,
) -> BatchRecord:
    """Run every game as a Ray task (skipping, resuming or starting its run) and return the record.

    Args:
        jobs: the games (:func:`multicam.batch.spec.resolve_sources`).
        settings: where and how (Ray address, resources, retries, follow-up steps).
        name: the record goes to ``RUNS_DIR/_batches/<name>N/batch.json``.
        sources: what the user named (kept in the record).
        progress: one progress bar over all games.
        log_to_driver: show the workers' output.
        on_frame: called in the worker with each frame's masks (picklable).
        on_record: called with the record once it is planned (before any game runs).

    Raises:
        BatchError: no game, a Ray cluster that cannot be reached, or resources no node has.
        KeyboardInterrupt: after Ctrl-C or SIGTERM, once the tasks are cancelled and recorded.
    """
    if not jobs:
        raise BatchError("no game to process: give game files, folders of games or a batch file")
    runs_dir = Path(settings.runs_dir).resolve()  # workers may start elsewhere
    settings = settings.model_copy(update={"runs_dir": str(runs_dir)})
    with ray_session(settings.address, settings.cpus, log_to_driver=log_to_driver):
        cluster = check_resources(settings)
        record_dir = new_record_dir(runs_dir, name)
        started = now_iso()
        since = started if settings.force else None
        record = BatchRecord(
            name=record_dir.name,
            path=str(record_dir.resolve()),
            started_at=started,
            sources=[str(s) for s in sources],
            settings=settings,
            cluster=cluster,
            games=[plan_game(job, settings, since) for job in jobs],
        )
        write_record(record)
        if on_record is not None:
            on_record(record)
        driver = _Driver(record, settings, progress, on_frame)
        try:
            driver.run()
        except KeyboardInterrupt:
            driver.cancel()
            raise
        finally:
            driver.close()
        failed = any(g.status in ("failed", "interrupted") for g in driver.record.games)
        driver.record = driver.record.model_copy(
            update={"status": "failed" if failed else "complete", "finished_at": now_iso()}
        )
        driver.save()
        return driver.record

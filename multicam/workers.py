"""One game across workers: ``multicam process GAME --workers N``, on a local Ray or a Ray cluster.

:func:`multicam.pipeline.run_split` plans the three stages and writes the run folder; this
module runs its two parallel stages as Ray tasks, each a pure function of its inputs:

1. ``encode``: the image features of a chunk of the sequence into the feature cache
   (:func:`multicam.pipeline.encode_features`; frames already cached are skipped);
2. ``track``: one group of objects in its own SAM 2 state, into its part folder
   (:func:`multicam.pipeline.process_game` with ``objects``), or the part's run resumed.

A task whose worker dies is retried by Ray and continues from what its first attempt left
(cached features, the part's written frames), so nothing is computed or written twice. The
driver only submits, waits and shows one progress bar. Ray schedules; nothing here queues.

On a cluster the game folder, the runs folder and the feature cache must be on storage that
every node mounts at the same path.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from multicam.errors import MulticamError
from multicam.manifest import PartInfo, WorkersInfo
from multicam.pipeline import (
    PART_DIR,
    ProcessOptions,
    ProcessResult,
    encode_features,
    process_game,
    resume_run,
    resumed_options,
    run_split,
)
from multicam.rundir import open_run

POLL_S = 0.5


class WorkersError(MulticamError):
    """Ray cannot be reached, or no node can run a worker with the resources asked for."""


class WorkerSettings(BaseModel):
    """How a game is split across workers.

    Attributes:
        count: workers (parallel Ray tasks per stage; tracking uses at most one per object).
        address: a Ray cluster to join (``auto``, ``ray://HOST:10001``); None: a local Ray.
        threads: CPU threads (and Ray CPUs) per worker; None: the largest node's cores / count.
        gpus: GPUs per worker (fractions share a GPU).
        retries: times a task whose worker died is tried again.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    count: int = Field(default=2, ge=1)
    address: str | None = None
    threads: int | None = Field(default=None, ge=1)
    gpus: float = Field(default=0.0, ge=0)
    retries: int = Field(default=2, ge=0)


# -- Ray --------------------------------------------------------------------------------------------
@contextlib.contextmanager
def ray_session(address: str | None, cpus: int | None, *, log_to_driver: bool = False) -> Iterator[bool]:
    """Connect to Ray: the session already open in this process, a cluster at ``address``
    (``auto``, ``ray://HOST:10001``), or an embedded local Ray with ``cpus`` CPUs, shut down after.

    Yields whether this call started the connection.

    Raises:
        WorkersError: the cluster at ``address`` cannot be reached.
    """
    import ray

    if ray.is_initialized():
        yield False
        return
    check_address(address)
    try:
        if address is None:
            ray.init(
                address="local",  # a new Ray of its own, even where `ray start` left a cluster behind
                num_cpus=cpus or os.cpu_count() or 1,
                include_dashboard=False,
                log_to_driver=log_to_driver,
                logging_level=logging.WARNING,
            )
        else:
            ray.init(address=address, log_to_driver=log_to_driver, logging_level=logging.WARNING)
    except ConnectionError as exc:
        hint = (
            ""
            if os.environ.get("RAY_AUTH_MODE")
            else "; a cluster started with `ray start --head` uses token authentication (Ray 2.59 and later): "
            "set RAY_AUTH_MODE=token here, with the cluster's token in ~/.ray/auth_token or RAY_AUTH_TOKEN "
            "(`ray get-auth-token` on the head prints it)"
        )
        raise WorkersError(
            f"cannot connect to the Ray cluster at {address!r} ({exc}); start one with `ray start --head` "
            f"or leave out --address for a local Ray{hint}"
        ) from None
    try:
        yield True
    finally:
        ray.shutdown()


def check_address(address: str | None, timeout_s: float = 5.0) -> None:
    """Fail at once when nothing listens at a ``HOST:PORT`` Ray address (``ray.init`` would wait for minutes).

    ``None`` (a local Ray), ``auto`` and ``ray://`` addresses are left to Ray.

    Raises:
        WorkersError: the host cannot be reached on that port, or the address is not HOST:PORT.
    """
    if address is None or address == "auto" or "://" in address:
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise WorkersError(f"--address {address!r}: give HOST:PORT (e.g. 10.0.0.5:6379), auto, or ray://HOST:10001")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise WorkersError(
            f"cannot reach the Ray cluster at {address} ({exc.strerror or exc}); start it with "
            f"`ray start --head --port={port}` on {host}, check the address, or leave out --address for a local Ray"
        ) from None


def infeasible(nodes: Sequence[dict[str, float]], need: dict[str, float], *, what: str, flags: str) -> str | None:
    """Why no node can ever run one task needing ``need`` (``{"CPU": 1, "GPU": 1}``), or ``None``."""
    need = {k: v for k, v in need.items() if v > 0}
    if any(all(node.get(k, 0.0) >= v for k, v in need.items()) for node in nodes):
        return None
    wanted = " and ".join(f"{v:g} {k}" for k, v in need.items())
    have = "; ".join(", ".join(f"{node.get(k, 0.0):g} {k}" for k in need) for node in nodes) or "no node alive"
    return (
        f"no node of the Ray cluster can ever run one {what} with {wanted} (its nodes have: {have}); "
        f"lower {flags}, or add a node that has them"
    )


def alive_nodes() -> list[dict[str, float]]:
    """The resources of each live node of the connected Ray cluster."""
    import ray

    return [dict(n.get("Resources") or {}) for n in ray.nodes() if n.get("Alive")]


def node_name() -> str:
    """This worker's host name and IP address."""
    import ray

    try:
        ip = ray.util.get_node_ip_address()
    except Exception:  # not inside Ray
        ip = "local"
    return f"{socket.gethostname()} ({ip})"


# -- the tasks (pure functions of their inputs) -------------------------------------------------------
SHARED_STORAGE = (
    "on a Ray cluster the game folder, the runs folder and the feature cache must be on storage every node "
    "mounts at the same path"
)


def _where(exc: MulticamError) -> MulticamError:
    """The same error, naming the node it happened on (a file one node cannot see is the usual cause)."""
    return type(exc)(f"{exc} (on node {node_name()}; {SHARED_STORAGE})")


def encode_chunk(game: str, options: ProcessOptions, indices: list[int]) -> int:
    """Stage 1 task: a chunk's image features into the feature cache; frames encoded."""
    try:
        return encode_features(game, options, indices)
    except MulticamError as exc:
        raise _where(exc) from None


def track_part(game: str, options: ProcessOptions, part_dir: str, objects: list[int]) -> PartInfo:
    """Stage 2 task: one group of objects into its part folder, or the part continued / reused."""
    path = Path(part_dir)
    t0 = time.perf_counter()
    try:
        if (path / "manifest.json").is_file() and not list(path.glob("masks/*.jsonl")):
            shutil.rmtree(path)  # merged into the run before, its masks removed: the merge is being redone
        if (path / "manifest.json").is_file():
            if not open_run(path).is_complete:
                resume_run(path, progress=False)
        else:
            process_game(game, options, objects=objects, run_dir=path)
        m = open_run(path).manifest
    except MulticamError as exc:
        raise _where(exc) from None
    return PartInfo(
        objects=list(objects),
        run=f"{PART_DIR}/{path.name}",
        node=node_name(),
        seconds=round(time.perf_counter() - t0, 3),
        frames_per_s=m.timings.frames_per_s,
    )


class RayStages:
    """Runs :class:`multicam.pipeline.SplitStages` as Ray tasks, with one progress bar for both stages."""

    def __init__(self, game: str, options: ProcessOptions, settings: WorkerSettings, threads: int):
        self.game = game
        self.options = options.model_copy(update={"threads": threads, "progress": False})
        self.settings = settings
        self.threads = threads
        self.show = options.progress

    def _remote(self, fn: Callable):
        import ray

        return ray.remote(fn).options(
            num_cpus=self.threads, num_gpus=self.settings.gpus, max_retries=self.settings.retries
        )

    def encode(self, chunks: Sequence[Sequence[int]]) -> int:
        task = self._remote(encode_chunk)
        refs = [task.remote(self.game, self.options, list(c)) for c in chunks]
        sizes = dict(zip(refs, (len(c) for c in chunks)))
        done = self._wait(refs, sum(sizes.values()), "image features", lambda ready: sum(sizes[r] for r in ready))
        return sum(done)

    def track(self, groups: Sequence[Sequence[int]], part_dirs: Sequence[Path], frames: int) -> list[PartInfo]:
        task = self._remote(track_part)
        refs = [task.remote(self.game, self.options, str(d), list(g)) for g, d in zip(groups, part_dirs)]

        def written(_ready) -> int:
            total = 0
            for d in part_dirs:
                with contextlib.suppress(MulticamError, OSError):
                    total += sum(open_run(d).manifest.frames_written.values())
            return total

        return self._wait(refs, frames * len(part_dirs), f"tracking in {len(part_dirs)} part(s)", written)

    def _wait(self, refs: list, total: int | None, desc: str, count: Callable[[list], int]) -> list:
        """Wait for every task, updating the bar with ``count(finished refs)``; cancel all on an error."""
        import ray

        from multicam.progress import progress

        ready: list = []
        try:
            with progress(total=total, desc=desc, unit="frame", disable=not self.show, dynamic_ncols=True) as bar:
                pending = list(refs)
                while pending:
                    done, pending = ray.wait(pending, num_returns=len(pending), timeout=POLL_S)
                    ready += done
                    ray.get(done)  # raises the first failure
                    bar.update(count(ready) - bar.n)
            return ray.get(list(refs))
        except BaseException as exc:
            for ref in refs:
                with contextlib.suppress(Exception):
                    ray.cancel(ref)
            cause = getattr(exc, "cause", None)  # a task's own error, wrapped by Ray
            if isinstance(exc, ray.exceptions.RayTaskError) and isinstance(cause, MulticamError):
                raise cause from None
            raise


# -- the driver --------------------------------------------------------------------------------------
def _threads_per_worker(settings: WorkerSettings) -> int:
    """Threads per worker: as asked, or the largest node's cores shared among the workers; checked."""
    nodes = alive_nodes()
    if settings.threads is not None:
        threads = settings.threads
    else:
        cores = max((int(n.get("CPU", 0)) for n in nodes), default=1)
        threads = max(1, cores // settings.count)
    reason = infeasible(
        nodes, {"CPU": threads, "GPU": settings.gpus}, what="worker", flags="--threads / --gpus-per-worker"
    )
    if reason is not None:
        raise WorkersError(reason)
    return threads


def process_split(game: str | Path, options: ProcessOptions, settings: WorkerSettings) -> ProcessResult:
    """``multicam process GAME --workers N``: one run of the game, made by ``N`` Ray workers.

    The masks equal a single-state run's (each object is tracked alone either way); see
    :func:`multicam.pipeline.run_split`.
    """
    with ray_session(settings.address, None):
        threads = _threads_per_worker(settings)
        info = WorkersInfo(count=settings.count, ray_address=settings.address, threads_per_worker=threads)
        stages = RayStages(str(Path(game).resolve()), options, settings, threads)
        return run_split(game, options, info, stages)


def resume_split(run_dir: str | Path, *, progress: bool = True, address: str | None = None) -> ProcessResult:
    """Continue a split run: the cached features and the parts' written frames are kept."""
    run_dir = Path(run_dir)
    m = open_run(run_dir).manifest
    if m.workers is None or m.recorded_game_path is None:
        raise WorkersError(f"{run_dir} was not split across workers; continue it with `multicam process --resume`")
    options = resumed_options(m, run_dir, progress=progress)
    settings = WorkerSettings(
        count=m.workers.count,
        address=address if address is not None else m.workers.ray_address,
        threads=m.workers.threads_per_worker,
    )
    with ray_session(settings.address, None):
        threads = _threads_per_worker(settings)
        info = WorkersInfo(count=settings.count, ray_address=settings.address, threads_per_worker=threads)
        stages = RayStages(str(m.recorded_game_path), options, settings, threads)
        return run_split(m.recorded_game_path, options, info, stages, run_dir=run_dir)

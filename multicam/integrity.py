"""Run integrity: is a run directory whole, and can it be trusted, resumed or read?

:func:`check_run` reads every line of every ``masks/<camera>.jsonl``, compares the frames
found with the manifest, and works out the run's real state: a manifest that says
``running`` while no process holds the run's lock (see :func:`run_lock`) belongs to a run
that crashed (killed, power cut) and can be continued with ``multicam process --resume``.

Readers (``report``, ``export``, ``render``, the dashboard) call :func:`usable_run`: a
corrupt line is an error naming the file and line; an incomplete run or a last line cut
short is a warning that they print before writing anything.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from multicam.errors import CorruptRunError, RunDirError
from multicam.rundir import Run, open_run

LOCK_FILE = ".lock"
RESUMABLE = ("running", "failed", "interrupted")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a run: where (file and 1-based line, when there is one) and what."""

    severity: Literal["error", "warning"]
    file: Path
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else str(self.file)
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class CameraFrames:
    """What a camera's masks file holds against what the manifest says."""

    camera: str
    lines: int  # readable frame lines
    distinct: int  # distinct frame indexes among them
    frames_written: int | None  # the manifest's count (updated every few seconds while running)
    frame_count: int  # frames in the camera's clip


@dataclass(frozen=True)
class RunCheck:
    """The result of :func:`check_run`.

    Attributes:
        path: the run directory.
        status: the manifest's status.
        state: what the run really is: complete, running, crashed, interrupted, failed.
        cameras: per camera, frames found and expected.
        problems: errors (the run cannot be trusted as it is) and warnings.
    """

    path: Path
    status: str
    state: str
    kind: str
    cameras: tuple[CameraFrames, ...] = ()
    problems: tuple[Problem, ...] = field(default=())

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")

    @property
    def resumable(self) -> bool:
        return self.kind == "run" and self.state in ("crashed", "interrupted", "failed")

    @property
    def verdict(self) -> str:
        """One line: the state, and what to do about it."""
        resume = f"resumable with `multicam process --resume {self.path}`"
        if self.state == "complete":
            text = "complete" if not self.errors else "complete, but its files are damaged"
        elif self.state == "running":
            text = "still running (another process is writing it)"
        elif self.state == "crashed":
            text = f"crashed (its process is gone), {resume}"
        else:
            text = f"{self.state}, {resume}" if self.kind == "run" else self.state
        return text


def _lock_is_held(run_dir: Path) -> bool:
    """Whether a live process holds the run's lock (it is processing or resuming the run)."""
    import filelock

    path = run_dir / LOCK_FILE
    if not path.exists():
        return False
    lock = filelock.FileLock(str(path), timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout:
        return True
    except OSError:  # a read-only copy of a run: nobody can be writing it
        return False
    lock.release()
    return False


def _alive(pid: object) -> bool:
    try:
        os.kill(int(pid), 0)  # type: ignore[call-overload]
    except (ProcessLookupError, ValueError, TypeError, OverflowError):
        return False
    except PermissionError:
        return True
    return int(pid) != os.getpid()  # type: ignore[call-overload]


def run_state(run: Run) -> str:
    """complete / running / crashed / interrupted / failed (a ``running`` run nobody writes crashed)."""
    if run.status != "running":
        return run.status
    if _lock_is_held(run.path):
        return "running"
    if (run.path / LOCK_FILE).exists():
        return "crashed"  # its writer held the lock until it died
    proc = run.manifest.process  # a run from before locks: ask the process table
    if proc is None:
        return "crashed"
    if proc.host not in (None, socket.gethostname()):
        return "running"  # written on another machine: we cannot tell
    return "running" if proc.pid is not None and _alive(proc.pid) else "crashed"


def _check_masks_file(path: Path, camera, problems: list[Problem]) -> tuple[int, set[int]]:
    """Read every line; record corrupt ones (errors) and a torn last line (warning)."""
    from multicam.masks import FrameMasks

    lines = 0
    frames: set[int] = set()
    with path.open("rb") as fh:
        raw = fh.read().split(b"\n")
    torn = raw[-1] != b""  # text after the last newline: a line cut short
    for number, chunk in enumerate(raw, start=1):
        if not chunk.strip():
            continue
        last = number == len(raw)
        try:
            data = json.loads(chunk.decode("utf-8"))
            fm = FrameMasks.from_json(camera.name, data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            if last and torn:
                problems.append(
                    Problem(
                        "warning", path, "last line is cut short (a frame being written when the run stopped)", number
                    )
                )
            else:
                reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8 text"
                problems.append(Problem("error", path, f"not valid JSON ({reason})", number))
            continue
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            problems.append(Problem("error", path, f"not a frame record ({type(exc).__name__}: {exc})", number))
            continue
        if not 0 <= fm.frame < camera.frame_count:
            problems.append(
                Problem(
                    "error", path, f"frame {fm.frame} is outside the clip's frames 0..{camera.frame_count - 1}", number
                )
            )
            continue
        if fm.resolution_wh != camera.resolution_wh:
            w, h = camera.resolution_wh
            problems.append(
                Problem(
                    "error",
                    path,
                    f"frame {fm.frame} is {fm.resolution_wh[0]}x{fm.resolution_wh[1]}, the camera {w}x{h}",
                    number,
                )
            )
            continue
        lines += 1
        frames.add(fm.frame)
    return lines, frames


def check_run(path: str | Path) -> RunCheck:
    """Check a run directory (or ground-truth folder): every masks line, frame counts, status.

    Raises:
        RunDirError: not a run directory, or a manifest that cannot be read.
    """
    run = open_run(path)
    problems: list[Problem] = []
    manifest_path = run.path / "manifest.json"
    try:
        cameras = run.cameras
    except (KeyError, TypeError, ValueError) as exc:
        raise RunDirError(f"{manifest_path}: the cameras list is damaged ({exc}); the run cannot be read") from None
    state = run_state(run)
    written = dict(run.manifest.frames_written or {})
    found = []
    for name, cam in cameras.items():
        masks = run.path / "masks" / f"{name}.jsonl"
        if not masks.is_file():
            if run.status == "complete" or written.get(name):
                problems.append(Problem("error", masks, f"missing: the masks of camera {name!r} are gone"))
            found.append(CameraFrames(name, 0, 0, written.get(name), cam.frame_count))
            continue
        lines, frames = _check_masks_file(masks, cam, problems)
        found.append(CameraFrames(name, lines, len(frames), written.get(name), cam.frame_count))
        if run.status == "complete" and name in written and lines < int(written[name]):
            problems.append(
                Problem("error", masks, f"{lines} frame lines, but the manifest says {written[name]} were written")
            )
        elif run.status == "complete" and run.kind == "run" and len(frames) < cam.frame_count:
            problems.append(
                Problem(
                    "error", masks, f"{len(frames)} of camera {name!r}'s {cam.frame_count} frames; frames are missing"
                )
            )
    if state != "complete":
        done = sum(c.distinct for c in found)
        total = sum(c.frame_count for c in found)
        problems.append(Problem("warning", manifest_path, f"the run is {state}: {done} of {total} frames are written"))
    return RunCheck(run.path, run.status, state, run.kind, tuple(found), tuple(problems))


def usable_run(path: str | Path, *, what: str) -> tuple[Run, list[str]]:
    """Open a run for a reader (``what``: e.g. "export"): refuse corrupt files, return warnings to print.

    Raises:
        CorruptRunError: a damaged masks file, naming the first bad file and line.
    """
    check = check_run(path)
    errors = check.errors
    if errors:
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise CorruptRunError(
            f"{errors[0]}{more}; {what} would give a wrong answer: see `multicam check {check.path}`"
            + (f", or repair it with `multicam process --resume {check.path}`" if check.resumable else "")
        )
    warnings = [str(p) for p in check.warnings]
    if check.resumable:
        warnings.append(
            f"{what} covers the frames written so far; complete the run with `multicam process --resume {check.path}`"
        )
    return open_run(check.path), warnings


@contextlib.contextmanager
def run_lock(run_dir: str | Path) -> Iterator[None]:
    """Hold ``RUN/.lock`` while writing a run: a second writer (two ``--resume``) is refused, not interleaved.

    Raises:
        RunDirError: another process holds the lock.
    """
    import filelock

    run_dir = Path(run_dir)
    lock = filelock.FileLock(str(run_dir / LOCK_FILE), timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise RunDirError(
            f"{run_dir} is being written by another multicam process (it holds {run_dir / LOCK_FILE}); "
            f"wait for it to end or stop it, then resume"
        ) from None
    try:
        yield
    finally:
        lock.release()


def disk_full(exc: BaseException) -> bool:
    """Whether an error (or the error it was raised from) is a full disk or an exhausted quota."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False


def check_runs_dir(runs_dir: str | Path, game: str) -> None:
    """Refuse, before any work, a runs folder (or its game folder) that is a file.

    Raises:
        RunDirError: naming the file and the fix.
    """
    for folder in (Path(runs_dir), Path(runs_dir) / game):
        if folder.exists() and not folder.is_dir():
            raise RunDirError(f"{folder} is a file, not a folder of runs; move it away or pass another --runs-dir")
    for parent in Path(runs_dir).resolve().parents:
        if parent.exists():
            if not parent.is_dir():
                raise RunDirError(f"{parent} is a file, not a folder; pass another --runs-dir")
            break

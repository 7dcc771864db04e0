"""Starting ``multicam process`` from the dashboard and following it through its run manifest.

Processing runs as a separate process (``python -m multicam process ...``), so the
dashboard stays responsive and a closed browser tab does not stop it. Progress is read
from the new run directory's ``manifest.json`` (``frames_written`` per camera against each
camera's ``frame_count``, and ``status``): nothing but the run directory couples the two.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from multicam.errors import RunDirError
from multicam.rundir import MANIFEST, read_manifest

LOG_DIR = ".logs"


def process_command(
    game_path: Path,
    runs_dir: Path,
    *,
    untrained: bool = False,
    image_size: int | None = None,
    from_run: Path | None = None,
) -> list[str]:
    """The command line that processes a game into a new run under ``runs_dir``.

    With ``from_run`` (a previous complete run of the game), only the objects whose prompts
    changed are tracked again (``multicam process --from``).
    """
    cmd = [sys.executable, "-m", "multicam", "process", str(game_path), "--runs-dir", str(runs_dir)]
    if untrained:
        cmd.append("--untrained")
    if image_size:
        cmd += ["--image-size", str(int(image_size))]
    if from_run is not None:
        cmd += ["--from", str(from_run)]
    return cmd


def previous_run(runs_dir: Path, game_name: str, game_path: Path) -> Path | None:
    """The most recently finished complete run of this game file under ``runs_dir/<game>/``, or None."""
    found = []
    for name in run_dirs(runs_dir, game_name):
        path = runs_dir / game_name / name
        try:
            m = read_manifest(path / MANIFEST)
        except (OSError, RunDirError):
            continue
        recorded = m.recorded_game_path
        same_game = recorded is not None and Path(recorded).resolve() == Path(game_path).resolve()
        if m.kind == "run" and m.status == "complete" and same_game:
            found.append((m.finished_at or "", path.stat().st_mtime, path))
    return max(found)[2] if found else None


def run_dirs(runs_dir: Path, game_name: str) -> set[str]:
    """Names of the folders in ``runs_dir/<game>/`` now (runs and runs being created)."""
    folder = runs_dir / game_name
    return {p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")} if folder.is_dir() else set()


@dataclass
class ProcessJob:
    """A started processing job.

    Attributes:
        popen: the process.
        runs_dir: the runs directory it writes into.
        game_name: the game's name (its runs folder).
        before: run folders that existed before it started (to find the new one).
        log_path: its output (stdout and stderr).
        started: ``time.time()`` at start.
    """

    popen: subprocess.Popen
    runs_dir: Path
    game_name: str
    before: frozenset[str]
    log_path: Path
    started: float

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()

    def new_run(self) -> Path | None:
        """The run directory this job created, once its manifest exists."""
        new = [self.runs_dir / self.game_name / n for n in run_dirs(self.runs_dir, self.game_name) - self.before]
        new = [p for p in new if (p / MANIFEST).is_file()]
        return max(new, key=lambda p: (p / MANIFEST).stat().st_mtime) if new else None


def start_process(command: Sequence[str], runs_dir: Path, game_name: str) -> ProcessJob:
    """Start a processing command in the background, its output in ``runs_dir/<game>/.logs/``."""
    folder = runs_dir / game_name
    before = frozenset(run_dirs(runs_dir, game_name))
    log_dir = folder / LOG_DIR
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"process-{time.strftime('%Y%m%d-%H%M%S')}.log"
    with log_path.open("w", encoding="utf-8") as log:
        log.write("$ " + " ".join(command) + "\n")
        log.flush()
        popen = subprocess.Popen(
            list(command),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    return ProcessJob(
        popen=popen, runs_dir=runs_dir, game_name=game_name, before=before, log_path=log_path, started=time.time()
    )


@dataclass(frozen=True)
class RunProgress:
    """How far a run is, from its manifest.

    Attributes:
        status: ``running``, ``complete``, ``failed``, ``interrupted`` or ``unknown``.
        frames_done: frames written over all cameras.
        frames_total: frames of all cameras.
        per_camera: per camera, ``(written, total)``.
        error: the manifest's error message, if any.
    """

    status: str
    frames_done: int
    frames_total: int
    per_camera: dict[str, tuple[int, int]]
    error: str | None = None

    @property
    def fraction(self) -> float:
        """Done fraction in ``[0, 1]`` (1 once complete)."""
        if self.status == "complete":
            return 1.0
        return min(1.0, self.frames_done / self.frames_total) if self.frames_total else 0.0


def read_progress(run_path: Path) -> RunProgress:
    """A run's progress from its ``manifest.json`` (``unknown`` while it cannot be read)."""
    try:
        manifest = read_manifest(run_path / MANIFEST)
    except (OSError, RunDirError):
        return RunProgress("unknown", 0, 0, {})
    written = manifest.frames_written
    per_camera = {c.name: (written.get(c.name, 0), c.frame_count) for c in manifest.cameras}
    return RunProgress(
        status=manifest.status,
        frames_done=sum(w for w, _ in per_camera.values()),
        frames_total=sum(t for _, t in per_camera.values()),
        per_camera=per_camera,
        error=manifest.error,
    )


def log_tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log file ('' when missing); progress-bar carriage returns become lines."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.replace("\r", "\n").splitlines()[-lines:])

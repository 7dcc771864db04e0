"""The batch record, ``RUNS_DIR/_batches/<name>N/batch.json``: what a batch did, game by game.

Written atomically (:func:`multicam.io.write_json_atomic`) every time a game changes state,
so it can be read while the batch runs and says where each game stands after a crash.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from multicam.batch.spec import BatchError, GameOptions
from multicam.io import write_json_atomic
from multicam.rundir import next_run_dir

RECORD = "batch.json"
BATCHES = "_batches"
FORMAT = "multicam-batch"
FORMAT_VERSION = 1

GameStatus = Literal["pending", "running", "complete", "skipped", "failed", "interrupted"]
BatchStatus = Literal["running", "complete", "failed", "interrupted"]
DONE = ("complete", "skipped")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StepRecord(_Frozen):
    """A step after processing (``report`` or ``render``): its status, output and error."""

    status: Literal["pending", "complete", "failed", "skipped"] = "pending"
    path: str | None = None
    error: str | None = None
    seconds: float | None = None


class GameRecord(_Frozen):
    """One game of a batch.

    Attributes:
        key: the game's name in the batch (``name-2`` for a name met twice).
        game: the game file.
        action: ``new`` run, ``resume`` of an interrupted run, ``skip`` of a complete one.
        status: ``pending`` -> ``running`` -> ``complete`` / ``skipped`` / ``failed`` / ``interrupted``.
        run_dir: the run folder (also for a skipped game: the complete run it found).
        digest: the digest of what determines its masks.
        attempts: how many times a worker started it (more than 1 after a retry).
        node: the worker that ran it (host and IP).
        frames: frames written in this batch (a resumed run: the frames it added).
        frames_total: the game's sequence frames (all cameras).
        seconds: tracking time; frames_per_s: frames / seconds.
        untrained: masks from random weights.
        error: the one-line message of a failed game.
    """

    key: str
    game: str
    name: str
    options: GameOptions = GameOptions()
    action: Literal["new", "resume", "skip"] | None = None
    status: GameStatus = "pending"
    run_dir: str | None = None
    digest: str | None = None
    attempts: int = 0
    node: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    frames: int | None = None
    frames_total: int | None = None
    seconds: float | None = None
    frames_per_s: float | None = None
    untrained: bool | None = None
    error: str | None = None
    report: StepRecord | None = None
    render: StepRecord | None = None


class BatchSettings(_Frozen):
    """How a batch runs: where, with what resources per game, and what follows processing."""

    address: str | None = Field(default=None, description="Ray address; None: an embedded local Ray.")
    cpus: int | None = Field(default=None, description="CPUs of the embedded Ray (None: every core).")
    cpus_per_game: float = Field(default=1.0, ge=0)
    gpus_per_game: float = Field(default=0.0, ge=0)
    workers_per_game: int = Field(default=1, ge=1, description="Workers that share one game (1: one task).")
    max_parallel: int | None = Field(default=None, ge=1, description="Games processed at once (None: Ray decides).")
    retries: int = Field(default=2, ge=0)
    force: bool = False
    report: bool = False
    render: bool = False
    runs_dir: str = "runs"


class BatchRecord(_Frozen):
    """A whole batch: settings, sources, status and one :class:`GameRecord` per game."""

    format: Literal["multicam-batch"] = FORMAT
    format_version: int = FORMAT_VERSION
    name: str
    path: str
    status: BatchStatus = "running"
    started_at: str
    finished_at: str | None = None
    sources: list[str]
    settings: BatchSettings
    cluster: dict[str, float] = Field(default_factory=dict, description="Ray's total resources when it started.")
    games: list[GameRecord]

    def game(self, key: str) -> GameRecord:
        return next(g for g in self.games if g.key == key)

    def with_game(self, key: str, **changes) -> BatchRecord:
        """A copy with one game's fields changed."""
        games = [g.model_copy(update=changes) if g.key == key else g for g in self.games]
        return self.model_copy(update={"games": games})

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for g in self.games:
            out[g.status] = out.get(g.status, 0) + 1
        return out

    @property
    def failed(self) -> list[GameRecord]:
        return [g for g in self.games if g.status in ("failed", "interrupted")]


def new_record_dir(runs_dir: Path, name: str) -> Path:
    """``RUNS_DIR/_batches/<name>N`` with the smallest free N."""
    return next_run_dir(Path(runs_dir), BATCHES, name)


def write_record(record: BatchRecord) -> Path:
    path = Path(record.path) / RECORD
    write_json_atomic(path, record.model_dump(mode="json"))
    return path


def read_record(path: str | Path) -> BatchRecord:
    """A batch record from its folder or its ``batch.json``.

    Raises:
        BatchError: not found, not JSON or not a batch record.
    """
    path = Path(path)
    file = path / RECORD if path.is_dir() else path
    if not file.is_file():
        raise BatchError(f"batch record not found: {file} (give a RUNS_DIR/_batches/<name>N folder)")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise BatchError(f"{file}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BatchError(f"{file}: not a multicam batch record (format: {FORMAT})")
    try:
        return BatchRecord.model_validate(data)
    except ValidationError as exc:
        raise BatchError(f"{file}: not a valid batch record: {exc.errors()[0]['msg']}") from None


def list_records(runs_dir: Path) -> list[Path]:
    """Batch record folders under ``RUNS_DIR/_batches``, newest first."""
    folder = Path(runs_dir) / BATCHES
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if (p / RECORD).is_file()]
    return sorted(found, key=lambda p: (p / RECORD).stat().st_mtime, reverse=True)


def _fmt(value, spec: str = "") -> str:
    return "-" if value is None else format(value, spec)


def status_table(record: BatchRecord) -> str:
    """The record as a plain-text table, one line per game, and a summary line."""
    head = ("game", "status", "action", "tries", "frames", "fps", "time", "node", "run / error")
    rows = []
    for g in record.games:
        frames = "-" if g.frames is None else f"{g.frames}/{_fmt(g.frames_total)}"
        last = g.error if g.status in ("failed", "interrupted") and g.error else (g.run_dir or "")
        rows.append(
            (
                g.key,
                g.status + (" (untrained)" if g.untrained else ""),
                _fmt(g.action),
                str(g.attempts),
                frames,
                _fmt(g.frames_per_s, ".2f"),
                "-" if g.seconds is None else f"{g.seconds:.1f}s",
                _fmt(g.node),
                last,
            )
        )
    widths = [max(len(head[i]), *(len(r[i]) for r in rows)) if rows else len(head[i]) for i in range(len(head) - 1)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths)) + "  " + head[-1]]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1] for r in rows]
    counts = ", ".join(f"{n} {s}" for s, n in sorted(record.counts().items()))
    lines.append(f"batch {record.name}: {record.status}, {len(record.games)} games ({counts}); record {record.path}")
    return "\n".join(lines)

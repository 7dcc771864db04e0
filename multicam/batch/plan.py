"""Which games of a batch to skip, resume or start: decided from the runs already on disk.

A run records the digest of what determines its masks (``inputs_sha256`` in its manifest,
:func:`multicam.pipeline.inputs_digest`). For each game:

* a **complete** run with the game's current digest: **skip** (no SAM 2 call);
* else an interrupted, failed or still-``running`` (its process died) run with that digest:
  **resume** it in its own folder (:func:`multicam.pipeline.resume_run`);
* else: a **new** run.

``--force`` ignores runs started before the batch (``since``), so every game runs again, while a
task retried inside the same batch still resumes the run its first attempt began.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from multicam.pipeline import RESUMABLE, ProcessOptions
from multicam.rundir import MANIFEST

Action = Literal["skip", "resume", "new"]


@dataclass(frozen=True)
class RunSeen:
    """A run folder of a game as found on disk."""

    path: Path
    status: str
    digest: str | None
    started_at: str


@dataclass(frozen=True)
class Decision:
    """What to do with a game: ``skip`` or ``resume`` the run at ``run_dir``, or start a ``new`` one."""

    action: Action
    run_dir: Path | None = None


def runs_of(runs_dir: Path, game_name: str) -> list[RunSeen]:
    """The runs made by ``multicam process`` under ``runs_dir/game_name`` (unreadable folders left out)."""
    folder = Path(runs_dir) / game_name
    seen = []
    if not folder.is_dir():
        return seen
    for path in sorted(folder.iterdir()):
        try:
            m = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(m, dict) or m.get("kind", "run") != "run":
            continue
        seen.append(
            RunSeen(
                path=path,
                status=str(m.get("status")),
                digest=m.get("inputs_sha256"),
                started_at=str(m.get("started_at") or ""),
            )
        )
    return seen


def decide(runs: Sequence[RunSeen], digest: str, *, since: str | None = None) -> Decision:
    """Skip a complete run with ``digest``, else resume the newest resumable one, else start anew.

    Runs started before ``since`` (an ISO time, for ``--force``) are not considered.
    """
    mine = [r for r in runs if r.digest == digest and (since is None or r.started_at >= since)]
    mine.sort(key=lambda r: r.started_at)
    complete = [r for r in mine if r.status == "complete"]
    if complete:
        return Decision("skip", complete[-1].path)
    resumable = [r for r in mine if r.status in RESUMABLE]
    if resumable:
        return Decision("resume", resumable[-1].path)
    return Decision("new")


def process_options(options: dict, runs_dir: Path, threads: int | None) -> ProcessOptions:
    """``multicam process`` options for one game of a batch (no per-game progress bar)."""
    kwargs = {k: v for k, v in options.items() if v is not None}
    kwargs.setdefault("threads", threads)
    return ProcessOptions(**kwargs, runs_dir=Path(runs_dir), progress=False)

"""Run directories: where processing writes its results, and how they are read back.

Layout of ``runs/<game>/<name>N/``::

    manifest.json        resolved config, model, versions, device, timings, status
    masks/<camera>.jsonl one line per processed frame (see multicam.masks)
    tracks.csv           one row per object per frame per camera

Ground truth written by ``multicam synth`` has the same layout (``kind: ground_truth``),
so every reader of runs reads ground truth too.

Files are written as the run goes: every line is flushed when its frame is done, and
the manifest says ``status: running`` until the run ends (``complete``), fails
(``failed``, with the error) or is interrupted (``interrupted``). A crash leaves every
finished frame readable.
"""

from __future__ import annotations

import contextlib
import csv
import time
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from multicam.errors import RunDirError
from multicam.game import Game
from multicam.geometry import centroid_xy, foot_point_xy
from multicam.io import write_json_atomic
from multicam.manifest import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    CameraInfo,
    ObjectInfo,
    RunManifest,
    read_versioned,
)
from multicam.masks import FrameMasks, read_masks_jsonl, write_jsonl_line
from multicam.timeline import CameraTiming, Timeline

TRACKS_COLUMNS = (
    "camera",
    "frame",
    "time",
    "object_id",
    "name",
    "x0",
    "y0",
    "x1",
    "y1",
    "area",
    "centroid_x",
    "centroid_y",
    "foot_x",
    "foot_y",
    "score",
)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def next_run_dir(runs_dir: str | Path, game: str, name: str = "run") -> Path:
    """Create and return ``runs_dir/game/nameN`` with the smallest free N >= 1 (never reuses one)."""
    parent = Path(runs_dir) / game
    parent.mkdir(parents=True, exist_ok=True)
    taken = [p.name[len(name) :] for p in parent.iterdir() if p.name.startswith(name)]
    n = max([int(s) for s in taken if s.isdigit()] + [0]) + 1
    while True:
        candidate = parent / f"{name}{n}"
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            n += 1


class RunWriter:
    """Writes a run directory as frames arrive.

    Args:
        path: the (new, empty) run directory.
        manifest: initial manifest fields (config, model, game...; see :class:`RunManifest`).
        cameras: the game's cameras.
        objects: the objects tracked.
        kind: ``run`` or ``ground_truth``.

    Use as a context manager: leaving it normally marks the run ``complete``; an exception
    marks it ``failed`` (or ``interrupted`` for Ctrl-C) and re-raises.
    """

    def __init__(
        self,
        path: str | Path,
        manifest: Mapping[str, Any] | RunManifest,
        cameras: list[CameraInfo],
        objects: list[ObjectInfo],
        kind: str = "run",
    ):
        self.path = Path(path)
        (self.path / "masks").mkdir(parents=True, exist_ok=True)
        self.cameras = {c.name: c for c in cameras}
        self.names = {o.object_id: o.name for o in objects}
        fields = manifest.model_dump(exclude_unset=True) if isinstance(manifest, RunManifest) else dict(manifest)
        self._frames_written = {c.name: 0 for c in cameras}
        self.manifest = RunManifest.model_validate(
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "kind": kind,
                **fields,
                "cameras": list(cameras),
                "objects": list(objects),
                "status": "running",
                "started_at": now_iso(),
                "finished_at": None,
                "frames_written": dict(self._frames_written),
            }
        )
        self._t0 = time.perf_counter()
        self._mask_files = {
            c.name: (self.path / "masks" / f"{c.name}.jsonl").open("a", encoding="utf-8") for c in cameras
        }
        new_tracks = not (self.path / "tracks.csv").exists()
        self._tracks_fh = (self.path / "tracks.csv").open("a", encoding="utf-8", newline="")
        self._tracks = csv.writer(self._tracks_fh)
        if new_tracks:
            self._tracks.writerow(TRACKS_COLUMNS)
            self._tracks_fh.flush()
        self._last_manifest_write = 0.0
        self.write_manifest()

    @property
    def frames_written(self) -> dict[str, int]:
        """Frames written so far per camera (a copy)."""
        return dict(self._frames_written)

    def update(self, **fields: Any) -> None:
        """Set manifest fields, checked by :class:`RunManifest` (written at the next frame or at the end)."""
        if "frames_written" in fields:
            self._frames_written = {**self._frames_written, **fields["frames_written"]}
        self.manifest = self.manifest.updated(**fields)

    def clear(self, *names: str) -> None:
        """Remove manifest fields (they are left out of the file)."""
        data = self.manifest.model_dump(exclude_unset=True)
        self.manifest = RunManifest.model_validate({k: v for k, v in data.items() if k not in names})

    def write_manifest(self) -> None:
        self.manifest = self.manifest.updated(frames_written=dict(self._frames_written))
        write_json_atomic(self.path / MANIFEST, self.manifest.to_json())
        self._last_manifest_write = time.perf_counter()

    def write(self, frame_masks: FrameMasks) -> None:
        """Append one camera frame's masks to ``masks/<camera>.jsonl`` and ``tracks.csv``."""
        cam = frame_masks.camera
        if cam not in self._mask_files:
            raise RunDirError(f"camera {cam!r} is not part of this run ({sorted(self._mask_files)})")
        write_jsonl_line(self._mask_files[cam], frame_masks)
        for obj in frame_masks.objects:
            if obj.box_xyxy is None:
                continue
            x0, y0, x1, y1 = obj.box_xyxy
            crop = obj.decode()[y0:y1, x0:x1]  # centroid and foot on the box: same values, less work
            c = centroid_xy(crop)
            f = foot_point_xy(crop)
            c = (c[0] + x0, c[1] + y0)
            f = (f[0] + x0, f[1] + y0)
            self._tracks.writerow(
                [
                    cam,
                    frame_masks.frame,
                    f"{frame_masks.time:.6f}",
                    obj.object_id,
                    self.names.get(obj.object_id, ""),
                    x0,
                    y0,
                    x1,
                    y1,
                    obj.area,
                    f"{c[0]:.2f}",
                    f"{c[1]:.2f}",
                    f"{f[0]:.2f}",
                    f"{f[1]:.2f}",
                    "" if obj.score is None else f"{obj.score:.4f}",
                ]
            )
        self._tracks_fh.flush()
        self._frames_written[cam] = self._frames_written.get(cam, 0) + 1
        if time.perf_counter() - self._last_manifest_write > 2.0:
            self.write_manifest()

    def close(self, status: str = "complete", error: str | None = None) -> None:
        for fh in self._mask_files.values():
            fh.close()
        self._tracks_fh.close()
        timings = self.manifest.timings.model_dump(exclude_unset=True)
        fields: dict[str, Any] = {
            "status": status,
            "finished_at": now_iso(),
            "timings": {**timings, "wall_s": round(time.perf_counter() - self._t0, 3)},
        }
        if error is not None:
            fields["error"] = error
        self.update(**fields)
        self.write_manifest()

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close("complete")
            return
        # the error that stopped the run matters more than a failure to record it (e.g. the disk is full):
        # a manifest left `running` is reported as crashed and resumable by `multicam check`
        with contextlib.suppress(OSError):
            if issubclass(exc_type, KeyboardInterrupt):
                self.close("interrupted", str(exc) or "interrupted by the user")
            else:
                self.close("failed", f"{exc_type.__name__}: {exc}")


class Run:
    """A run directory (or ground truth) read back.

    Attributes:
        path: the directory.
        manifest: its ``manifest.json`` (:class:`RunManifest`).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_dir():
            raise RunDirError(f"run directory not found: {self.path}")
        self.manifest: RunManifest = read_manifest(self.path / MANIFEST)

    @property
    def kind(self) -> str:
        return self.manifest.kind

    @property
    def status(self) -> str:
        return self.manifest.status

    @property
    def is_complete(self) -> bool:
        return self.status == "complete"

    @property
    def untrained(self) -> bool:
        """True when the masks came from random weights (a mechanics check, not a result)."""
        return self.manifest.untrained

    @property
    def game_name(self) -> str:
        return self.manifest.game_name or self.path.parent.name

    @property
    def reference(self) -> str:
        return str(self.manifest.game_reference)

    @property
    def cameras(self) -> dict[str, CameraInfo]:
        return {c.name: c for c in self.manifest.cameras}

    @property
    def objects(self) -> dict[int, ObjectInfo]:
        return {o.object_id: o for o in self.manifest.objects}

    def game_path(self) -> Path | None:
        """The game file this run (or ground-truth folder) belongs to, or ``None`` when unknown.

        A run's manifest records it (``game.path``, or ``game_path`` of older runs); for a
        ground-truth folder, the YAML files beside the folder are searched for a game whose
        ``ground_truth:`` is that folder.
        """
        recorded = self.manifest.recorded_game_path
        if recorded is not None:
            return recorded
        from multicam.game import load_game

        folder = self.path.resolve()
        for candidate in sorted(folder.parent.glob("*.y*ml")):
            try:
                game = load_game(candidate)
            except Exception:  # not a game file (e.g. prompts.yaml): keep looking
                continue
            if game.ground_truth_path is not None and game.ground_truth_path.resolve() == folder:
                return candidate
        return None

    def game(self, path: str | Path | None = None) -> Game:
        """The game file this run belongs to, loaded (``path`` overrides the recorded one).

        Raises:
            RunDirError: the manifest does not say which game (and ``path`` is not given).
            GameFileError, ClipError: the game file or what it names is missing or wrong.
        """
        from multicam.game import load_game

        found = Path(path) if path is not None else self.game_path()
        if found is None:
            raise RunDirError(
                f"{self.path}: the manifest does not say which game it belongs to; "
                f"pass the game file with --game GAME.yaml"
            )
        return load_game(found)

    def timeline(self) -> Timeline:
        """The run's cameras on the game clock (offsets as resolved when the run was made)."""
        cams = tuple(
            CameraTiming(name=c.name, fps=c.fps, frame_count=c.frame_count, offset=c.offset)
            for c in self.manifest.cameras
        )
        if not cams:
            raise RunDirError(f"{self.path}: the manifest lists no cameras")
        reference = self.manifest.game_reference
        return Timeline(cameras=cams, reference=reference if reference in self.cameras else cams[0].name)

    def iter_frames(self, camera: str) -> Iterator[FrameMasks]:
        """Yield a camera's frames in the order they were written."""
        if camera not in self.cameras:
            raise RunDirError(f"unknown camera {camera!r}; this run has {sorted(self.cameras)}")
        path = self.path / "masks" / f"{camera}.jsonl"
        if not path.exists():
            return
        yield from read_masks_jsonl(path, camera)

    def frames(self, camera: str) -> dict[int, FrameMasks]:
        """A camera's frames by 0-based frame index (the last write of a frame wins)."""
        return {fm.frame: fm for fm in self.iter_frames(camera)}

    def frame(self, camera: str, frame: int) -> FrameMasks | None:
        return self.frames(camera).get(frame)


def read_manifest(path: str | Path) -> RunManifest:
    """Read and check a ``manifest.json``.

    Raises:
        RunDirError: missing, not JSON, not a multicam manifest, written by a newer multicam,
            or a field the schema rejects (the message names it).
    """
    path = Path(path)
    if not path.is_file():
        raise RunDirError(
            f"{path.parent} is not a run directory (no {MANIFEST}); "
            f"pass a folder made by `multicam process` or `multicam synth`"
        )
    return read_versioned(
        path,
        RunManifest,
        fmt=FORMAT,
        version=FORMAT_VERSION,
        what="a multicam run manifest",
        error=RunDirError,
        fix="pass a folder made by `multicam process` or `multicam synth`",
    )


def open_run(path: str | Path) -> Run:
    """Read a run directory or a ground-truth folder."""
    return Run(path)

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
import json
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from multicam.errors import RunDirError
from multicam.geometry import centroid_xy, foot_point_xy
from multicam.masks import FrameMasks, read_masks_jsonl, write_jsonl_line

MANIFEST = "manifest.json"
FORMAT = "multicam-run"
FORMAT_VERSION = 1
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


@dataclass(frozen=True)
class ObjectInfo:
    """An object tracked in a run: id, name and optional team."""

    object_id: int
    name: str
    team: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.object_id, "name": self.name, "team": self.team}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ObjectInfo:
        return cls(object_id=int(data["id"]), name=str(data["name"]), team=data.get("team"))


@dataclass(frozen=True)
class CameraInfo:
    """A camera as recorded in a run: resolution, rate, frame count, offset on the game clock."""

    name: str
    resolution_wh: tuple[int, int]
    fps: float
    frame_count: int
    offset: float

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "resolution_wh": list(self.resolution_wh),
            "fps": self.fps,
            "frame_count": self.frame_count,
            "offset": self.offset,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CameraInfo:
        w, h = data["resolution_wh"]
        return cls(
            name=str(data["name"]),
            resolution_wh=(int(w), int(h)),
            fps=float(data["fps"]),
            frame_count=int(data["frame_count"]),
            offset=float(data["offset"]),
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


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON through a temporary file and rename, so readers never see half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


class RunWriter:
    """Writes a run directory as frames arrive.

    Args:
        path: the (new, empty) run directory.
        manifest: initial manifest content (config, model, cameras, objects...).
        cameras: the game's cameras.
        objects: the objects tracked.

    Use as a context manager: leaving it normally marks the run ``complete``; an exception
    marks it ``failed`` (or ``interrupted`` for Ctrl-C) and re-raises.
    """

    def __init__(
        self,
        path: str | Path,
        manifest: Mapping[str, Any],
        cameras: list[CameraInfo],
        objects: list[ObjectInfo],
        kind: str = "run",
    ):
        self.path = Path(path)
        (self.path / "masks").mkdir(parents=True, exist_ok=True)
        self.cameras = {c.name: c for c in cameras}
        self.names = {o.object_id: o.name for o in objects}
        self.manifest: dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "kind": kind,
            **dict(manifest),
            "cameras": [c.to_json() for c in cameras],
            "objects": [o.to_json() for o in objects],
            "status": "running",
            "started_at": now_iso(),
            "finished_at": None,
            "frames_written": {c.name: 0 for c in cameras},
        }
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

    def update(self, **fields: Any) -> None:
        """Merge fields into the manifest (written at the next frame or at the end)."""
        self.manifest.update(fields)

    def write_manifest(self) -> None:
        write_json_atomic(self.path / MANIFEST, self.manifest)
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
        self.manifest["frames_written"][cam] = self.manifest["frames_written"].get(cam, 0) + 1
        if time.perf_counter() - self._last_manifest_write > 2.0:
            self.write_manifest()

    def close(self, status: str = "complete", error: str | None = None) -> None:
        for fh in self._mask_files.values():
            fh.close()
        self._tracks_fh.close()
        self.manifest["status"] = status
        self.manifest["finished_at"] = now_iso()
        self.manifest.setdefault("timings", {})["wall_s"] = round(time.perf_counter() - self._t0, 3)
        if error is not None:
            self.manifest["error"] = error
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
        manifest: the parsed ``manifest.json``.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        manifest = self.path / MANIFEST
        if not self.path.is_dir():
            raise RunDirError(f"run directory not found: {self.path}")
        if not manifest.is_file():
            raise RunDirError(
                f"{self.path} is not a run directory (no {MANIFEST}); "
                f"pass a folder made by `multicam process` or `multicam synth`"
            )
        try:
            self.manifest: dict[str, Any] = json.loads(manifest.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8 text"
            raise RunDirError(f"{manifest}: not valid JSON ({reason})") from None
        if not isinstance(self.manifest, dict) or self.manifest.get("format") != FORMAT:
            raise RunDirError(f"{manifest}: not a multicam run manifest")
        version = self.manifest.get("format_version", FORMAT_VERSION)
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise RunDirError(
                f"{manifest}: format_version {version!r} was written by a newer multicam "
                f"(this one reads version {FORMAT_VERSION}); upgrade multicam to read this run"
            )

    @property
    def kind(self) -> str:
        return str(self.manifest.get("kind", "run"))

    @property
    def status(self) -> str:
        return str(self.manifest.get("status", "unknown"))

    @property
    def is_complete(self) -> bool:
        return self.status == "complete"

    @property
    def untrained(self) -> bool:
        """True when the masks came from random weights (a mechanics check, not a result)."""
        return bool((self.manifest.get("model") or {}).get("untrained", False))

    @property
    def game_name(self) -> str:
        return str(self.manifest.get("game", {}).get("name", self.path.parent.name))

    @property
    def reference(self) -> str:
        return str(self.manifest.get("reference") or self.manifest.get("game", {}).get("reference"))

    @property
    def cameras(self) -> dict[str, CameraInfo]:
        return {c["name"]: CameraInfo.from_json(c) for c in self.manifest["cameras"]}

    @property
    def objects(self) -> dict[int, ObjectInfo]:
        return {int(o["id"]): ObjectInfo.from_json(o) for o in self.manifest.get("objects", [])}

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


def open_run(path: str | Path) -> Run:
    """Read a run directory or a ground-truth folder."""
    return Run(path)

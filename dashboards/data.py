"""Data access for the dashboard: allowed folders, games, runs, reports and cached frames.

Everything the dashboard reads or writes goes through :func:`check_path`, which refuses a
path outside the folders the dashboard was started with (the runs directory and the
folder of each ``--game`` file). The configuration travels from ``multicam dashboard`` to
the Streamlit process in the ``MULTICAM_DASHBOARD`` environment variable (JSON).

Functions without a Streamlit decorator are plain and testable; the ``cached_*`` ones
wrap them in ``st.cache_data`` / ``st.cache_resource`` so that scrubbing stays responsive:
decoded clips and mask indexes are kept as resources, and annotated frames as encoded
JPEG bytes keyed by clip, frame and overlay settings.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import streamlit as st

from multicam.clips import Clip, probe_clip
from multicam.errors import MulticamError
from multicam.game import Game, load_game
from multicam.masks import FrameMasks
from multicam.render import OverlayStyle, annotate_frame, banner_for
from multicam.report.record import ReportRecord, read_report
from multicam.rundir import MANIFEST, Run, open_run
from multicam.session import clips_timeline
from multicam.timeline import CameraTiming, Timeline

ENV_VAR = "MULTICAM_DASHBOARD"
REPORT_FILE = Path("report") / "report.json"


class PathNotAllowed(MulticamError):
    """A path outside the folders the dashboard was started with."""


# -- configuration and allowed folders ----------------------------------------------------------


@dataclass(frozen=True)
class DashboardConfig:
    """What the dashboard may read and write.

    Attributes:
        runs_dir: the runs directory (``runs/<game>/<name>N``).
        games: the game files it was started with.
    """

    runs_dir: Path
    games: tuple[Path, ...] = ()
    read_only: bool = False

    @property
    def roots(self) -> tuple[Path, ...]:
        """The allowed folders: the runs directory and each game file's folder (resolved)."""
        roots = [self.runs_dir.resolve()] + [g.resolve().parent for g in self.games]
        return tuple(dict.fromkeys(roots))

    def to_env(self) -> str:
        return json.dumps({"runs_dir": str(self.runs_dir.resolve()), "games": [str(g.resolve()) for g in self.games]})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DashboardConfig:
        """Read the configuration from ``MULTICAM_DASHBOARD``; default: ``./runs`` and no games."""
        environ = os.environ if environ is None else environ
        raw = environ.get(ENV_VAR)
        if not raw:
            return cls(runs_dir=Path("runs").resolve())
        try:
            data = json.loads(raw)
            return cls(
                runs_dir=Path(data["runs_dir"]),
                games=tuple(Path(g) for g in data.get("games", [])),
                read_only=bool(data.get("read_only", False)),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise MulticamError(
                f"{ENV_VAR} is not valid dashboard configuration JSON ({exc}); "
                f"start the dashboard with `multicam dashboard`"
            ) from None


def is_inside(path: Path, roots: Sequence[Path]) -> bool:
    """Whether ``path`` (resolved, symlinks followed) lies in one of ``roots``."""
    p = Path(path).expanduser().resolve()
    return any(p == r or p.is_relative_to(r) for r in roots)


def check_path(path: str | Path, roots: Sequence[Path], what: str = "path") -> Path:
    """The resolved path, or :class:`PathNotAllowed` when it lies outside every allowed folder."""
    text = str(path).strip()
    if not text:
        raise PathNotAllowed(f"{what}: no path given")
    p = Path(text).expanduser().resolve()
    if not is_inside(p, roots):
        allowed = ", ".join(str(r) for r in roots) or "(none)"
        raise PathNotAllowed(
            f"{what} {p} is outside the folders this dashboard may use ({allowed}); "
            f"restart `multicam dashboard` with that runs directory or with --game for that game"
        )
    return p


def check_game_paths(game: Game, roots: Sequence[Path]) -> None:
    """Refuse a game file that names clips, prompts, calibration or ground truth outside ``roots``."""
    named: list[tuple[str, Path | None]] = [
        (f"cameras.{cam.name}.video", game.video_path(cam.name)) for cam in game.config.cameras
    ]
    named += [
        ("prompts", game.prompts_path),
        ("calibration", game.calibration_path),
        ("ground_truth", game.ground_truth_path),
    ]
    for field_name, p in named:
        if p is not None:
            check_path(p, roots, f"{game.path}: {field_name}:")


def load_allowed_game(path: str | Path, roots: Sequence[Path]) -> Game:
    """Load a game file that lies, with every file it names, inside the allowed folders."""
    game = load_game(check_path(path, roots, "game file"))
    check_game_paths(game, roots)
    return game


# -- runs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunEntry:
    """A run (or the ground truth) that can be reviewed.

    Attributes:
        path: the run directory.
        label: what the selector shows.
        kind: ``"ground_truth"`` or ``"run"``.
        status: the manifest's status (``running``, ``complete``, ...).
        untrained: masks from random weights.
    """

    path: Path
    label: str
    kind: str
    status: str
    untrained: bool


def _run_sort_key(p: Path) -> tuple[str, int]:
    digits = "".join(ch for ch in p.name if ch.isdigit())
    return p.name.rstrip("0123456789"), int(digits) if digits else -1


def list_runs(game: Game, runs_dir: Path, roots: Sequence[Path]) -> list[RunEntry]:
    """The game's ground truth (first, when it has one) and its runs in ``runs_dir/<game>/``, oldest first."""
    entries: list[RunEntry] = []
    gt = game.ground_truth_path
    if gt is not None and is_inside(gt, roots) and (gt / MANIFEST).is_file():
        run = open_run(gt)
        entries.append(RunEntry(gt.resolve(), "ground truth", "ground_truth", run.status, False))
    folder = runs_dir / game.name
    if folder.is_dir():
        found = (d for d in folder.iterdir() if (d / MANIFEST).is_file() and is_inside(d, roots))  # no symlinks out
        for p in sorted(found, key=_run_sort_key):
            try:
                run = open_run(p)
            except MulticamError:
                continue  # half-created run: shown once its manifest is readable
            tag = " UNTRAINED" if run.untrained else ""
            status = "" if run.status == "complete" else f" ({run.status})"
            entries.append(RunEntry(p.resolve(), f"{p.name}{tag}{status}", run.kind, run.status, run.untrained))
    return entries


def default_run(entries: Sequence[RunEntry]) -> RunEntry | None:
    """The newest complete run, else the ground truth, else the newest entry."""
    runs = [e for e in entries if e.kind != "ground_truth" and e.status == "complete"]
    if runs:
        return runs[-1]
    gts = [e for e in entries if e.kind == "ground_truth"]
    return gts[0] if gts else (entries[-1] if entries else None)


def mtime(path: Path) -> float:
    """Modification time of a file (0 when missing): a cache key that changes as a run grows."""
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


# -- timing -------------------------------------------------------------------------------------


def game_timeline(game: Game) -> Timeline:
    """A timeline from the game file's clips (offsets ``auto`` count as 0 until a run resolves them)."""
    return clips_timeline(game, {cam: probe_clip(game.video_path(cam)) for cam in game.config.camera_names})


def time_step(timeline: Timeline) -> float:
    """One tick of the fastest camera, in seconds."""
    return 1.0 / max(c.fps for c in timeline.cameras)


def tick_times(timeline: Timeline) -> tuple[float, float, float]:
    """``(first, last, step)`` of the slider: ticks of the fastest camera over the whole game."""
    step = time_step(timeline)
    n = max(1, math.ceil((timeline.end - timeline.start) / step - 1e-9))
    return round(timeline.start, 6), round(timeline.start + (n - 1) * step, 6), step


def snap_time(time: float, timeline: Timeline) -> float:
    """A game time snapped to the slider's tick grid and clamped to the game."""
    first, last, step = tick_times(timeline)
    k = round((time - first) / step)
    return round(min(max(first + k * step, first), last), 6)


@dataclass(frozen=True)
class CameraMoment:
    """One camera at one game time: the frame it shows (``None`` outside its clip)."""

    camera: str
    frame: int | None
    frame_time: float | None


def moments_at(timeline: Timeline, time: float) -> list[CameraMoment]:
    """Every camera's nearest frame at a game time, in timeline order."""
    out = []
    for cam in timeline.cameras:
        f = cam.frame_at(time)
        out.append(CameraMoment(cam.name, f, None if f is None else cam.time_of(f)))
    return out


# -- frames -------------------------------------------------------------------------------------


def encode_image(image_rgb: np.ndarray, fmt: str = ".jpg", quality: int = 88) -> bytes:
    """Encode an RGB image as JPEG (default) or PNG bytes with OpenCV."""
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)] if fmt == ".jpg" else []
    ok, buf = cv2.imencode(fmt, np.ascontiguousarray(image_rgb[..., ::-1]), params)
    if not ok:
        raise ValueError(f"could not encode a {image_rgb.shape} image as {fmt}")
    return buf.tobytes()


def style_key(style: OverlayStyle) -> tuple:
    """A plain, hashable form of an :class:`OverlayStyle` for cache keys."""
    ids = None if style.visible_ids is None else tuple(sorted(style.visible_ids))
    return (round(style.opacity, 3), style.mode, style.labels, style.boxes, ids)


def style_from_key(key: tuple) -> OverlayStyle:
    opacity, mode, labels, boxes, ids = key
    return OverlayStyle(
        opacity=opacity, mode=mode, labels=labels, boxes=boxes, visible_ids=None if ids is None else frozenset(ids)
    )


@st.cache_resource(max_entries=32, show_spinner=False)
def cached_clip(path: str) -> Clip:
    """A lazy clip reader kept across reruns (one per file)."""
    return Clip(path, info=probe_clip(path), cache_size=8)


@st.cache_resource(max_entries=64, show_spinner=False)
def cached_masks(run_path: str, camera: str, version: float) -> dict[int, FrameMasks]:
    """A camera's masks by frame; ``version`` (the file's mtime) refreshes a growing run."""
    run = open_run(run_path)
    return run.frames(camera) if camera in run.cameras else {}


@st.cache_resource(max_entries=64, show_spinner=False)
def cached_run(run_path: str, version: float) -> Run:
    return open_run(run_path)


@st.cache_data(max_entries=64, show_spinner=False)
def cached_run_problems(run_path: str, version: tuple[float, ...]) -> tuple[list[str], list[str]]:
    """(errors, warnings) of :func:`multicam.integrity.check_run`, re-checked when a file of the run changes."""
    from multicam.integrity import check_run

    check = check_run(run_path)
    return [str(p) for p in check.errors], [f"{check.verdict}"] if check.state != "complete" else []


def run_problems(run: Run) -> tuple[list[str], list[str]]:
    """A run's damaged lines (errors) and, for an incomplete run, its state (warnings)."""
    files = [run.path / MANIFEST] + sorted((run.path / "masks").glob("*.jsonl"))
    return cached_run_problems(str(run.path), tuple(mtime(f) for f in files))


def load_run(path: Path) -> Run:
    """A run, re-read when its manifest changes."""
    return cached_run(str(path), mtime(path / MANIFEST))


@st.cache_resource(max_entries=16, show_spinner=False)
def cached_game_timeline(game_path: str, version: float) -> Timeline:
    return game_timeline(load_game(game_path))


def masks_for(run: Run | None, camera: str) -> dict[int, FrameMasks]:
    if run is None:
        return {}
    return cached_masks(str(run.path), camera, mtime(run.path / "masks" / f"{camera}.jsonl"))


def render_tile(
    image: np.ndarray,
    masks: FrameMasks | None,
    run: Run | None,
    style: OverlayStyle,
    ground_truth: FrameMasks | None = None,
) -> np.ndarray:
    """A camera frame with the run's masks drawn, and the untrained banner when it applies."""
    objects = run.objects if run is not None else {}
    banner = banner_for(run) if run is not None else None
    return annotate_frame(image, masks, objects, style, ground_truth=ground_truth, banner=banner)


@st.cache_data(max_entries=1024, show_spinner=False)
def tile_jpeg(
    clip_path: str, frame: int, run_path: str | None, camera: str, style: tuple, gt_path: str | None, versions: tuple
) -> bytes:
    """The annotated frame as JPEG bytes, cached by clip, frame, run, overlay settings and file versions."""
    image = cached_clip(clip_path).frame(frame)
    run = cached_run(run_path, versions[0]) if run_path else None
    masks = masks_for(run, camera).get(frame) if run is not None else None
    gt = None
    if gt_path:
        gt_run = cached_run(gt_path, versions[1])
        gt = masks_for(gt_run, camera).get(frame)
    return encode_image(render_tile(image, masks, run, style_from_key(style), gt))


def frame_jpeg(clip_path: str, frame: int) -> bytes:
    """A plain frame as JPEG bytes (cached)."""
    return tile_jpeg(clip_path, frame, None, "", style_key(OverlayStyle()), None, (0.0, 0.0))


def timeline_for(run: Run | None, game: Game) -> Timeline:
    """The run's timeline (offsets as the run resolved them), else the game file's."""
    if run is not None:
        try:
            return run.timeline()
        except MulticamError:
            pass
    return cached_game_timeline(str(game.path), mtime(game.path))


def frame_table(
    moments: Sequence[CameraMoment], run: Run | None, visible_ids: frozenset[int] | None = None
) -> list[dict[str, Any]]:
    """One row per object per camera at the current moment: ids, names, score, area and box."""
    rows: list[dict[str, Any]] = []
    if run is None:
        return rows
    objects = run.objects
    for m in moments:
        if m.frame is None:
            continue
        fm = masks_for(run, m.camera).get(m.frame)
        if fm is None:
            continue
        for obj in fm.objects:
            if visible_ids is not None and obj.object_id not in visible_ids:
                continue
            info = objects.get(obj.object_id)
            rows.append(
                {
                    "camera": m.camera,
                    "frame": m.frame,
                    "id": obj.object_id,
                    "name": info.name if info else "",
                    "team": (info.team or "") if info else "",
                    "score": obj.score,
                    "area": obj.area,
                    "box_xyxy": "" if obj.box_xyxy is None else " ".join(str(v) for v in obj.box_xyxy),
                }
            )
    return rows


# -- reports ------------------------------------------------------------------------------------


def load_report(run_path: Path) -> ReportRecord | None:
    """``<run>/report/report.json`` read, or ``None`` when the run has no report yet.

    Raises:
        MulticamError: a report that cannot be read (the message says to run ``multicam report`` again).
    """
    path = run_path / REPORT_FILE
    return read_report(path) if path.is_file() else None


@dataclass(frozen=True)
class PresenceSpan:
    """An object visible in a camera from ``start`` to ``end`` (game seconds)."""

    object_id: int
    camera: str
    start: float
    end: float


def presence_spans(frames: Mapping[int, FrameMasks], camera: CameraTiming) -> list[PresenceSpan]:
    """Contiguous spans of frames where each object has a mask, from a camera's masks."""
    spans: list[PresenceSpan] = []
    open_: dict[int, tuple[int, int]] = {}
    for f in sorted(frames):
        ids = set(frames[f].object_ids)
        for oid in list(open_):
            s, last = open_[oid]
            if oid not in ids or f != last + 1:
                spans.append(PresenceSpan(oid, camera.name, camera.time_of(s), camera.time_of(last + 1)))
                del open_[oid]
        for oid in ids:
            if oid in open_:
                open_[oid] = (open_[oid][0], f)
            else:
                open_[oid] = (f, f)
    for oid, (s, last) in open_.items():
        spans.append(PresenceSpan(oid, camera.name, camera.time_of(s), camera.time_of(last + 1)))
    return sorted(spans, key=lambda s: (s.object_id, s.camera, s.start))


def report_presence(report: ReportRecord, timeline: Timeline) -> list[PresenceSpan]:
    """Presence spans from a report's ``presence`` segments.

    Segment frames (inclusive) become game seconds with the timeline's camera timing (the report's
    ``cameras`` fps and offset for a camera the timeline lacks).
    """
    spans = []
    for cam, per_object in report.presence.items():
        if cam in timeline.names:
            timing = timeline.camera(cam)
        elif cam in report.cameras:
            info = report.cameras[cam]
            timing = CameraTiming(cam, info.fps, info.frame_count, info.offset)
        else:
            continue
        for oid, entry in per_object.items():
            for seg in entry.segments:
                spans.append(
                    PresenceSpan(int(oid), cam, timing.time_of(seg.start_frame), timing.time_of(seg.end_frame + 1))
                )
    return sorted(spans, key=lambda s: (s.object_id, s.camera, s.start))

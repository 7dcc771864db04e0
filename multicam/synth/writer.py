"""Writing a synthetic game: clips (H.264 + AAC via PyAV), ground truth, prompts, calibration, game file.

Frames are streamed: each camera frame is rendered, encoded and its ground-truth line written
before the next is drawn, so a game of any length needs memory for a few frames only.
"""

from __future__ import annotations

import csv
import json
import logging
import re
import shutil
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from multicam.errors import MulticamError
from multicam.game import GameConfig
from multicam.masks import FrameMasks, ObjectMask, encode_rle, mask_box_xyxy
from multicam.prompts import ObjectPrompts, Prompt, PromptsFile, save_prompts
from multicam.rundir import CameraInfo, ObjectInfo, RunWriter
from multicam.synth.audio import SAMPLE_RATE, ClipAudio
from multicam.synth.cameras import PinholeCamera, make_cameras
from multicam.synth.config import SynthConfig
from multicam.synth.render import CameraRenderer, court_texture, render_background
from multicam.synth.scene import Event, ObjectSpec, Scene

log = logging.getLogger(__name__)

GAME_FILE = "game.yaml"
PROMPTS_FILE = "prompts.yaml"
CALIBRATION_FILE = "calibration.json"
GROUND_TRUTH_DIR = "ground_truth"
POSITIONS_FILE = "positions.csv"
CLIPS_DIR = "clips"
BLUR_SAMPLES = 5
NOISE_BANK = 8
MODEL_NAME = "sam2.1_hiera_tiny"
PRESET = "veryfast"  # x264 speed preset: about twice as fast as medium at this quality


class ClipWriter:
    """An H.264 (yuv420p) MP4 with an optional mono AAC track, written frame by frame.

    Args:
        path: the MP4 file.
        resolution_wh: ``(W, H)``, even numbers.
        fps: frames per second.
        crf: x264 constant rate factor.
        audio: the clip's audio source, or None for a silent (audio-less) clip.
    """

    def __init__(self, path: Path, resolution_wh: tuple[int, int], fps: float, crf: int, audio: ClipAudio | None):
        import av

        self.container = av.open(str(path), mode="w", options={"movflags": "+faststart"})
        self.rate = Fraction(fps).limit_denominator(1001)
        self.video = self.container.add_stream("libx264", rate=self.rate)
        self.video.width, self.video.height = resolution_wh
        self.video.pix_fmt = "yuv420p"
        self.video.options = {"crf": str(int(crf)), "preset": PRESET}
        self.audio = audio
        self.audio_stream = None
        if audio is not None:
            self.audio_stream = self.container.add_stream("aac", rate=SAMPLE_RATE, layout="mono")
        self.frames = 0

    def write(self, rgb: np.ndarray) -> None:
        """Encode one RGB (H, W, 3) uint8 frame, and the audio that plays during it."""
        import av

        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts = self.frames
        self.container.mux(self.video.encode(frame))
        self.frames += 1
        if self.audio is not None:
            start = self.audio.position
            stop = int(round(self.frames / self.rate * SAMPLE_RATE))
            samples = self.audio.chunk(stop)
            if samples.size:
                aframe = av.AudioFrame.from_ndarray(samples[None, :], format="fltp", layout="mono")
                aframe.sample_rate = SAMPLE_RATE
                aframe.pts = start
                aframe.time_base = Fraction(1, SAMPLE_RATE)
                self.container.mux(self.audio_stream.encode(aframe))

    def close(self) -> None:
        self.container.mux(self.video.encode(None))
        if self.audio_stream is not None:
            self.container.mux(self.audio_stream.encode(None))
        self.container.close()


def prompt_points(mask: np.ndarray) -> tuple[tuple[float, float], tuple[float, float]]:
    """Two positive clicks inside a non-empty mask: its most interior pixel, and another far from it.

    Returns pixel centres ``(x + 0.5, y + 0.5)``.
    """
    padded = np.pad(mask.astype(np.uint8), 1)
    dist = cv2.distanceTransform(padded, cv2.DIST_L2, 3)[1:-1, 1:-1]
    y1, x1 = np.unravel_index(int(np.argmax(dist)), dist.shape)
    ys, xs = np.nonzero(mask)
    if xs.size == 1:
        return (x1 + 0.5, y1 + 0.5), (x1 + 0.5, y1 + 0.5)
    far = np.hypot(xs - x1, ys - y1)
    extent = max(ys.max() - ys.min(), xs.max() - xs.min()) + 1
    # prefer interior pixels at least a third of the object's extent away from the first click
    score = dist[ys, xs] + np.where(far >= extent / 3, 1000.0, far / max(extent, 1))
    score[(xs == x1) & (ys == y1)] = -1.0
    k = int(np.argmax(score))
    return (x1 + 0.5, y1 + 0.5), (float(xs[k]) + 0.5, float(ys[k]) + 0.5)


class _PromptChooser:
    """Per object, the earliest frame where it is clearly visible (big enough, barely occluded, not cut by the border)."""

    def __init__(self, objects: list[ObjectSpec], reference: str):
        self.objects = objects
        self.reference = reference
        self.clear: dict[int, tuple[str, int, np.ndarray]] = {}
        self.fallback: dict[int, tuple[float, str, int, np.ndarray]] = {}

    @staticmethod
    def min_area(obj: ObjectSpec, resolution_wh: tuple[int, int]) -> float:
        w, h = resolution_wh
        return max(4.0, 1.2e-5 * w * h) if obj.team is None else max(30.0, 1.5e-4 * w * h)

    def pending(self) -> bool:
        return len(self.clear) < len(self.objects)

    def observe(self, camera: str, frame: int, time: float, ids: np.ndarray, renderer: CameraRenderer) -> None:
        if camera != self.reference and not self.pending():
            return
        h, w = ids.shape
        for index, obj in enumerate(self.objects):
            if obj.object_id in self.clear:
                continue
            visible = ids == obj.object_id
            area = int(visible.sum())
            if area == 0:
                continue
            solo = int((renderer.render_ids(time, only=index) == obj.object_id).sum())
            fraction = area / max(solo, 1)
            box = mask_box_xyxy(visible)
            inside = box is not None and box[0] > 0 and box[1] > 0 and box[2] < w and box[3] < h
            if inside and fraction >= 0.9 and area >= self.min_area(obj, (w, h)):
                self.clear[obj.object_id] = (camera, frame, visible)
                continue
            score = fraction * area + (1e9 if camera == self.reference else 0.0)
            if obj.object_id not in self.fallback or score > self.fallback[obj.object_id][0]:
                self.fallback[obj.object_id] = (score, camera, frame, visible)

    def prompts(self) -> PromptsFile:
        out = []
        for obj in self.objects:
            if obj.object_id in self.clear:
                camera, frame, mask = self.clear[obj.object_id]
            elif obj.object_id in self.fallback:
                _, camera, frame, mask = self.fallback[obj.object_id]
            else:
                log.warning("object %s (%s) is never visible; it gets no prompt", obj.object_id, obj.name)
                continue
            p1, p2 = prompt_points(mask)
            box = mask_box_xyxy(mask)
            out.append(
                ObjectPrompts(
                    id=obj.object_id,
                    name=obj.name,
                    team=obj.team,
                    prompts=(
                        Prompt(
                            frame=frame,
                            camera=None if camera == self.reference else camera,
                            positive=(p1, p2),
                            box_xyxy=tuple(float(v) for v in box),
                        ),
                    ),
                )
            )
        return PromptsFile(objects=tuple(out))


def frame_masks_from_ids(camera: str, frame: int, time: float, ids: np.ndarray, object_ids: list[int]) -> FrameMasks:
    """:meth:`FrameMasks.from_label_map` for an id buffer (H, W) int32, touching each object's box only."""
    h, w = ids.shape
    ys, xs = np.nonzero(ids)
    values = ids[ys, xs]
    objects = []
    for oid in sorted(object_ids):
        sel = values == oid
        area = int(sel.sum())
        if area == 0:
            continue
        x0, x1 = int(xs[sel].min()), int(xs[sel].max()) + 1
        y0, y1 = int(ys[sel].min()), int(ys[sel].max()) + 1
        mask = np.zeros((h, w), np.uint8, order="F")  # column-major, as COCO RLE wants: no copy
        mask[y0:y1, x0:x1] = ids[y0:y1, x0:x1] == oid
        objects.append(ObjectMask(object_id=oid, rle=encode_rle(mask), box_xyxy=(x0, y0, x1, y1), area=area))
    return FrameMasks(camera=camera, frame=frame, time=time, resolution_wh=(w, h), objects=tuple(objects))


def game_name(cfg: SynthConfig, out_dir: Path) -> str:
    if cfg.name:
        return cfg.name
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", out_dir.resolve().name).strip("_")
    return name or "synth_game"


def _prepare(out_dir: Path, overwrite: bool) -> None:
    ours = [
        out_dir / GAME_FILE,
        out_dir / PROMPTS_FILE,
        out_dir / CALIBRATION_FILE,
        out_dir / GROUND_TRUTH_DIR,
        out_dir / CLIPS_DIR,
    ]
    existing = [p for p in ours if p.exists()]
    if existing and not overwrite:
        raise MulticamError(
            f"{out_dir} already holds a game ({', '.join(p.name for p in existing)}); "
            f"choose an empty folder or pass --overwrite to replace it"
        )
    for p in existing:
        if p.is_dir():
            shutil.rmtree(p)
        else:
            p.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / CLIPS_DIR).mkdir()


def game_events(cfg: SynthConfig, scene: Scene, t_start: float, t_end: float) -> list[Event]:
    """Bounces inside ``[t_start, t_end)`` plus a whistle near the reference clip's start and end."""
    events = list(scene.bounces_between(t_start, t_end))
    events.append(Event(round(min(0.3, cfg.duration_s * 0.1), 6), "whistle"))
    if cfg.duration_s >= 1.5:
        events.append(Event(round(cfg.duration_s - 0.7, 6), "whistle"))
    return sorted(events, key=lambda e: e.time)


def build_world(cfg: SynthConfig) -> tuple[Scene, list[PinholeCamera], list[Event]]:
    """The scene (over every clip's time span plus a second), the cameras and the sound events of a config."""
    offsets, counts, fps = cfg.camera_offsets, cfg.camera_frame_counts, cfg.camera_fps
    t_start = min(offsets)
    t_end = max(o + n / f for o, n, f in zip(offsets, counts, fps))
    scene = Scene(cfg.seed, cfg.players_per_team, cfg.court_size_m, t_start - 1.0, t_end + 1.0)
    cameras = make_cameras(cfg.camera_names, cfg.width, cfg.court_size_m)
    return scene, cameras, game_events(cfg, scene, t_start, t_end)


def generate_game(
    cfg: SynthConfig, out_dir: str | Path, *, overwrite: bool = False, progress: Callable[[int], None] | None = None
) -> Path:
    """Generate a synthetic game into ``out_dir`` and return the path of its ``game.yaml``.

    Args:
        cfg: what to generate.
        out_dir: the game folder (created; must not hold a game unless ``overwrite``).
        overwrite: replace a game already in ``out_dir`` (only the files this function writes).
        progress: called with the number of camera frames just finished (for progress bars).

    Raises:
        MulticamError: ``out_dir`` already holds a game and ``overwrite`` is False.
    """
    out_dir = Path(out_dir)
    _prepare(out_dir, overwrite)
    name = game_name(cfg, out_dir)
    names, fps = cfg.camera_names, cfg.camera_fps
    offsets, counts = cfg.camera_offsets, cfg.camera_frame_counts
    scene, cameras, events = build_world(cfg)
    floor, floor_to_ground = court_texture(cfg.court_size_m, cfg.seed)
    reference = names[0]

    game = GameConfig.model_validate(
        {
            "name": name,
            "reference": reference,
            "prompts": PROMPTS_FILE,
            "calibration": CALIBRATION_FILE,
            "ground_truth": GROUND_TRUTH_DIR,
            "model": {"name": MODEL_NAME},
            "processing": {"layout": "interleave", "image_size": 1024, "device": "auto"},
            "cameras": [
                {"name": n, "video": f"{CLIPS_DIR}/{n}.mp4", "offset": float(o)} for n, o in zip(names, offsets)
            ],
        }
    )
    camera_infos = [
        CameraInfo(name=c.name, resolution_wh=c.resolution_wh, fps=float(f), frame_count=n, offset=float(o))
        for c, f, n, o in zip(cameras, fps, counts, offsets)
    ]
    object_infos = [ObjectInfo(o.object_id, o.name, o.team) for o in scene.objects]
    manifest = {
        "game": game.model_dump(mode="json"),
        "reference": reference,
        "model": None,
        "synth": cfg.model_dump(mode="json"),
        "calibration": f"../{CALIBRATION_FILE}",
    }
    chooser = _PromptChooser(scene.objects, reference)
    object_ids = [o.object_id for o in scene.objects]
    gt_dir = out_dir / GROUND_TRUTH_DIR
    with (
        RunWriter(gt_dir, manifest, camera_infos, object_infos, kind="ground_truth") as gt,
        (gt_dir / POSITIONS_FILE).open("w", encoding="utf-8", newline="") as pos_fh,
    ):
        positions = csv.writer(pos_fh)
        positions.writerow(["camera", "frame", "time", "object_id", "x_m", "y_m", "z_m"])
        for index, (camera, f, n, o) in enumerate(zip(cameras, fps, counts, offsets)):
            _write_camera(
                cfg,
                index,
                camera,
                scene,
                floor,
                floor_to_ground,
                float(f),
                n,
                float(o),
                events,
                out_dir / CLIPS_DIR / f"{camera.name}.mp4",
                gt,
                positions,
                chooser,
                object_ids,
                progress,
            )
    save_prompts(chooser.prompts(), out_dir / PROMPTS_FILE)
    (out_dir / PROMPTS_FILE).chmod(0o644)
    calibration = {
        "units": "m",
        "court_size_m": list(cfg.court_size_m),
        "cameras": {c.name: {**c.to_json(), "fps": float(f)} for c, f in zip(cameras, fps)},
        "true_offsets": {n: float(o) for n, o in zip(names, offsets)},
        "events": [{"time": round(e.time, 6), "kind": e.kind} for e in events],
    }
    (out_dir / CALIBRATION_FILE).write_text(json.dumps(calibration, indent=2) + "\n", encoding="utf-8")
    _write_game_file(game, out_dir / GAME_FILE, cfg)
    return out_dir / GAME_FILE


def _write_camera(
    cfg: SynthConfig,
    index: int,
    camera: PinholeCamera,
    scene: Scene,
    floor: np.ndarray,
    floor_to_ground: np.ndarray,
    fps: float,
    count: int,
    offset: float,
    events: list[Event],
    path: Path,
    gt: RunWriter,
    positions,
    chooser: _PromptChooser,
    object_ids: list[int],
    progress: Callable[[int], None] | None,
) -> None:
    renderer = CameraRenderer(camera, scene, render_background(camera, floor, floor_to_ground, cfg.seed))
    rng = np.random.default_rng([cfg.seed, 3001, index])
    w, h = camera.resolution_wh
    bank = None
    if cfg.noise_std > 0:
        bank = [
            np.round(rng.standard_normal((h, w, 3), dtype=np.float32) * cfg.noise_std).astype(np.int16)
            for _ in range(NOISE_BANK)
        ]
    audio = ClipAudio(events, offset, index, cfg.seed) if cfg.audio else None
    writer = ClipWriter(path, camera.resolution_wh, fps, cfg.crf, audio)
    try:
        for i in range(count):
            t = offset + i / fps
            rgb, ids = renderer.render(t)
            if cfg.motion_blur:
                shutter = 0.5 / fps
                acc = np.zeros(rgb.shape, np.float32)
                for k in range(BLUR_SAMPLES):
                    sub = t + shutter * (k / (BLUR_SAMPLES - 1) - 0.5)
                    acc += rgb if k == BLUR_SAMPLES // 2 else renderer.render_rgb(sub)
                rgb = np.round(acc / BLUR_SAMPLES).astype(np.uint8)
            if bank is not None:
                noisy = rgb.astype(np.int16) + bank[int(rng.integers(NOISE_BANK))]
                rgb = np.clip(noisy, 0, 255).astype(np.uint8)
            writer.write(rgb)
            gt.write(frame_masks_from_ids(camera.name, i, t, ids, object_ids))
            for oid, root in zip(object_ids, scene.roots(t)):
                positions.writerow(
                    [camera.name, i, f"{t:.6f}", oid, f"{root[0]:.4f}", f"{root[1]:.4f}", f"{root[2]:.4f}"]
                )
            chooser.observe(camera.name, i, t, ids, renderer)
            if progress is not None:
                progress(1)
    finally:
        writer.close()


def _write_game_file(game: GameConfig, path: Path, cfg: SynthConfig) -> None:
    from ruamel.yaml import YAML

    data = game.model_dump(mode="json")
    for cam in data["cameras"]:
        cam["offset"] = round(float(cam["offset"]), 6)
    yaml = YAML()
    yaml.default_flow_style = False
    with path.open("w", encoding="utf-8") as fh:
        fh.write(f"# Synthetic game made by `multicam synth` (seed {cfg.seed}); offsets are the true ones.\n")
        yaml.dump(data, fh)

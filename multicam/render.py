"""Annotated frames and videos: masks, ids and names drawn on a run's camera frames.

Drawing is done by pure functions over RGB ``uint8`` images of shape ``(H, W, 3)``:
:func:`annotate_frame` overlays one camera frame's masks (supervision's mask, polygon,
box and label annotators, coloured by object id so that an object has the same colour
in every camera), :func:`draw_banner` marks frames (e.g. an untrained run) and
:func:`mosaic` tiles several cameras into one picture.

Videos are streamed: :func:`plan_render` returns :class:`RenderJob` objects whose
``frames()`` iterator decodes and annotates one frame at a time, and
:func:`write_video` encodes any iterator of frames as browser-playable H.264 MP4
(PyAV, libx264, yuv420p, even dimensions, ``+faststart``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import supervision as sv

from multicam.clips import Clip
from multicam.errors import RunDirError
from multicam.io import atomic_path
from multicam.masks import FrameMasks
from multicam.rundir import ObjectInfo, Run, open_run
from multicam.timeline import CameraTiming, Timeline

PALETTE = sv.ColorPalette.DEFAULT
UNTRAINED_BANNER = "UNTRAINED (random weights)"
GT_COLOR = sv.Color.WHITE
BANNER_RGB = (200, 30, 30)
MAX_MOSAIC_WIDTH = 1920


@dataclass(frozen=True)
class OverlayStyle:
    """How masks are drawn (hashable: usable as a cache key).

    Attributes:
        opacity: mask fill opacity in ``[0, 1]``.
        mode: ``"fill"`` (translucent masks and a contour) or ``"outline"`` (contour only).
        labels: draw ``"<id> <name>"`` labels.
        boxes: draw each object's box.
        visible_ids: the object ids to draw; ``None`` draws all.
    """

    opacity: float = 0.5
    mode: Literal["fill", "outline"] = "fill"
    labels: bool = True
    boxes: bool = False
    visible_ids: frozenset[int] | None = None


def object_color(object_id: int) -> sv.Color:
    """The colour of an object id, the same in every camera, video and dashboard page."""
    return PALETTE.by_idx(int(object_id))


def object_color_hex(object_id: int) -> str:
    """``"#rrggbb"`` of :func:`object_color`."""
    return object_color(object_id).as_hex()


def object_label(object_id: int, objects: Mapping[int, ObjectInfo]) -> str:
    """``"<id> <name>"``, or just the id for an object the run does not name."""
    info = objects.get(object_id)
    return f"{object_id} {info.name}" if info is not None else str(object_id)


def text_scale(resolution_wh: tuple[int, int]) -> float:
    """A readable text scale for a frame size (never smaller than 0.35)."""
    return max(0.35, sv.calculate_optimal_text_scale(resolution_wh=resolution_wh))


def to_detections(
    frame_masks: FrameMasks, resolution_wh: tuple[int, int] | None = None, visible_ids: frozenset[int] | None = None
) -> sv.Detections:
    """A frame's masks as ``sv.Detections``: ``mask (N, H, W)``, ``xyxy (N, 4)``, ``class_id`` = object id.

    Args:
        frame_masks: the frame's masks.
        resolution_wh: ``(W, H)`` of the image to draw on; masks of another size are resized
            (nearest neighbour). Defaults to the masks' own size.
        visible_ids: keep only these object ids (``None``: all).
    """
    width, height = resolution_wh or frame_masks.resolution_wh
    objs = [
        o for o in frame_masks.objects if o.box_xyxy is not None and (visible_ids is None or o.object_id in visible_ids)
    ]
    if not objs:
        return sv.Detections.empty()
    masks = np.zeros((len(objs), height, width), dtype=bool)
    xyxy = np.zeros((len(objs), 4), dtype=np.float32)
    sx = width / frame_masks.resolution_wh[0]
    sy = height / frame_masks.resolution_wh[1]
    for k, obj in enumerate(objs):
        m = obj.decode()
        if m.shape != (height, width):
            m = cv2.resize(m.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST).astype(bool)
        masks[k] = m
        x0, y0, x1, y1 = obj.box_xyxy  # type: ignore[misc]
        xyxy[k] = (x0 * sx, y0 * sy, x1 * sx - 1, y1 * sy - 1)  # supervision boxes are inclusive
    ids = np.array([o.object_id for o in objs], dtype=int)
    scores = [o.score for o in objs]
    confidence = None if any(s is None for s in scores) else np.array(scores, dtype=np.float32)
    return sv.Detections(xyxy=xyxy, mask=masks, class_id=ids, tracker_id=ids.copy(), confidence=confidence)


def annotate_frame(
    image: np.ndarray,
    frame_masks: FrameMasks | None,
    objects: Mapping[int, ObjectInfo],
    style: OverlayStyle = OverlayStyle(),
    *,
    ground_truth: FrameMasks | None = None,
    banner: str | None = None,
) -> np.ndarray:
    """Draw a frame's masks, boxes and labels on a copy of an RGB image.

    Args:
        image: RGB ``(H, W, 3)`` uint8.
        frame_masks: the frame's masks (``None``: nothing to draw).
        objects: the run's objects by id (for the names in labels).
        style: how to draw.
        ground_truth: ground-truth masks of the same frame, drawn as thin white contours.
        banner: text of a red banner across the top (e.g. :data:`UNTRAINED_BANNER`).

    Returns:
        The annotated RGB ``(H, W, 3)`` uint8 image.
    """
    height, width = image.shape[:2]
    wh = (width, height)
    scene = np.ascontiguousarray(image[..., ::-1])  # supervision draws in BGR
    thickness = max(1, sv.calculate_optimal_line_thickness(resolution_wh=wh) // 2)
    if frame_masks is not None:
        det = to_detections(frame_masks, wh, style.visible_ids)
        if len(det):
            if style.mode == "fill" and style.opacity > 0:
                scene = sv.MaskAnnotator(color=PALETTE, opacity=float(style.opacity)).annotate(scene, det)
            scene = sv.PolygonAnnotator(color=PALETTE, thickness=thickness).annotate(scene, det)
            if style.boxes:
                scene = sv.BoxAnnotator(color=PALETTE, thickness=thickness).annotate(scene, det)
            if style.labels:
                labels = [object_label(int(i), objects) for i in det.class_id]
                scene = sv.LabelAnnotator(
                    color=PALETTE, text_scale=text_scale(wh), text_thickness=1, text_padding=3, smart_position=True
                ).annotate(scene, det, labels)
    if ground_truth is not None:
        gt = to_detections(ground_truth, wh, style.visible_ids)
        if len(gt):
            scene = sv.PolygonAnnotator(color=GT_COLOR, thickness=1).annotate(scene, gt)
    out = np.ascontiguousarray(scene[..., ::-1])
    if banner:
        out = draw_banner(out, banner)
    return out


def draw_banner(
    image: np.ndarray, text: str, color_rgb: tuple[int, int, int] = BANNER_RGB, scale: float | None = None
) -> np.ndarray:
    """A copy of an RGB image with a coloured strip and white text across its top."""
    out = image.copy()
    width = out.shape[1]
    scale = scale or text_scale((width, out.shape[0]))
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    strip = th + base + 8
    cv2.rectangle(out, (0, 0), (width, strip), color_rgb, thickness=-1)
    cv2.putText(
        out,
        text,
        (max(4, (width - tw) // 2), strip - base - 4),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        (255, 255, 255),
        1,
        cv2.LINE_AA,
    )
    return out


def add_banner_strip(image: np.ndarray, text: str, color_rgb: tuple[int, int, int] = BANNER_RGB) -> np.ndarray:
    """The image with a banner strip added above it (nothing hidden); the strip's height is even."""
    width = image.shape[1]
    scale = text_scale((width, image.shape[0]))
    (_, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    strip = np.zeros(((th + base + 9) // 2 * 2, width, 3), dtype=np.uint8)
    return np.vstack([draw_banner(strip, text, color_rgb, scale), image])


def draw_caption(image: np.ndarray, text: str) -> np.ndarray:
    """A copy of an RGB image with a small caption on a dark strip at its bottom left."""
    out = image.copy()
    height, width = out.shape[:2]
    scale = text_scale((width, height))
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.rectangle(out, (0, height - th - base - 6), (tw + 8, height), (0, 0, 0), thickness=-1)
    cv2.putText(out, text, (4, height - base - 3), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def fit_tile(image: np.ndarray | None, tile_wh: tuple[int, int]) -> np.ndarray:
    """Scale an RGB image into a ``tile_wh`` black tile keeping its aspect (``None``: a black tile)."""
    tw, th = tile_wh
    tile = np.zeros((th, tw, 3), dtype=np.uint8)
    if image is None:
        return tile
    h, w = image.shape[:2]
    s = min(tw / w, th / h)
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    resized = image if (nw, nh) == (w, h) else cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
    x0, y0 = (tw - nw) // 2, (th - nh) // 2
    tile[y0 : y0 + nh, x0 : x0 + nw] = resized
    return tile


def grid_shape(n: int) -> tuple[int, int]:
    """``(cols, rows)`` of a near-square grid for ``n`` tiles (``(0, 0)`` for none)."""
    if n <= 0:
        return 0, 0
    cols = math.ceil(math.sqrt(n))
    return cols, math.ceil(n / cols)


def mosaic(tiles: Sequence[np.ndarray], cols: int | None = None) -> np.ndarray:
    """Tile equally sized RGB images row by row into one image; empty cells are black.

    Args:
        tiles: ``(H, W, 3)`` images, all the same size; at least one.
        cols: columns (default: a near-square grid).

    Returns:
        ``(rows * H, cols * W, 3)`` uint8.
    """
    if not tiles:
        raise ValueError("mosaic needs at least one tile")
    h, w = tiles[0].shape[:2]
    cols = cols or grid_shape(len(tiles))[0]
    rows = math.ceil(len(tiles) / cols)
    out = np.zeros((rows * h, cols * w, 3), dtype=np.uint8)
    for k, tile in enumerate(tiles):
        if tile.shape[:2] != (h, w):
            raise ValueError(f"tile {k} is {tile.shape[1]}x{tile.shape[0]}, expected {w}x{h}")
        r, c = divmod(k, cols)
        out[r * h : (r + 1) * h, c * w : (c + 1) * w] = tile
    return out


def mosaic_tile_wh(resolutions_wh: Sequence[tuple[int, int]], max_width: int = MAX_MOSAIC_WIDTH) -> tuple[int, int]:
    """Tile size for a mosaic: the largest camera size, scaled down to fit ``max_width``; even numbers."""
    w = max(r[0] for r in resolutions_wh)
    h = max(r[1] for r in resolutions_wh)
    cols = grid_shape(len(resolutions_wh))[0]
    s = min(1.0, max_width / (cols * w))
    return max(2, int(w * s) // 2 * 2), max(2, int(h * s) // 2 * 2)


def even_frame(image: np.ndarray) -> np.ndarray:
    """Pad an image by one black row/column where needed so both sides are even (yuv420p)."""
    h, w = image.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return image
    return cv2.copyMakeBorder(image, 0, h % 2, 0, w % 2, cv2.BORDER_CONSTANT, value=(0, 0, 0))


@dataclass(frozen=True)
class VideoResult:
    """A written video.

    Attributes:
        path: the MP4 file.
        frame_count: frames written.
        resolution_wh: ``(W, H)`` of the encoded frames (even).
        fps: frame rate.
    """

    path: Path
    frame_count: int
    resolution_wh: tuple[int, int]
    fps: float


def write_video(
    frames: Iterable[np.ndarray], path: str | Path, fps: float, *, crf: int = 23, preset: str = "veryfast"
) -> VideoResult:
    """Encode RGB frames as an H.264 MP4 that browsers play (libx264, yuv420p, faststart).

    Frames are consumed one at a time; the size of the first frame fixes the video size
    (odd sides are padded to even). The file is written under a temporary name and renamed
    when complete, so an interrupted render leaves no half file.

    Raises:
        ValueError: no frames, or a frame of another size than the first.
    """
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rate = Fraction(fps).limit_denominator(1001)
    container = None
    stream = None
    count = 0
    size: tuple[int, int] = (0, 0)
    with atomic_path(path) as tmp:
        try:
            for image in frames:
                image = even_frame(np.ascontiguousarray(image, dtype=np.uint8))
                if container is None:
                    size = (image.shape[1], image.shape[0])
                    container = av.open(str(tmp), mode="w", format="mp4", options={"movflags": "+faststart"})
                    stream = container.add_stream("libx264", rate=rate)
                    stream.width, stream.height = size
                    stream.pix_fmt = "yuv420p"
                    stream.options = {"crf": str(crf), "preset": preset}
                elif (image.shape[1], image.shape[0]) != size:
                    raise ValueError(
                        f"frame {count} is {image.shape[1]}x{image.shape[0]}, the video is {size[0]}x{size[1]}"
                    )
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                for packet in stream.encode(frame):  # type: ignore[union-attr]
                    container.mux(packet)
                count += 1
            if container is None:
                raise ValueError(f"no frames to write to {path}")
            for packet in stream.encode(None):  # type: ignore[union-attr]
                container.mux(packet)
            container.close()
            container = None
        finally:
            if container is not None:
                container.close()
    return VideoResult(path=path, frame_count=count, resolution_wh=size, fps=float(rate))


# -- a run's frames ----------------------------------------------------------------------------


def banner_for(run: Run) -> str | None:
    """The banner every frame of a run carries: :data:`UNTRAINED_BANNER` for random weights."""
    return UNTRAINED_BANNER if run.untrained else None


def iter_camera_frames(
    clip: Clip,
    masks: Mapping[int, FrameMasks],
    objects: Mapping[int, ObjectInfo],
    style: OverlayStyle = OverlayStyle(),
    *,
    ground_truth: Mapping[int, FrameMasks] | None = None,
    banner: str | None = None,
    caption: Callable[[int], str] | None = None,
    start: int = 0,
    stop: int | None = None,
) -> Iterator[np.ndarray]:
    """Yield a camera's annotated frames in order, decoding one frame at a time.

    Args:
        clip: the camera's clip.
        masks: the run's masks of that camera by frame index.
        objects: the run's objects by id.
        style: how masks are drawn.
        ground_truth: ground-truth masks by frame index (thin white contours).
        banner: banner text on every frame.
        caption: optional text for each frame index, drawn bottom left.
        start, stop: frame range (stop exclusive; default: the whole clip).
    """
    for index, image in clip.iter_frames(start, stop):
        out = annotate_frame(
            image,
            masks.get(index),
            objects,
            style,
            ground_truth=None if ground_truth is None else ground_truth.get(index),
            banner=banner,
        )
        if caption is not None:
            out = draw_caption(out, caption(index))
        yield out


def iter_mosaic_frames(
    clips: Mapping[str, Clip],
    masks: Mapping[str, Mapping[int, FrameMasks]],
    timeline: Timeline,
    objects: Mapping[int, ObjectInfo],
    style: OverlayStyle = OverlayStyle(),
    *,
    ground_truth: Mapping[str, Mapping[int, FrameMasks]] | None = None,
    banner: str | None = None,
    fps: float | None = None,
    max_width: int = MAX_MOSAIC_WIDTH,
) -> Iterator[np.ndarray]:
    """Yield a synchronized grid of all cameras, one picture per game-time tick.

    Ticks run from the timeline's start to its end at ``fps`` (default: the fastest
    camera's rate); each tile shows its camera's frame nearest to the tick (black with
    "no frame" outside the camera's clip), captioned with camera, frame and game time.
    A banner goes in a strip above the grid.
    """
    names = [n for n in timeline.names if n in clips]
    tile_wh = mosaic_tile_wh([clips[n].info.resolution_wh for n in names], max_width)
    last: dict[str, tuple[int, np.ndarray]] = {}
    for t in timeline.ticks(fps):
        tiles = []
        for name in names:
            index = timeline.camera(name).frame_at(t)
            if index is None:
                tile = draw_caption(fit_tile(None, tile_wh), f"{name}  no frame")
            elif name in last and last[name][0] == index:
                tile = last[name][1]
            else:
                gt = None if ground_truth is None else ground_truth.get(name, {}).get(index)
                image = annotate_frame(
                    clips[name].frame(index), masks.get(name, {}).get(index), objects, style, ground_truth=gt
                )
                tile = draw_caption(fit_tile(image, tile_wh), f"{name}  #{index}  t={t:.2f}s")
                last[name] = (index, tile)
            tiles.append(tile)
        grid = mosaic(tiles)
        yield add_banner_strip(grid, banner) if banner else grid


@dataclass(frozen=True)
class RenderJob:
    """One video to write: its file, rate, frame count and a factory for its frame iterator."""

    name: str
    path: Path
    fps: float
    total: int
    make_frames: Callable[[], Iterator[np.ndarray]] = field(repr=False, compare=False)

    def frames(self) -> Iterator[np.ndarray]:
        return self.make_frames()


def _clip_for(game, camera: str) -> Clip:
    from multicam.clips import probe_clip

    path = game.video_path(camera)
    return Clip(path, info=probe_clip(path), cache_size=2)


def plan_render(
    run: Run | str | Path,
    *,
    out_dir: str | Path | None = None,
    cameras: Sequence[str] | None = None,
    with_mosaic: bool = True,
    with_ground_truth: bool = False,
    game_path: str | Path | None = None,
    style: OverlayStyle = OverlayStyle(),
) -> list[RenderJob]:
    """The videos to render for a run: one per camera (``<camera>.mp4``) and ``mosaic.mp4``.

    Args:
        run: the run directory (or ground-truth folder).
        out_dir: where the videos go (default ``<run>/render``).
        cameras: only these cameras (default: all); the mosaic always shows the chosen cameras.
        with_mosaic: also render the synchronized mosaic.
        with_ground_truth: draw the game's ground truth as thin white contours.
        game_path: the game file, when the run's manifest does not record it.
        style: how masks are drawn.

    Raises:
        RunDirError: unknown camera, or the game file cannot be found.
        GameFileError: the game file or its clips are missing.
    """
    run = run if isinstance(run, Run) else open_run(run)
    timeline = run.timeline()
    chosen = list(cameras) if cameras else list(timeline.names)
    unknown = [c for c in chosen if c not in run.cameras]
    if unknown:
        raise RunDirError(f"unknown camera(s) {unknown}; this run has {sorted(run.cameras)}")
    game = run.game(game_path)
    out = Path(out_dir) if out_dir is not None else run.path / "render"
    objects = run.objects
    banner = banner_for(run)
    gt_run: Run | None = None
    if with_ground_truth:
        if game.ground_truth_path is None:
            raise RunDirError(f"{game.path}: the game names no ground_truth folder; drop --gt")
        gt_run = open_run(game.ground_truth_path)

    def masks_of(name: str) -> dict[int, FrameMasks]:
        return run.frames(name)

    def gt_of(name: str) -> dict[int, FrameMasks] | None:
        if gt_run is None or name not in gt_run.cameras:
            return None
        return gt_run.frames(name)

    jobs: list[RenderJob] = []
    for name in chosen:
        cam = timeline.camera(name)

        def make(name: str = name, cam: CameraTiming = cam) -> Iterator[np.ndarray]:
            clip = _clip_for(game, name)
            try:
                yield from iter_camera_frames(
                    clip,
                    masks_of(name),
                    objects,
                    style,
                    ground_truth=gt_of(name),
                    banner=banner,
                    caption=lambda i: f"{name}  #{i}  t={cam.time_of(i):.2f}s",
                    stop=cam.frame_count,
                )
            finally:
                clip.close()

        jobs.append(
            RenderJob(name=name, path=out / f"{name}.mp4", fps=cam.fps, total=cam.frame_count, make_frames=make)
        )
    if with_mosaic:
        sub = Timeline(
            cameras=tuple(timeline.camera(n) for n in chosen),
            reference=timeline.reference if timeline.reference in chosen else chosen[0],
        )
        fps = max(c.fps for c in sub.cameras)

        def make_mosaic() -> Iterator[np.ndarray]:
            clips = {n: _clip_for(game, n) for n in chosen}
            try:
                gts = {n: g for n in chosen if (g := gt_of(n)) is not None} if gt_run is not None else None
                yield from iter_mosaic_frames(
                    clips,
                    {n: masks_of(n) for n in chosen},
                    sub,
                    objects,
                    style,
                    ground_truth=gts,
                    banner=banner,
                    fps=fps,
                )
            finally:
                for c in clips.values():
                    c.close()

        jobs.append(
            RenderJob(
                name="mosaic",
                path=out / "mosaic.mp4",
                fps=fps,
                total=sum(1 for _ in sub.ticks(fps)),
                make_frames=make_mosaic,
            )
        )
    return jobs

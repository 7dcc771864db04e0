"""Annotated frames and videos: masks, ids and names drawn on a run's camera frames.

Drawing is done by functions over RGB ``uint8`` images of shape ``(H, W, 3)``:
:func:`annotate_frame` overlays one camera frame's masks (translucent fills, contours, boxes
and ``"<id> <name>"`` labels, coloured by object id so that an object has the same colour in
every camera), :func:`draw_banner` marks frames (e.g. an untrained run) and :func:`mosaic`
tiles several cameras into one picture. When the game has a calibration the mosaic also shows
the court from above (:class:`CourtOverlay`): the run's floor positions, computed once before
the pass, drawn as numbered dots with short trails at each tick's game time.

Drawing costs little beside the video itself: each object's RLE is decoded once per frame
(pycocotools) and everything else happens inside the object's box (fill blended with
``cv2.addWeighted`` on the box, contours with ``cv2.findContours`` on the box), never on
full-frame layers. :func:`annotate_into` draws in place on a frame the caller owns.

Videos are streamed. :func:`render_run` writes a run's per-camera videos and the synchronized
mosaic in ONE pass: every camera's clip is decoded once, on its own thread (PyAV, threaded
decoding), each frame is annotated once, and the annotated frame goes both to its camera's
encoder and, scaled, into the mosaic; each video is encoded on its own thread, with bounded
queues between the stages. :func:`plan_render` gives the same videos one at a time as
:class:`RenderJob` iterators, and :func:`write_video` encodes any iterator of frames as
browser-playable H.264 MP4 (PyAV, libx264, yuv420p, even dimensions, ``+faststart``).
"""

from __future__ import annotations

import contextlib
import functools
import math
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import supervision as sv
from supervision.annotators.utils import snap_boxes
from supervision.detection.compact_mask import _coco_rle_counts_to_array as _coco_counts
from supervision.detection.utils.boxes import spread_out_boxes

from multicam.clips import Clip
from multicam.court.templates import CourtError, CourtTemplate
from multicam.court.view import FloorTracks, fit_court_canvas, top_down_at
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


def object_rgb(object_id: int) -> tuple[int, int, int]:
    """``(r, g, b)`` of :func:`object_color`."""
    return _rgb(object_color(object_id))


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


@dataclass(frozen=True)
class BoxMask:
    """One object's mask cut to its box, in the pixels of the image it is drawn on.

    Attributes:
        object_id: the object's id.
        x0, y0: the box's top-left corner in the image.
        mask: boolean ``(h, w)`` crop of the mask; the box is ``[x0, x0 + w) x [y0, y0 + h)``.
        xyxy: the box as supervision draws it (inclusive right/bottom edge), for labels and boxes.
    """

    object_id: int
    x0: int
    y0: int
    mask: np.ndarray = field(repr=False)
    xyxy: tuple[float, float, float, float]

    @property
    def area(self) -> int:
        return int(np.count_nonzero(self.mask))


def rle_crop(rle: Mapping, box_xyxy: tuple[int, int, int, int]) -> np.ndarray:
    """The boolean ``(y1 - y0, x1 - x0)`` crop of a COCO RLE mask inside a box (exclusive max).

    The RLE's counts are decoded once (supervision's COCO counts decoder) and only the runs that
    cross the box's columns are expanded: O(box columns x image height) instead of the whole
    image (pycocotools' full decode of a 1080x1920 mask costs ~10x more).
    """
    height = int(rle["size"][0])
    x0, y0, x1, y1 = box_xyxy
    counts = _coco_counts(rle["counts"]).astype(np.int64)
    ends = np.cumsum(counts)
    lo, hi = x0 * height, x1 * height
    lengths = np.clip(ends, lo, hi) - np.clip(ends - counts, lo, hi)
    values = (np.arange(len(counts)) % 2).astype(bool)  # runs alternate background, mask, background...
    columns = np.repeat(values, lengths).reshape(x1 - x0, height)  # column-major, as COCO RLE
    return columns[:, y0:y1].T


def box_masks(
    frame_masks: FrameMasks, resolution_wh: tuple[int, int] | None = None, visible_ids: frozenset[int] | None = None
) -> list[BoxMask]:
    """A frame's visible, non-empty objects as :class:`BoxMask` in ``resolution_wh`` pixels, ordered by id.

    Each RLE is decoded once, straight into its box (:func:`rle_crop`), never as a full-frame
    array. Masks of another size than the image are scaled with nearest-neighbour sampling,
    pixel for pixel as ``cv2.resize(..., INTER_NEAREST)`` of the whole mask would.
    """
    width, height = resolution_wh or frame_masks.resolution_wh
    out: list[BoxMask] = []
    for obj in frame_masks.objects:
        if obj.box_xyxy is None or (visible_ids is not None and obj.object_id not in visible_ids):
            continue
        mw, mh = obj.resolution_wh
        x0, y0, x1, y1 = obj.box_xyxy
        crop = rle_crop(obj.rle, obj.box_xyxy)
        sx, sy = width / mw, height / mh
        xyxy = (x0 * sx, y0 * sy, x1 * sx - 1, y1 * sy - 1)  # supervision boxes are inclusive
        if (mw, mh) == (width, height):
            out.append(BoxMask(obj.object_id, x0, y0, crop, xyxy))
            continue
        # image pixels whose nearest mask pixel lies in the box: floor(i / s) in [x0, x1)
        ix0, iy0 = math.ceil(x0 * sx), math.ceil(y0 * sy)
        ix1, iy1 = min(width, math.ceil(x1 * sx)), min(height, math.ceil(y1 * sy))
        cols = np.clip((np.arange(ix0, ix1) * (mw / width)).astype(np.intp), x0, x1 - 1) - x0
        rows = np.clip((np.arange(iy0, iy1) * (mh / height)).astype(np.intp), y0, y1 - 1) - y0
        out.append(BoxMask(obj.object_id, ix0, iy0, crop[np.ix_(rows, cols)], xyxy))
    return [m for m in out if m.mask.size]


def _rgb(color: sv.Color) -> tuple[int, int, int]:
    return int(color.r), int(color.g), int(color.b)


def fill_masks(canvas: np.ndarray, masks: Sequence[BoxMask], opacity: float) -> None:
    """Blend each mask's colour into ``canvas`` (RGB, in place), only inside each object's box.

    Where masks overlap the smaller one is on top, and every pixel is blended once from its
    original value (as one translucent layer of all masks would be).
    """
    if opacity <= 0 or not masks:
        return
    originals = [canvas[m.y0 : m.y0 + m.mask.shape[0], m.x0 : m.x0 + m.mask.shape[1]].copy() for m in masks]
    for k in sorted(range(len(masks)), key=lambda k: masks[k].area, reverse=True):
        m, original = masks[k], originals[k]
        colour = np.empty_like(original)
        colour[:] = _rgb(object_color(m.object_id))
        blended = cv2.addWeighted(colour, float(opacity), original, 1.0 - float(opacity), 0.0)
        roi = canvas[m.y0 : m.y0 + m.mask.shape[0], m.x0 : m.x0 + m.mask.shape[1]]
        np.copyto(roi, blended, where=m.mask[..., None])


def draw_contours(canvas: np.ndarray, masks: Sequence[BoxMask], thickness: int, color_rgb=None) -> None:
    """Draw each mask's contours (all of them, holes included) on ``canvas`` in place, in its colour."""
    height, width = canvas.shape[:2]
    for m in masks:
        h, w = m.mask.shape
        # one pixel of background around the box (where the image has it), as on the full frame
        px0, py0 = max(0, m.x0 - 1), max(0, m.y0 - 1)
        px1, py1 = min(width, m.x0 + w + 1), min(height, m.y0 + h + 1)
        padded = np.zeros((py1 - py0, px1 - px0), np.uint8)
        padded[m.y0 - py0 : m.y0 - py0 + h, m.x0 - px0 : m.x0 - px0 + w] = m.mask
        contours, _ = cv2.findContours(padded, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE, offset=(px0, py0))
        polygons = [c for c in contours if c.shape[0] >= 3]
        if polygons:
            colour = color_rgb or _rgb(object_color(m.object_id))
            cv2.polylines(canvas, polygons, isClosed=True, color=colour, thickness=thickness)


LABEL_PADDING = 3


@functools.lru_cache(maxsize=4096)
def _text_wh(text: str, scale: float) -> tuple[int, int]:
    return tuple(cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0])  # type: ignore[return-value]


def label_boxes(
    masks: Sequence[BoxMask], labels: Sequence[str], resolution_wh: tuple[int, int], scale: float
) -> np.ndarray:
    """``(N, 4)`` label backgrounds: above each box's top-left corner, kept in the frame and spread apart.

    The placement of supervision's ``LabelAnnotator(smart_position=True)`` (its ``snap_boxes`` and
    ``spread_out_boxes``), with the text sizes cached (a label's size is the same in every frame).
    """
    rows = []
    for m, label in zip(masks, labels):
        tw, th = _text_wh(label, scale)
        x, y = int(m.xyxy[0]), int(m.xyxy[1])
        rows.append((x, y - th - 2 * LABEL_PADDING, x + tw + 2 * LABEL_PADDING, y))
    boxes = snap_boxes(np.array(rows, dtype=np.float32).reshape(-1, 4), resolution_wh)
    if len(boxes) > 1:
        boxes = snap_boxes(spread_out_boxes(boxes), resolution_wh)
    return boxes


def draw_labels(
    canvas: np.ndarray, masks: Sequence[BoxMask], objects: Mapping[int, ObjectInfo], *, boxes: bool, labels: bool
) -> None:
    """Draw boxes and ``"<id> <name>"`` labels (spread apart where they would overlap) on ``canvas`` in place."""
    if not masks or not (boxes or labels):
        return
    wh = (canvas.shape[1], canvas.shape[0])
    if boxes:
        thickness = line_thickness(wh)
        for m in masks:
            x0, y0, x1, y1 = (int(v) for v in m.xyxy)
            cv2.rectangle(canvas, (x0, y0), (x1, y1), _rgb(object_color(m.object_id)), thickness)
    if labels:
        scale = text_scale(wh)
        texts = [object_label(m.object_id, objects) for m in masks]
        for m, text, box in zip(masks, texts, label_boxes(masks, texts, wh, scale)):
            x0, y0, x1, y1 = (int(v) for v in box)
            cv2.rectangle(canvas, (x0, y0), (x1, y1), _rgb(object_color(m.object_id)), thickness=-1)
            org = (x0 + LABEL_PADDING, y0 + LABEL_PADDING + _text_wh(text, scale)[1])
            cv2.putText(canvas, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)


def line_thickness(resolution_wh: tuple[int, int]) -> int:
    """Contour and box thickness for a frame size."""
    return max(1, sv.calculate_optimal_line_thickness(resolution_wh=resolution_wh) // 2)


def annotate_into(
    canvas: np.ndarray,
    frame_masks: FrameMasks | None,
    objects: Mapping[int, ObjectInfo],
    style: OverlayStyle = OverlayStyle(),
    *,
    ground_truth: FrameMasks | None = None,
) -> np.ndarray:
    """Draw a frame's masks, contours, boxes, labels and ground truth on an RGB image IN PLACE.

    What :func:`annotate_frame` draws, without the banner and without copying the frame:
    for a frame the caller owns (e.g. just decoded). Returns ``canvas``.
    """
    wh = (canvas.shape[1], canvas.shape[0])
    if frame_masks is not None:
        masks = box_masks(frame_masks, wh, style.visible_ids)
        if masks:
            if style.mode == "fill":
                fill_masks(canvas, masks, style.opacity)
            draw_contours(canvas, masks, line_thickness(wh))
            draw_labels(canvas, masks, objects, boxes=style.boxes, labels=style.labels)
    if ground_truth is not None:
        draw_contours(canvas, box_masks(ground_truth, wh, style.visible_ids), 1, _rgb(GT_COLOR))
    return canvas


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
    out = annotate_into(
        np.array(image, dtype=np.uint8, order="C"), frame_masks, objects, style, ground_truth=ground_truth
    )
    if banner:
        draw_banner_into(out, banner)
    return out


def draw_banner(
    image: np.ndarray, text: str, color_rgb: tuple[int, int, int] = BANNER_RGB, scale: float | None = None
) -> np.ndarray:
    """A copy of an RGB image with a coloured strip and white text across its top."""
    return draw_banner_into(image.copy(), text, color_rgb, scale)


def draw_banner_into(
    image: np.ndarray, text: str, color_rgb: tuple[int, int, int] = BANNER_RGB, scale: float | None = None
) -> np.ndarray:
    """:func:`draw_banner` in place; returns ``image``."""
    width = image.shape[1]
    scale = scale or text_scale((width, image.shape[0]))
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    strip = th + base + 8
    cv2.rectangle(image, (0, 0), (width, strip), color_rgb, thickness=-1)
    cv2.putText(
        image,
        text,
        (max(4, (width - tw) // 2), strip - base - 4),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        (255, 255, 255),
        1,
        cv2.LINE_AA,
    )
    return image


def add_banner_strip(image: np.ndarray, text: str, color_rgb: tuple[int, int, int] = BANNER_RGB) -> np.ndarray:
    """The image with a banner strip added above it (nothing hidden); the strip's height is even."""
    width = image.shape[1]
    scale = text_scale((width, image.shape[0]))
    (_, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    strip = np.zeros(((th + base + 9) // 2 * 2, width, 3), dtype=np.uint8)
    return np.vstack([draw_banner(strip, text, color_rgb, scale), image])


def draw_caption(image: np.ndarray, text: str) -> np.ndarray:
    """A copy of an RGB image with a small caption on a dark strip at its bottom left."""
    return draw_caption_into(image.copy(), text)


def draw_caption_into(image: np.ndarray, text: str) -> np.ndarray:
    """:func:`draw_caption` in place; returns ``image``."""
    height, width = image.shape[:2]
    scale = text_scale((width, height))
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.rectangle(image, (0, height - th - base - 6), (tw + 8, height), (0, 0, 0), thickness=-1)
    cv2.putText(image, text, (4, height - base - 3), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return image


def fit_tile(image: np.ndarray | None, tile_wh: tuple[int, int]) -> np.ndarray:
    """Scale an RGB image into a ``tile_wh`` black tile keeping its aspect (``None``: a black tile)."""
    tw, th = tile_wh
    tile = np.zeros((th, tw, 3), dtype=np.uint8)
    if image is None:
        return tile
    h, w = image.shape[:2]
    s = min(tw / w, th / h)
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    # bilinear (6x faster than area averaging at non-integer ratios) where it looks the same: slight reductions
    interpolation = cv2.INTER_LINEAR if 0.75 <= s < 1 else cv2.INTER_AREA
    resized = image if (nw, nh) == (w, h) else cv2.resize(image, (nw, nh), interpolation=interpolation)
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


def mosaic_tile_wh(
    resolutions_wh: Sequence[tuple[int, int]], max_width: int = MAX_MOSAIC_WIDTH, tiles: int | None = None
) -> tuple[int, int]:
    """Tile size for a mosaic: the largest camera size, scaled down to fit ``max_width`` (0: unscaled); even.

    ``tiles``: how many tiles the grid holds (default: one per camera).
    """
    w = max(r[0] for r in resolutions_wh)
    h = max(r[1] for r in resolutions_wh)
    cols = grid_shape(tiles if tiles is not None else len(resolutions_wh))[0]
    s = min(1.0, max_width / (cols * w)) if max_width > 0 else 1.0
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
                    stream.thread_type = "AUTO"
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
            draw_caption_into(out, caption(index))
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
    court: CourtOverlay | None = None,
) -> Iterator[np.ndarray]:
    """Yield a synchronized grid of all cameras, one picture per game-time tick.

    Ticks run from the timeline's start to its end at ``fps`` (default: the fastest
    camera's rate); each tile shows its camera's frame nearest to the tick (black with
    "no frame" outside the camera's clip), captioned with camera, frame and game time.
    A banner goes in a strip above the grid; with ``court``, the last tile is the court from above
    at the tick. (:func:`render_run` writes the same mosaic from the per-camera frames it
    annotates anyway.)
    """
    names = [n for n in timeline.names if n in clips]
    grid = _MosaicGrid(timeline, names, [clips[n].info.resolution_wh for n in names], max_width, banner, court)
    last: dict[str, tuple[int, np.ndarray]] = {}
    for t in timeline.ticks(fps):
        tiles = []
        for name, index in grid.indices(t).items():
            if index is None:
                tiles.append(grid.no_frame(name))
                continue
            if last.get(name, (None,))[0] != index:
                gt = None if ground_truth is None else ground_truth.get(name, {}).get(index)
                image = annotate_frame(
                    clips[name].frame(index), masks.get(name, {}).get(index), objects, style, ground_truth=gt
                )
                last[name] = (index, grid.tile(name, index, t, image))
            tiles.append(last[name][1])
        yield grid.picture(tiles, t)


@dataclass(frozen=True, eq=False)
class CourtOverlay:
    """The mosaic's court seen from above: the court's lines and the run's floor positions, indexed once.

    Attributes:
        template: the court drawn.
        tracks: every object's floor positions (:class:`multicam.court.view.FloorTracks`).
        trail_s: how far back the trails reach (s).
    """

    template: CourtTemplate
    tracks: FloorTracks
    trail_s: float = 2.0


def court_overlay(run: Run, calibration: str | Path | None) -> tuple[CourtOverlay | None, tuple[str, ...]]:
    """The court overlay of a run and what it leaves out, from the run's calibration file.

    Positions are computed here, once (:func:`multicam.court.analysis.run_positions`), never per frame.
    ``(None, ())`` without a calibration file; ``(None, (why,))`` for one that cannot be used (no camera
    with ``K``, ``R`` and ``t``, say): the mosaic is then drawn without the court.
    """
    if calibration is None:
        return None, ()
    from multicam.court.analysis import load_court, run_positions

    try:
        cameras, template = load_court(Path(calibration))
    except CourtError as exc:
        return None, (f"no court in the mosaic: {exc}",)
    except (TypeError, ValueError, IndexError) as exc:
        return None, (f"no court in the mosaic: {calibration}: court_size_m or template is malformed ({exc})",)
    positions, notes = run_positions(run, cameras)
    return CourtOverlay(template, FloorTracks.from_rows(positions.rows)), notes


class _MosaicGrid:
    """How the mosaic is laid out: tile size, grid, captions, the banner strip and the court's tile."""

    def __init__(
        self,
        timeline: Timeline,
        names: Sequence[str],
        resolutions_wh: Sequence[tuple[int, int]],
        max_width: int,
        banner: str | None,
        court: CourtOverlay | None = None,
    ):
        self.timeline = timeline
        self.names = list(names)
        self.tile_wh = mosaic_tile_wh(resolutions_wh, max_width, tiles=len(self.names) + (court is not None))
        self.banner = banner
        self.court = court
        self._empty: dict[str, np.ndarray] = {}
        if court is not None:
            self._canvas = fit_court_canvas(court.template, self.tile_wh)
            self._colours = {i: object_rgb(i) for i in court.tracks.times}

    def indices(self, t: float) -> dict[str, int | None]:
        """Each camera's frame shown at game time ``t`` (``None``: outside its clip)."""
        return {n: self.timeline.camera(n).frame_at(t) for n in self.names}

    def tile(self, name: str, index: int, t: float, image: np.ndarray) -> np.ndarray:
        """Camera ``name``'s annotated frame ``index``, first shown at tick ``t``, scaled and captioned."""
        return draw_caption_into(fit_tile(image, self.tile_wh), f"{name}  #{index}  t={t:.2f}s")

    def no_frame(self, name: str) -> np.ndarray:
        if name not in self._empty:
            self._empty[name] = draw_caption_into(fit_tile(None, self.tile_wh), f"{name}  no frame")
        return self._empty[name]

    def court_tile(self, t: float) -> np.ndarray:
        """The court from above at game time ``t``, letterboxed in a tile and captioned."""
        assert self.court is not None
        picture = top_down_at(self._canvas, self.court.tracks, t, self.court.trail_s, colours=self._colours)
        tw, th = self.tile_wh
        h, w = picture.shape[:2]
        tile = np.zeros((th, tw, 3), dtype=np.uint8)
        x0, y0 = (tw - w) // 2, (th - h) // 2
        tile[y0 : y0 + h, x0 : x0 + w] = picture
        return draw_caption_into(tile, f"court  t={t:.2f}s")

    def picture(self, tiles: Sequence[np.ndarray], t: float) -> np.ndarray:
        """The mosaic of the cameras' tiles (in ``names`` order) and the court at ``t``, under the banner strip."""
        if self.court is not None:
            tiles = [*tiles, self.court_tile(t)]
        grid = mosaic(tiles)
        return add_banner_strip(grid, self.banner) if self.banner else grid


# -- threads: decoding and encoding beside the drawing -----------------------------------------


class _Failed:
    def __init__(self, error: BaseException):
        self.error = error


_END = object()


class _Prefetch:
    """Runs an iterator on its own thread and hands its items over through a bounded queue.

    The thread stops at the first error, which :meth:`__next__` raises in the consumer.
    """

    def __init__(self, items: Iterable, maxsize: int, name: str):
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, maxsize))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(items,), name=name, daemon=True)
        self._thread.start()

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, items: Iterable) -> None:
        try:
            for item in items:
                if not self._put(item):
                    return
            self._put(_END)
        except BaseException as exc:  # handed to the consumer
            self._put(_Failed(exc))

    def __iter__(self) -> _Prefetch:
        return self

    def __next__(self):
        item = self._queue.get()
        if item is _END:
            raise StopIteration
        if isinstance(item, _Failed):
            raise item.error
        return item

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


class _Aborted(Exception):
    pass


class _VideoWriter:
    """:func:`write_video` on its own thread, fed frames through a bounded queue."""

    def __init__(self, path: Path, fps: float, maxsize: int):
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, maxsize))
        self._result: VideoResult | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(path, fps), name=f"encode {path.name}", daemon=True)
        self._thread.start()

    def _frames(self) -> Iterator[np.ndarray]:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise _Aborted
            yield item

    def _run(self, path: Path, fps: float) -> None:
        try:
            self._result = write_video(self._frames(), path, fps)
        except _Aborted:
            pass
        except BaseException as exc:  # raised in the producer at its next put
            self._error = exc

    def put(self, item) -> None:
        while True:
            if self._error is not None:
                raise self._error
            if not self._thread.is_alive():
                return
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def finish(self) -> VideoResult:
        self.put(_END)
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result

    def abort(self) -> None:
        """Stop without writing the file (the partial file is removed)."""
        if self._thread.is_alive():
            with contextlib.suppress(BaseException):  # the writer already failed: nothing to stop
                self.put(_Failed(_Aborted()))
            self._thread.join()


# -- a run's videos ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sources:
    """What rendering a run needs: its timeline, the chosen cameras, the game, masks and style."""

    run: Run
    timeline: Timeline
    cameras: tuple[str, ...]
    game: object
    out: Path
    banner: str | None
    gt_run: Run | None
    court: CourtOverlay | None = None
    notes: tuple[str, ...] = ()

    def masks(self, name: str) -> dict[int, FrameMasks]:
        return self.run.frames(name)

    def gt(self, name: str) -> dict[int, FrameMasks] | None:
        if self.gt_run is None or name not in self.gt_run.cameras:
            return None
        return self.gt_run.frames(name)

    def clip(self, name: str) -> Clip:
        return _clip_for(self.game, name)

    def sub_timeline(self) -> Timeline:
        """The chosen cameras' timeline (the mosaic's)."""
        chosen = self.cameras
        return Timeline(
            cameras=tuple(self.timeline.camera(n) for n in chosen),
            reference=self.timeline.reference if self.timeline.reference in chosen else chosen[0],
        )


def _clip_for(game, camera: str) -> Clip:
    from multicam.clips import probe_clip

    path = game.video_path(camera)
    return Clip(path, info=probe_clip(path), cache_size=2)


def _sources(
    run: Run | str | Path,
    out_dir: str | Path | None,
    cameras: Sequence[str] | None,
    with_ground_truth: bool,
    game_path: str | Path | None,
    with_court: bool = False,
) -> _Sources:
    run = run if isinstance(run, Run) else open_run(run)
    timeline = run.timeline()
    chosen = list(cameras) if cameras else list(timeline.names)
    unknown = [c for c in chosen if c not in run.cameras]
    if unknown:
        raise RunDirError(f"unknown camera(s) {unknown}; this run has {sorted(run.cameras)}")
    game = run.game(game_path)
    gt_run: Run | None = None
    if with_ground_truth:
        if game.ground_truth_path is None:
            raise RunDirError(f"{game.path}: the game names no ground_truth folder; drop --gt")
        gt_run = open_run(game.ground_truth_path)
    court, notes = None, ()
    if with_court:
        from multicam.court.analysis import find_calibration

        court, notes = court_overlay(run, find_calibration(run, game.calibration_path))
    return _Sources(
        run=run,
        timeline=timeline,
        cameras=tuple(chosen),
        game=game,
        out=Path(out_dir) if out_dir is not None else run.path / "render",
        banner=banner_for(run),
        gt_run=gt_run,
        court=court,
        notes=notes,
    )


def _camera_caption(name: str, cam: CameraTiming, index: int) -> str:
    return f"{name}  #{index}  t={cam.time_of(index):.2f}s"


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


def plan_render(
    run: Run | str | Path,
    *,
    out_dir: str | Path | None = None,
    cameras: Sequence[str] | None = None,
    with_mosaic: bool = True,
    with_ground_truth: bool = False,
    game_path: str | Path | None = None,
    style: OverlayStyle = OverlayStyle(),
    mosaic_width: int = MAX_MOSAIC_WIDTH,
    with_court: bool = True,
) -> list[RenderJob]:
    """The videos to render for a run, one at a time: one per camera (``<camera>.mp4``) and ``mosaic.mp4``.

    Each job decodes and annotates its own frames (the mosaic decodes every camera again);
    :func:`render_run` writes the same videos in one pass and is what ``multicam render`` uses.

    Args:
        run: the run directory (or ground-truth folder).
        out_dir: where the videos go (default ``<run>/render``).
        cameras: only these cameras (default: all); the mosaic always shows the chosen cameras.
        with_mosaic: also render the synchronized mosaic.
        with_ground_truth: draw the game's ground truth as thin white contours.
        game_path: the game file, when the run's manifest does not record it.
        style: how masks are drawn.
        mosaic_width: most pixels across the mosaic (tiles are scaled down to fit); 0: unscaled.
        with_court: add the court seen from above to the mosaic when the game has a calibration
            (:func:`court_overlay`); without one the mosaic is the cameras alone.

    Raises:
        RunDirError: unknown camera, or the game file cannot be found.
        GameFileError: the game file or its clips are missing.
    """
    src = _sources(run, out_dir, cameras, with_ground_truth, game_path, with_court and with_mosaic)
    objects = src.run.objects
    jobs: list[RenderJob] = []
    for name in src.cameras:
        cam = src.timeline.camera(name)

        def make(name: str = name, cam: CameraTiming = cam) -> Iterator[np.ndarray]:
            clip = src.clip(name)
            try:
                yield from iter_camera_frames(
                    clip,
                    src.masks(name),
                    objects,
                    style,
                    ground_truth=src.gt(name),
                    banner=src.banner,
                    caption=lambda i: _camera_caption(name, cam, i),
                    stop=cam.frame_count,
                )
            finally:
                clip.close()

        jobs.append(
            RenderJob(name=name, path=src.out / f"{name}.mp4", fps=cam.fps, total=cam.frame_count, make_frames=make)
        )
    if with_mosaic:
        sub = src.sub_timeline()
        fps = max(c.fps for c in sub.cameras)

        def make_mosaic() -> Iterator[np.ndarray]:
            clips = {n: src.clip(n) for n in src.cameras}
            try:
                gts = {n: g for n in src.cameras if (g := src.gt(n)) is not None} if src.gt_run is not None else None
                yield from iter_mosaic_frames(
                    clips,
                    {n: src.masks(n) for n in src.cameras},
                    sub,
                    objects,
                    style,
                    ground_truth=gts,
                    banner=src.banner,
                    fps=fps,
                    max_width=mosaic_width,
                    court=src.court,
                )
            finally:
                for c in clips.values():
                    c.close()

        jobs.append(
            RenderJob(
                name="mosaic",
                path=src.out / "mosaic.mp4",
                fps=fps,
                total=sum(1 for _ in sub.ticks(fps)),
                make_frames=make_mosaic,
            )
        )
    return jobs


@dataclass(frozen=True)
class RenderResult:
    """What :func:`render_run` wrote.

    Attributes:
        videos: the videos, cameras first (in timeline order), then the mosaic.
        camera_frames: camera frames decoded and annotated (each exactly once).
        seconds: wall time.
        notes: what the mosaic's court left out, and why (e.g. a camera missing from the calibration).
    """

    videos: tuple[VideoResult, ...]
    camera_frames: int
    seconds: float
    notes: tuple[str, ...] = ()


def render_run(
    run: Run | str | Path,
    *,
    out_dir: str | Path | None = None,
    cameras: Sequence[str] | None = None,
    with_mosaic: bool = True,
    with_ground_truth: bool = False,
    game_path: str | Path | None = None,
    style: OverlayStyle = OverlayStyle(),
    mosaic_width: int = MAX_MOSAIC_WIDTH,
    with_court: bool = True,
    queue_size: int = 4,
    progress: Callable[[str, int], None] | None = None,
) -> RenderResult:
    """Write a run's annotated videos, one per camera and the mosaic, in ONE pass over the clips.

    Every camera's clip is decoded once on its own thread (PyAV, threaded decoding); each
    frame is annotated once (:func:`annotate_into`), then goes, scaled, into the mosaic's tile
    and, with the banner and its caption, to its camera's encoder. Every video is encoded on its
    own thread; bounded queues (``queue_size`` frames) keep memory flat. Without the mosaic the
    cameras are rendered one after the other.

    Args: as :func:`plan_render`, plus
        queue_size: frames held between decoding, drawing and encoding, per stream.
        progress: called with ``(video name, frames just written)`` as the render goes.

    Raises:
        RunDirError: unknown camera, or the game file cannot be found.
        GameFileError, ClipError: the game file or its clips are missing or unreadable.
    """
    import time

    t0 = time.perf_counter()
    src = _sources(run, out_dir, cameras, with_ground_truth, game_path, with_court and with_mosaic)
    one_pass = _OnePass(src, style, queue_size, progress or (lambda name, n: None))
    try:
        if with_mosaic:
            one_pass.mosaic(mosaic_width)
        for name in src.cameras:
            one_pass.advance(name, src.timeline.camera(name).frame_count - 1)
    except BaseException:
        one_pass.abort()
        raise
    order = [*src.cameras, *(["mosaic"] if with_mosaic else [])]
    return RenderResult(
        videos=tuple(one_pass.results[n] for n in order),
        camera_frames=sum(one_pass.done.values()),
        seconds=time.perf_counter() - t0,
        notes=src.notes,
    )


class _OnePass:
    """:func:`render_run`'s state: a decoder and an encoder per camera, started when first needed."""

    def __init__(self, src: _Sources, style: OverlayStyle, queue_size: int, report: Callable[[str, int], None]):
        self.src, self.style, self.queue_size, self.report = src, style, queue_size, report
        self.objects = src.run.objects
        self.decoders: dict[str, _Prefetch] = {}
        self.writers: dict[str, _VideoWriter] = {}
        self.results: dict[str, VideoResult] = {}
        self.done: dict[str, int] = {}  # camera -> frames annotated so far
        self.masks: dict[str, dict[int, FrameMasks]] = {}
        self.gts: dict[str, dict[int, FrameMasks] | None] = {}
        self.grid: _MosaicGrid | None = None

    def start(self, name: str) -> None:
        cam = self.src.timeline.camera(name)
        clip = self.src.clip(name)

        def frames() -> Iterator[tuple[int, np.ndarray]]:
            previous = None
            try:
                for index, image in clip.iter_frames(0, cam.frame_count):
                    # frames are drawn on in place: a picture the clip hands out twice (a missing frame
                    # number filled with its neighbour) is copied, every other one is the decoder's own
                    yield index, (image.copy() if image is previous else image)
                    previous = image
            finally:
                clip.close()

        self.masks[name], self.gts[name] = self.src.masks(name), self.src.gt(name)
        self.decoders[name] = _Prefetch(frames(), self.queue_size, f"decode {name}")
        self.writers[name] = _VideoWriter(self.src.out / f"{name}.mp4", cam.fps, self.queue_size)
        self.done[name] = 0

    def advance(self, name: str, upto: int, tick: float | None = None) -> np.ndarray | None:
        """Annotate and send camera ``name``'s frames up to ``upto``; with ``tick``, frame ``upto``'s tile."""
        if name not in self.decoders:
            self.start(name)
        cam = self.src.timeline.camera(name)
        gt = self.gts[name]
        tile = None
        while self.done[name] <= min(upto, cam.frame_count - 1):
            index, image = next(self.decoders[name])
            truth = None if gt is None else gt.get(index)
            annotate_into(image, self.masks[name].get(index), self.objects, self.style, ground_truth=truth)
            if self.grid is not None and tick is not None and index == upto:
                tile = self.grid.tile(name, index, tick, image)  # before the banner and the camera's caption
            if self.src.banner:
                draw_banner_into(image, self.src.banner)
            draw_caption_into(image, _camera_caption(name, cam, index))
            self.writers[name].put(image)
            self.done[name] += 1
            self.report(name, 1)
        if self.done[name] >= cam.frame_count and name not in self.results:
            self.results[name] = self.writers[name].finish()
            self.decoders[name].close()
        return tile

    def mosaic(self, max_width: int) -> None:
        """Write the mosaic, tick by tick, advancing each camera to the frame its tile shows."""
        src = self.src
        sub = src.sub_timeline()
        resolutions = [src.run.cameras[n].resolution_wh for n in src.cameras]
        grid = self.grid = _MosaicGrid(sub, src.cameras, resolutions, max_width, src.banner, src.court)
        fps = max(c.fps for c in sub.cameras)
        writer = self.writers["mosaic"] = _VideoWriter(src.out / "mosaic.mp4", fps, self.queue_size)
        shown: dict[str, tuple[int, np.ndarray]] = {}
        for t in sub.ticks(fps):
            tiles = []
            for name, index in grid.indices(t).items():
                if index is not None and shown.get(name, (None,))[0] != index:
                    tile = self.advance(name, index, tick=t)
                    if tile is not None:
                        shown[name] = (index, tile)
                known = index is not None and shown.get(name, (None,))[0] == index
                tiles.append(shown[name][1] if known else grid.no_frame(name))
            writer.put(grid.picture(tiles, t))
            self.report("mosaic", 1)
        self.results["mosaic"] = writer.finish()

    def abort(self) -> None:
        for writer in self.writers.values():
            writer.abort()
        for decoder in self.decoders.values():
            decoder.close()

"""Export a run's masks (or ground truth) to standard formats: DAVIS PNGs, COCO JSON, MOTChallenge boxes.

- ``davis``: ``<out>/davis/<camera>/<frame:05d>.png``, one indexed PNG per processed frame with the
  DAVIS palette; pixel value = object id (0 = background; where masks overlap the higher id wins).
- ``coco``: ``<out>/coco/<camera>.json``, COCO instances with RLE segmentations (one image per
  processed frame, one category per object).
- ``mot``: ``<out>/mot/<camera>.txt``, MOTChallenge rows ``frame,id,x,y,w,h,conf,-1,-1,-1`` with
  1-based frame numbers.

Every exporter is a generator yielding the paths it wrote, so callers can show progress.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from multicam.errors import MulticamError
from multicam.masks import FrameMasks
from multicam.rundir import Run

FORMATS = ("davis", "coco", "mot")


class ExportError(MulticamError):
    """The run cannot be written in the asked format."""


def davis_palette() -> list[int]:
    """The DAVIS (PASCAL VOC) palette: 256 RGB triplets flattened to 768 ints."""
    palette = []
    for i in range(256):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        palette += [r, g, b]
    return palette


def davis_label_map(frame: FrameMasks) -> np.ndarray:
    """``(H, W)`` uint8 map of object ids (0 = background; the higher id wins overlaps)."""
    too_big = [i for i in frame.object_ids if not 0 < i <= 255]
    if too_big:
        raise ExportError(f"DAVIS PNGs hold ids 1..255; camera {frame.camera} frame {frame.frame} has ids {too_big}")
    return frame.label_map().astype(np.uint8)


def export_davis(run: Run, out_dir: str | Path, cameras: Iterable[str] | None = None) -> Iterator[Path]:
    """Write ``<out>/davis/<camera>/<frame:05d>.png`` for every processed frame; yields each path."""
    from PIL import Image

    palette = davis_palette()
    for cam in _cameras(run, cameras):
        folder = Path(out_dir) / "davis" / cam
        folder.mkdir(parents=True, exist_ok=True)
        for frame in sorted(run.frames(cam).values(), key=lambda f: f.frame):
            img = Image.fromarray(davis_label_map(frame))
            img.putpalette(palette)
            path = folder / f"{frame.frame:05d}.png"
            img.save(path, optimize=False)
            yield path


def coco_dataset(run: Run, camera: str) -> dict[str, Any]:
    """One camera's masks as a COCO instances dict (``images``, ``annotations``, ``categories``).

    Image ids are ``frame + 1``; ``file_name`` is ``<camera>/<frame:05d>.png`` and ``frame_index``
    / ``time`` give the 0-based frame and its game time. Annotation ``score`` is the object score as
    a probability (sigmoid of the logit; 1 for ground truth).
    """
    cam = run.cameras[camera]
    w, h = cam.resolution_wh
    objects = run.objects
    images, annotations = [], []
    seen_ids: set[int] = set()
    for frame in sorted(run.frames(camera).values(), key=lambda f: f.frame):
        image_id = frame.frame + 1
        images.append(
            {
                "id": image_id,
                "file_name": f"{camera}/{frame.frame:05d}.png",
                "width": w,
                "height": h,
                "frame_index": frame.frame,
                "time": round(frame.time, 6),
            }
        )
        for obj in frame.objects:
            if obj.box_xyxy is None:
                continue
            x0, y0, x1, y1 = obj.box_xyxy
            seen_ids.add(obj.object_id)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": obj.object_id,
                    "segmentation": {"size": list(obj.rle["size"]), "counts": obj.rle["counts"]},
                    "area": obj.area,
                    "bbox": [x0, y0, x1 - x0, y1 - y0],
                    "iscrowd": 0,
                    "score": _confidence(obj.score),
                }
            )
    categories = [
        {
            "id": i,
            "name": objects[i].name if i in objects else f"object {i}",
            "supercategory": (objects[i].team if i in objects else None) or "object",
        }
        for i in sorted(set(objects) | seen_ids)
    ]
    return {
        "info": {
            "description": f"multicam {run.kind} {run.path.name}, camera {camera}",
            "camera": camera,
            "game": run.game_name,
            "untrained": run.untrained,
        },
        "images": images,
        "annotations": annotations,
        "categories": categories,
    }


def export_coco(run: Run, out_dir: str | Path, cameras: Iterable[str] | None = None) -> Iterator[Path]:
    """Write ``<out>/coco/<camera>.json`` per camera; yields each path."""
    folder = Path(out_dir) / "coco"
    folder.mkdir(parents=True, exist_ok=True)
    for cam in _cameras(run, cameras):
        path = folder / f"{cam}.json"
        path.write_text(json.dumps(coco_dataset(run, cam), separators=(",", ":")) + "\n", encoding="utf-8")
        yield path


def mot_rows(frames: Iterable[FrameMasks]) -> Iterator[str]:
    """MOTChallenge lines ``frame,id,x,y,w,h,conf,-1,-1,-1`` (1-based frame, box in pixels)."""
    for frame in sorted(frames, key=lambda f: f.frame):
        for obj in frame.objects:
            if obj.box_xyxy is None:
                continue
            x0, y0, x1, y1 = obj.box_xyxy
            yield f"{frame.frame + 1},{obj.object_id},{x0},{y0},{x1 - x0},{y1 - y0},{_confidence(obj.score):.4f},-1,-1,-1"


def export_mot(run: Run, out_dir: str | Path, cameras: Iterable[str] | None = None) -> Iterator[Path]:
    """Write ``<out>/mot/<camera>.txt`` per camera; yields each path."""
    folder = Path(out_dir) / "mot"
    folder.mkdir(parents=True, exist_ok=True)
    for cam in _cameras(run, cameras):
        path = folder / f"{cam}.txt"
        lines = list(mot_rows(run.frames(cam).values()))
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        yield path


def export(run: Run, fmt: str, out_dir: str | Path, cameras: Iterable[str] | None = None) -> Iterator[Path]:
    """Dispatch to the exporter of ``fmt`` (``davis``, ``coco`` or ``mot``)."""
    exporters = {"davis": export_davis, "coco": export_coco, "mot": export_mot}
    if fmt not in exporters:
        raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if cameras is not None:
        cameras = _cameras(run, cameras)  # before any folder is made
    return exporters[fmt](run, out_dir, cameras)


def _cameras(run: Run, cameras: Iterable[str] | None) -> list[str]:
    names = list(run.cameras)
    if cameras is None:
        return names
    chosen = list(cameras)
    unknown = [c for c in chosen if c not in names]
    if unknown:
        raise ExportError(f"unknown camera(s) {unknown}; this run has {names}")
    return chosen


def _confidence(score: float | None) -> float:
    """Object score logit as a probability; 1.0 when there is no score (ground truth)."""
    if score is None or math.isnan(score):
        return 1.0
    return 1.0 / (1.0 + math.exp(-max(min(score, 60.0), -60.0)))

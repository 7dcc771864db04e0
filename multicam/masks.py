"""Object masks: the one data type that flows between every multicam tool.

A camera's masks for one frame are a :class:`FrameMasks`; each object in it an
:class:`ObjectMask` holding the mask as COCO run-length encoding (pycocotools), so
that a whole game's masks stay small in memory and on disk. Decoding to a dense
``(H, W)`` boolean array happens only when a caller asks for it.

On disk (run directories and ground truth alike) a camera's masks are one JSON
Lines file, ``masks/<camera>.jsonl``, one line per frame::

    {"frame": 12, "time": 0.48, "objects": [
        {"id": 1, "rle": {"size": [H, W], "counts": "..."},
         "box_xyxy": [x0, y0, x1, y1], "area": 523, "score": 7.1}
    ]}

``frame`` is the 0-based frame index in that camera's clip, ``time`` the
synchronized game time in seconds (reference camera clock), ``box_xyxy`` is in
pixels with exclusive right/bottom edges (``x1 = x0 + width``), ``area`` in pixels
and ``score`` the model's object score logit (``null`` for ground truth).
An object that is absent in a frame is simply not listed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pycocotools.mask as mask_utils

from multicam.errors import CorruptRunError


def encode_rle(mask: np.ndarray) -> dict[str, Any]:
    """Encode a boolean ``(H, W)`` mask as COCO RLE with a ``str`` counts field."""
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D (H, W), got shape {mask.shape}")
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    counts = rle["counts"]
    return {
        "size": [int(rle["size"][0]), int(rle["size"][1])],
        "counts": counts.decode("ascii") if isinstance(counts, bytes) else counts,
    }


def decode_rle(rle: dict[str, Any]) -> np.ndarray:
    """Decode COCO RLE (``str`` or ``bytes`` counts) to a boolean ``(H, W)`` array."""
    counts = rle["counts"]
    as_bytes = {"size": list(rle["size"]), "counts": counts.encode("ascii") if isinstance(counts, str) else counts}
    return mask_utils.decode(as_bytes).astype(bool)


def mask_box_xyxy(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """Tight box ``(x0, y0, x1, y1)`` of a boolean mask, exclusive max; None if empty."""
    ys, xs = np.nonzero(mask)
    if xs.size == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


@dataclass(frozen=True)
class ObjectMask:
    """One object's mask in one frame of one camera.

    Attributes:
        object_id: the object's id, the same in every camera.
        rle: COCO RLE of the ``(H, W)`` mask, ``counts`` as ``str``.
        box_xyxy: tight box in pixels, exclusive max; ``None`` when the mask is empty.
        area: number of mask pixels.
        score: the model's object score logit; ``None`` for ground truth.
    """

    object_id: int
    rle: dict[str, Any]
    box_xyxy: tuple[int, int, int, int] | None
    area: int
    score: float | None = None

    @classmethod
    def from_mask(cls, object_id: int, mask: np.ndarray, score: float | None = None) -> ObjectMask:
        """Build from a dense boolean ``(H, W)`` mask."""
        mask = np.asarray(mask, dtype=bool)
        return cls(
            object_id=int(object_id),
            rle=encode_rle(mask),
            box_xyxy=mask_box_xyxy(mask),
            area=int(mask.sum()),
            score=None if score is None else float(score),
        )

    @property
    def resolution_wh(self) -> tuple[int, int]:
        h, w = self.rle["size"]
        return int(w), int(h)

    def decode(self) -> np.ndarray:
        """The dense boolean mask, shape ``(H, W)``."""
        return decode_rle(self.rle)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.object_id,
            "rle": self.rle,
            "box_xyxy": None if self.box_xyxy is None else list(self.box_xyxy),
            "area": self.area,
            "score": self.score,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ObjectMask:
        box = data.get("box_xyxy")
        return cls(
            object_id=int(data["id"]),
            rle={"size": [int(v) for v in data["rle"]["size"]], "counts": data["rle"]["counts"]},
            box_xyxy=None if box is None else tuple(int(v) for v in box),  # type: ignore[arg-type]
            area=int(data["area"]),
            score=None if data.get("score") is None else float(data["score"]),
        )


@dataclass(frozen=True)
class FrameMasks:
    """All objects' masks in one frame of one camera.

    Attributes:
        camera: camera name.
        frame: 0-based frame index in that camera's clip.
        time: synchronized game time of the frame in seconds (reference clock).
        resolution_wh: ``(W, H)`` of the camera's frames.
        objects: the objects present in the frame, ordered by id.
    """

    camera: str
    frame: int
    time: float
    resolution_wh: tuple[int, int]
    objects: tuple[ObjectMask, ...] = field(default_factory=tuple)

    @property
    def object_ids(self) -> tuple[int, ...]:
        return tuple(o.object_id for o in self.objects)

    def get(self, object_id: int) -> ObjectMask | None:
        for obj in self.objects:
            if obj.object_id == object_id:
                return obj
        return None

    def mask(self, object_id: int) -> np.ndarray:
        """Dense boolean ``(H, W)`` mask of an object; all False when it is absent."""
        obj = self.get(object_id)
        if obj is None:
            w, h = self.resolution_wh
            return np.zeros((h, w), dtype=bool)
        return obj.decode()

    def label_map(self) -> np.ndarray:
        """``(H, W)`` int32 map of object ids (0 = background); later ids win overlaps."""
        w, h = self.resolution_wh
        out = np.zeros((h, w), dtype=np.int32)
        for obj in self.objects:
            out[obj.decode()] = obj.object_id
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "frame": self.frame,
            "time": self.time,
            "resolution_wh": list(self.resolution_wh),
            "objects": [o.to_json() for o in self.objects],
        }

    @classmethod
    def from_json(cls, camera: str, data: dict[str, Any]) -> FrameMasks:
        return cls(
            camera=camera,
            frame=int(data["frame"]),
            time=float(data["time"]),
            resolution_wh=(int(data["resolution_wh"][0]), int(data["resolution_wh"][1])),
            objects=tuple(ObjectMask.from_json(o) for o in data["objects"]),
        )

    @classmethod
    def from_label_map(
        cls,
        camera: str,
        frame: int,
        time: float,
        label_map: np.ndarray,
        object_ids: Iterable[int] | None = None,
    ) -> FrameMasks:
        """Build from an ``(H, W)`` integer id map (0 = background)."""
        ids = (
            sorted(int(i) for i in np.unique(label_map) if i != 0)
            if object_ids is None
            else sorted(int(i) for i in object_ids)
        )
        objects = []
        for oid in ids:
            m = label_map == oid
            if m.any():
                objects.append(ObjectMask.from_mask(oid, m))
        h, w = label_map.shape
        return cls(camera=camera, frame=frame, time=time, resolution_wh=(w, h), objects=tuple(objects))


def write_jsonl_line(fh, frame_masks: FrameMasks) -> None:
    """Append one frame to an open masks JSONL file and flush it to disk."""
    fh.write(json.dumps(frame_masks.to_json(), separators=(",", ":")) + "\n")
    fh.flush()


def read_masks_jsonl(path: str | Path, camera: str | None = None) -> Iterator[FrameMasks]:
    """Yield the frames of a masks JSONL file in file order.

    A truncated last line (a run that was killed while writing) is skipped; any other
    malformed line is an error naming the file and line.
    """
    path = Path(path)
    camera = camera if camera is not None else path.stem
    try:
        with path.open("r", encoding="utf-8") as fh:
            lines = fh.readlines()
    except UnicodeDecodeError as exc:
        raise CorruptRunError(f"{path}: not UTF-8 text (byte {exc.start}); see `multicam check` on the run") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            if number == len(lines) and not line.endswith("\n"):
                return  # half-written last line of an interrupted run
            raise CorruptRunError(
                f"{path}:{number}: not valid JSON ({exc.msg}); see `multicam check` on the run"
            ) from None
        try:
            frame = FrameMasks.from_json(camera, data)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise CorruptRunError(
                f"{path}:{number}: not a frame record ({type(exc).__name__}: {exc}); see `multicam check` on the run"
            ) from None
        yield frame

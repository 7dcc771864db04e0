"""Editing prompts in the dashboard: a plain, JSON-like draft and pure functions over it.

A draft is a list of objects, each ``{"id", "name", "team", "prompts": [...]}`` where a
prompt is ``{"frame" or "time", "camera", "positive", "negative", "box_xyxy"}`` as in the
prompts file (:mod:`multicam.prompts`). Every function returns a new draft; nothing here
touches Streamlit or the disk, so the Prompts page stays a thin layer over it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from pydantic import ValidationError

from multicam.errors import PromptError
from multicam.game import format_validation_error
from multicam.prompts import PromptsFile
from multicam.render import object_color

Draft = list[dict[str, Any]]
TABLE_COLUMNS = ("id", "name", "team", "camera", "frame", "time", "positive", "negative", "box_xyxy")


def draft_from_file(prompts: PromptsFile) -> Draft:
    """A draft from a prompts file (objects that repeat an id are joined)."""
    draft: Draft = []
    for obj in prompts.merged():
        prompts_ = []
        for p in obj.prompts:
            prompts_.append(
                {
                    "frame": p.frame,
                    "time": p.time,
                    "camera": p.camera,
                    "positive": [[float(x), float(y)] for x, y in p.positive],
                    "negative": [[float(x), float(y)] for x, y in p.negative],
                    "box_xyxy": None if p.box_xyxy is None else [float(v) for v in p.box_xyxy],
                }
            )
        draft.append({"id": obj.id, "name": obj.name, "team": obj.team, "prompts": prompts_})
    return draft


def draft_to_file(draft: Draft) -> PromptsFile:
    """The draft as a checked :class:`PromptsFile`.

    Raises:
        PromptError: an object without prompts, or a prompt the file format refuses.
    """
    empty = [f"{o['id']} ({o['name']})" for o in draft if not o["prompts"]]
    if empty:
        raise PromptError(f"object(s) {', '.join(empty)} have no prompt yet: click on them in a frame, or delete them")
    data = {
        "objects": [
            {
                "id": o["id"],
                "name": o["name"],
                "team": o.get("team") or None,
                "prompts": [{k: v for k, v in p.items() if v is not None} for p in o["prompts"]],
            }
            for o in draft
        ]
    }
    try:
        return PromptsFile.model_validate(data)
    except ValidationError as exc:
        raise PromptError(format_validation_error(exc, "prompts")) from None


def next_object_id(draft: Draft) -> int:
    """The smallest id >= 1 that no object uses."""
    used = {int(o["id"]) for o in draft}
    n = 1
    while n in used:
        n += 1
    return n


def add_object(draft: Draft, object_id: int, name: str, team: str | None = None) -> Draft:
    """A draft with a new object (no prompts yet), kept sorted by id.

    Raises:
        PromptError: the id is taken, not >= 1, or the name is empty.
    """
    name = name.strip()
    if object_id < 1:
        raise PromptError(f"object id must be 1 or more, got {object_id}")
    if not name:
        raise PromptError("give the object a name (e.g. 'ball' or 'player 7')")
    if any(int(o["id"]) == object_id for o in draft):
        raise PromptError(
            f"object id {object_id} is already used; pick another id (next free: {next_object_id(draft)})"
        )
    out = copy.deepcopy(draft)
    out.append({"id": int(object_id), "name": name, "team": (team or "").strip() or None, "prompts": []})
    return sorted(out, key=lambda o: o["id"])


def remove_object(draft: Draft, object_id: int) -> Draft:
    return [copy.deepcopy(o) for o in draft if int(o["id"]) != object_id]


def _prompt_for(obj: dict[str, Any], camera: str | None, frame: int) -> dict[str, Any]:
    for p in obj["prompts"]:
        if p.get("frame") == frame and p.get("camera") == camera:
            return p
    p = {"frame": frame, "time": None, "camera": camera, "positive": [], "negative": [], "box_xyxy": None}
    obj["prompts"].append(p)
    obj["prompts"].sort(key=lambda q: (q.get("camera") or "", q.get("frame") if q.get("frame") is not None else -1))
    return p


def _find(draft: Draft, object_id: int) -> dict[str, Any]:
    for obj in draft:
        if int(obj["id"]) == object_id:
            return obj
    raise PromptError(f"no object with id {object_id}; add it first")


def add_point(
    draft: Draft, object_id: int, camera: str | None, frame: int, xy: tuple[float, float], positive: bool = True
) -> Draft:
    """A draft with a positive (or negative) click on an object in one frame."""
    out = copy.deepcopy(draft)
    p = _prompt_for(_find(out, object_id), camera, frame)
    p["positive" if positive else "negative"].append([round(float(xy[0]), 1), round(float(xy[1]), 1)])
    return out


def set_box(
    draft: Draft, object_id: int, camera: str | None, frame: int, box_xyxy: tuple[float, float, float, float]
) -> Draft:
    """A draft whose object has this box in that frame (replacing an earlier one)."""
    x0, y0, x1, y1 = box_xyxy
    if x1 <= x0 or y1 <= y0:
        raise PromptError(f"a box needs x1 > x0 and y1 > y0, got {list(box_xyxy)}")
    out = copy.deepcopy(draft)
    p = _prompt_for(_find(out, object_id), camera, frame)
    p["box_xyxy"] = [round(float(v), 1) for v in box_xyxy]
    return out


def undo_last(draft: Draft, object_id: int, camera: str | None, frame: int) -> Draft:
    """A draft without the last thing added to an object's prompt in that frame (box first)."""
    out = copy.deepcopy(draft)
    obj = _find(out, object_id)
    for p in obj["prompts"]:
        if p.get("frame") == frame and p.get("camera") == camera:
            if p.get("box_xyxy") is not None:
                p["box_xyxy"] = None
            elif p["negative"] and (not p["positive"] or len(p["negative"]) >= len(p["positive"])):
                p["negative"].pop()
            elif p["positive"]:
                p["positive"].pop()
            if not p["positive"] and not p["negative"] and p.get("box_xyxy") is None:
                obj["prompts"].remove(p)
            break
    return out


# -- clicks on the image ------------------------------------------------------------------------


@dataclass(frozen=True)
class Click:
    """What a click (or drag) on the displayed frame means, in the frame's pixels.

    Attributes:
        kind: ``"point"`` or ``"box"``.
        xy: the point (for ``"point"``).
        box_xyxy: the box (for ``"box"``), clamped to the image.
    """

    kind: str
    xy: tuple[float, float] | None = None
    box_xyxy: tuple[float, float, float, float] | None = None


def interpret_click(value: Mapping[str, Any] | None, image_wh: tuple[int, int], drag_px: float = 5.0) -> Click | None:
    """Turn a ``streamlit_image_coordinates`` value into a point or a box in image pixels.

    The component reports display coordinates and the displayed ``width``/``height``;
    a press and release farther apart than ``drag_px`` (display pixels) is a box.
    Returns ``None`` for no value or a click outside the image.
    """
    if not value:
        return None
    w, h = image_wh
    dw = float(value.get("width") or w)
    dh = float(value.get("height") or h)
    sx, sy = w / dw, h / dh
    if "x1" in value:
        x1, y1, x2, y2 = (float(value[k]) for k in ("x1", "y1", "x2", "y2"))
        if abs(x2 - x1) > drag_px or abs(y2 - y1) > drag_px:
            xs = sorted((min(max(x1 * sx, 0.0), w), min(max(x2 * sx, 0.0), w)))
            ys = sorted((min(max(y1 * sy, 0.0), h), min(max(y2 * sy, 0.0), h)))
            if xs[1] - xs[0] < 1 or ys[1] - ys[0] < 1:
                return None
            return Click("box", box_xyxy=(round(xs[0], 1), round(ys[0], 1), round(xs[1], 1), round(ys[1], 1)))
        x, y = x1, y1
    else:
        x, y = float(value["x"]), float(value["y"])
    px, py = x * sx, y * sy
    if not (0 <= px < w and 0 <= py < h):
        return None
    return Click("point", xy=(round(px, 1), round(py, 1)))


# -- the table of prompts -----------------------------------------------------------------------


def format_points(points: Sequence[Sequence[float]]) -> str:
    return "; ".join(f"{x:g},{y:g}" for x, y in points)


def parse_points(text: str, what: str) -> list[list[float]]:
    """``"x,y; x,y"`` to ``[[x, y], ...]``; raises :class:`PromptError` naming the column."""
    out = []
    for part in str(text or "").replace("\n", ";").split(";"):
        part = part.strip()
        if not part:
            continue
        try:
            x, y = (float(v) for v in part.replace(" ", "").split(","))
        except ValueError:
            raise PromptError(f"{what}: {part!r} is not 'x,y' (e.g. '120,85; 130,90')") from None
        out.append([x, y])
    return out


def parse_box(text: str | None) -> list[float] | None:
    if text is None or not str(text).strip():
        return None
    try:
        values = [float(v) for v in str(text).replace(" ", "").split(",")]
    except ValueError:
        values = []
    if len(values) != 4:
        raise PromptError(f"box_xyxy: {text!r} is not 'x0,y0,x1,y1' (e.g. '100,80,140,160')")
    return values


def draft_to_rows(draft: Draft) -> list[dict[str, Any]]:
    """One row per prompt, for a table the analyst can edit (columns :data:`TABLE_COLUMNS`)."""
    rows = []
    for obj in draft:
        for p in obj["prompts"]:
            rows.append(
                {
                    "id": int(obj["id"]),
                    "name": obj["name"],
                    "team": obj.get("team") or "",
                    "camera": p.get("camera") or "",
                    "frame": p.get("frame"),
                    "time": p.get("time"),
                    "positive": format_points(p["positive"]),
                    "negative": format_points(p["negative"]),
                    "box_xyxy": "" if p.get("box_xyxy") is None else ",".join(f"{v:g}" for v in p["box_xyxy"]),
                }
            )
    return rows


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and not v.strip())


def rows_to_draft(rows: Sequence[Mapping[str, Any]], previous: Draft) -> Draft:
    """The draft described by an edited table. Objects of ``previous`` without prompts are kept.

    Raises:
        PromptError: a row without an id, name or frame/time, or a cell that does not parse.
    """
    objects: dict[int, dict[str, Any]] = {}
    for n, row in enumerate(rows, start=1):
        if all(_blank(row.get(c)) for c in TABLE_COLUMNS):
            continue
        if _blank(row.get("id")):
            raise PromptError(f"row {n}: give the object id")
        oid = int(row["id"])
        prev = next((o for o in previous if int(o["id"]) == oid), None)
        name = "" if _blank(row.get("name")) else str(row["name"]).strip()
        name = name or (prev["name"] if prev else "")
        if not name:
            raise PromptError(f"row {n}: give object {oid} a name")
        team = None if _blank(row.get("team")) else str(row["team"]).strip()
        obj = objects.setdefault(oid, {"id": oid, "name": name, "team": team, "prompts": []})
        frame = None if _blank(row.get("frame")) else int(row["frame"])
        time = None if _blank(row.get("time")) else float(row["time"])
        if frame is None and time is None:
            raise PromptError(f"row {n}: give a frame (or a time in seconds)")
        obj["prompts"].append(
            {
                "frame": frame,
                "time": time if frame is None else None,
                "camera": None if _blank(row.get("camera")) else str(row["camera"]).strip(),
                "positive": parse_points(row.get("positive") or "", f"row {n}: positive"),
                "negative": parse_points(row.get("negative") or "", f"row {n}: negative"),
                "box_xyxy": parse_box(row.get("box_xyxy")),
            }
        )
    for obj in previous:
        if not obj["prompts"] and int(obj["id"]) not in objects:
            objects[int(obj["id"])] = copy.deepcopy(obj)
    return [objects[k] for k in sorted(objects)]


def frame_summary(draft: Draft, camera: str | None, frame: int) -> list[str]:
    """One line per object with prompts on that camera and frame: ``"1 ball: +616,247 -600,250 box ..."``."""
    lines = []
    for obj in draft:
        for p in obj["prompts"]:
            if p.get("frame") != frame or p.get("camera") != camera:
                continue
            parts = [f"+{x:g},{y:g}" for x, y in p["positive"]] + [f"-{x:g},{y:g}" for x, y in p["negative"]]
            if p.get("box_xyxy") is not None:
                parts.append("box " + ",".join(f"{v:g}" for v in p["box_xyxy"]))
            lines.append(f"{obj['id']} {obj['name']}: " + " ".join(parts))
    return lines


# -- drawing ----------------------------------------------------------------------------------


def draw_prompts(
    image: np.ndarray, draft: Draft, camera: str | None, frame: int, highlight: int | None = None
) -> np.ndarray:
    """A copy of an RGB frame with the prompts of that camera and frame drawn in each object's colour.

    Positive clicks are filled dots, negative clicks crosses, boxes rectangles; the
    ``highlight`` object's marks are drawn thicker.
    """
    out = image.copy()
    r = max(3, round(min(out.shape[:2]) / 90))
    for obj in draft:
        rgb = object_color(int(obj["id"])).as_rgb()
        thick = 2 if int(obj["id"]) == highlight else 1
        for p in obj["prompts"]:
            if p.get("frame") != frame or p.get("camera") != camera:
                continue
            for x, y in p["positive"]:
                c = (round(x), round(y))
                cv2.circle(out, c, r + 1, (255, 255, 255), -1, cv2.LINE_AA)
                cv2.circle(out, c, r, rgb, -1, cv2.LINE_AA)
            for x, y in p["negative"]:
                x, y = round(x), round(y)
                for dx in (-r, r):
                    cv2.line(out, (x - r, y - dx), (x + r, y + dx), (255, 255, 255), thick + 2, cv2.LINE_AA)
                    cv2.line(out, (x - r, y - dx), (x + r, y + dx), rgb, thick, cv2.LINE_AA)
            if p.get("box_xyxy") is not None:
                x0, y0, x1, y1 = (round(v) for v in p["box_xyxy"])
                cv2.rectangle(out, (x0, y0), (x1 - 1, y1 - 1), rgb, thick, cv2.LINE_AA)
            pts = p["positive"] or ([p["box_xyxy"][:2]] if p.get("box_xyxy") else [])
            if pts:
                x, y = pts[0]
                cv2.putText(
                    out,
                    f"{obj['id']} {obj['name']}",
                    (round(x) + r + 2, max(10, round(y) - r)),
                    cv2.FONT_HERSHEY_SIMPLEX,
                    0.4,
                    (255, 255, 255),
                    2,
                    cv2.LINE_AA,
                )
                cv2.putText(
                    out,
                    f"{obj['id']} {obj['name']}",
                    (round(x) + r + 2, max(10, round(y) - r)),
                    cv2.FONT_HERSHEY_SIMPLEX,
                    0.4,
                    rgb,
                    1,
                    cv2.LINE_AA,
                )
    return out

"""Top-down pictures of the court: template lines, objects as numbered dots with short trails."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from multicam.court.templates import CourtTemplate

FLOOR = (38, 102, 60)
LINE = (235, 235, 235)
SHIFT = 4  # sub-pixel bits for cv2 drawing


@dataclass(frozen=True)
class CourtCanvas:
    """A top-down image of a court and how metres map onto it.

    Attributes:
        image: ``(H, W, 3)`` RGB uint8.
        px_per_m: pixels per metre.
        margin_m: floor shown around the court.
    """

    image: np.ndarray
    px_per_m: float
    margin_m: float

    def to_px(self, xy_m: np.ndarray) -> np.ndarray:
        """``(N, 2)`` floor metres -> ``(N, 2)`` image pixels (``y`` grows downwards = towards the near side)."""
        xy = np.asarray(xy_m, dtype=np.float64).reshape(-1, 2)
        h = self.image.shape[0]
        return np.column_stack(
            [(xy[:, 0] + self.margin_m) * self.px_per_m, h - (xy[:, 1] + self.margin_m) * self.px_per_m]
        )


def _fixed(pts: np.ndarray) -> np.ndarray:
    return np.round(pts * (1 << SHIFT)).astype(np.int32)


def court_canvas(template: CourtTemplate, width_px: int = 600, margin_m: float = 1.5) -> CourtCanvas:
    """The court's lines drawn top-down on a ``width_px`` wide image (the near side line at the bottom)."""
    px_per_m = width_px / (template.length_m + 2 * margin_m)
    h = int(round((template.width_m + 2 * margin_m) * px_per_m))
    canvas = CourtCanvas(np.full((h, width_px, 3), FLOOR, np.uint8), px_per_m, margin_m)
    thickness = max(1, int(round(px_per_m * 0.05)))
    for line in template.polylines():
        cv2.polylines(canvas.image, [_fixed(canvas.to_px(line))], False, LINE, thickness, cv2.LINE_AA, SHIFT)
    return canvas


def object_colour(object_id: int) -> tuple[int, int, int]:
    """A stable, distinct RGB colour per object id."""
    hue = (object_id * 47) % 180
    rgb = cv2.cvtColor(np.uint8([[[hue, 200, 255]]]), cv2.COLOR_HSV2RGB)[0, 0]
    return int(rgb[0]), int(rgb[1]), int(rgb[2])


def draw_objects(
    canvas: CourtCanvas,
    positions: Mapping[int, tuple[float, float]],
    trails: Mapping[int, Sequence[tuple[float, float]]] | None = None,
    labels: Mapping[int, str] | None = None,
    colours: Mapping[int, tuple[int, int, int]] | None = None,
) -> np.ndarray:
    """A copy of the canvas with each object as a numbered dot at ``positions[id]`` (metres) and its trail.

    Args:
        positions: ``{object_id: (x_m, y_m)}`` now.
        trails: ``{object_id: [(x_m, y_m), ...]}`` oldest first.
        labels: text in each dot (default: the id).
        colours: RGB per object (default: :func:`object_colour`), e.g. the overlay colours of the dashboard.
    """

    def colour(oid: int) -> tuple[int, int, int]:
        return (colours or {}).get(oid) or object_colour(oid)

    img = canvas.image.copy()
    r = max(4, int(round(canvas.px_per_m * 0.45)))
    for oid, pts in (trails or {}).items():
        pts = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
        pts = pts[np.all(np.isfinite(pts), axis=1)]
        if len(pts) >= 2:
            cv2.polylines(img, [_fixed(canvas.to_px(pts))], False, colour(oid), max(1, r // 3), cv2.LINE_AA, SHIFT)
    for oid, xy in positions.items():
        if xy is None or not np.all(np.isfinite(xy)):
            continue
        c = canvas.to_px(np.array([xy]))[0]
        centre = (int(round(c[0])), int(round(c[1])))
        cv2.circle(img, centre, r, colour(oid), -1, cv2.LINE_AA)
        cv2.circle(img, centre, r, (20, 20, 20), 1, cv2.LINE_AA)
        text = (labels or {}).get(oid, str(oid))
        scale = r / 14
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        cv2.putText(
            img,
            text,
            (centre[0] - tw // 2, centre[1] + th // 2),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            (0, 0, 0),
            1,
            cv2.LINE_AA,
        )
    return img


@dataclass(frozen=True, eq=False)
class FloorTracks:
    """Each object's floor positions in time order, indexed so that any moment is drawn without a scan.

    Built once from position rows (:meth:`from_rows`); :meth:`at` then finds a moment's window of
    each object's positions by binary search, so drawing every frame of a long game costs the
    positions in the trails, not all the rows.

    Attributes:
        times: ``{object_id: (N,)}`` step times (s), increasing.
        xy: ``{object_id: (N, 2)}`` floor metres at those times.
        step_s: the shortest time between two steps (0.1 s with fewer than two steps).
    """

    times: dict[int, np.ndarray] = field(repr=False)
    xy: dict[int, np.ndarray] = field(repr=False)
    step_s: float = 0.1

    @classmethod
    def from_rows(cls, rows: Sequence) -> FloorTracks:
        """From position rows (:class:`multicam.court.positions.PositionRow`); rows without a position are left out."""
        steps = np.unique([float(r.time) for r in rows])
        step_s = float(np.diff(steps).min()) if len(steps) >= 2 else 0.1
        by_id: dict[int, list[tuple[float, float, float]]] = {}
        for r in rows:
            if r.x_m is not None and r.y_m is not None:
                by_id.setdefault(int(r.object_id), []).append((float(r.time), float(r.x_m), float(r.y_m)))
        times, xy = {}, {}
        for oid, pts in by_id.items():
            arr = np.array(pts, dtype=np.float64)
            arr = arr[np.argsort(arr[:, 0], kind="stable")]
            times[oid], xy[oid] = arr[:, 0], arr[:, 1:]
        return cls(times, xy, step_s)

    def at(self, time: float, trail_s: float = 2.0) -> tuple[dict[int, tuple[float, float]], dict[int, np.ndarray]]:
        """``(positions, trails)`` at game time ``time``: each object's latest position at or before it, and
        its positions over the last ``trail_s`` seconds (oldest first).

        An object whose latest position is older than three steps (at least 0.25 s) has no position
        (it is gone), only what is left of its trail.
        """
        gone_after = max(3 * self.step_s, 0.25)
        now: dict[int, tuple[float, float]] = {}
        trails: dict[int, np.ndarray] = {}
        for oid, times in self.times.items():
            lo = int(np.searchsorted(times, time - trail_s, side="left"))
            hi = int(np.searchsorted(times, time + 1e-6, side="right"))
            if hi <= lo:
                continue
            trails[oid] = self.xy[oid][lo:hi]
            if time - times[hi - 1] <= gone_after:
                x, y = trails[oid][-1]
                now[oid] = (float(x), float(y))
        return now, trails


def fit_court_canvas(template: CourtTemplate, box_wh: tuple[int, int], margin_m: float = 1.5) -> CourtCanvas:
    """The largest :func:`court_canvas` that fits in a ``box_wh`` picture (the court's aspect kept)."""
    bw, bh = box_wh
    aspect = (template.length_m + 2 * margin_m) / (template.width_m + 2 * margin_m)
    return court_canvas(template, width_px=max(1, min(int(bw), int(bh * aspect))), margin_m=margin_m)


def top_down_at(
    canvas: CourtCanvas,
    rows: Sequence | FloorTracks,
    time: float,
    trail_s: float = 2.0,
    labels: Mapping[int, str] | None = None,
    colours: Mapping[int, tuple[int, int, int]] | None = None,
) -> np.ndarray:
    """The court at game time ``time``: each object's latest position at or before it and its trail.

    Args:
        canvas: :func:`court_canvas` of the game's court.
        rows: position rows (:class:`multicam.court.positions.PositionRow`) of every object and step, or
            the :class:`FloorTracks` built from them once (for drawing many moments).
        time: the moment shown (s).
        trail_s: how far back the trails reach (s).
        labels: text in each dot (default: the id).
        colours: RGB per object (default: :func:`object_colour`).
    """
    tracks = rows if isinstance(rows, FloorTracks) else FloorTracks.from_rows(rows)
    now, trails = tracks.at(time, trail_s)
    return draw_objects(canvas, now, trails, labels, colours)

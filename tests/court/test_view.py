"""The court from above: positions indexed by time, the canvas fitted to a picture, the picture at a moment."""

from __future__ import annotations

import numpy as np
import pytest

from multicam.court.positions import PositionRow
from multicam.court.templates import load_template
from multicam.court.view import FloorTracks, court_canvas, draw_objects, fit_court_canvas, top_down_at


def row(time: float, oid: int, xy: tuple[float, float] | None, step: int = 0) -> PositionRow:
    x, y = xy if xy is not None else (None, None)
    return PositionRow(step, time, oid, f"p{oid}", x, y, None, (), (), None, False)


def scan(rows, time: float, trail_s: float):
    """The picture's content found by looking at every row: what :class:`FloorTracks` must give."""
    now, now_t, trails = {}, {}, {}
    for r in rows:
        if r.x_m is None or r.time > time + 1e-6 or r.time < time - trail_s:
            continue
        trails.setdefault(r.object_id, []).append((r.x_m, r.y_m))
        if r.time >= now_t.get(r.object_id, -np.inf):
            now[r.object_id], now_t[r.object_id] = (r.x_m, r.y_m), r.time
    times = sorted({r.time for r in rows})
    step = min(np.diff(times), default=0.1)
    return {i: xy for i, xy in now.items() if time - now_t[i] <= max(3 * step, 0.25)}, trails


def steps(n: int, ids=(1, 2), dt: float = 0.04, missing=()) -> list[PositionRow]:
    return [row(k * dt, i, None if (k, i) in missing else (k * 0.1 + i, 2.0 * i), k) for k in range(n) for i in ids]


@pytest.mark.parametrize(
    "rows, time, trail_s, dots",
    [
        ([], 1.0, 2.0, 0),  # nothing at all
        (steps(1, ids=(3,)), 0.0, 2.0, 1),  # one row, shown at its own time
        (steps(1, ids=(3,)), -0.5, 2.0, 0),  # before the first row: nothing
        (steps(100), 2.0, 2.0, 2),  # trails of 2 s back
        (steps(100), 2.0, 0.5, 2),  # shorter trails
        (steps(100), 1.0, 0.0, 2),  # no trail: the dot only
        (steps(100, missing={(50, 1), (51, 1)}), 2.04, 2.0, 2),  # rows without a position are left out
        (steps(30), 1.5, 2.0, 0),  # the objects are gone (last seen 0.34 s earlier): trails only
        (steps(30), 1.4, 2.0, 2),  # last seen within 0.25 s: still shown
        (steps(10, ids=(1,)) + steps(10, ids=(2,), dt=0.02), 0.17, 1.0, 2),  # rows out of time order
    ],
)
def test_floor_tracks_give_what_a_scan_of_every_row_gives(rows, time, trail_s, dots):
    now, trails = FloorTracks.from_rows(rows).at(time, trail_s)
    want_now, want_trails = scan(rows, time, trail_s)
    assert now == want_now and len(now) == dots
    assert sorted(trails) == sorted(want_trails)
    for oid, pts in want_trails.items():
        assert sorted(map(tuple, trails[oid].tolist())) == sorted(pts)


def test_top_down_at_draws_the_same_from_rows_or_from_floor_tracks():
    canvas = court_canvas(load_template("basketball_fiba"), width_px=310)
    rows = steps(60)
    from_rows = top_down_at(canvas, rows, 1.2, colours={1: (255, 0, 0)})
    assert np.array_equal(from_rows, top_down_at(canvas, FloorTracks.from_rows(rows), 1.2, colours={1: (255, 0, 0)}))
    now, trails = scan(rows, 1.2, 2.0)
    assert np.array_equal(from_rows, draw_objects(canvas, now, trails, colours={1: (255, 0, 0)}))
    assert not np.array_equal(from_rows, canvas.image)


@pytest.mark.parametrize(
    "box_wh, limited_by",
    [
        ((480, 270), "height"),  # a 16:9 tile is wider than the court with its margin (31 x 18 m)
        ((100, 100), "width"),
        ((64, 48), "width"),
        ((2000, 90), "height"),
        ((1, 1), "width"),  # the smallest picture
    ],
)
def test_fit_court_canvas_is_the_largest_canvas_in_the_box(box_wh, limited_by):
    template = load_template("basketball_fiba")
    canvas = fit_court_canvas(template, box_wh)
    h, w = canvas.image.shape[:2]
    assert w <= box_wh[0] and h <= box_wh[1]
    if limited_by == "width":
        assert w == box_wh[0]
    else:
        assert h >= box_wh[1] - 1
    # the court's aspect is kept: metres map to pixels at one scale
    far_corner = canvas.to_px(np.array([[template.length_m, template.width_m]]))[0]
    near_corner = canvas.to_px(np.array([[0.0, 0.0]]))[0]
    assert (far_corner[0] - near_corner[0]) / template.length_m == pytest.approx(canvas.px_per_m)
    assert (near_corner[1] - far_corner[1]) / template.width_m == pytest.approx(canvas.px_per_m)

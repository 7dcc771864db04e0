"""The court in the dashboard: positions of a run (cached) and its top-down picture at a moment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from multicam.court.analysis import analyse_run, find_calibration, load_court
from multicam.court.view import FloorTracks, court_canvas, top_down_at
from multicam.rundir import Run


@st.cache_resource(max_entries=8, show_spinner="Placing the objects on the court ...")
def _analysis(run_path: str, calibration: str, versions: tuple[float, ...]):
    from multicam.rundir import open_run

    run = open_run(run_path)
    cameras, template = load_court(Path(calibration))
    analysis = analyse_run(run, cameras, template)
    return analysis, court_canvas(template, width_px=560), FloorTracks.from_rows(analysis.positions.rows)


def court_analysis(run: Run, calibration: Path | None):
    """``(CourtAnalysis, CourtCanvas, FloorTracks)`` of a run, or None without a full calibration."""
    from multicam.court.templates import CourtError

    cal = calibration or find_calibration(run)
    if cal is None:
        return None
    versions = tuple((p.stat().st_mtime if p.exists() else 0.0) for p in (run.path / "tracks.csv", Path(cal)))
    try:
        return _analysis(str(run.path), str(cal), versions)
    except CourtError:
        return None


def top_down_image(run: Run, calibration: Path | None, time: float, labels: dict[int, str]) -> np.ndarray | None:
    """The court seen from above at ``time`` (dots numbered by object id in their overlay colours, 2 s trails).

    None without a calibration with full cameras.
    """
    got = court_analysis(run, calibration)
    if got is None:
        return None
    from multicam.render import object_rgb

    _, canvas, tracks = got
    colours = {i: object_rgb(i) for i in tracks.times}
    return top_down_at(canvas, tracks, time, trail_s=2.0, labels=labels, colours=colours)


def draw_derived(
    image_rgb: np.ndarray, boxes: list[tuple[int, tuple[float, float, float, float]]], scale: float
) -> np.ndarray:
    """Derived prompts (prompt assist) drawn on a frame in their own style: dashed boxes marked 'derived'."""
    import cv2

    from multicam.render import object_color_hex

    out = image_rgb.copy()
    for oid, (x0, y0, x1, y1) in boxes:
        colour = tuple(int(object_color_hex(oid)[k : k + 2], 16) for k in (1, 3, 5))
        pts = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]], dtype=np.float64) * scale
        for a, b in zip(pts[:-1], pts[1:]):
            n = max(2, int(np.linalg.norm(b - a) / 8))
            for k in range(0, n - 1, 2):  # dashes
                p = a + (b - a) * k / (n - 1)
                q = a + (b - a) * (k + 1) / (n - 1)
                cv2.line(out, tuple(int(v) for v in p), tuple(int(v) for v in q), colour, 2, cv2.LINE_AA)
        cv2.putText(
            out,
            f"{oid} derived",
            (int(pts[0][0]), max(10, int(pts[0][1]) - 4)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.4,
            colour,
            1,
            cv2.LINE_AA,
        )
    return out


def draw_landmarks(
    image_rgb: np.ndarray,
    clicks: dict[str, tuple[float, float]],
    reprojected: dict[str, tuple[float, float]] | None = None,
    highlight: str | None = None,
) -> np.ndarray:
    """Clicked landmarks (numbered dots, the chosen one ringed) and, after a fit, where the fit puts them (crosses)."""
    import cv2

    out = image_rgb.copy()
    r = max(3, out.shape[1] // 200)
    for k, (name, (x, y)) in enumerate(clicks.items()):
        c = (int(round(x)), int(round(y)))
        cv2.circle(out, c, r, (255, 230, 0), -1, cv2.LINE_AA)
        if name == highlight:
            cv2.circle(out, c, 3 * r, (255, 60, 60), 2, cv2.LINE_AA)
        cv2.putText(
            out,
            str(k + 1),
            (c[0] + r + 2, c[1] - r),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.4 + r / 20,
            (255, 230, 0),
            1,
            cv2.LINE_AA,
        )
    for x, y in (reprojected or {}).values():
        c = (int(round(x)), int(round(y)))
        cv2.drawMarker(out, c, (0, 220, 255), cv2.MARKER_CROSS, 4 * r, 2, cv2.LINE_AA)
    return out

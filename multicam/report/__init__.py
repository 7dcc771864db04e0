"""Cross-camera consistency reports from masks alone: checks (:mod:`.checks`), the builder that reads a
run (:mod:`.builder`), and the ``report.json`` / ``report.html`` writers (:func:`write_report`)."""

from __future__ import annotations

from pathlib import Path

from multicam.io import write_text_atomic
from multicam.report.builder import Moment, Report, ReportOptions, build_report
from multicam.report.calibration import Calibration, find_calibration, find_clips, load_calibration

__all__ = [
    "Calibration",
    "Moment",
    "Report",
    "ReportOptions",
    "build_report",
    "find_calibration",
    "find_clips",
    "load_calibration",
    "write_report",
]


def write_report(report: Report, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``report.json`` and the self-contained ``report.html`` into ``out_dir``; returns both paths."""
    from multicam.report.html import render_html, report_json

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = out / "report.json", out / "report.html"
    for path, text in zip(paths, (report_json(report.record), render_html(report.record))):
        write_text_atomic(path, text)
    return paths

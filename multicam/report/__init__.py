"""Cross-camera consistency reports from masks alone: checks (:mod:`.checks`), the builder that reads a
run (:mod:`.builder`), and the ``report.json`` / ``report.html`` writers (:func:`write_report`)."""

from __future__ import annotations

from pathlib import Path

from multicam.court.analysis import find_calibration
from multicam.io import write_text_atomic
from multicam.report.builder import Moment, Report, ReportOptions, build_report, court_section
from multicam.report.calibration import Calibration, find_clips, load_calibration
from multicam.report.record import CourtSection
from multicam.rundir import Run

__all__ = [
    "Calibration",
    "Moment",
    "Report",
    "ReportOptions",
    "build_report",
    "court_of_run",
    "find_calibration",
    "find_clips",
    "load_calibration",
    "report_run",
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


def report_run(
    run: Run,
    options: ReportOptions | None = None,
    *,
    calibration: str | Path | None = None,
    appearance: bool = True,
    out_dir: str | Path | None = None,
) -> tuple[Report, Path, Path]:
    """What ``multicam report RUN`` does: find the game's calibration and clips, check, write.

    With a calibration that has full cameras (``K``, ``R``, ``t``), it also writes the positions
    on the court (:func:`court_of_run`).

    Returns:
        The report and the paths of ``report.json`` and ``report.html`` (in ``out_dir``, default
        ``RUN/report``).
    """
    cal_path = Path(calibration) if calibration is not None else find_calibration(run)
    note = None if cal_path is not None else "no calibration found for this run's game (pass --calibration FILE)"
    cal = load_calibration(cal_path) if cal_path is not None else None
    opts = options or ReportOptions()
    if not appearance:
        opts = opts.model_copy(update={"appearance_samples": 0})
    court = court_of_run(run, cal_path, opts, out_dir) if cal_path is not None else None
    result = build_report(
        run, opts, calibration=cal, clips=find_clips(run) if appearance else {}, calibration_note=note, court=court
    )
    json_path, html_path = write_report(result, Path(out_dir) if out_dir is not None else run.path / "report")
    return result, json_path, html_path


def court_of_run(
    run: Run, calibration: Path, options: ReportOptions, out_dir: str | Path | None = None
) -> CourtSection:
    """The report's court section: positions and identity by geometry, with positions.csv written.

    positions.csv goes to ``out_dir`` when given, else :func:`multicam.court.analysis.positions_path`
    (the run directory; ``report/`` of a ground-truth folder, which holds the true positions).
    Without full cameras in the calibration, the section says why.
    """
    from multicam.court.analysis import analyse_run, load_court, positions_path, write_positions
    from multicam.court.positions import PositionOptions
    from multicam.court.templates import CourtError

    try:
        cameras, template = load_court(calibration)
    except CourtError as exc:
        return CourtSection(reason=str(exc))
    analysis = analyse_run(run, cameras, template, PositionOptions(tolerance_m=options.tolerance_m))
    write_positions(analysis, positions_path(run, None if out_dir is None else Path(out_dir)))
    return court_section(analysis, {i: o.name for i, o in run.objects.items()})

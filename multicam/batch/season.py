"""The season view: one row per game of a batch, from each game's consistency report.

``multicam report --season RECORD`` writes ``season.json`` and ``season.html`` next to the batch
record. Each game's numbers come from its own ``report.json`` (:mod:`multicam.report`), built and
written into ``RUN/report`` first when it is missing or older than the run.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from multicam.batch.record import BatchRecord
from multicam.errors import MulticamError
from multicam.io import write_json_atomic
from multicam.report import ReportOptions, report_run
from multicam.report.record import read_report
from multicam.rundir import now_iso, open_run


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SeasonGame(_Frozen):
    """One game's line of the season: its run, consistency score, flagged moments and speed."""

    key: str
    game: str
    status: str
    run_dir: str | None = None
    report: str | None = Field(default=None, description="The game's report.html.")
    score: float | None = Field(default=None, description="The report's overall consistency score (0-1).")
    flagged: int | None = Field(default=None, description="Moments the report flags for review.")
    kinds: dict[str, int] = Field(default_factory=dict, description="Flagged moments by kind.")
    frames: int | None = None
    seconds: float | None = Field(default=None, description="Tracking time of the run.")
    frames_per_s: float | None = None
    untrained: bool = False
    error: str | None = None


class Season(_Frozen):
    """A batch's games with their report numbers."""

    batch: str
    record: str
    created_at: str
    games: list[SeasonGame]

    @property
    def untrained(self) -> bool:
        return any(g.untrained for g in self.games)

    @property
    def totals(self) -> dict[str, float | int | None]:
        done = [g for g in self.games if g.score is not None]
        frames = sum(g.frames or 0 for g in self.games)
        seconds = sum(g.seconds or 0.0 for g in self.games)
        return {
            "games": len(self.games),
            "reported": len(done),
            "failed": sum(1 for g in self.games if g.run_dir is None or g.status in ("failed", "interrupted")),
            "mean_score": round(sum(g.score for g in done) / len(done), 4) if done else None,
            "flagged": sum(g.flagged or 0 for g in self.games),
            "frames": frames,
            "seconds": round(seconds, 3),
            "frames_per_s": round(frames / seconds, 3) if seconds else None,
        }


def _report_data(run_dir: Path, options: ReportOptions, appearance: bool):
    """The run's report.json content (building it when missing or older than the run) and its HTML."""
    folder = run_dir / "report"
    path, page = folder / "report.json", folder / "report.html"
    manifest = run_dir / "manifest.json"
    if not (path.is_file() and page.is_file() and path.stat().st_mtime >= manifest.stat().st_mtime):
        _, path, page = report_run(open_run(run_dir), options, appearance=appearance)
    return read_report(path), page


def season_game(game, options: ReportOptions, appearance: bool) -> SeasonGame:
    """One game's season line (a game without a complete run keeps its status and error)."""
    base = SeasonGame(key=game.key, game=game.game, status=game.status, run_dir=game.run_dir, error=game.error)
    if game.run_dir is None or game.status not in ("complete", "skipped"):
        return base
    try:
        run = open_run(game.run_dir)
        data, page = _report_data(Path(game.run_dir), options, appearance)
    except MulticamError as exc:
        return base.model_copy(update={"error": f"report: {exc}"})
    timings = run.manifest.timings
    kinds: dict[str, int] = {}
    for moment in data.review:
        kinds[moment.kind] = kinds.get(moment.kind, 0) + 1
    return base.model_copy(
        update={
            "report": str(page),
            "score": data.scores.overall,
            "flagged": len(data.review),
            "kinds": kinds,
            "frames": sum(run.manifest.frames_written.values()),
            "seconds": timings.track_s,
            "frames_per_s": timings.frames_per_s,
            "untrained": run.untrained,
        }
    )


def build_season(record: BatchRecord, options: ReportOptions | None = None, *, appearance: bool = True) -> Season:
    """Every game of a batch record with its consistency numbers."""
    opts = options or ReportOptions()
    return Season(
        batch=record.name,
        record=record.path,
        created_at=now_iso(),
        games=[season_game(g, opts, appearance) for g in record.games],
    )


def season_html(season: Season, out_dir: Path) -> str:
    """A self-contained page: one row per game, linking to each game's report."""
    from multicam.manifest import UNTRAINED_WARNING
    from multicam.report.html import PAGE_CSS, fmt_number, score_colour

    rows = []
    for g in season.games:
        link = html.escape(g.key)
        if g.report is not None:
            link = f"<a href='{html.escape(os.path.relpath(g.report, out_dir))}'>{link}</a>"
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(g.kinds.items()))
        rows.append(
            f"<tr><td>{link}</td><td>{html.escape(g.status)}{' (untrained)' if g.untrained else ''}</td>"
            f"<td class='num' style='color:{score_colour(g.score)}'><b>{fmt_number(g.score)}</b></td>"
            f"<td class='num'>{'-' if g.flagged is None else g.flagged}</td><td>{html.escape(kinds)}</td>"
            f"<td class='num'>{'-' if g.frames is None else g.frames}</td>"
            f"<td class='num'>{fmt_number(g.seconds, 1)}</td><td class='num'>{fmt_number(g.frames_per_s, 2)}</td>"
            f"<td>{html.escape(g.error or '')}</td></tr>"
        )
    t = season.totals
    banner = (
        f"<div class='banner' id='untrained'>UNTRAINED MODEL in some games: {html.escape(UNTRAINED_WARNING)}</div>"
        if season.untrained
        else ""
    )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>multicam season - {html.escape(season.batch)}</title><style>{PAGE_CSS}</style></head><body>\n"
        f"<h1>Season: {html.escape(season.batch)}</h1>{banner}\n"
        f"<p>{t['games']} games, {t['reported']} with a report, {t['failed']} without a complete run; "
        f"mean score <span class='score'>{fmt_number(t['mean_score'])}</span>; {t['flagged']} moments flagged; "
        f"{t['frames']} frames in {fmt_number(t['seconds'], 1)} s of tracking.</p>\n"
        "<table id='games'><tr><th>game</th><th>status</th><th>score</th><th>flagged</th><th>kinds</th>"
        "<th>frames</th><th>time (s)</th><th>frames/s</th><th>error</th></tr>\n" + "\n".join(rows) + "\n</table>\n"
        f"<p class='note'>record: {html.escape(season.record)}; made {html.escape(season.created_at)}</p>"
        "</body></html>\n"
    )


def write_season(season: Season, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``season.json`` and ``season.html`` into ``out_dir``; returns both paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out / "season.json", out / "season.html"
    write_json_atomic(json_path, {**season.model_dump(mode="json"), "totals": season.totals})
    tmp = html_path.with_name(f".{html_path.name}.tmp")
    tmp.write_text(season_html(season, out), encoding="utf-8")
    tmp.replace(html_path)
    return json_path, html_path

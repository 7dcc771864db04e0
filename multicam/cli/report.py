"""``multicam report RUN``: cross-camera consistency checks from masks alone (report.json + report.html)."""

from __future__ import annotations

from pathlib import Path

import typer

from multicam.cli import app


@app.command()
def report(
    run: Path | None = typer.Argument(None, help="The run directory (or ground-truth folder) to check."),
    out: Path | None = typer.Option(
        None, "--out", help="Folder for report.json and report.html [default: RUN/report, or the batch record's]."
    ),
    season: Path | None = typer.Option(
        None,
        "--season",
        help="A batch record (RUNS_DIR/_batches/<name>N): season.json + season.html over its games, "
        "with each game's report built when missing.",
    ),
    fail_under: float | None = typer.Option(
        None, "--fail-under", min=0.0, max=1.0, help="Exit with code 1 when any object or camera score is below this."
    ),
    calibration: Path | None = typer.Option(
        None,
        "--calibration",
        help="Calibration JSON with H_image_to_ground per camera [default: the game's calibration, if found].",
    ),
    tolerance_m: float = typer.Option(
        1.0, "--tolerance-m", min=0.0, help="Ground distance (m) beyond which cameras disagree about an object."
    ),
    low_score: float = typer.Option(
        1.0, "--low-score", help="Object score logit below which a present object is flagged."
    ),
    no_appearance: bool = typer.Option(
        False, "--no-appearance", help="Skip the colour check (it decodes a few frames of each clip)."
    ),
    top: int = typer.Option(10, "--top", min=0, help="Moments to review printed on the terminal."),
) -> None:
    """Check a run's masks for lost objects, jumps, overlaps, identity swaps, ground and colour disagreement."""
    from multicam.errors import MulticamError
    from multicam.integrity import usable_run
    from multicam.report import ReportOptions, report_run

    opts = ReportOptions(tolerance_m=tolerance_m, low_score=low_score)
    if season is not None:
        if run is not None:
            raise MulticamError("give either a RUN or --season RECORD, not both")
        _season(season, opts, out, appearance=not no_appearance)
        return
    if run is None:
        raise MulticamError("missing RUN: give a run folder (multicam report runs/<game>/run1) or --season RECORD")
    r, warnings = usable_run(run, what="report")
    for line in warnings:
        typer.secho(f"warning: {line}", fg=typer.colors.YELLOW, err=True)
    result, json_path, html_path = report_run(
        r, opts, calibration=calibration, appearance=not no_appearance, out_dir=out
    )
    rec = result.record
    if result.untrained:
        typer.secho("!" * 78, fg=typer.colors.RED, bold=True)
        typer.secho(rec.warnings[0], fg=typer.colors.RED, bold=True)
        typer.secho("!" * 78, fg=typer.colors.RED, bold=True)
    for w in rec.warnings[1 if result.untrained else 0 :]:
        typer.secho(f"warning: {w}", fg=typer.colors.YELLOW)
    typer.echo(
        f"report of {rec.run} ({rec.kind}, {len(rec.cameras)} cameras, "
        f"{len(rec.objects)} objects, reference {rec.reference})"
    )
    g, a = rec.ground, rec.appearance
    typer.echo(f"ground check: {f'on, tolerance {g.tolerance_m:g} m' if g.available else 'off - ' + str(g.reason)}")
    typer.echo(f"appearance check: {'on' if a.available else 'off - ' + str(a.reason)}")
    typer.echo(f"overall score: {_fmt(rec.scores.overall)}")
    typer.echo("cameras: " + "  ".join(f"{c} {_fmt(v.score)}" for c, v in rec.scores.cameras.items()))
    typer.echo("objects: " + "  ".join(f"{o} {v.name} {_fmt(v.score)}" for o, v in rec.scores.objects.items()))
    kinds: dict[str, int] = {}
    for m in rec.review:
        kinds[m.kind] = kinds.get(m.kind, 0) + 1
    typer.echo(
        f"moments to review: {len(rec.review)}"
        + (" (" + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) + ")" if kinds else "")
    )
    for m in rec.review[:top]:
        typer.echo(f"  [{m.severity:.2f}] {m.camera:<10} t={m.time:8.2f}s frame {m.frame:>6}  {m.kind:<10} {m.reason}")
    if rec.court.available:
        from multicam.court.analysis import positions_path

        typer.echo(f"wrote {positions_path(r, out)}")
    typer.echo(f"wrote {json_path}\nwrote {html_path}")
    if fail_under is not None:
        below = result.below(fail_under)
        if below:
            typer.secho(f"FAIL: score(s) below {fail_under:g}: " + "; ".join(below), fg=typer.colors.RED, err=True)
            raise typer.Exit(code=1)


def _season(path: Path, opts, out: Path | None, *, appearance: bool) -> None:
    from multicam.batch import read_record
    from multicam.batch.season import build_season, write_season
    from multicam.manifest import UNTRAINED_WARNING

    record = read_record(path)
    season = build_season(record, opts, appearance=appearance)
    json_path, html_path = write_season(season, out if out is not None else Path(record.path))
    if season.untrained:
        typer.secho(f"warning: {UNTRAINED_WARNING}", fg=typer.colors.RED, bold=True)
    for g in season.games:
        score = "-" if g.score is None else f"{g.score:.3f}"
        typer.echo(
            f"  {g.key:<20} {g.status:<11} score {score:<6} flagged {'-' if g.flagged is None else g.flagged:<4} "
            f"{'' if g.frames_per_s is None else f'{g.frames_per_s:.2f} frames/s'}  {g.error or ''}".rstrip()
        )
    t = season.totals
    typer.echo(
        f"season {season.batch}: {t['games']} games, {t['reported']} reported, mean score {_fmt(t['mean_score'])}"
    )
    typer.echo(f"wrote {json_path}\nwrote {html_path}")


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"

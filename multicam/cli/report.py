"""``multicam report RUN``: cross-camera consistency checks from masks alone (report.json + report.html)."""

from __future__ import annotations

from pathlib import Path

import typer

from multicam.cli import app


@app.command()
def report(
    run: Path = typer.Argument(..., help="The run directory (or ground-truth folder) to check."),
    out: Path | None = typer.Option(
        None, "--out", help="Folder for report.json and report.html [default: RUN/report]."
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
    from multicam.integrity import usable_run
    from multicam.report import (
        ReportOptions,
        build_report,
        find_calibration,
        find_clips,
        load_calibration,
        write_report,
    )

    r, warnings = usable_run(run, what="report")
    for line in warnings:
        typer.secho(f"warning: {line}", fg=typer.colors.YELLOW, err=True)
    note = None
    cal_path = calibration if calibration is not None else find_calibration(r)
    if cal_path is None:
        note = "no calibration found for this run's game (pass --calibration FILE)"
    cal = load_calibration(cal_path) if cal_path is not None else None
    opts = ReportOptions(tolerance_m=tolerance_m, low_score=low_score, appearance_samples=0 if no_appearance else 12)
    result = build_report(r, opts, calibration=cal, clips={} if no_appearance else find_clips(r), calibration_note=note)
    json_path, html_path = write_report(result, out if out is not None else r.path / "report")
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
    typer.echo(f"wrote {json_path}\nwrote {html_path}")
    if fail_under is not None:
        below = result.below(fail_under)
        if below:
            typer.secho(f"FAIL: score(s) below {fail_under:g}: " + "; ".join(below), fg=typer.colors.RED, err=True)
            raise typer.Exit(code=1)


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"

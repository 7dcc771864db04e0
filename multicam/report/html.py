"""The report as one self-contained HTML file: plotly with its JavaScript inlined, no network needed."""

from __future__ import annotations

import html
import json

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from multicam.manifest import UNTRAINED_WARNING
from multicam.report.record import ReportRecord

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
KIND_SYMBOL = {
    "lost": "x",
    "swap": "star",
    "overlap": "diamond",
    "jump": "triangle-up",
    "ground": "square",
    "low_score": "circle-open",
    "appearance": "hexagon",
    "never_seen": "x-open",
    "geo_swap": "star-open",
    "wrong_object": "star-diamond",
}

PAGE_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:1.6em;margin-bottom:4px} h2{margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}
.banner{background:#b00020;color:#fff;padding:14px 18px;font-size:1.2em;font-weight:bold;border-radius:6px;margin:12px 0}
.warn{background:#fff3cd;border:1px solid #e0c36b;padding:8px 12px;border-radius:6px;margin:6px 0}
.note{color:#555;margin:2px 0}
table{border-collapse:collapse;font-size:0.92em} th,td{border:1px solid #ddd;padding:4px 8px;text-align:left}
th{background:#f3f3f3} td.num{text-align:right;font-variant-numeric:tabular-nums}
.sev{display:inline-block;height:10px;background:#d62728;border-radius:2px;vertical-align:middle}
.meta td{border:none;padding:2px 12px 2px 0}
.score{font-size:2em;font-weight:bold}
.scroll{max-height:440px;overflow-y:auto;display:inline-block;border:1px solid #ddd}
#review td:nth-child(-n+4){white-space:nowrap}
"""


def render_html(data: ReportRecord, max_moments: int = 100) -> str:
    """The HTML page of a report (``report.json`` content), plotly.js included once."""
    figures = [
        ("Summary scores", _scores_figure(data)),
        ("Presence timelines", _presence_figure(data)),
    ]
    if data.ground.available:
        figures.append(("Ground positions per camera", _ground_figure(data)))
    parts = [_header(data), _review_table(data, max_moments)]
    first = True
    for k, (title, fig) in enumerate(figures):
        parts.append(f"<h2>{html.escape(title)}</h2>")
        if title == "Ground positions per camera":
            parts.append(_ground_text(data))
        parts.append(
            fig.to_html(
                full_html=False,
                include_plotlyjs=first,
                div_id=f"fig{k}",
                config={"displaylogo": False, "responsive": True},
            )
        )
        first = False
        if title == "Summary scores":
            parts.append(_scores_table(data))
    if not data.ground.available:
        parts.append("<h2>Ground positions per camera</h2>")
        parts.append(f"<p class='note'>Not available: {html.escape(str(data.ground.reason))}</p>")
    parts.append(_appearance_section(data))
    from multicam.report.court_html import court_section  # it draws with this module's palette

    parts.append(court_section(data.court))
    title = f"multicam report - {data.game}"
    return (
        f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{PAGE_CSS}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n"
    )


def _header(data: ReportRecord) -> str:
    out = [f"<h1>Consistency report: {html.escape(str(data.game))}</h1>"]
    if data.untrained:
        out.append(f"<div class='banner' id='untrained'>{html.escape(UNTRAINED_WARNING)}</div>")
    for w in data.warnings:
        if not data.untrained or "UNTRAINED" not in w:
            out.append(f"<div class='warn'>{html.escape(w)}</div>")
    overall = data.scores.overall
    out.append(
        "<table class='meta'>"
        f"<tr><td>run</td><td>{html.escape(data.run)}</td></tr>"
        f"<tr><td>kind / status</td><td>{html.escape(data.kind)} / {html.escape(data.status)}</td></tr>"
        f"<tr><td>reference camera</td><td>{html.escape(data.reference)}</td></tr>"
        f"<tr><td>cameras</td><td>{html.escape(', '.join(data.cameras))}</td></tr>"
        f"<tr><td>objects</td><td>{len(data.objects)}</td></tr>"
        f"<tr><td>created</td><td>{html.escape(data.created_at)}</td></tr></table>"
    )
    out.append(
        f"<p>Overall score <span class='score'>{fmt_number(overall)}</span> "
        f"&nbsp; moments to review: <b>{len(data.review)}</b></p>"
    )
    for n in data.notes:
        out.append(f"<p class='note'>note: {html.escape(n)}</p>")
    return "\n".join(out)


def _scores_figure(data: ReportRecord) -> go.Figure:
    cams = list(data.cameras)
    objs = list(data.objects)
    labels = [f"{o} {data.objects[o].name}" for o in objs]
    z = [[data.scores.objects[o].cameras.get(c) for c in cams] for o in objs]
    text = [[fmt_number(v) for v in row] for row in z]
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.6, 0.4],
        horizontal_spacing=0.12,
        subplot_titles=("score per object and camera", "score per object"),
    )
    fig.add_trace(
        go.Heatmap(
            z=z,
            x=cams,
            y=labels,
            text=text,
            texttemplate="%{text}",
            zmin=0,
            zmax=1,
            colorscale="RdYlGn",
            showscale=False,
            hovertemplate="%{y} / %{x}: %{z:.3f}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    per_obj = [data.scores.objects[o].score for o in objs]
    fig.add_trace(
        go.Bar(
            x=per_obj,
            y=labels,
            orientation="h",
            marker_color=[score_colour(v) for v in per_obj],
            text=[fmt_number(v) for v in per_obj],
            textposition="auto",
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
            showlegend=False,
        ),
        row=1,
        col=2,
    )
    fig.update_xaxes(range=[0, 1], row=1, col=2)
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(height=max(260, 40 + 28 * len(objs)), margin=dict(l=10, r=10, t=40, b=30))
    return fig


def _presence_figure(data: ReportRecord) -> go.Figure:
    cams = list(data.cameras)
    objs = list(data.objects)
    fig = make_subplots(
        rows=len(cams),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.06,
        subplot_titles=[f"camera {c}" + (" (reference)" if c == data.reference else "") for c in cams],
    )
    shown = set()
    for r, cam in enumerate(cams, start=1):
        info = data.cameras[cam]
        fps, offset = info.fps, info.offset
        for k, o in enumerate(objs):
            p = data.presence[cam][o]
            label = f"{o} {data.objects[o].name}"
            xs, ys = [], []
            for seg in p.segments:
                xs += [offset + seg.start_frame / fps, offset + (seg.end_frame + 1) / fps, None]
                ys += [label, label, None]
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=ys,
                    mode="lines",
                    line=dict(width=10, color=PALETTE[k % len(PALETTE)]),
                    name=label,
                    legendgroup=label,
                    showlegend=label not in shown,
                    hovertemplate=f"{html.escape(label)} present<extra>{html.escape(cam)}</extra>",
                ),
                row=r,
                col=1,
            )
            shown.add(label)
        moments = [m for m in data.review if m.camera == cam]
        by_kind: dict[str, list] = {}
        for m in moments:
            by_kind.setdefault(m.kind, []).append(m)
        for kind, items in by_kind.items():
            fig.add_trace(
                go.Scatter(
                    x=[m.time for m in items],
                    y=[f"{m.object_id} {data.objects[str(m.object_id)].name}" for m in items],
                    mode="markers",
                    marker=dict(symbol=KIND_SYMBOL.get(kind, "circle"), size=11, color="black"),
                    name=kind,
                    legendgroup=f"kind-{kind}",
                    showlegend=f"kind-{kind}" not in shown,
                    text=[m.reason for m in items],
                    hovertemplate="%{text}<extra>" + html.escape(cam) + "</extra>",
                ),
                row=r,
                col=1,
            )
            shown.add(f"kind-{kind}")
        fig.update_yaxes(
            categoryorder="array", categoryarray=[f"{o} {data.objects[o].name}" for o in objs][::-1], row=r, col=1
        )
    fig.update_xaxes(title_text="game time (s)", row=len(cams), col=1)
    fig.update_layout(height=max(300, len(cams) * (60 + 22 * len(objs))), margin=dict(l=10, r=10, t=40, b=40))
    return fig


def _ground_figure(data: ReportRecord) -> go.Figure:
    ground = data.ground
    cams = [c for c in data.cameras if c in ground.tracks]
    objs = list(data.objects)
    cols = min(3, max(1, len(cams)))
    rows = (len(cams) + cols - 1) // cols
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[f"camera {c}" for c in cams],
        horizontal_spacing=0.05,
        vertical_spacing=0.1,
    )
    court = ground.court_size_m
    shown = set()
    for n, cam in enumerate(cams):
        r, c = n // cols + 1, n % cols + 1
        if court:
            length, width = court
            fig.add_trace(
                go.Scatter(
                    x=[0, length, length, 0, 0],
                    y=[0, 0, width, width, 0],
                    mode="lines",
                    line=dict(color="#999", width=1),
                    hoverinfo="skip",
                    showlegend=False,
                ),
                row=r,
                col=c,
            )
        for k, o in enumerate(objs):
            tr = ground.tracks[cam].get(o)
            if not tr:
                continue
            label = f"{o} {data.objects[o].name}"
            fig.add_trace(
                go.Scatter(
                    x=tr.x_m,
                    y=tr.y_m,
                    mode="markers",
                    marker=dict(size=4, color=PALETTE[k % len(PALETTE)]),
                    name=label,
                    legendgroup=label,
                    showlegend=label not in shown,
                    customdata=tr.time,
                    hovertemplate=f"{html.escape(label)}<br>t=%{{customdata:.2f}} s<br>"
                    "x=%{x:.2f} m, y=%{y:.2f} m<extra></extra>",
                ),
                row=r,
                col=c,
            )
            shown.add(label)
        fig.update_yaxes(scaleanchor=f"x{'' if n == 0 else n + 1}", row=r, col=c)
    fig.update_layout(height=380 * rows, margin=dict(l=10, r=10, t=40, b=30))
    return fig


def _ground_text(data: ReportRecord) -> str:
    g = data.ground
    rows = []
    for o, v in g.objects.items():
        name = data.objects[o].name
        rows.append(
            f"<tr><td>{html.escape(o)} {html.escape(name)}</td><td class='num'>{v.compared}</td>"
            f"<td class='num'>{v.flagged}</td><td class='num'>{fmt_number(v.median_spread_m, 2)}</td>"
            f"<td class='num'>{fmt_number(v.max_spread_m, 2)}</td><td>{'yes' if v.scored else 'no'}</td></tr>"
        )
    return (
        f"<p>Foot points mapped to the ground with each camera's homography; cameras disagree when two of them "
        f"place an object more than {g.tolerance_m:g} m apart at the same game time. "
        f"Calibration: {html.escape(str(g.calibration))}</p>"
        "<table><tr><th>object</th><th>moments compared</th><th>beyond tolerance</th><th>median spread (m)</th>"
        "<th>max spread (m)</th><th>scored</th></tr>" + "".join(rows) + "</table>"
    )


def _scores_table(data: ReportRecord) -> str:
    rows = []
    for p in data.scores.pairs:
        comps = ", ".join(f"{k} {fmt_number(v)}" for k, v in p.components.items() if v is not None)
        name = data.objects[str(p.object_id)].name
        rows.append(
            f"<tr><td>{html.escape(p.camera)}</td><td>{p.object_id} {html.escape(name)}</td>"
            f"<td class='num'>{fmt_number(p.score)}</td><td>{html.escape(comps) or '-'}</td></tr>"
        )
    cams = " &nbsp; ".join(f"{html.escape(c)}: <b>{fmt_number(v.score)}</b>" for c, v in data.scores.cameras.items())
    return (
        f"<p>Per camera: {cams}</p><details><summary>Score components per object and camera</summary>"
        "<table><tr><th>camera</th><th>object</th><th>score</th><th>components</th></tr>"
        + "".join(rows)
        + "</table></details>"
    )


def _appearance_section(data: ReportRecord) -> str:
    a = data.appearance
    if not a.available:
        return f"<h2>Appearance across cameras</h2><p class='note'>Not available: {html.escape(str(a.reason))}</p>"
    rows = []
    for m in a.matches:
        name = data.objects[str(m.object_id)].name
        rows.append(
            f"<tr><td>{html.escape(m.camera)}</td><td>{m.object_id} {html.escape(name)}</td>"
            f"<td class='num'>{fmt_number(m.own)}</td><td>{m.best_other if m.best_other is not None else '-'}</td>"
            f"<td class='num'>{fmt_number(m.best_other_similarity)}</td>"
            f"<td>{'<b>yes</b>' if m.flagged else 'no'}</td></tr>"
        )
    return (
        "<h2>Appearance across cameras</h2><p>Colour histograms inside the masks compared with the reference "
        "camera (Bhattacharyya coefficient, 1 = identical).</p><table><tr><th>camera</th><th>object</th>"
        "<th>vs itself</th><th>best other</th><th>vs best other</th><th>flagged</th></tr>" + "".join(rows) + "</table>"
    )


def _review_table(data: ReportRecord, max_moments: int) -> str:
    moments = data.review[:max_moments]
    rows = []
    for m in moments:
        width = int(round(60 * m.severity))
        rows.append(
            f"<tr><td class='num'>{m.severity:.2f} <span class='sev' style='width:{width}px'></span></td>"
            f"<td>{html.escape(m.camera)}</td><td class='num'>{m.time:.2f}</td>"
            f"<td class='num'>{m.frame}"
            + (f"-{m.end_frame}" if m.end_frame != m.frame else "")
            + f"</td><td>{html.escape(m.kind)}</td><td>{html.escape(m.reason)}</td></tr>"
        )
    more = len(data.review) - len(moments)
    tail = f"<p class='note'>{more} more in report.json</p>" if more > 0 else ""
    if not rows:
        return "<h2>Moments to review</h2><p>Nothing flagged.</p>"
    return (
        "<h2>Moments to review</h2><p>Most severe first (severity 0..1); times are game times.</p>"
        "<div class='scroll'><table id='review'><tr><th>severity</th><th>camera</th><th>time (s)</th>"
        "<th>frame</th><th>kind</th><th>reason</th></tr>" + "".join(rows) + "</table></div>" + tail
    )


def fmt_number(v: float | None, nd: int = 3) -> str:
    return "-" if v is None else f"{v:.{nd}f}"


def score_colour(v: float | None) -> str:
    if v is None:
        return "#cccccc"
    return "#2ca02c" if v >= 0.9 else "#ff7f0e" if v >= 0.7 else "#d62728"


def report_json(data: ReportRecord) -> str:
    """``report.json`` text: compact JSON, one line per top-level section."""
    lines = [f" {json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}" for k, v in data.to_json().items()]
    return "{\n" + ",\n".join(lines) + "\n}\n"

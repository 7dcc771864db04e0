"""The report's court section: trajectories, a heat map per object, each camera's disagreement, identity flags."""

from __future__ import annotations

import html

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from multicam.report.html import PALETTE
from multicam.report.record import CourtSection


def _court_lines(fig: go.Figure, court: CourtSection, row: int | None = None, col: int | None = None) -> None:
    xs: list[float | None] = []
    ys: list[float | None] = []
    for line in court.lines:
        xs += [p[0] for p in line] + [None]
        ys += [p[1] for p in line] + [None]
    kw = {"row": row, "col": col} if row is not None else {}
    fig.add_trace(
        go.Scatter(x=xs, y=ys, mode="lines", line=dict(color="#888", width=1), hoverinfo="skip", showlegend=False), **kw
    )


def _trajectories(court: CourtSection) -> go.Figure:
    fig = go.Figure()
    _court_lines(fig, court)
    for k, (oid, o) in enumerate(court.objects.items()):
        label = f"{oid} {o.name}"
        fig.add_trace(
            go.Scatter(
                x=o.x_m,
                y=o.y_m,
                mode="lines+markers",
                marker=dict(size=3),
                line=dict(color=PALETTE[k % len(PALETTE)], width=1.5),
                name=label,
                customdata=o.time,
                hovertemplate=f"{html.escape(label)}<br>t=%{{customdata:.2f}} s<br>x=%{{x:.2f}} m, y=%{{y:.2f}} m<extra></extra>",
            )
        )
    length, width = court.court_size_m
    fig.update_xaxes(range=[-1.5, length + 1.5], title_text="x (m)")
    fig.update_yaxes(range=[-1.5, width + 1.5], scaleanchor="x", title_text="y (m)")
    fig.update_layout(height=max(320, int(700 * width / length) + 80), margin=dict(l=10, r=10, t=30, b=30))
    return fig


def _heatmaps(court: CourtSection) -> go.Figure:
    objs = [(oid, o) for oid, o in court.objects.items() if o.x_m]
    cols = min(3, max(1, len(objs)))
    rows = (len(objs) + cols - 1) // cols
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[f"{oid} {o.name}" for oid, o in objs])
    length, width = court.court_size_m
    for n, (_oid, o) in enumerate(objs):
        r, c = n // cols + 1, n % cols + 1
        fig.add_trace(
            go.Histogram2d(
                x=o.x_m,
                y=o.y_m,
                xbins=dict(start=0, end=length, size=max(length / 28, 0.5)),
                ybins=dict(start=0, end=width, size=max(length / 28, 0.5)),
                colorscale="YlOrRd",
                showscale=False,
                hovertemplate="x=%{x} m, y=%{y} m: %{z} steps<extra></extra>",
            ),
            row=r,
            col=c,
        )
        _court_lines(fig, court, r, c)
        fig.update_xaxes(range=[-0.5, length + 0.5], showticklabels=False, row=r, col=c)
        fig.update_yaxes(range=[-0.5, width + 0.5], showticklabels=False, row=r, col=c)
    fig.update_layout(height=max(260, int(340 * width / length * 1.6)) * rows, margin=dict(l=10, r=10, t=40, b=10))
    return fig


def _disagreement(court: CourtSection) -> go.Figure:
    fig = go.Figure()
    for k, (cam, d) in enumerate(court.disagreement.items()):
        fig.add_trace(
            go.Scatter(x=d.time, y=d.median_m, mode="lines", name=cam, line=dict(color=PALETTE[k % len(PALETTE)]))
        )
    for m in court.identity:
        fig.add_vrect(x0=m.time, x1=max(m.end_time, m.time + 0.02), fillcolor="#d62728", opacity=0.15, line_width=0)
    fig.update_xaxes(title_text="game time (s)")
    fig.update_yaxes(title_text="median distance from the fused positions (m)", rangemode="tozero")
    fig.update_layout(height=320, margin=dict(l=10, r=10, t=30, b=40))
    return fig


def _num(v: float | None, nd: int) -> str:
    return "-" if v is None else f"{v:.{nd}f}"


def court_section(court: CourtSection, first_figure_id: int = 100) -> str:
    """HTML of the court section (plotly.js is already on the page)."""
    parts = ["<h2>On the court</h2>"]
    if not court.available:
        parts.append(f"<p class='note'>Not available: {html.escape(str(court.reason or 'no calibration'))}</p>")
        return "\n".join(parts)
    rows = "".join(
        f"<tr><td>{html.escape(oid)} {html.escape(o.name)}</td><td class='num'>{o.steps}</td>"
        f"<td class='num'>{o.distance_m:.1f}</td><td class='num'>{_num(o.max_speed_mps, 1)}</td>"
        f"<td class='num'>{_num(o.median_spread_m, 2)}</td>"
        f"<td class='num'>{o.dropped_steps}</td></tr>"
        for oid, o in court.objects.items()
    )
    parts.append(
        f"<p>Court: {html.escape(str(court.template))}. Positions fused from every calibrated camera "
        "(positions.csv); the ball is triangulated in 3-D.</p>"
        "<table><tr><th>object</th><th>steps</th><th>distance (m)</th><th>top speed (m/s)</th>"
        "<th>median spread (m)</th><th>steps with a camera dropped</th></tr>" + rows + "</table>"
    )
    for note in court.notes:
        parts.append(f"<p class='note'>{html.escape(note)}</p>")
    figs = [
        ("Trajectories", _trajectories(court)),
        ("Heat map per object", _heatmaps(court)),
        ("Disagreement per camera (identity flags shaded)", _disagreement(court)),
    ]
    for k, (title, fig) in enumerate(figs):
        parts.append(f"<h3>{html.escape(title)}</h3>")
        parts.append(
            fig.to_html(
                full_html=False,
                include_plotlyjs=False,
                div_id=f"fig{first_figure_id + k}",
                config={"displaylogo": False, "responsive": True},
            )
        )
    return "\n".join(parts)

"""Consistency: when each object is seen by each camera, and the moments the report flags."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from multicam.dashboards import data, ui
from multicam.errors import MulticamError
from multicam.render import object_color_hex

MAX_MOMENTS = 100

ctx = ui.page_setup()
st.header("Consistency")
if ctx.game is None or ctx.run is None or ctx.entry is None:
    st.info("Choose a game and a run in the sidebar.")
    st.stop()

run = ctx.run
timeline = data.timeline_for(run, ctx.game)
objects = run.objects

try:
    report = data.load_report(run.path)
except MulticamError as exc:
    st.error(str(exc))
    report = None
if report is None:
    st.info(f"no report yet: run `multicam report {run.path}`")
moments = list(report.review) if report else []
if report:
    for warning in report.warnings:
        st.warning(str(warning))
    scores = report.scores
    c_all, c_obj, c_cam = st.columns([1, 3, 3])
    c_all.metric(
        "Score",
        "n/a" if scores.overall is None else f"{scores.overall:.3f}",
        help="0..1 from the report's checks (continuity, stability, overlaps, swaps, ground...).",
    )
    c_obj.dataframe(
        [{"object": f"{k} {v.name}", "score": v.score} for k, v in scores.objects.items()],
        hide_index=True,
        width="stretch",
    )
    c_cam.dataframe(
        [{"camera": k, "score": v.score} for k, v in scores.cameras.items()],
        hide_index=True,
        width="stretch",
    )
spans = data.report_presence(report, timeline) if report else None
source = "the report"
if spans is None:
    spans = [s for cam in timeline.cameras for s in data.presence_spans(data.masks_for(run, cam.name), cam)]
    source = "the run's masks"


def _label(object_id: int, camera: str) -> str:
    info = objects.get(object_id)
    return f"{object_id} {info.name if info else ''} · {camera}"


st.subheader("Presence timelines")
st.caption(f"Each bar: an object has a mask in a camera (from {source}). Red marks: flagged moments.")
if spans:
    order = sorted(
        {(s.object_id, s.camera) for s in spans},
        key=lambda k: (k[0], timeline.names.index(k[1]) if k[1] in timeline.names else 99),
    )
    fig = go.Figure()
    for oid in sorted({s.object_id for s in spans}):
        mine = [s for s in spans if s.object_id == oid]
        fig.add_bar(
            y=[_label(s.object_id, s.camera) for s in mine],
            x=[s.end - s.start for s in mine],
            base=[s.start for s in mine],
            orientation="h",
            marker_color=object_color_hex(oid),
            name=_label(oid, "").rstrip(" ·"),
            hovertemplate="%{base:.2f}-%{x:.2f}s<extra></extra>",
        )
    flagged = [m for m in moments if m.object_id is not None and (m.object_id, m.camera) in set(order)]
    if flagged:
        fig.add_scatter(
            x=[m.time for m in flagged],
            y=[_label(m.object_id, m.camera) for m in flagged],
            mode="markers",
            marker={"symbol": "x", "color": "red", "size": 9},
            name="flagged",
            text=[m.reason for m in flagged],
            hovertemplate="%{x:.2f}s %{text}<extra></extra>",
        )
    fig.update_layout(
        barmode="overlay",
        height=max(220, 26 * len(order) + 80),
        margin={"l": 10, "r": 10, "t": 10, "b": 30},
        xaxis_title="game time (s)",
        showlegend=False,
        yaxis={"categoryorder": "array", "categoryarray": [_label(*k) for k in reversed(order)]},
    )
    st.plotly_chart(fig, width="stretch", key="presence_chart")
else:
    st.caption("No masks in this run yet.")

st.subheader("Flagged moments")
if report is not None and not moments:
    st.success("The report flags no moment.")
if moments:
    c_cam, c_obj = st.columns(2)
    cams = c_cam.multiselect("Cameras", sorted({m.camera for m in moments}), key="moments_cameras")
    objs = c_obj.multiselect(
        "Objects",
        sorted({m.object_id for m in moments if m.object_id is not None}),
        key="moments_objects",
        format_func=lambda i: _label(i, "").rstrip(" ·"),
    )
    shown = [m for m in moments if (not cams or m.camera in cams) and (not objs or m.object_id in objs)]
    st.caption(
        f"{len(shown)} of {len(moments)} moments, most important first"
        + (f" (first {MAX_MOMENTS} shown)" if len(shown) > MAX_MOMENTS else "")
        + "."
    )
    widths = [1, 2, 1, 2, 3, 6, 1, 2]
    head = st.columns(widths)
    for col, title in zip(head, ["#", "camera", "frame", "kind", "object", "reason", "sev.", ""]):
        col.markdown(f"**{title}**")
    for k, m in enumerate(shown[:MAX_MOMENTS]):
        cols = st.columns(widths)
        cols[0].write(str(k + 1))
        cols[1].write(m.camera)
        cols[2].write("" if m.frame is None else str(m.frame))
        cols[3].write(m.kind)
        cols[4].write("" if m.object_id is None else _label(m.object_id, "").rstrip(" ·"))
        cols[5].write(m.reason)
        cols[6].write(f"{m.severity:.2f}")
        if cols[7].button(f"t={m.time:.2f}s ▶", key=f"moment_{k}", help="Open this moment on the Review page"):
            ui.open_review(m.time, m.camera)
            st.switch_page("pages/review.py")

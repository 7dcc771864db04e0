"""Review: every camera at one synchronized moment, with the run's masks drawn on it."""

from __future__ import annotations

import html

import numpy as np
import streamlit as st

from multicam.dashboards import data, ui
from multicam.manifest import UNTRAINED_WARNING
from multicam.render import OverlayStyle, object_color_hex

PLAY_INTERVAL_S = 0.15

ctx = ui.page_setup()
st.header("Review")
if ctx.game is None or ctx.run is None or ctx.entry is None:
    st.info("Choose a game and a run (or its ground truth) in the sidebar.")
    st.stop()

game, run, entry = ctx.game, ctx.run, ctx.entry
timeline = data.timeline_for(run, game)
first, last, step = data.tick_times(timeline)
start = max(c.start for c in timeline.cameras)  # the first moment every camera has a frame
# "review_t" is the moment shown; the slider ("review_time") is set from it on every full run
st.session_state["review_t"] = data.snap_time(float(st.session_state.get("review_t", start)), timeline)
if st.session_state.get("review_focus") not in timeline.names:
    st.session_state["review_focus"] = None

if run.untrained:
    st.warning(UNTRAINED_WARNING)
if entry.status != "complete":
    st.info(f"This run is {entry.status}: showing the frames written so far.")

# -- overlay controls ----------------------------------------------------------------------------
objects = run.objects
ids = sorted(objects)
if st.session_state.get("_review_objects_run") != str(run.path):  # another run: show all its objects
    st.session_state["_review_objects_run"] = str(run.path)
    st.session_state["review_objects"] = ids
st.session_state["review_objects"] = [i for i in st.session_state.get("review_objects", ids) if i in objects]
for _key, _default in (
    ("review_opacity", 0.5),
    ("review_mode", "fill"),
    ("review_labels", True),
    ("review_boxes", False),
    ("review_gt", False),
    ("review_columns", min(3, len(timeline.cameras))),
):
    st.session_state.setdefault(_key, _default)
gt_entry = next((e for e in (ctx.runs or []) if e.kind == "ground_truth"), None)
has_gt_overlay = gt_entry is not None and entry.kind != "ground_truth"

with st.container(border=True):
    st.pills(
        "Objects",
        ids,
        selection_mode="multi",
        key="review_objects",
        format_func=lambda i: f"{i} {objects[i].name}" + (f" ({objects[i].team})" if objects[i].team else ""),
        help="Click an object to hide or show it.",
    )
    if ids:
        chips = " ".join(
            f"<span style='background:{object_color_hex(i)};color:#000;border-radius:4px;padding:1px 6px;"
            f"margin-right:4px;font-size:0.8em'>{i} {html.escape(objects[i].name)}</span>"
            for i in ids
        )
        st.markdown("Colours: " + chips, unsafe_allow_html=True)
    c_op, c_mode, c_lab, c_box, c_gt, c_cols = st.columns([3, 2, 1, 1, 2, 2], vertical_alignment="center")
    opacity = c_op.slider("Opacity", 0.0, 1.0, step=0.05, key="review_opacity")
    mode = c_mode.radio("Masks", ["fill", "outline"], horizontal=True, key="review_mode")
    labels = c_lab.checkbox("Labels", key="review_labels")
    boxes = c_box.checkbox("Boxes", key="review_boxes")
    show_gt = c_gt.checkbox(
        "Ground truth overlay",
        key="review_gt",
        disabled=not has_gt_overlay,
        help="White contours: the game's ground-truth masks."
        if has_gt_overlay
        else "This game has no ground truth, or it is the run shown.",
    )
    grid_cols = c_cols.select_slider("Grid columns", [1, 2, 3, 4], key="review_columns")

visible = None if len(st.session_state["review_objects"]) == len(ids) else frozenset(st.session_state["review_objects"])
style = OverlayStyle(opacity=float(opacity), mode=mode, labels=bool(labels), boxes=bool(boxes), visible_ids=visible)
gt_path = str(gt_entry.path) if (has_gt_overlay and show_gt and gt_entry is not None) else None


# -- time controls ----------------------------------------------------------------------------------
def _step(delta: int) -> None:
    t = float(st.session_state["review_t"]) + delta * step
    st.session_state["review_t"] = data.snap_time(t, timeline)
    st.session_state["review_focus"] = None


def _from_slider() -> None:
    st.session_state["review_t"] = data.snap_time(float(st.session_state["review_time"]), timeline)
    st.session_state["review_focus"] = None


c_prev, c_play, c_next, c_info = st.columns([1.3, 1.1, 1.3, 6.3], vertical_alignment="center")
c_prev.button("◀ frame", on_click=_step, args=(-1,), key="review_prev", width="stretch")
playing = c_play.toggle("Play", key="review_play", help="Advance one tick of the fastest camera at a time.")
c_next.button("frame ▶", on_click=_step, args=(1,), key="review_next", width="stretch")
c_info.caption(
    f"Game time {first:.2f}-{last:.2f} s, step {step * 1000:.1f} ms "
    f"(the fastest camera's frame). Every camera shows its frame nearest to the chosen time."
)
st.session_state["review_time"] = st.session_state["review_t"]
st.slider(
    "Game time (s)",
    min_value=first,
    max_value=max(last, first + step),
    step=step,
    key="review_time",
    format="%.3f",
    on_change=_from_slider,
    disabled=playing,
)


def _grid() -> None:
    if playing:
        t = float(st.session_state["review_t"]) + step
        st.session_state["review_t"] = first if t > last + 1e-9 else data.snap_time(t, timeline)
    time = float(st.session_state["review_t"])
    if playing:
        st.caption(f"Playing: t = {time:.3f} s")
    moments = data.moments_at(timeline, time)
    focus = st.session_state.get("review_focus")
    cols_n = max(1, min(int(grid_cols), len(moments)))
    versions_base = (
        data.mtime(run.path / "manifest.json"),
        data.mtime(gt_entry.path / "manifest.json") if gt_path and gt_entry else 0.0,
    )
    for row_start in range(0, len(moments), cols_n):
        cols = st.columns(cols_n)
        for col, m in zip(cols, moments[row_start : row_start + cols_n]):
            clip_path = str(game.video_path(m.camera))
            with col:
                if m.frame is None:
                    info = data.cached_clip(clip_path).info
                    blank = np.zeros((info.height, info.width, 3), dtype=np.uint8)
                    st.image(
                        data.encode_image(blank), caption=f"{m.camera} · no frame at t={time:.3f} s", width="stretch"
                    )
                    continue
                versions = versions_base + (data.mtime(run.path / "masks" / f"{m.camera}.jsonl"),)
                jpeg = data.tile_jpeg(
                    clip_path, m.frame, str(run.path), m.camera, data.style_key(style), gt_path, versions
                )
                mark = "▶ flagged · " if focus == m.camera else ""
                ref = " (ref)" if m.camera == timeline.reference else ""
                st.image(
                    jpeg, width="stretch", caption=f"{mark}{m.camera}{ref} · frame {m.frame} · t={m.frame_time:.3f} s"
                )
    rows = data.frame_table(moments, run, visible)
    st.markdown("**Objects in this moment**")
    if rows:
        st.dataframe(
            rows,
            hide_index=True,
            width="stretch",
            column_config={
                "score": st.column_config.NumberColumn("score", format="%.2f", help="Model object score (logit)."),
                "area": st.column_config.NumberColumn("area (px)"),
            },
        )
    else:
        st.caption("No masks at this moment.")


st.fragment(_grid, run_every=PLAY_INTERVAL_S if playing else None)()

"""Prompts: click the objects on the reference camera, save the prompts file, start processing."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from multicam.dashboards import data, processing, prompt_edit, ui
from multicam.errors import MulticamError
from multicam.prompts import load_prompts, save_prompts, validate_prompts
from multicam.render import object_color_hex

try:  # clicks and drags on the frame; without it, points are typed in
    from streamlit_image_coordinates import streamlit_image_coordinates
except ImportError:  # pragma: no cover - depends on the environment
    streamlit_image_coordinates = None

ctx = ui.page_setup()
st.header("Prompts")
if ctx.game is None:
    st.info("Choose a game in the sidebar.")
    st.stop()

game = ctx.game
roots = ctx.config.roots
ref = game.config.reference
clip = data.cached_clip(str(game.video_path(ref)))
width, height = clip.info.resolution_wh
prompts_path = game.prompts_path or (game.root / "prompts.yaml")
try:
    prompts_path = data.check_path(prompts_path, roots, "prompts file")
except MulticamError as exc:
    st.error(str(exc))
    st.stop()

# -- the draft: loaded once per game, edited in memory, written by "Save" -----------------------------
if st.session_state.get("draft_game") != str(game.path):
    draft: prompt_edit.Draft = []
    st.session_state["draft_error"] = None
    if prompts_path.is_file():
        try:
            draft = prompt_edit.draft_from_file(load_prompts(prompts_path))
        except MulticamError as exc:
            st.session_state["draft_error"] = f"{exc}\n\nStarting from an empty list; saving replaces the file."
    st.session_state.update(
        draft=draft, draft_game=str(game.path), draft_version=st.session_state.get("draft_version", 0) + 1
    )
if st.session_state.get("draft_error"):
    st.error(st.session_state["draft_error"])
draft = st.session_state["draft"]


def _set_draft(new: prompt_edit.Draft) -> None:
    st.session_state["draft"] = new
    st.session_state["draft_version"] = st.session_state.get("draft_version", 0) + 1


st.session_state.setdefault("prompt_frame", 0)
st.session_state["prompt_frame"] = min(max(int(st.session_state["prompt_frame"]), 0), clip.info.frame_count - 1)
ids = [int(o["id"]) for o in draft]
if st.session_state.get("_select_object") in ids:
    st.session_state["prompt_object"] = st.session_state.pop("_select_object")
if st.session_state.get("prompt_object") not in ids:
    st.session_state["prompt_object"] = ids[0] if ids else None
names = {int(o["id"]): o["name"] for o in draft}

left, right = st.columns([3, 2])
with right:
    st.markdown(f"**Objects** · prompts file `{prompts_path.name}`")
    if ids:
        st.selectbox("Object to label", ids, key="prompt_object", format_func=lambda i: f"{i} {names.get(i, '')}")
    else:
        st.caption("No object yet: add the first one below.")
    click_mode = st.radio(
        "A click adds a",
        ["positive point", "negative point"],
        horizontal=True,
        key="prompt_click_mode",
        help="Drag on the frame to draw a box instead.",
    )
    with st.form("new_object", clear_on_submit=True, border=True):
        c_id, c_name, c_team = st.columns([1, 2, 2])
        new_id = c_id.number_input("id", min_value=1, step=1, value=prompt_edit.next_object_id(draft))
        new_name = c_name.text_input("name", placeholder="ball, player 7...")
        new_team = c_team.text_input("team", placeholder="optional")
        if st.form_submit_button("Add object"):
            try:
                _set_draft(prompt_edit.add_object(draft, int(new_id), new_name, new_team))
                st.session_state["_select_object"] = int(new_id)  # selected on the rerun
                st.rerun()
            except MulticamError as exc:
                st.error(str(exc))
    active = st.session_state.get("prompt_object")
    c_undo, c_del = st.columns(2)
    if c_undo.button("Undo last on this frame", disabled=active is None, width="stretch"):
        _set_draft(prompt_edit.undo_last(draft, int(active), None, int(st.session_state["prompt_frame"])))
        st.rerun()
    if c_del.button("Delete object", disabled=active is None, width="stretch"):
        _set_draft(prompt_edit.remove_object(draft, int(active)))
        st.rerun()

with left:
    frame = st.slider(
        f"Frame of the reference camera `{ref}`", 0, max(clip.info.frame_count - 1, 1), key="prompt_frame"
    )
    frame = min(int(frame), clip.info.frame_count - 1)
    image = prompt_edit.draw_prompts(clip.frame(frame), draft, None, frame, highlight=active)
    caption = f"{ref} · frame {frame} · {width}x{height}: click = point, drag = box for the chosen object"
    if streamlit_image_coordinates is not None:
        value = streamlit_image_coordinates(
            image,
            key="prompt_click",
            click_and_drag=True,
            use_column_width="always",
            image_format="JPEG",
            jpeg_quality=90,
            cursor="crosshair",
        )
        st.caption(caption)
        if value and value.get("unix_time") != st.session_state.get("last_click"):
            st.session_state["last_click"] = value.get("unix_time")
            click = prompt_edit.interpret_click(value, (width, height))
            if click is not None and active is None:
                st.warning("Add an object first (right), then click on it.")
            elif click is not None:
                if click.kind == "box":
                    _set_draft(prompt_edit.set_box(draft, int(active), None, frame, click.box_xyxy))
                else:
                    _set_draft(
                        prompt_edit.add_point(
                            draft, int(active), None, frame, click.xy, positive=click_mode == "positive point"
                        )
                    )
                st.rerun()
    else:
        st.image(data.encode_image(image), caption=caption, width="stretch")
        st.caption("Install `streamlit-image-coordinates` to click on the frame; type points below meanwhile.")
    with st.container(key="frame_prompts"):
        lines = prompt_edit.frame_summary(draft, None, frame)
        st.markdown("**On this frame:**" + ("".join(f"\n- {line}" for line in lines) if lines else " no prompt yet"))
    with st.expander("Add a point by coordinates"):
        c_x, c_y, c_b = st.columns([2, 2, 2])
        px = c_x.number_input("x (px)", min_value=0.0, max_value=float(width - 1), step=1.0, key="typed_x")
        py = c_y.number_input("y (px)", min_value=0.0, max_value=float(height - 1), step=1.0, key="typed_y")
        if c_b.button("Add point", disabled=active is None, key="typed_add"):
            _set_draft(
                prompt_edit.add_point(
                    draft, int(active), None, frame, (px, py), positive=click_mode == "positive point"
                )
            )
            st.rerun()

# -- list, edit, delete --------------------------------------------------------------------------
st.subheader("Prompt list")
st.caption(
    "One row per object and frame. Edit cells (points as `x,y; x,y`, box as `x0,y0,x1,y1`), "
    "select rows and press Delete to remove them. Camera empty = the reference camera."
)
rows = prompt_edit.draft_to_rows(draft)
table = pd.DataFrame(rows, columns=list(prompt_edit.TABLE_COLUMNS))
edited = st.data_editor(
    table,
    key=f"prompt_table_{st.session_state['draft_version']}",
    num_rows="dynamic",
    hide_index=True,
    width="stretch",
    column_config={
        "id": st.column_config.NumberColumn("id", min_value=1, step=1, required=True),
        "frame": st.column_config.NumberColumn("frame", min_value=0, step=1),
        "time": st.column_config.NumberColumn("time (s)"),
    },
)
if not edited.reset_index(drop=True).equals(table.reset_index(drop=True)):
    try:
        _set_draft(prompt_edit.rows_to_draft(edited.to_dict("records"), draft))
        st.rerun()
    except MulticamError as exc:
        st.error(str(exc))
if draft:
    chips = " ".join(
        f"<span style='background:{object_color_hex(int(o['id']))};color:#000;border-radius:4px;"
        f"padding:1px 6px;font-size:0.8em'>{o['id']} {o['name']} · {len(o['prompts'])} "
        f"prompt(s)</span>"
        for o in draft
    )
    st.markdown(chips, unsafe_allow_html=True)


def _save() -> bool:
    try:
        prompts = prompt_edit.draft_to_file(st.session_state["draft"])
        cams = {}
        for cam in game.config.cameras:
            info = data.cached_clip(str(game.video_path(cam.name))).info
            cams[cam.name] = (info.width, info.height, info.frame_count)
        validate_prompts(prompts, reference=ref, cameras=cams, source=prompts_path.name)
        save_prompts(prompts, data.check_path(prompts_path, roots, "prompts file"))
    except MulticamError as exc:
        st.error(str(exc))
        return False
    st.session_state["draft_error"] = None
    if game.config.prompts is None:
        st.warning(
            f"Saved to {prompts_path}; add `prompts: {prompts_path.name}` to {game.path.name} "
            f"so that processing uses it."
        )
    else:
        st.success(f"Saved {len(prompts.objects)} object(s) to {prompts_path}")
    return True


if ctx.config.read_only:
    st.info("Read-only dashboard: prompts can be tried here, not saved or processed.")
    st.stop()
if st.button("Save prompts", type="primary", key="save_prompts"):
    _save()

# -- processing ----------------------------------------------------------------------------------
st.subheader("Process")
runs_dir = ctx.config.runs_dir
c_size, c_untrained, c_go = st.columns([2, 2, 2])
image_size = c_size.number_input(
    "SAM 2 image size",
    min_value=64,
    max_value=4096,
    step=32,
    value=int(game.config.processing.image_size),
    key="process_image_size",
)
untrained = c_untrained.checkbox("Untrained (random weights, quick mechanics check)", key="process_untrained")
job: processing.ProcessJob | None = st.session_state.get("process_job")
running = job is not None and job.returncode is None
if c_go.button("Save prompts and process", disabled=running, key="process_start") and _save():
    command = processing.process_command(
        game.path,
        runs_dir,
        untrained=untrained,
        image_size=int(image_size) if image_size else None,
        from_run=processing.previous_run(runs_dir, game.name, game.path),  # re-track only changed objects
    )
    try:
        data.check_path(runs_dir, roots, "runs directory")
        st.session_state["process_job"] = processing.start_process(command, runs_dir, game.name)
        st.rerun()
    except (MulticamError, OSError) as exc:
        st.error(f"could not start processing: {exc}")


def _progress() -> None:
    job_: processing.ProcessJob | None = st.session_state.get("process_job")
    if job_ is None:
        return
    run_path = job_.new_run()
    rc = job_.returncode
    prog = processing.read_progress(run_path) if run_path else None
    if prog is not None:
        cams = ", ".join(f"{c} {w}/{t}" for c, (w, t) in prog.per_camera.items())
        st.progress(
            prog.fraction,
            text=f"{run_path.name}: {prog.status} · {prog.frames_done}/{prog.frames_total} frames ({cams})",
        )
    elif rc is None:
        st.progress(0.0, text="starting processing...")
    if rc is None:
        if st.button("Stop processing", key="process_stop"):
            job_.popen.terminate()
        return
    if prog is not None and prog.status == "complete" and rc == 0:
        st.session_state.pop("process_job", None)
        ui.open_review(0.0, None, str(run_path.resolve()))
        st.switch_page("pages/review.py")
    st.error(f"processing stopped (exit code {rc})" + (f": {prog.error}" if prog and prog.error else ""))
    st.code(processing.log_tail(job_.log_path) or "(no output)", language="text")
    if st.button("Dismiss", key="process_dismiss"):
        st.session_state.pop("process_job", None)
        st.rerun()


st.fragment(_progress, run_every=1.0 if running else None)()
if job is None and ctx.runs:
    for entry in ctx.runs:
        if entry.kind != "ground_truth" and entry.status == "running":
            prog = processing.read_progress(entry.path)
            st.progress(
                prog.fraction, text=f"{entry.path.name} (running): {prog.frames_done}/{prog.frames_total} frames"
            )

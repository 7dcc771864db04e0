"""Calibrate: click court landmarks on each camera, fit, see the errors, save calibration.json."""

from __future__ import annotations

import streamlit as st

from multicam.court.calibrate import calibrate_camera
from multicam.court.files import (
    CameraClicks,
    ClicksFile,
    calibration_content,
    load_clicks,
    save_clicks,
    set_game_calibration,
    write_calibration,
)
from multicam.court.templates import CourtError, builtin_templates, load_template
from multicam.court.view import court_canvas, draw_objects
from multicam.dashboards import court, data, prompt_edit, ui

try:
    from streamlit_image_coordinates import streamlit_image_coordinates
except ImportError:  # pragma: no cover - depends on the environment
    streamlit_image_coordinates = None

CLICKS_FILE = "court_clicks.yaml"

ctx = ui.page_setup()
st.header("Calibrate")
if ctx.game is None:
    st.info("Choose a game in the sidebar.")
    st.stop()
game = ctx.game
clicks_path = game.root / CLICKS_FILE
state_key = f"cal_clicks::{game.path}"
if state_key not in st.session_state:  # start from the clicks saved last time
    saved = None
    if clicks_path.is_file():
        try:
            saved = load_clicks(clicks_path)
        except CourtError as exc:
            st.warning(str(exc))
    st.session_state[state_key] = {
        "template": saved.template if saved and saved.template else "basketball_fiba",
        "cameras": {c: dict(v.points) for c, v in saved.cameras.items()} if saved else {},
    }
clicks = st.session_state[state_key]
names = builtin_templates()
template_name = st.selectbox(
    "Court template", names, index=names.index(clicks["template"]) if clicks["template"] in names else 0
)
clicks["template"] = template_name
template = load_template(template_name)

c_cam, c_frame, c_mark = st.columns([1, 2, 2])
camera = c_cam.selectbox("Camera", game.config.camera_names, key="cal_camera")
clip = data.cached_clip(str(game.video_path(camera)))
width, height = clip.info.resolution_wh
frame = min(
    int(c_frame.slider("Frame", 0, max(clip.info.frame_count - 1, 1), key="cal_frame")), clip.info.frame_count - 1
)
mine: dict[str, tuple[float, float]] = clicks["cameras"].setdefault(camera, {})
landmark = c_mark.selectbox(
    "Landmark to click",
    list(template.landmarks),
    format_func=lambda n: f"{n} ✓" if n in mine else n,
    key="cal_landmark",
)

fit = None
if len(mine) >= 1:
    try:
        fit = calibrate_camera(camera, template, mine, (width, height)) if len(mine) >= 4 else None
    except CourtError as exc:
        st.error(str(exc))
left, right = st.columns([3, 2])
with left:
    reproj = {r.name: r.reprojected_px for r in fit.residuals} if fit else None
    image = court.draw_landmarks(clip.frame(frame), mine, reproj, landmark)
    caption = f"{camera} · frame {frame} · {width}x{height}: click where '{landmark}' is"
    if streamlit_image_coordinates is not None:
        value = streamlit_image_coordinates(
            image, key="cal_click", use_column_width="always", image_format="JPEG", jpeg_quality=90, cursor="crosshair"
        )
        st.caption(caption)
        if value and value.get("unix_time") != st.session_state.get("cal_last_click"):
            st.session_state["cal_last_click"] = value.get("unix_time")
            click = prompt_edit.interpret_click(value, (width, height))
            if click is not None and click.xy is not None:
                mine[landmark] = (round(click.xy[0], 1), round(click.xy[1], 1))
                st.rerun()
    else:
        st.image(data.encode_image(image), caption=caption, width="stretch")
    with st.expander("Type a landmark's pixel"):
        c_x, c_y, c_b = st.columns(3)
        tx = c_x.number_input("x (px)", 0.0, float(width), step=1.0, key="cal_x")
        ty = c_y.number_input("y (px)", 0.0, float(height), step=1.0, key="cal_y")
        if c_b.button("Set", key="cal_set"):
            mine[landmark] = (tx, ty)
            st.rerun()
with right:
    canvas = court_canvas(template, width_px=480)
    ids = {n: k + 1 for k, n in enumerate(mine)}
    diagram = draw_objects(
        canvas, {ids.get(landmark, 0): template.landmarks[landmark]}, labels={ids.get(landmark, 0): "?"}
    )
    diagram = draw_objects(
        type(canvas)(diagram, canvas.px_per_m, canvas.margin_m), {ids[n]: template.landmarks[n] for n in mine}
    )
    st.image(
        data.encode_image(diagram), caption=f"{template.description} - '?' is the landmark to click", width="stretch"
    )
    rows = [
        {
            "#": ids[n],
            "landmark": n,
            "x": xy[0],
            "y": xy[1],
            "error (px)": next((r.error_px for r in fit.residuals if r.name == n), None) if fit else None,
            "error (m)": next((r.error_m for r in fit.residuals if r.name == n), None) if fit else None,
        }
        for n, xy in mine.items()
    ]
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch")
    if fit is not None:
        st.success(
            f"{camera}: focal {fit.camera.focal_px:.0f} px, error {fit.rms_px:.2f} px / {fit.rms_m:.3f} m "
            f"over {len(fit.residuals)} landmarks (crosses: where the fit puts them)"
        )
        for w in fit.warnings:
            st.warning(w)
    else:
        st.caption(f"{len(mine)} of at least 4 landmarks clicked on {camera}.")
    c_rm, c_clear = st.columns(2)
    if c_rm.button("Remove this landmark", disabled=landmark not in mine):
        mine.pop(landmark, None)
        st.rerun()
    if c_clear.button(f"Clear {camera}", disabled=not mine):
        mine.clear()
        st.rerun()

st.subheader("Save")
ready = {c: v for c, v in clicks["cameras"].items() if len(v) >= 4}
st.caption(
    "Cameras with 4 or more landmarks: "
    + (", ".join(f"{c} ({len(v)})" for c, v in ready.items()) or "none yet")
    + f". Saving writes {CLICKS_FILE} and the game's calibration file."
)
if st.button("Save calibration", type="primary", disabled=not ready):
    try:
        fits = {}
        for cam, pts in ready.items():
            info = data.cached_clip(str(game.video_path(cam))).info
            fits[cam] = calibrate_camera(cam, template, pts, tuple(info.resolution_wh))
        target = game.calibration_path or game.root / "calibration.json"
        content = calibration_content(
            {c: f.camera for c, f in fits.items()}, template, f"clicked landmarks ({CLICKS_FILE})", fits
        )
    except CourtError as exc:
        st.error(str(exc))
    else:
        record = ClicksFile(
            template=template_name,
            cameras={
                c: CameraClicks(points={k: tuple(map(float, xy)) for k, xy in v.items()}) for c, v in ready.items()
            },
        )
        save_clicks(clicks_path, record)
        write_calibration(target, content)
        if game.config.calibration is None:
            set_game_calibration(game.path, target.name)
        st.success(f"wrote {target} ({len(fits)} camera(s)) and {clicks_path.name}")

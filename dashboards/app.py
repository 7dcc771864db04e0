"""multicam analyst dashboard. Start it with ``multicam dashboard [RUNS_DIR] --game GAME.yaml``."""

from __future__ import annotations

import streamlit as st

from multicam.dashboards import access

st.set_page_config(page_title="multicam", page_icon=":material/videocam:", layout="wide")
# Each page draws the shared sidebar itself (ui.page_setup), so a page is complete on its own.
if not access.is_authenticated():  # a shared dashboard: nothing but the password form until it is typed
    st.navigation([st.Page(access.login_page, title="multicam")], position="hidden").run()
    st.stop()
pages = st.navigation(
    [
        st.Page("pages/review.py", title="Review", icon=":material/grid_view:", default=True),
        st.Page("pages/consistency.py", title="Consistency", icon=":material/timeline:"),
        st.Page("pages/prompts.py", title="Prompts", icon=":material/ads_click:"),
        st.Page("pages/calibrate.py", title="Calibrate", icon=":material/straighten:"),
        st.Page("pages/season.py", title="Season", icon=":material/calendar_month:"),
    ]
)
pages.run()

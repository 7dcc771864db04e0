"""multicam analyst dashboard. Start it with ``multicam dashboard [RUNS_DIR] --game GAME.yaml``."""

from __future__ import annotations

import sys
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

import streamlit as st  # noqa: E402

from dashboards import data, ui  # noqa: E402
from multicam.errors import MulticamError  # noqa: E402

st.set_page_config(page_title="multicam", page_icon=":material/videocam:", layout="wide")
ui.keep_widget_state()

try:
    config = data.DashboardConfig.from_env()
except MulticamError as exc:
    st.error(str(exc))
    st.stop()

pages = st.navigation([
    st.Page("pages/review.py", title="Review", icon=":material/grid_view:", default=True),
    st.Page("pages/consistency.py", title="Consistency", icon=":material/timeline:"),
    st.Page("pages/prompts.py", title="Prompts", icon=":material/ads_click:"),
])
ui.set_context(ui.sidebar(config))
pages.run()

"""multicam analyst dashboard. Start it with ``multicam dashboard [RUNS_DIR] --game GAME.yaml``."""

from __future__ import annotations

import sys
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

import streamlit as st  # noqa: E402

from dashboards.access import require_password  # noqa: E402

st.set_page_config(page_title="multicam", page_icon=":material/videocam:", layout="wide")
require_password()  # before any page renders: nothing is shown to a session without the password
# Each page draws the shared sidebar itself (ui.page_setup), so a page is complete on its own.
pages = st.navigation(
    [
        st.Page("pages/review.py", title="Review", icon=":material/grid_view:", default=True),
        st.Page("pages/consistency.py", title="Consistency", icon=":material/timeline:"),
        st.Page("pages/prompts.py", title="Prompts", icon=":material/ads_click:"),
    ]
)
pages.run()

"""Who may use the dashboard: a password gate drawn before any page, and read-only mode.

``multicam dashboard --host 0.0.0.0`` requires a password (``--password`` or the
``MULTICAM_DASHBOARD_PASSWORD`` environment variable); the Streamlit process gets it in that
environment variable and :func:`require_password` asks for it before any page renders, comparing
in constant time (:func:`hmac.compare_digest`). ``--read-only`` removes everything that writes:
saving prompts and starting processing.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping

import streamlit as st

PASSWORD_ENV = "MULTICAM_DASHBOARD_PASSWORD"
AUTHENTICATED = "_multicam_authenticated"


def password_matches(typed: str, expected: str) -> bool:
    """Constant-time comparison of a typed password with the expected one."""
    return hmac.compare_digest(typed.encode("utf-8"), expected.encode("utf-8"))


def require_password(environ: Mapping[str, str] | None = None) -> None:
    """Stop the script with a password form until this browser session typed the password (if one is set)."""
    expected = (os.environ if environ is None else environ).get(PASSWORD_ENV, "")
    if not expected or st.session_state.get(AUTHENTICATED):
        return
    st.title("multicam")
    with st.form("login"):
        typed = st.text_input("Password", type="password", key="_password")
        submitted = st.form_submit_button("Open the dashboard")
    if submitted and typed:
        if password_matches(typed, expected):
            st.session_state[AUTHENTICATED] = True
            st.session_state.pop("_password", None)
            st.rerun()
        st.error("wrong password")
    st.stop()

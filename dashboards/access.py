"""Who may use the dashboard: a password gate drawn before any page, and read-only mode.

``multicam dashboard --host 0.0.0.0`` requires a password (``--password`` or the
``MULTICAM_DASHBOARD_PASSWORD`` environment variable); the Streamlit process gets it in that
environment variable and :func:`login_page` asks for it before any page renders, comparing
in constant time (:func:`hmac.compare_digest`): until then the app's navigation holds the login page
only, so no page script (and no page URL) can run. ``--read-only`` removes everything that writes:
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


def _expected(environ: Mapping[str, str] | None = None) -> str:
    return (os.environ if environ is None else environ).get(PASSWORD_ENV, "")


def is_authenticated(environ: Mapping[str, str] | None = None) -> bool:
    """True when no password is set, or this browser session typed it."""
    return not _expected(environ) or bool(st.session_state.get(AUTHENTICATED))


def login_page() -> None:
    """The only page of a session without the password: a password form, nothing else."""
    st.title("multicam")
    with st.form("login"):
        typed = st.text_input("Password", type="password", key="_password")
        submitted = st.form_submit_button("Open the dashboard")
    if submitted and typed:
        if password_matches(typed, _expected()):
            st.session_state[AUTHENTICATED] = True
            st.rerun()
        st.error("wrong password")

"""Log in (the only page that creates a session)."""

from __future__ import annotations

import streamlit as st

from ui.common import show_error, tr, workbench
from workbench import auth
from workbench.errors import WorkbenchError


def render() -> None:
    st.title(tr("login.title"))
    st.caption(tr("login.help"))
    with st.form("login_form"):
        username = st.text_input(tr("login.username"), key="login_username")
        password = st.text_input(tr("login.password"), type="password", key="login_password")
        submitted = st.form_submit_button(tr("login.submit"), type="primary")
    if submitted:
        try:
            st.session_state["actor"] = auth.login(workbench().registry, username, password)
        except WorkbenchError as exc:
            show_error(exc)
        else:
            st.rerun()


render()

"""Log in, or register an organisation and its first vendor account."""

from __future__ import annotations

import streamlit as st

from ui.common import actor, friendly, show_error, tr, workbench
from workbench import auth, submissions
from workbench.errors import WorkbenchError


def _address() -> str | None:
    address = st.context.ip_address
    return address if isinstance(address, str) and address else None


def render() -> None:
    st.title(tr("login.title"))
    st.caption(tr("login.help"))
    sign_in, sign_up = st.tabs([tr("login.tab_login"), tr("login.tab_register")])
    with sign_in, st.form("login_form"):
        username = st.text_input(tr("login.username"), key="login_username")
        password = st.text_input(tr("login.password"), type="password", key="login_password")
        submitted = st.form_submit_button(tr("login.submit"), type="primary")
    if submitted:
        try:
            st.session_state["actor"] = auth.login(workbench().registry, username, password,
                                                   source=_address())  # throttled per address
        except WorkbenchError as exc:
            show_error(exc)
        else:
            st.rerun()
    with sign_up:
        st.caption(tr("login.register_help"))
        with st.form("register_form"):
            org_name = st.text_input(tr("vendor.org_name"), key="reg_org_name")
            bin_ = st.text_input(tr("vendor.org_bin"), key="reg_org_bin", max_chars=12, help=tr("vendor.org_bin_help"))
            email = st.text_input(tr("vendor.org_email"), key="reg_org_email")
            name = st.text_input(tr("admin.name"), key="reg_name")
            new_user = st.text_input(tr("login.username"), key="reg_username")
            new_password = st.text_input(tr("login.password"), type="password", key="reg_password",
                                         help=tr("auth.weak_password", min=auth.MIN_PASSWORD))
            registered = st.form_submit_button(tr("vendor.register"), type="primary")
        if registered:
            with friendly():
                registration = submissions.register_vendor(workbench().registry, actor(), org_name=org_name,
                                                           bin=bin_, contact_email=email, username=new_user,
                                                           password=new_password, display_name=name)
                st.session_state["actor"] = auth.login(workbench().registry, registration.username, new_password)
                st.session_state["registered_username"] = registration.username  # shown: the login name to keep
                st.rerun()


render()

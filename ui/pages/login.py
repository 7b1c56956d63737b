"""Sign in (on the server's ``/signin`` page, which sets the session cookie), or register an
organisation and its first vendor account.

The same page answers at the address of every work page for a visitor who is not signed
in (a bookmark, a link in an e-mail): signing in then comes back to that address.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import streamlit as st

from ui.common import actor, friendly, lang, signin_url, tr, workbench
from ui.text import esc, self_link
from workbench.registry import auth
from workbench.intake import submissions
from workbench.web.signin import SIGNIN_PATH, STAFF_HOME


def _at_work_address() -> bool:
    path = urlsplit(st.context.url or "").path.rstrip("/")
    return path not in ("", STAFF_HOME.rstrip("/")) and not path.endswith("/login")


def render() -> None:
    st.title(tr("login.title"))
    deep_link = _at_work_address()
    if deep_link:
        st.info(tr("staff.signin_needed"))
    else:
        st.caption(tr("login.help"))
    sign_in, sign_up = st.tabs([tr("login.tab_login"), tr("login.tab_register")])
    with sign_in:
        self_link(tr("staff.signin_link"), signin_url(None if deep_link else STAFF_HOME))
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
                # The login name may differ from the one asked for (registration never reveals
                # whether a name is taken): show the one to keep.
                st.success(tr("staff.registered", org=esc(org_name.strip()), username=esc(registration.username)))
                self_link(tr("staff.signin_link"), SIGNIN_PATH + "?" + urlencode(
                    {"next": STAFF_HOME + "submissions", "lang": lang(), "username": registration.username}))


render()

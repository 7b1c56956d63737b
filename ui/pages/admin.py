"""Admin: accounts and roles."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui.common import actor, friendly, lang, tr, workbench
from ui.text import esc
from workbench import auth, submissions
from workbench.i18n import format_date
from workbench.models import Role


def render() -> None:
    st.title(tr("admin.title"))
    reg = workbench().registry
    users = auth.list_users(reg, actor())
    st.dataframe(pd.DataFrame([{
        tr("admin.username"): u.username, tr("admin.name"): u.display_name, tr("admin.role"): tr("role." + u.role.value),
        tr("admin.active"): u.active, tr("admin.created"): format_date(u.created_at, lang()),
    } for u in users]), hide_index=True, width="stretch")
    st.subheader(tr("admin.add_user"))
    orgs = submissions.list_organisations(reg, actor())
    with st.form("add_user"):
        username = st.text_input(tr("admin.username"), key="new_username")
        name = st.text_input(tr("admin.name"), key="new_name")
        role = st.selectbox(tr("admin.role"), [r.value for r in Role if r is not Role.PUBLIC],
                            format_func=lambda r: tr("role." + r), key="new_role")
        org = st.selectbox(tr("admin.org"), [None, *[o.id for o in orgs]], key="new_org",
                           format_func=lambda i: "—" if i is None else next(o.name for o in orgs if o.id == i))
        password = st.text_input(tr("login.password"), type="password", key="new_password")
        if st.form_submit_button(tr("admin.create"), type="primary"):
            with friendly():
                user = auth.create_user(reg, actor(), username=username, password=password, role=role,
                                        display_name=name, org_id=org)
                st.success(tr("cli.user_added", username=esc(user.username), role=tr("role." + user.role.value)))
    st.subheader(tr("admin.backup"))
    st.caption(tr("admin.backup_help"))
    if st.button(tr("admin.make_backup"), key="make_backup"):
        import tempfile
        from pathlib import Path

        from workbench import admin as admin_service

        with friendly(), tempfile.TemporaryDirectory() as tmp:
            path = admin_service.backup(reg, actor(), Path(tmp) / "registry-backup.db")
            st.download_button(tr("admin.download_backup"), path.read_bytes(), file_name="registry-backup.db",
                               mime="application/vnd.sqlite3", key="download_backup")
    st.subheader(tr("admin.log"))
    if st.button(tr("admin.verify_log"), key="verify_log"):
        check = reg.verify_log()
        if check.ok:
            st.success(tr("cli.log_ok", events=check.events))
        else:
            st.error(tr("cli.log_broken", id=check.first_broken_id, problem=tr(check.problem)))


render()

"""Admin: accounts and roles."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui.common import actor, friendly, lang, tr, workbench
from ui.text import esc
from workbench.upkeep import admin as admin_service
from workbench.registry import auth
from workbench.intake import submissions
from workbench.i18n import format_date, format_datetime
from workbench.registry.models import Role, now_iso

ACTIONS = ("deactivate", "reactivate", "reset", "unlock")


def _account_actions(users) -> None:
    """Deactivate, reactivate, reset a password, unlock: each confirmed, effective at once, logged."""
    reg = workbench().registry
    st.subheader(tr("staff.admin_accounts"))
    if done := st.session_state.pop("admin_done", None):
        st.success(done)
    locked = admin_service.locked_users(reg, actor())
    others = [u for u in users if u.id != actor().user_id]
    if not others:
        return
    with st.container(border=True, key="account_actions"):
        c1, c2 = st.columns(2)
        user_id = c1.selectbox(tr("admin.username"), [u.id for u in others], key="acct_user",
                               format_func=lambda i: next(f"{u.username} · {tr('role.' + u.role.value)}"
                                                          + ("" if u.active else " · " + tr("staff.admin_inactive"))
                                                          + (" · " + tr("staff.admin_locked") if u.id in locked else "")
                                                          for u in others if u.id == i))
        user = next(u for u in others if u.id == user_id)
        possible = [a for a in ACTIONS if (a == "deactivate" and user.active) or (a == "reactivate" and not user.active)
                    or a == "reset" or (a == "unlock" and user.id in locked)]
        action = c2.radio(tr("staff.admin_action"), possible, key="acct_action", horizontal=True,
                          format_func=lambda a: tr(f"staff.admin_{a}"))
        temporary = st.text_input(tr("staff.admin_temporary"), type="password", key="acct_temp",
                                  help=tr("auth.weak_password", min=auth.MIN_PASSWORD)) if action == "reset" else ""
        sure = st.checkbox(tr("staff.admin_confirm", username=esc(user.username)), key="acct_sure")
        if st.button(tr("staff.admin_apply"), key="acct_apply", type="primary", disabled=not sure):
            with friendly():
                if action == "deactivate":
                    admin_service.deactivate(reg, actor(), user.id)
                elif action == "reactivate":
                    admin_service.reactivate(reg, actor(), user.id)
                elif action == "reset":
                    admin_service.reset_password(reg, actor(), user.id, temporary)
                else:
                    admin_service.unlock(reg, actor(), user.id)
                st.session_state["admin_done"] = tr(f"staff.admin_done_{action}", username=esc(user.username))
                for key in ("acct_sure", "acct_temp"):
                    st.session_state.pop(key, None)
                st.rerun()


def _live_sessions() -> None:
    """Who is signed in now, since when, last seen, from where; end one session (logged)."""
    from workbench.registry import sessions

    reg = workbench().registry
    st.subheader(tr("daily.sessions.title"))
    st.caption(tr("daily.sessions.help"))
    if done := st.session_state.pop("sessions_done", None):
        st.success(done)
    live = sessions.active(reg, actor())
    if not live:
        st.info(tr("daily.sessions.none"))
        return
    st.dataframe(pd.DataFrame([{
        tr("daily.sessions.who"): f"{s.display_name} ({s.username})", tr("daily.sessions.role"): tr("role." + s.role),
        tr("daily.sessions.since"): format_datetime(s.created_at, lang()),
        tr("daily.sessions.last_seen"): format_datetime(s.last_seen, lang()),
        tr("daily.sessions.address"): s.address or "—", tr("daily.sessions.browser"): s.user_agent[:60] or "—",
    } for s in live]), hide_index=True, width="stretch", key="sessions_table")
    names = {s.id: f"{s.username} · {tr('role.' + s.role)} · {s.address or '—'} · "
                   f"{format_datetime(s.last_seen, lang())} · {s.id_prefix}" for s in live}
    with st.container(border=True, key="sessions_revoke"):
        chosen = st.selectbox(tr("daily.sessions.pick"), list(names), format_func=names.get, key="session_pick")
        sure = st.checkbox(tr("daily.sessions.confirm"), key="session_sure")
        if st.button(tr("daily.sessions.revoke"), key="session_revoke", disabled=not sure, icon=":material/logout:"):
            with friendly():
                ended = sessions.revoke(reg, actor(), chosen)
                st.session_state["sessions_done"] = tr("daily.sessions.revoked", username=esc(ended.username),
                                                       address=esc(ended.address or "—"))
                st.session_state.pop("session_sure", None)
                st.rerun()


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
    _account_actions(users)
    _live_sessions()
    _public_url(reg)
    st.subheader(tr("admin.backup"))
    st.caption(tr("admin.backup_help"))
    if st.button(tr("admin.make_backup"), key="make_backup"):
        import tempfile
        from pathlib import Path

        with friendly(), tempfile.TemporaryDirectory() as tmp:
            path = admin_service.backup(reg, actor(), Path(tmp) / "workbench-backup.tar")
            # Kept in the session: the download button stays until the next backup.
            st.session_state["admin_backup"] = (path.read_bytes(), format_datetime(now_iso(), lang()))
    if backup := st.session_state.get("admin_backup"):
        st.success(tr("staff.backup_ready", when=esc(backup[1])))
        st.download_button(tr("admin.download_backup"), backup[0], file_name="workbench-backup.tar",
                           mime="application/x-tar", key="download_backup", on_click="ignore",
                           icon=":material/download:")
    st.subheader(tr("admin.log"))
    if st.button(tr("admin.verify_log"), key="verify_log"):
        with friendly():  # the same whole check as the CLI's verify-log
            report = admin_service.verify_log(reg, actor(), keys=workbench().keys, audits_dir=workbench().home.audits)
            lines = report.explain(lang())
            if report.ok:
                st.success(tr("cli.log_ok", events=report.events) + "  \n" + esc(lines[-1]))
            else:
                st.error("  \n".join(esc(line) for line in lines))


def _public_url(reg) -> None:
    """The address printed in QR codes and links; checked before it is saved (issue 12)."""
    from workbench.registry import public_url

    st.subheader(tr("pubweb.admin.public_url"))
    st.caption(tr("pubweb.admin.public_url_help"))
    with st.form("public_url_form"):
        url = st.text_input(tr("pubweb.admin.public_url"), value=reg.get_meta(public_url.META_KEY) or "",
                            placeholder="https://ai-safe.edu.kz", key="public_url")
        if st.form_submit_button(tr("pubweb.admin.save")):
            with friendly():
                st.success(tr("pubweb.serve.public_url_set", url=esc(public_url.set_public_url(reg, actor(), url))))


render()

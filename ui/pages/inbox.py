"""The person's notifications: newest first, unread marked; opening one goes to the page
it is about (``?submission=N``) and marks it read."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import streamlit as st

from ui.common import actor, lang, tr, workbench
from ui.text import esc
from workbench.registry import notifications
from workbench.i18n import format_datetime

#: url path of a work page -> its script (the links notices carry)
SCRIPTS = {"submissions": "ui/pages/vendor.py", "assignments": "ui/pages/reviewer.py", "queue": "ui/pages/secretary.py",
           "complaints": "ui/pages/complaints_queue.py", "users": "ui/pages/admin.py"}


def _open(notice) -> None:
    notifications.mark_read(workbench().registry, actor(), notice.id)
    parts = urlsplit(notice.link)
    script = SCRIPTS.get(parts.path.strip("/"))
    if script:
        st.switch_page(script, query_params={**dict(parse_qsl(parts.query)), "lang": lang()})  # a reload keeps it
    st.rerun()


def render() -> None:
    st.title(tr("staff.inbox_title"))
    reg = workbench().registry
    if done := st.session_state.pop("_inbox_done", None):
        st.success(tr("staff.inbox_marked", n=done))
    notices = notifications.inbox(reg, actor())
    if not notices:
        st.info(tr("staff.inbox_empty"))
        return
    if any(not n.read for n in notices) and st.button(tr("staff.inbox_mark_all"), key="inbox_all",
                                                      icon=":material/done_all:"):
        st.session_state["_inbox_done"] = notifications.mark_read(reg, actor())
        st.rerun()
    for notice in notices:
        with st.container(border=True, key=f"notice_{notice.id}"):
            c1, c2 = st.columns([5, 1])
            text = esc(notice.text(lang()))
            c1.markdown(f":blue-badge[{tr('staff.inbox_unread')}] **{text}**" if not notice.read else text)
            c1.caption(format_datetime(notice.created_at, lang()))
            if notice.link and notice.link.split("?")[0].strip("/") in SCRIPTS:
                if c2.button(tr("staff.inbox_open"), key=f"notice_open_{notice.id}", icon=":material/open_in_new:"):
                    _open(notice)
            elif not notice.read and c2.button(tr("staff.inbox_mark_read"), key=f"notice_read_{notice.id}"):
                notifications.mark_read(reg, actor(), notice.id)
                st.rerun()


render()

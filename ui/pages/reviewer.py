"""Reviewer: the submissions assigned to me."""

from __future__ import annotations

import streamlit as st

from ui.common import actor, lang, status_label, tr, workbench
from workbench import submissions
from workbench.i18n import format_date


def render() -> None:
    st.title(tr("reviewer.title"))
    subs = submissions.list_submissions(workbench().registry, actor())
    if not subs:
        st.info(tr("reviewer.none"))
        return
    for sub in subs:
        with st.container(border=True):
            st.markdown(f"**{sub.tool_name}** {sub.tool_version} — {sub.org_name}")
            st.caption(f"#{sub.id} · {status_label(sub.status.value)} · {format_date(sub.updated_at, lang())}")


render()

"""Secretary: the committee's queue: screening new submissions and assigning reviewers."""

from __future__ import annotations

import streamlit as st

from ui.common import actor, friendly, lang, status_label, tr, workbench
from workbench import submissions
from workbench.i18n import format_date
from workbench.models import Status


def render() -> None:
    st.title(tr("secretary.title"))
    reg = workbench().registry
    subs = submissions.list_submissions(reg, actor())
    if not subs:
        st.info(tr("secretary.none"))
        return
    for sub in subs:
        with st.container(border=True):
            st.markdown(f"**{sub.tool_name}** {sub.tool_version} — {sub.org_name}")
            st.caption(f"#{sub.id} · {status_label(sub.status.value)} · {format_date(sub.updated_at, lang())}")
            if sub.status in (Status.SUBMITTED, Status.SCREENING):
                c1, c2 = st.columns(2)
                if c1.button(tr("secretary.screen_ok"), key=f"screen_ok_{sub.id}"):
                    with friendly():
                        submissions.screen(reg, actor(), sub.id, complete=True)
                        st.rerun()
                reasons = c2.text_input(tr("secretary.return_reason"), key=f"reason_{sub.id}")
                if c2.button(tr("secretary.screen_return"), key=f"screen_ret_{sub.id}"):
                    with friendly():
                        submissions.screen(reg, actor(), sub.id, complete=False, reasons=reasons)
                        st.rerun()
            if sub.status is Status.IN_REVIEW:
                assigned = submissions.assigned_reviewers(reg, actor(), sub.id)
                st.write(tr("secretary.reviewers") + ": " + (", ".join(r["display_name"] for r in assigned) or "—"))
                candidates = [r for r in submissions.list_reviewers(reg, actor())
                              if r["id"] not in {a["id"] for a in assigned}]
                if candidates:
                    pick = st.selectbox(tr("secretary.assign"), [r["id"] for r in candidates], key=f"assign_{sub.id}",
                                        format_func=lambda i: next(r["display_name"] for r in candidates if r["id"] == i))
                    if st.button(tr("secretary.assign_button"), key=f"assign_btn_{sub.id}"):
                        with friendly():
                            submissions.assign_reviewer(reg, actor(), sub.id, pick)
                            st.rerun()


render()

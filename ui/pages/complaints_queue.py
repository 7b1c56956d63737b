"""The secretary's complaint queue: read each complaint, resolve it with an outcome.

A suspension changes a public label, so it needs an explicit confirmation first.
"""

from __future__ import annotations

import streamlit as st

from ui.common import actor, friendly, lang, tr, workbench
from ui.text import esc
from workbench.public import complaints
from workbench.aftercare import rereview
from workbench.i18n import format_datetime


def _resolve_form(c: complaints.Complaint) -> None:
    key = c.reference
    outcome = st.radio(tr("pub.queue.outcome"), tuple(complaints.OUTCOMES), key=f"cq_outcome_{key}",
                       format_func=lambda o: tr(f"pub.complaint.outcome.{o}"), horizontal=True)
    note = st.text_area(tr("pub.queue.note"), key=f"cq_note_{key}", help=tr("pub.queue.note_help"))
    confirmed = True
    if outcome == "suspension":
        if c.label_id:
            st.warning(tr("pub.queue.suspend_warning", id=c.label_id))
        confirmed = st.checkbox(tr("pub.queue.confirm_suspend", id=c.label_id or "—"), key=f"cq_confirm_{key}")
    if st.button(tr("pub.queue.resolve"), key=f"cq_resolve_{key}", type="primary", disabled=not confirmed):
        with friendly():
            if outcome == "re_review":  # a real re-review: a linked case in the secretary's queue
                case_id = rereview.resolve_with_re_review(workbench().registry, actor(), c.reference, note)
                st.session_state["cq_case"] = case_id
            else:
                complaints.resolve_complaint(workbench().registry, actor(), c.reference, outcome, note)
            st.session_state["cq_done"] = c.reference
            st.rerun()


def render() -> None:
    st.title(tr("pub.queue.title"))
    st.caption(tr("pub.queue.intro"))
    if st.session_state.get("cq_done"):
        ref = st.session_state.pop("cq_done")
        if (case_id := st.session_state.pop("cq_case", None)) is not None:
            st.success(tr("staff.rereview_opened", reference=esc(ref), id=int(case_id)))
            st.page_link("ui/pages/secretary.py", label=tr("nav.queue"), query_params={"submission": str(case_id)},
                         icon=":material/gavel:")
        else:
            st.success(tr("pub.queue.resolved", reference=esc(ref)))
    status = st.segmented_control(tr("pub.queue.show"), ("open", "closed"), key="cq_status", default="open",
                                  format_func=lambda s: tr(f"complaint_status.{s}"))
    with friendly():
        items = complaints.list_complaints(workbench().registry, actor(), status=status)
        if not items:
            st.info(tr("pub.queue.empty"))
            return
        st.write(tr("registry.count", n=len(items)))
        for c in items[:100]:
            label_text = esc(c.label_id or c.tool_name or "—")
            with st.expander(f"{esc(c.reference)} · {label_text} · {format_datetime(c.created_at, lang())}",
                             key=f"cq_panel_{c.reference}"):
                if c.label_id:
                    st.write(tr("pub.queue.label_line", id=c.label_id,
                                status=tr(f"label_status.{c.label_status}") if c.label_status else "—"))
                if c.tool_name:
                    st.write(f"{tr('complaint.tool')}: {esc(c.tool_name)}")
                st.text(c.body)
                if c.contact:
                    st.caption(f"{tr('complaint.contact')}: {esc(c.contact)}")
                if c.status == "open":
                    _resolve_form(c)
                else:
                    st.info(f"{tr('pub.complaint.outcome.' + c.outcome)}: {esc(c.outcome_note)}")


render()

"""Public complaint form with a small challenge, and a status lookup by reference."""

from __future__ import annotations

import streamlit as st

from ui.common import actor, friendly, tr, workbench
from workbench import public


def _challenge() -> public.Challenge:
    if "complaint_challenge" not in st.session_state:
        st.session_state["complaint_challenge"] = public.new_challenge(workbench().registry)
    return st.session_state["complaint_challenge"]


def render() -> None:
    st.title(tr("complaint.title"))
    st.caption(tr("complaint.intro"))
    challenge = _challenge()
    with st.form("complaint_form", clear_on_submit=False):
        label_id = st.text_input(tr("complaint.label_id"), key="complaint_label")
        tool = st.text_input(tr("complaint.tool"), key="complaint_tool")
        body = st.text_area(tr("complaint.body"), key="complaint_body", max_chars=public.MAX_COMPLAINT_CHARS)
        contact = st.text_input(tr("complaint.contact"), key="complaint_contact")
        answer = st.text_input(tr("complaint.challenge", a=challenge.a, b=challenge.b), key="complaint_answer")
        sent = st.form_submit_button(tr("complaint.send"), type="primary")
    if sent:
        with friendly():
            result = public.file_complaint(
                workbench().registry, actor(), body=body, label_id=label_id or None, tool_name=tool,
                contact=contact, challenge_token=challenge.token, challenge_answer=answer,
                source=st.session_state.get("_session_source") or _session_source())
            st.success(tr("complaint.sent", reference=result.reference))
            del st.session_state["complaint_challenge"]
    st.divider()
    st.subheader(tr("complaint.track"))
    ref = st.text_input(tr("complaint.reference"), key="complaint_ref")
    if ref:
        with friendly():
            c = public.complaint_status(workbench().registry, actor(), ref)
            st.info(tr("complaint.status_line", reference=c.reference, status=tr("complaint_status." + c.status)))


def _session_source() -> str:
    import secrets

    st.session_state["_session_source"] = secrets.token_hex(16)
    return st.session_state["_session_source"]


render()

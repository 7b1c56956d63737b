"""Public complaint form with a small challenge, and a status lookup by reference that
shows the committee's outcome once the complaint is resolved."""

from __future__ import annotations

import secrets

import streamlit as st

from ui.common import actor, friendly, lang, tr, workbench
from workbench import public
from workbench.errors import WorkbenchError


def _challenge() -> public.Challenge:
    if "complaint_challenge" not in st.session_state:
        st.session_state["complaint_challenge"] = public.new_challenge(workbench().registry, _session_source())
    return st.session_state["complaint_challenge"]


def _session_source() -> str:
    """The client's address (so a new browser session does not reset the rate limit), or a
    random id per session where the address is unknown."""
    address = st.context.ip_address
    if isinstance(address, str) and address:
        return address
    if "_session_source" not in st.session_state:
        st.session_state["_session_source"] = secrets.token_hex(16)
    return st.session_state["_session_source"]


def render() -> None:
    st.title(tr("complaint.title"))
    st.caption(tr("complaint.intro"))
    challenge = _challenge()
    with st.form("complaint_form", clear_on_submit=False):
        label_id = st.text_input(tr("complaint.label_id"), key="complaint_label",
                                 value=st.query_params.get("label", ""))
        tool = st.text_input(tr("complaint.tool"), key="complaint_tool")
        body = st.text_area(tr("complaint.body"), key="complaint_body", max_chars=public.MAX_COMPLAINT_CHARS)
        contact = st.text_input(tr("complaint.contact"), key="complaint_contact", help=tr("pub.complaint.contact_help"))
        answer = st.text_input(tr("complaint.challenge", a=challenge.a, b=challenge.b), key="complaint_answer")
        sent = st.form_submit_button(tr("complaint.send"), type="primary")
    if error := st.session_state.pop("complaint_error", None):
        st.error(error, icon="⚠️")
    if sent:
        # A challenge is single use: whatever happens, the next attempt gets a new one.
        del st.session_state["complaint_challenge"]
        try:
            result = public.file_complaint(
                workbench().registry, actor(), body=body, label_id=label_id or None, tool_name=tool,
                contact=contact, challenge_token=challenge.token, challenge_answer=answer, source=_session_source())
        except WorkbenchError as exc:
            st.session_state["complaint_error"] = exc.translate(lang())
            st.rerun()  # show the new question with the message
        st.success(tr("complaint.sent", reference=result.reference))
        st.session_state["complaint_last"] = result.reference
    st.divider()
    st.subheader(tr("complaint.track"))
    ref = st.text_input(tr("complaint.reference"), key="complaint_ref",
                        placeholder=st.session_state.get("complaint_last", "C-2026-XXXXXX"))
    if ref.strip():
        with friendly():
            c = public.complaint_status(workbench().registry, actor(), ref)
            (st.info if c.status == "open" else st.success)(c.status_text(lang()))


render()

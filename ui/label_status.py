"""A label as it truly stands (issue 13): a green box only for an active label; suspended,
revoked, expired and superseded labels say so, with the reason and the date."""

from __future__ import annotations

import streamlit as st

from ui.common import actor, lang, tr, workbench
from ui.text import esc
from workbench.aftercare import label_state
from workbench.i18n import format_date

_BOX = {"active": st.success, "suspended": st.warning, "revoked": st.error, "expired": st.warning,
        "superseded": st.info}
_ICON = {"active": ":material/verified:", "suspended": ":material/pause_circle:", "revoked": ":material/block:",
         "expired": ":material/event_busy:", "superseded": ":material/history:"}


def sentence(state: label_state.LabelState) -> str:
    label = state.label
    # The box's icon is hidden from screen readers (Streamlit), so the status is said in words first.
    words = f"**{tr('label_status.' + state.status)}**"
    if state.under_re_review:
        words += f" · **{tr('daily.re_review.badge')}**"
    text = words + " · " + tr(f"staff.label_{state.status}", label=label.id, until=format_date(label.valid_until, lang()),
                              date=format_date(state.since, lang()), reason=esc(state.reason or "—"),
                              by=state.superseded_by or "—")
    if state.under_re_review:
        since = state.re_review.since if state.re_review else state.since
        text += "  \n" + tr("staff.label_under_re_review", date=format_date(since, lang()),
                            reason=esc((state.re_review.note if state.re_review else state.reason) or "—"))
    return text


def show(submission_id: int) -> list[label_state.LabelState]:
    states = label_state.labels_of(workbench().registry, actor(), submission_id)
    for state in states:
        box = st.warning if state.under_re_review and state.status == "active" else _BOX[state.status]
        icon = ":material/rate_review:" if state.under_re_review and state.status == "active" else _ICON[state.status]
        box(sentence(state), icon=icon)
    return states

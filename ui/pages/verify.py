"""Public verification of a label by its ID."""

from __future__ import annotations

import streamlit as st

from ui.common import actor, friendly, lang, tr, workbench
from workbench import public
from workbench.i18n import format_date


def render() -> None:
    st.title(tr("verify.title"))
    st.caption(tr("verify.intro"))
    label_id = st.text_input(tr("verify.label_id"), key="verify_id",
                             value=st.query_params.get("label", ""), placeholder="KZ-AIS-2026-000001")
    if not label_id:
        return
    with friendly():
        label = public.get_label(workbench().registry, actor(), label_id)
        ok = label.status == "active"
        (st.success if ok else st.error)(tr("verify.status_line", id=label.id,
                                            status=tr("label_status." + label.status)))
        st.write(f"**{label.tool_name}** {label.tool_version} — {label.vendor}")
        st.write(tr("verify.validity", start=format_date(label.valid_from, lang()),
                    end=format_date(label.valid_until, lang())))


render()

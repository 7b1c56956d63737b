"""Public registry: search AI-safe labels without an account."""

from __future__ import annotations

import streamlit as st

from ui.common import actor, tr, workbench
from workbench import public
from workbench.i18n import format_date, LANGUAGES
from ui.common import lang

TIERS = ("high", "limited", "minimal")


def render() -> None:
    st.title(tr("registry.title"))
    st.caption(tr("registry.intro"))
    c1, c2, c3, c4 = st.columns([3, 1, 1, 1])
    text = c1.text_input(tr("registry.search"), key="reg_text", placeholder=tr("registry.search_hint"))
    tier = c2.selectbox(tr("registry.tier"), (None, *TIERS), key="reg_tier",
                        format_func=lambda v: tr("registry.any") if v is None else tr(f"tier.{v}"))
    status = c3.selectbox(tr("registry.status"), (None, *public.LABEL_STATUSES), key="reg_status",
                          format_func=lambda v: tr("registry.any") if v is None else tr(f"label_status.{v}"))
    language = c4.selectbox(tr("registry.language"), (None, *LANGUAGES), key="reg_lang",
                            format_func=lambda v: tr("registry.any") if v is None else tr(f"lang.{v}"))
    labels = public.search_labels(workbench().registry, actor(), text=text, tier=tier, status=status,
                                  language=language)
    if not labels:
        st.info(tr("registry.empty"))
        return
    st.write(tr("registry.count", n=len(labels)))
    for label in labels:
        with st.container(border=True):
            st.markdown(f"**{label.tool_name}** {label.tool_version} — {label.vendor}")
            st.write(f"`{label.id}` · {tr('tier.' + label.tier)} · {tr('label_status.' + label.status)} · "
                     f"{tr('registry.valid_until', date=format_date(label.valid_until, lang()))}")
            if label.conditions:
                st.caption(tr("registry.conditions") + ": " + "; ".join(label.conditions))


render()

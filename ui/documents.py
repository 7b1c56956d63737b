"""The dossier and every attachment of a submission, for the secretary (from screening on)
and the assigned reviewers: inline preview (PDF pages, images, DOCX text, the first rows of
a data file) and download, through ``workbench.intake.documents`` (permission checks, one log
line per opening)."""

from __future__ import annotations

import streamlit as st

from ui.common import actor, lang, show_error, tr, workbench
from ui.text import err_text, esc
from workbench.intake import documents
from workbench.errors import WorkbenchError
from workbench.i18n import format_date, format_number
from workbench.registry.models import Dossier, Submission

#: dossier field -> catalogue group of its coded values
CODED = {"users": "user_group", "interface_languages": "lang", "content_languages": "lang",
         "data_categories": "data_cat", "deployment": "deployment", "model_type": "model_type",
         "decision_mode": "decision_mode"}


def _value(name: str, value) -> str:
    if value in (None, "", []):
        return "—"
    group = CODED.get(name)
    if isinstance(value, list):
        return ", ".join(tr(f"{group}.{v}") if group else esc(v) for v in value)
    return tr(f"{group}.{value}") if group else esc(value)


def dossier(sub: Submission) -> None:
    """Every field of the dossier with its label; the vendor's words shown as text."""
    st.markdown(f"**{tr('staff.docs_dossier')}**")
    for name in Dossier.model_fields:
        st.markdown(f"**{tr('dossier.' + name)}:** {_value(name, getattr(sub.dossier, name))}")


def _size(size: int) -> str:
    if size >= 1024 * 1024:
        return format_number(size / 1024 / 1024, lang(), 1) + " MB"
    return format_number(size / 1024, lang(), 1) + " KB"


def files(sub: Submission, *, key: str = "docs") -> None:
    """The attachments, each with Open (preview + download) and Close."""
    reg, store = workbench().registry, workbench().store
    st.markdown(f"**{tr('staff.docs_files')}**")
    try:
        items = documents.list_documents(reg, actor(), sub.id)
    except WorkbenchError as exc:
        show_error(exc)
        return
    if not items:
        st.caption(tr("staff.docs_none"))
        return
    opened: dict[int, documents.OpenedDocument] = st.session_state.setdefault("_opened_docs", {})
    for att in items:
        with st.container(border=True, key=f"{key}_att_{att.id}"):
            c1, c2 = st.columns([4, 1])
            c1.markdown(f":material/attach_file: **{esc(att.original_name)}**")
            c1.caption(tr("staff.docs_file_line", purpose=tr("purpose." + att.purpose), kind=esc(att.kind.upper()),
                          size=_size(att.size), date=format_date(att.uploaded_at, lang())))
            if att.id not in opened:
                if c2.button(tr("staff.docs_open"), key=f"{key}_open_{att.id}", icon=":material/visibility:"):
                    try:
                        opened[att.id] = documents.open_document(reg, actor(), att.id, store=store)
                    except WorkbenchError as exc:
                        show_error(exc)
                    else:
                        st.rerun()
                continue
            if c2.button(tr("staff.docs_close"), key=f"{key}_close_{att.id}", icon=":material/close:"):
                opened.pop(att.id, None)
                st.rerun()
            _show(opened[att.id], key)


def _show(doc: documents.OpenedDocument, key: str) -> None:
    att = doc.attachment
    st.download_button(tr("staff.docs_download"), doc.data, file_name=att.original_name, mime=att.media_type,
                       key=f"{key}_dl_{att.id}", icon=":material/download:", on_click="ignore")
    if doc.problem is not None:
        st.info(err_text(doc.problem, lang()))
    if doc.preview == "pdf":
        if doc.page_count and doc.page_count > len(doc.pages):
            st.caption(tr("staff.docs_pages_shown", shown=len(doc.pages), total=int(doc.page_count)))
        for number, png in enumerate(doc.pages, start=1):
            st.image(png, caption=tr("staff.docs_page", name=esc(att.original_name), page=number))
    elif doc.preview == "image":
        st.image(doc.data, caption=esc(att.original_name))
    elif doc.preview == "text":
        st.text(doc.text)
    elif doc.preview == "table":
        st.caption(doc.table_info.describe(lang()))
        st.dataframe(doc.table, hide_index=True)
        st.caption(tr("staff.docs_rows_shown", n=len(doc.table)))


def panel(sub: Submission, *, key: str = "docs") -> None:
    """Dossier and files together."""
    dossier(sub)
    files(sub, key=key)

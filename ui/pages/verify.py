"""Public verification: by label ID, by the QR code's address (``/verify?label=ID``), or
by uploading the audit PDF. Three answers, each with ✔ or ✘: is the document intact, did
the committee sign it, is the label active today."""

from __future__ import annotations

import streamlit as st

from ui.common import actor, friendly, lang, tr, workbench
from workbench import labels
from workbench.config import max_upload_bytes

MAX_PDF_BYTES = 20 * 1024 * 1024


def _answers(result: labels.Verification) -> None:
    for line in result.explain(lang()):  # each line already starts with ✔ or ✘
        st.markdown(line)
    if result.ok:
        st.success(tr("pub.verify.all_ok"), icon=":material/verified:")
    else:
        st.error(tr("pub.verify.not_ok"), icon=":material/gpp_bad:")
    if result.label_id and result.label_status:
        st.markdown(f"[{tr('pub.verify.open_label', id=result.label_id)}](./?label={result.label_id})")


def render() -> None:
    st.title(tr("verify.title"))
    st.caption(tr("verify.intro"))
    wb = workbench()
    by_id, by_pdf = st.tabs([tr("pub.verify.tab_id"), tr("pub.verify.tab_pdf")])
    with by_id:
        label_id = st.text_input(tr("verify.label_id"), key="verify_id",
                                 value=st.query_params.get("label", ""), placeholder="KZ-AIS-2026-000001")
        if label_id.strip():
            with friendly():
                _answers(labels.verify_label(wb.registry, actor(), label_id, wb.keys))
    with by_pdf:
        upload = st.file_uploader(tr("pub.verify.upload"), type=["pdf"], key="verify_pdf")
        if upload is not None:
            if upload.size > min(MAX_PDF_BYTES, max_upload_bytes()):
                st.error(tr("pub.verify.too_large", mb=MAX_PDF_BYTES // (1024 * 1024)))
            else:
                with friendly():
                    _answers(labels.verify_document(wb.registry, actor(), upload.getvalue(), wb.keys))


render()

"""Public registry: search AI-safe labels and read a label's page, without an account.

A result opens its label page in place (``?label=ID`` in the address, so the page can be
bookmarked and shared). Results come 20 at a time: rural schools have slow links.
"""

from __future__ import annotations

import streamlit as st

from ui.common import actor, friendly, lang, tr, workbench
from workbench import consent, public
from workbench.i18n import LANGUAGES, format_date

PAGE_SIZE = 20
SORT_KEYS = tuple(public.SORTS)
_STATUS_BOX = {"active": st.success, "expired": st.warning, "suspended": st.warning, "superseded": st.info,
               "revoked": st.error}


def _any(prefix: str):
    return lambda v: tr("registry.any") if v is None else tr(f"{prefix}{v}")


def _open(label_id: str | None) -> None:
    if label_id:
        st.query_params["label"] = label_id
    else:
        st.query_params.pop("label", None)


def render() -> None:
    label_id = st.query_params.get("label")
    if label_id:
        _label_page(label_id)
    else:
        _search()


def _search() -> None:
    st.title(tr("registry.title"))
    st.caption(tr("registry.intro"))
    reg, who = workbench().registry, actor()
    text = st.text_input(tr("registry.search"), key="reg_text", placeholder=tr("registry.search_hint"))
    found = public.facets(reg, who)
    with st.expander(tr("pub.reg.filters"), expanded=False):
        c1, c2, c3 = st.columns(3)
        tier = c1.selectbox(tr("registry.tier"), (None, *public.TIERS), key="reg_tier", format_func=_any("tier."))
        status = c2.selectbox(tr("registry.status"), (None, *public.LABEL_STATUSES), key="reg_status",
                              format_func=_any("label_status."))
        language = c3.selectbox(tr("registry.language"), (None, *LANGUAGES), key="reg_lang", format_func=_any("lang."))
        c4, c5, c6 = st.columns(3)
        subject = c4.selectbox(tr("pub.reg.subject"), (None, *found.subjects), key="reg_subject",
                               format_func=lambda v: tr("registry.any") if v is None else v)
        grade = c5.selectbox(tr("pub.reg.grade"), (None, *found.grades), key="reg_grade",
                             format_func=lambda v: tr("registry.any") if v is None else str(v))
        vendor = c6.selectbox(tr("pub.reg.vendor"), (None, *found.vendors), key="reg_vendor",
                              format_func=lambda v: tr("registry.any") if v is None else v)
    sort = st.selectbox(tr("pub.reg.sort"), SORT_KEYS, key="reg_sort", format_func=lambda v: tr(f"pub.sort.{v}"))
    filters = dict(text=text, tier=tier, status=status, language=language, subject=subject or "", grade=grade,
                   vendor=vendor or "")
    total = public.count_labels(reg, who, **filters)
    if not total:
        st.info(tr("registry.empty"))
        return
    pages = (total + PAGE_SIZE - 1) // PAGE_SIZE
    page = 1
    if pages > 1:
        page = st.number_input(tr("pub.reg.page", pages=pages), min_value=1, max_value=pages, value=1, key="reg_page")
    st.write(tr("registry.count", n=total))
    labels = public.search_labels(reg, who, **filters, sort=sort, limit=PAGE_SIZE, offset=(int(page) - 1) * PAGE_SIZE)
    for label in labels:
        with st.container(border=True):
            left, right = st.columns([5, 1])
            left.markdown(f"**{label.tool_name}** {label.tool_version} — {label.vendor}")
            left.caption(f"`{label.id}` · {tr('tier.' + label.tier)} · {tr('label_status.' + label.status)} · "
                         f"{tr('registry.valid_until', date=format_date(label.valid_until, lang()))}")
            right.button(tr("pub.reg.open"), key=f"reg_open_{label.id}", on_click=_open, args=(label.id,))


def _label_page(label_id: str) -> None:
    reg, who, lg = workbench().registry, actor(), lang()
    st.button(tr("pub.reg.back"), key="reg_back", icon=":material/arrow_back:", on_click=_open, args=(None,))
    with friendly():
        page = public.label_page(reg, who, label_id)
        label = page.label
        st.title(f"{label.tool_name} {label.tool_version}")
        st.caption(f"{label.vendor} · `{label.id}` · {tr('tier.' + label.tier)}")
        _STATUS_BOX.get(label.status, st.info)(page.status_line(lg))
        st.write(page.validity_line(lg))
        if page.describe(lg):
            st.subheader(tr("pub.label.what"))
            st.write(page.describe(lg))
        st.subheader(tr("pub.label.scope"))
        st.markdown("\n".join(f"- {line}" for line in page.scope_lines(lg)))
        st.subheader(tr("registry.conditions"))
        lines = page.condition_lines(lg)
        st.write(lines[0])
        if len(lines) > 1:
            st.markdown("\n".join(f"{i}. {c}" for i, c in enumerate(lines[1:], 1)))
        st.subheader(tr("pub.label.history"))
        for v in page.history:
            mark = " ←" if v.current else ""
            st.markdown(f"- **{v.tool_version}** · `{v.label_id}` · {format_date(v.valid_from, lg)} — "
                        f"{format_date(v.valid_until, lg)} · {tr('label_status.' + v.status)}{mark}")
        st.subheader(tr("pub.label.documents"))
        _downloads(reg, who, page)
        st.caption(tr("pub.label.verify_hint", id=label.id))


def _downloads(reg, who, page: public.LabelPage) -> None:
    label = page.label
    keys = workbench().keys
    # One button a row: the labels are long in Kazakh and Russian and must not be cut.
    c1 = c2 = c3 = st.container()
    if page.has_pdf:
        # Deferred: the PDF leaves the database only when someone clicks.
        c1.download_button(tr("pub.label.audit_pdf"), data=lambda: public.label_pdf_file(reg, who, label.id)[1],
                           file_name=page.pdf_file_name, mime="application/pdf", key="reg_pdf", on_click="ignore",
                           icon=":material/picture_as_pdf:")
    else:
        c1.caption(tr("pub.label.no_pdf"))
    if label.status in consent.USABLE_STATUSES:
        for col, code in ((c2, "kk"), (c3, "ru")):
            col.download_button(tr(f"pub.label.consent_{code}"),
                                data=lambda code=code: consent.consent_form(reg, who, label.id, code, keys),
                                file_name=consent.consent_file_name(label.id, code), mime="application/pdf",
                                key=f"reg_consent_{code}", on_click="ignore", icon=":material/family_restroom:")
    else:
        c2.caption(tr("pub.label.no_consent"))


render()

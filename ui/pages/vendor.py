"""Vendor: register the organisation, prepare a dossier step by step, upload files,
submit, answer the committee's questions, submit a new version."""

from __future__ import annotations

import streamlit as st

from ui import label_status
from ui.text import esc
from ui.common import (actor, choice_label, close_submission, friendly, show_error, lang, open_submission, show_submission,
                       status_label, tr, workbench)
from workbench import decisions, label_state, submissions as subs
from workbench.errors import WorkbenchError
from workbench.i18n import format_date, format_number, format_percent
from workbench.models import (DATA_CATEGORIES, DECISION_MODES, DEPLOYMENTS, DOSSIER_STEPS, LANGS, MODEL_TYPES,
                              USER_GROUPS, Status, Submission, completeness, missing_fields)

TEXT_AREAS = {"description_kk", "description_ru", "description_en", "intended_purpose", "human_oversight",
              "known_limitations"}
MULTI = {"users": USER_GROUPS, "interface_languages": LANGS, "content_languages": LANGS,
         "data_categories": DATA_CATEGORIES}
SINGLE = {"deployment": DEPLOYMENTS, "model_type": MODEL_TYPES, "decision_mode": DECISION_MODES}
OPTION_GROUP = {"users": "user_group", "interface_languages": "lang", "content_languages": "lang",
                "data_categories": "data_cat", "deployment": "deployment", "model_type": "model_type",
                "decision_mode": "decision_mode"}
HISTORY_KEYS = {
    "submission.created": "vendor.event_created", "submission.draft_saved": "vendor.event_saved",
    "submission.submitted": "vendor.event_submitted", "submission.screen_complete": "vendor.event_screened",
    "submission.screen_return": "vendor.event_returned", "submission.ask": "vendor.event_question",
    "submission.answer": "vendor.event_answer", "submission.to_committee": "vendor.event_committee",
    "attachment.added": "vendor.event_file", "decision.recorded": "vendor.event_decision",
    "audit_pdf.signed": "vendor.event_pdf",
}
UPLOAD_LABELS = {"document": "vendor.upload_document", "outputs": "vendor.upload_outputs"}
STEPS = [name for name, _ in DOSSIER_STEPS] + ["files", "review"]


def render() -> None:
    st.title(tr("vendor.title"))
    who = actor()
    reg = workbench().registry
    current = open_submission("vendor_sub")
    if current is not None:
        try:
            sub = subs.get_submission(reg, who, current)
        except WorkbenchError as exc:  # a stale or foreign address: say so, show the list
            show_error(exc)
            close_submission("vendor_sub")
        else:
            _submission(sub)
            return
    if st.button(tr("vendor.new"), type="primary", key="new_submission"):
        with friendly():
            show_submission("vendor_sub", subs.create_submission(reg, who, {}).id)
            st.session_state["vendor_step"] = STEPS[0]
            st.rerun()
    items = subs.list_submissions(reg, who)
    if not items:
        st.info(tr("vendor.none"))
    for sub in items:
        with st.container(border=True):
            c1, c2 = st.columns([4, 1])
            c1.markdown(f"**{esc(sub.tool_name) or tr('vendor.untitled')}** {esc(sub.tool_version)}")
            c1.caption(f"#{sub.id} · {status_label(sub.status.value)} · "
                       f"{tr('vendor.complete', pct=format_percent(completeness(sub.dossier), lang(), 0))} · "
                       f"{format_date(sub.updated_at, lang())}")
            for state in (label_state.labels_of(reg, who, sub.id) if sub.status in subs.DECIDED else [])[:1]:
                c1.markdown(label_status.sentence(state))
            if c2.button(tr("vendor.open"), key=f"open_{sub.id}"):
                show_submission("vendor_sub", sub.id)
                st.session_state["vendor_step"] = STEPS[0]
                st.rerun()


def _submission(sub: Submission) -> None:
    if st.button("← " + tr("vendor.back"), key="back_to_list"):
        close_submission("vendor_sub")
        st.rerun()
    st.subheader(f"{esc(sub.tool_name) or tr('vendor.untitled')} {esc(sub.tool_version)}")
    st.caption(f"#{sub.id} · {status_label(sub.status.value)}")
    done = completeness(sub.dossier)
    st.progress(done, text=tr("vendor.complete", pct=format_percent(done, lang(), 0)))
    with st.expander(tr("vendor.history")):
        for event in subs.history(workbench().registry, actor(), sub.id):
            st.caption(f"{format_date(event.ts, lang())} · {tr(HISTORY_KEYS.get(event.action, 'vendor.event_other'))}")
    editable = sub.status in subs.EDITABLE
    if sub.status is Status.RETURNED or sub.status is Status.CLARIFICATION or subs.thread(workbench().registry, actor(), sub.id):
        _thread(sub)
    if not editable:
        _read_only(sub)
        return
    step = st.radio(tr("vendor.step"), STEPS, horizontal=True, key="vendor_step",
                    format_func=lambda s: f"{STEPS.index(s) + 1}. {tr('step.' + s)}")
    if step == "files":
        _files(sub)
    elif step == "review":
        _review_and_submit(sub)
    else:
        _step_form(sub, dict(DOSSIER_STEPS)[step])


def _field(name: str, value, sub_id: int):
    key = f"f_{sub_id}_{name}"
    label_text = tr("dossier." + name)
    if name in MULTI:
        return st.multiselect(label_text, MULTI[name], default=value, key=key, format_func=choice_label(OPTION_GROUP[name]))
    if name in SINGLE:
        options = ("", *SINGLE[name])
        return st.selectbox(label_text, options, index=options.index(value), key=key,
                            format_func=choice_label(OPTION_GROUP[name]))
    if name == "grades":
        return st.multiselect(label_text, list(range(0, 13)), default=value, key=key)
    if name == "subjects":
        text = st.text_input(label_text, value=", ".join(value), key=key, help=tr("vendor.comma_help"))
        return [s.strip() for s in text.split(",") if s.strip()]
    if name in TEXT_AREAS:
        return st.text_area(label_text, value=value, key=key)
    return st.text_input(label_text, value=value, key=key)


def _step_form(sub: Submission, fields: tuple[str, ...]) -> None:
    with st.form(f"step_{sub.id}"):
        values = {name: _field(name, getattr(sub.dossier, name), sub.id) for name in fields}
        if "grades" in fields:
            c1, c2 = st.columns(2)
            values["min_age"] = c1.number_input(tr("dossier.min_age"), 3, 99, value=sub.dossier.min_age or 6,
                                                key=f"f_{sub.id}_min_age")
            values["max_age"] = c2.number_input(tr("dossier.max_age"), 3, 99, value=sub.dossier.max_age or 18,
                                                key=f"f_{sub.id}_max_age")
        if st.form_submit_button(tr("vendor.save"), type="primary"):
            with friendly():
                subs.save_draft(workbench().registry, actor(), sub.id, values)
                st.toast(tr("vendor.saved"))
                nxt = STEPS[min(STEPS.index(st.session_state["vendor_step"]) + 1, len(STEPS) - 1)]
                st.session_state["vendor_step_next"] = nxt
                st.rerun()


def _files(sub: Submission) -> None:
    wb = workbench()
    st.caption(tr("vendor.files_help", mb=200))
    for purpose in ("document", "outputs"):
        st.markdown(f"**{tr('purpose.' + purpose)}**")
        for att in subs.list_attachments(wb.registry, actor(), sub.id, purpose=purpose):
            st.write(f":material/attach_file: {esc(att.original_name)} · {esc(att.kind)} · "
                     f"{format_number(att.size, lang(), 0)} B · `{esc(att.sha256[:12])}`")
        upload = st.file_uploader(tr(UPLOAD_LABELS[purpose]), key=f"up_{purpose}_{sub.id}")
        if upload is not None and st.button(tr("vendor.attach"), key=f"attach_{purpose}_{sub.id}"):
            with friendly():
                subs.add_attachment(wb.registry, actor(), sub.id, upload.getvalue(), upload.name, purpose=purpose,
                                    store=wb.store)
                st.success(tr("vendor.attached", name=esc(upload.name)))
    outputs = subs.list_attachments(wb.registry, actor(), sub.id, purpose="outputs")
    if outputs:
        from workbench import reader

        with friendly():
            head, info = reader.read_table_info(wb.store.path(outputs[-1].sha256))
            st.markdown(f"**{tr('vendor.preview', name=esc(outputs[-1].original_name))}**")
            st.caption(info.describe(lang()))
            st.dataframe(reader.preview(head), hide_index=True)


def _review_and_submit(sub: Submission) -> None:
    missing = missing_fields(sub.dossier)
    if missing:
        st.warning(tr("vendor.missing") + " " + ", ".join(tr("dossier." + f) for f in missing))
    else:
        st.success(tr("vendor.ready"))
    confirm = st.checkbox(tr("vendor.confirm_submit"), key=f"confirm_{sub.id}")
    if st.button(tr("vendor.submit"), type="primary", key=f"submit_{sub.id}", disabled=not confirm):
        with friendly():
            subs.submit(workbench().registry, actor(), sub.id)
            st.success(tr("vendor.submitted"))
            st.rerun()


def _read_only(sub: Submission) -> None:
    d = sub.dossier
    st.write(esc(getattr(d, f"description_{lang()}", "") or d.description_kk))
    for att in subs.list_attachments(workbench().registry, actor(), sub.id):
        st.write(f":material/attach_file: {esc(att.original_name)} · {tr('purpose.' + att.purpose)} · "
                 f"`{esc(att.sha256[:12])}`")
    chain = subs.version_chain(workbench().registry, actor(), sub.id)
    if len(chain) > 1:
        st.caption(tr("vendor.versions") + ": " + " → ".join(f"{esc(s.tool_version)} (#{s.id})" for s in chain))
    pdf = decisions.audit_pdf(workbench().registry, actor(), sub.id)
    label_status.show(sub.id)  # the label's true status today, never a stale "issued"
    if pdf:
        st.download_button(tr("sec.download_pdf"), pdf[1], file_name=pdf[0], mime="application/pdf",
                           key=f"vpdf_{sub.id}")
    if sub.status is Status.APPEAL:
        st.info(tr("vendor.appeal_pending"))
    last_appeal = subs.open_appeal(workbench().registry, actor(), sub.id)
    if last_appeal and last_appeal.outcome:
        st.info(tr("vendor.appeal_outcome_" + last_appeal.outcome) + " " + esc(last_appeal.outcome_note))
    if sub.status in subs.DECIDED:
        with st.expander(tr("vendor.appeal")):
            reasons = st.text_area(tr("vendor.appeal_reasons"), key=f"appeal_{sub.id}")
            sure = st.checkbox(tr("vendor.appeal_confirm"), key=f"appeal_ok_{sub.id}")
            if st.button(tr("vendor.appeal_send"), key=f"appeal_btn_{sub.id}", disabled=not sure):
                with friendly():
                    subs.appeal(workbench().registry, actor(), sub.id, reasons)
                    st.rerun()
        version = st.text_input(tr("vendor.new_version_number"), key=f"nv_{sub.id}")
        if st.button(tr("vendor.new_version"), key=f"nv_btn_{sub.id}") and version:
            with friendly():
                new = subs.new_version(workbench().registry, actor(), sub.id, tool_version=version)
                show_submission("vendor_sub", new.id)
                st.rerun()


def _thread(sub: Submission) -> None:
    reg = workbench().registry
    st.markdown(f"**{tr('vendor.thread')}**")
    for msg in subs.thread(reg, actor(), sub.id):
        with st.chat_message("user" if msg.author_role == "vendor" else "assistant", avatar=":material/business:" if msg.author_role == "vendor" else ":material/gavel:"):
            st.caption(f"{esc(msg.author_name)} · {tr('message.' + msg.kind)} · {format_date(msg.created_at, lang())}"
                       + (f" · {esc(msg.item_id)}" if msg.item_id else ""))
            st.text(msg.body)
    if sub.status is Status.CLARIFICATION:
        with st.form(f"answer_{sub.id}"):
            text = st.text_area(tr("vendor.answer"), key=f"answer_text_{sub.id}")
            files = st.file_uploader(tr("vendor.answer_files"), accept_multiple_files=True, key=f"answer_files_{sub.id}")
            if st.form_submit_button(tr("vendor.send_answer"), type="primary"):
                with friendly():
                    subs.answer_clarification(reg, actor(), sub.id, text,
                                              [(f.getvalue(), f.name) for f in files or []], store=workbench().store)
                    st.rerun()


if "vendor_step_next" in st.session_state:  # move to the next step after a save
    st.session_state["vendor_step"] = st.session_state.pop("vendor_step_next")

render()

"""Vendor: register the organisation, prepare a dossier step by step, upload files,
submit, answer the committee's questions, submit a new version."""

from __future__ import annotations

import hashlib

import streamlit as st

from ui import label_status
from ui.text import esc
from ui.common import (actor, choice_label, close_submission, friendly, show_error, lang, open_submission, show_submission,
                       status_label, tr, workbench)
from workbench.decision import decisions
from workbench.aftercare import label_state, renewal
from workbench.intake import submissions as subs
from workbench.errors import WorkbenchError
from workbench.i18n import format_date, format_number, format_percent
from workbench.registry.models import (DATA_CATEGORIES, DECISION_MODES, DEPLOYMENTS, DOSSIER_STEPS, LANGS, MODEL_TYPES,
                              REQUIRED_FIELDS, USER_GROUPS, Status, Submission, completeness, missing_fields)

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
    _flash()
    done = completeness(sub.dossier)
    st.progress(done, text=tr("vendor.complete", pct=format_percent(done, lang(), 0)))
    with st.expander(tr("vendor.history")):
        for event in subs.history(workbench().registry, actor(), sub.id):
            st.caption(f"{format_date(event.ts, lang())} · {tr(HISTORY_KEYS.get(event.action, 'vendor.event_other'))}")
    editable = sub.status in subs.EDITABLE
    if sub.status is Status.RETURNED or sub.status is Status.CLARIFICATION or subs.thread(workbench().registry, actor(), sub.id):
        _thread(sub)
    if sub.dossier.model_type == "generative":
        from ui import genai_panel

        genai_panel.vendor_view(sub)
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
        return st.multiselect(label_text, MULTI[name], default=value, key=key, placeholder=tr("staff.choose"), format_func=choice_label(OPTION_GROUP[name]))
    if name in SINGLE:
        options = ("", *SINGLE[name])
        return st.selectbox(label_text, options, index=options.index(value), key=key,
                            format_func=choice_label(OPTION_GROUP[name]))
    if name == "grades":
        return st.multiselect(label_text, list(range(0, 13)), default=value, key=key, placeholder=tr("staff.choose"))
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


def _flash() -> None:
    """The confirmation of the last action, shown once after the rerun it caused."""
    if note := st.session_state.pop("vendor_flash", None):
        kind, text = note
        (st.success if kind == "success" else st.info)(text)


def _same_file(existing, data: bytes):
    sha = hashlib.sha256(data).hexdigest()
    return next((a for a in existing if a.sha256 == sha), None)


def _files(sub: Submission) -> None:
    wb = workbench()
    st.caption(tr("vendor.files_help", mb=200))
    every = subs.list_attachments(wb.registry, actor(), sub.id)
    for purpose in ("document", "outputs"):
        st.markdown(f"**{tr('purpose.' + purpose)}**")
        for att in (a for a in every if a.purpose == purpose):
            st.write(f":material/attach_file: {esc(att.original_name)} · {esc(att.kind)} · "
                     f"{format_number(att.size, lang(), 0)} B · `{esc(att.sha256[:12])}`")
        # A new key after each attach empties the uploader (so a second click cannot attach it again).
        round_key = f"up_round_{purpose}_{sub.id}"
        upload = st.file_uploader(tr(UPLOAD_LABELS[purpose]), key=f"up_{purpose}_{sub.id}_{st.session_state.get(round_key, 0)}",
                                  help=tr("scale.vendor.counts_help") if purpose == "outputs" else None)
        if upload is not None and st.button(tr("vendor.attach"), key=f"attach_{purpose}_{sub.id}"):
            data = upload.getvalue()
            same = _same_file(every, data)
            if same is not None:
                st.session_state["vendor_flash"] = ("info", tr("staff.already_attached", name=esc(same.original_name)))
            else:
                try:
                    subs.add_attachment(wb.registry, actor(), sub.id, data, upload.name, purpose=purpose, store=wb.store)
                except WorkbenchError as exc:
                    show_error(exc)
                    continue
                st.session_state["vendor_flash"] = ("success", tr("vendor.attached", name=esc(upload.name)))
            st.session_state[round_key] = st.session_state.get(round_key, 0) + 1
            st.rerun()
    outputs = [a for a in every if a.purpose == "outputs"]
    if outputs:
        from workbench.intake import reader

        with friendly():
            head, info = reader.read_table_info(wb.store.path(outputs[-1].sha256))
            st.markdown(f"**{tr('vendor.preview', name=esc(outputs[-1].original_name))}**")
            st.caption(info.describe(lang()))
            st.dataframe(reader.preview(head), hide_index=True)


def _answer_text(sub: Submission, name: str) -> str:
    value = getattr(sub.dossier, name)
    if value in (None, "", []):
        return "—"
    if name in MULTI or name in SINGLE:
        values = value if isinstance(value, list) else [value]
        return ", ".join(tr(f"{OPTION_GROUP[name]}.{v}") for v in values)
    if isinstance(value, list):
        return ", ".join(esc(v) for v in value)
    return esc(value)


def _review_and_submit(sub: Submission) -> None:
    """Check your answers: every field by step, the missing ones marked with a link to their
    step; submit only when complete and confirmed."""
    missing = set(missing_fields(sub.dossier))
    st.markdown(f"### {tr('staff.check_answers')}")
    for step, fields in DOSSIER_STEPS:
        with st.container(border=True, key=f"check_{step}_{sub.id}"):
            c1, c2 = st.columns([4, 1])
            c1.markdown(f"**{STEPS.index(step) + 1}. {tr('step.' + step)}**")
            if c2.button(tr("staff.change"), key=f"goto_{step}_{sub.id}", icon=":material/edit:"):
                st.session_state["vendor_step_next"] = step
                st.rerun()
            for name in fields:
                if name in missing:
                    c1.markdown(f":red[**{tr('dossier.' + name)}**] — :red[{tr('staff.field_missing')}]")
                else:
                    c1.markdown(f"**{tr('dossier.' + name)}:** {_answer_text(sub, name)}")
    files = subs.list_attachments(workbench().registry, actor(), sub.id)
    st.caption(tr("staff.files_attached", n=len(files)))
    if missing:
        st.error(tr("staff.cannot_submit_yet", n=len(missing)) + "  \n"
                 + "  \n".join(f"- {tr('dossier.' + f)} ({tr('step.' + _step_of(f))})" for f in REQUIRED_FIELDS
                               if f in missing))
    else:
        st.success(tr("vendor.ready"))
    confirm = st.checkbox(tr("vendor.confirm_submit"), key=f"confirm_{sub.id}", disabled=bool(missing))
    if st.button(tr("vendor.submit"), type="primary", key=f"submit_{sub.id}", disabled=bool(missing) or not confirm):
        with friendly():
            subs.submit(workbench().registry, actor(), sub.id)
            st.session_state["vendor_flash"] = ("success", tr("staff.submitted_next", id=sub.id))
            st.rerun()


def _step_of(field: str) -> str:
    return next(step for step, fields in DOSSIER_STEPS if field in fields)


def _renewal_outputs(label_id: str) -> None:
    """Within 90 days of expiry: new model outputs for the renewal's fresh test."""
    wb = workbench()
    round_key = f"renew_round_{label_id}"
    upload = st.file_uploader(tr("staff.renew_upload"), key=f"renew_up_{label_id}_{st.session_state.get(round_key, 0)}")
    if upload is not None and st.button(tr("staff.renew_send"), key=f"renew_send_{label_id}", type="primary"):
        with friendly():
            renewal.add_outputs(wb.registry, actor(), label_id, upload.getvalue(), upload.name, store=wb.store)
            st.session_state[round_key] = st.session_state.get(round_key, 0) + 1
            st.session_state["vendor_flash"] = ("success", tr("staff.renew_sent", name=esc(upload.name)))
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
    for state in label_status.show(sub.id):  # the label's true status today, never a stale "issued"
        if state.status == "active" and renewal.readiness(workbench().registry, actor(), state.label.id).window_open:
            _renewal_outputs(state.label.id)
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


def _item_questions(messages) -> dict[str, str]:
    """The checklist's questions by item code, in the reader's language (only when a message names an item)."""
    if not any(msg.item_id for msg in messages):
        return {}
    from workbench.review.checklists import load_checklist

    return {item.id: item.question.get(lang()) for _, item in load_checklist().items()}


def _thread(sub: Submission) -> None:
    reg = workbench().registry
    st.markdown(f"**{tr('vendor.thread')}**")
    messages = subs.thread(reg, actor(), sub.id)
    questions = _item_questions(messages)
    for msg in messages:
        with st.chat_message("user" if msg.author_role == "vendor" else "assistant", avatar=":material/business:" if msg.author_role == "vendor" else ":material/gavel:"):
            # the avatar is hidden from screen readers: the role is said in words
            st.caption(f"{esc(msg.author_name)} ({tr('role.' + msg.author_role)}) · {tr('message.' + msg.kind)} · "
                       f"{format_date(msg.created_at, lang())}"
                       + (f" · {esc(msg.item_id)}" if msg.item_id else "")
                       + (f" — {esc(questions[msg.item_id])}" if msg.item_id in questions else ""))
            st.text(msg.body)
    if sub.status is Status.CLARIFICATION:
        # The typed answer lives in the session (its own key), so a refused file never loses it;
        # a new round key after sending empties the form.
        round_no = st.session_state.get(f"answer_round_{sub.id}", 0)
        with st.form(f"answer_{sub.id}_{round_no}"):
            text = st.text_area(tr("vendor.answer"), key=f"answer_text_{sub.id}_{round_no}")
            files = st.file_uploader(tr("staff.answer_files"), accept_multiple_files=True,
                                     key=f"answer_files_{sub.id}_{round_no}")
            sent = st.form_submit_button(tr("vendor.send_answer"), type="primary")
        if sent:
            every = subs.list_attachments(reg, actor(), sub.id)
            fresh, seen = [], set()
            for f in files or []:
                data = f.getvalue()
                same = _same_file(every, data)
                digest = hashlib.sha256(data).hexdigest()
                if same is not None or digest in seen:
                    st.info(tr("staff.already_attached", name=esc(same.original_name if same else f.name)))
                    continue
                seen.add(digest)
                fresh.append((data, f.name))
            try:
                subs.answer_clarification(reg, actor(), sub.id, text, fresh, store=workbench().store)
            except WorkbenchError as exc:
                show_error(exc)  # the text stays in the box
            else:
                st.session_state[f"answer_round_{sub.id}"] = round_no + 1
                st.session_state["vendor_flash"] = ("success", tr("staff.answer_sent", n=len(fresh)))
                st.rerun()


if "vendor_step_next" in st.session_state:  # move to the next step after a save
    st.session_state["vendor_step"] = st.session_state.pop("vendor_step_next")

render()

"""Reviewer: my assignments and the review wizard.

Conflict-of-interest declaration first; then risk classification, the principle sections
(answers autosave as they change), the fairness tests, and a summary with the
recommendation and sign-off.
"""

from __future__ import annotations

import streamlit as st

from ui import documents
from ui.text import esc
from ui.common import (actor, close_submission, friendly, show_error, lang, open_submission, show_submission, status_label, tr,
                       workbench)
from workbench.aftercare import label_state, renewal
from workbench.review import reviews, rules
from workbench.intake import submissions as subs
from workbench.errors import WorkbenchError
from workbench.i18n import format_date, format_number

ANSWERS = ("meets", "partly", "not_met", "na")
COI_LABELS = {"none": "wizard.coi_none", "conflict": "wizard.coi_conflict"}
RECOMMENDATIONS = ("approve", "approve_with_conditions", "reject", "ask_vendor")


def render() -> None:
    st.title(tr("reviewer.title"))
    reg = workbench().registry
    current = open_submission("rev_sub")
    if current is not None:
        if st.button("← " + tr("vendor.back"), key="rev_back"):
            close_submission("rev_sub")
            st.rerun()
        try:
            sub = subs.get_submission(reg, actor(), current)
        except WorkbenchError as exc:  # a stale or foreign address: say so, show the list
            show_error(exc)
            close_submission("rev_sub")
        else:
            with friendly():
                _wizard(sub)
            return
    items = subs.list_submissions(reg, actor())
    if not items:
        st.info(tr("reviewer.none"))
        return
    for sub in items:
        with st.container(border=True):
            c1, c2 = st.columns([4, 1])
            c1.markdown(f"**{esc(sub.tool_name)}** {esc(sub.tool_version)} — {esc(sub.org_name)}")
            c1.caption(f"#{sub.id} · {status_label(sub.status.value)} · {format_date(sub.updated_at, lang())}")
            if c2.button(tr("vendor.open"), key=f"rev_open_{sub.id}"):
                show_submission("rev_sub", sub.id)
                st.rerun()


def _wizard(sub) -> None:
    reg = workbench().registry
    st.subheader(f"{esc(sub.tool_name)} {esc(sub.tool_version)} — {esc(sub.org_name)}")
    with st.expander(tr("wizard.dossier"), expanded=False, key=f"rev_dossier_{sub.id}"):
        _dossier(sub)
    declared = subs.conflict_declared(reg, actor(), sub.id)
    if declared is None:
        _conflict_form(sub)
        return
    review = reviews.start_review(reg, actor(), sub.id)
    checklist, questionnaire = reviews.frozen_documents(reg, actor(), sub.id)
    tool = sub.dossier.model_type or "other"
    steps = ["risk"]
    sections = rules.applicable_sections(checklist, review.tier, tool) if review.tier else []
    steps += [s.id for s, _ in sections] + ["fairness"] + (["genai"] if tool == "generative" else []) + ["summary"]
    titles = {"risk": tr("wizard.risk"), "fairness": tr("wizard.fairness"), "summary": tr("wizard.summary"),
              "genai": tr("genai.ui.step")}
    titles.update({s.id: f"{s.id}. {s.title.get(lang())}" for s, _ in sections})
    if not review.tier:
        st.info(tr("wizard.risk_first"))
    if st.session_state.get("rev_step") not in steps:
        st.session_state["rev_step"] = "risk"
    step = st.selectbox(tr("wizard.step"), steps, key="rev_step",
                        format_func=lambda s: f"{steps.index(s) + 1}/{len(steps)} · {titles[s]}")
    if review.tier:
        result = reviews.summary(reg, actor(), sub.id)
        total = sum(s.applicable for s in result.sections)
        st.progress(result.answered / total if total else 0.0,
                    text=tr("wizard.progress", k=steps.index(step) + 1, n=len(steps), answered=result.answered,
                            total=total))
    _renewal_confirmation(sub)
    if review.signed:
        st.success(tr("wizard.signed", date=format_date(review.signed_at, lang()),
                      recommendation=tr("rules.recommendation." + (review.recommendation or "reject"))))
    if step == "risk":
        _risk(sub, review, questionnaire)
    elif step == "fairness":
        from ui import fairness_panel

        fairness_panel.render(sub, tier=review.tier)
    elif step == "genai":
        from ui import genai_panel

        genai_panel.render(sub)
    elif step == "summary":
        _summary(sub, review)
    else:
        section, items = next((s, i) for s, i in sections if s.id == step)
        _section(sub, review, section, items)


def _renewal_confirmation(sub) -> None:
    """A label of this tool in its renewal window: after the fresh test, confirm the renewal."""
    reg = workbench().registry
    for state in label_state.labels_of(reg, actor(), sub.id):
        if state.status != "active":
            continue
        ready = renewal.readiness(reg, actor(), state.label.id)
        if not ready.window_open or ready.confirmed_by:
            continue
        with st.container(border=True, key=f"renew_box_{state.label.id}"):
            st.markdown(f"**{tr('staff.renew_confirm')}** · {state.label.id}")
            missing = [k for k in ready.missing() if k != "staff.renew_need_confirmation"]
            if missing:
                st.caption("; ".join(tr(k) for k in missing))
            note = st.text_area(tr("staff.renew_confirm_note"), key=f"renew_note_{state.label.id}")
            if st.button(tr("staff.renew_confirm"), key=f"renew_ok_{state.label.id}", disabled=bool(missing)):
                with friendly():
                    renewal.confirm(reg, actor(), state.label.id, note)
                    st.toast(tr("staff.renew_confirmed", label=state.label.id))
                    st.rerun()


def _dossier(sub) -> None:
    documents.panel(sub, key="rev_docs")


def _conflict_form(sub) -> None:
    st.markdown(f"### {tr('wizard.conflict_title')}")
    st.write(tr("wizard.conflict_text"))
    with st.form(f"coi_{sub.id}"):
        choice = st.radio(tr("wizard.conflict_question"), ("none", "conflict"), key=f"coi_choice_{sub.id}",
                          format_func=lambda c: tr(COI_LABELS[c]))
        note = st.text_area(tr("wizard.conflict_note"), key=f"coi_note_{sub.id}")
        if st.form_submit_button(tr("wizard.declare"), type="primary"):
            with friendly():
                subs.declare_conflict(workbench().registry, actor(), sub.id, has_conflict=choice == "conflict", note=note)
                if choice == "conflict":
                    close_submission("rev_sub")
                st.rerun()


def _risk(sub, review, questionnaire) -> None:
    st.markdown(f"### {tr('wizard.risk')}")
    st.caption(tr("wizard.risk_help"))
    with st.form(f"risk_{sub.id}"):
        answers = {}
        for q in questionnaire.questions:
            current = review.risk_answers.get(q.id)
            answers[q.id] = st.radio(q.text.get(lang()), (True, False), key=f"risk_{sub.id}_{q.id}", horizontal=True,
                                     index=None if current is None else (0 if current else 1), help=q.help.get(lang()),
                                     format_func=lambda v: tr("wizard.yes") if v else tr("wizard.no"),
                                     disabled=review.signed)
        saved = st.form_submit_button(tr("wizard.classify"), type="primary", disabled=review.signed)
    if saved:
        with friendly():
            reviews.save_risk_answers(workbench().registry, actor(), sub.id,
                                      {k: v for k, v in answers.items() if v is not None})
            st.rerun()
    if review.tier:
        result = reviews.risk_result(workbench().registry, actor(), sub.id)
        box = st.error if result.tier in ("prohibited", "high") else st.info
        box("\n\n".join(result.explain(lang())))


def _autosave(sub_id: int, item_id: str) -> None:
    value = st.session_state.get(f"ans_{sub_id}_{item_id}")
    if value is None:
        return
    note = st.session_state.get(f"note_{sub_id}_{item_id}", "")
    evidence = st.session_state.get(f"ev_{sub_id}_{item_id}", [])
    try:
        reviews.save_answer(workbench().registry, actor(), sub_id, item_id, value, note, evidence)
        st.session_state["rev_saved"] = item_id
    except WorkbenchError as exc:
        st.session_state["rev_error"] = exc.translate(lang())


def _section(sub, review, section, items) -> None:
    st.markdown(f"### {section.title.get(lang())}")
    st.caption(section.description.get(lang()) + f" · {esc(section.source)}")
    if st.session_state.pop("rev_saved", None):
        st.toast(tr("wizard.autosaved"))
    if err := st.session_state.pop("rev_error", None):
        st.error(esc(err))
    attachments = subs.list_attachments(workbench().registry, actor(), sub.id)
    names = {a.id: a.original_name for a in attachments}
    for item in items:
        saved = review.answers.get(item.id, {})
        with st.container(border=True):
            st.markdown(f"**{esc(item.id)}** · {tr('rules.severity.' + item.severity)} · _{esc(item.source)}_")
            st.write(item.question.get(lang()))
            with st.expander(tr("wizard.guidance")):
                st.write(item.guidance.get(lang()))
                st.caption(tr("wizard.evidence_expected") + ": " + item.evidence.get(lang()))
            st.radio(tr("wizard.answer"), ANSWERS, key=f"ans_{sub.id}_{item.id}", horizontal=True,
                     index=ANSWERS.index(saved["value"]) if saved else None,
                     format_func=lambda a: tr("rules.answer." + a), on_change=_autosave, args=(sub.id, item.id),
                     disabled=review.signed)
            st.text_area(tr("wizard.note"), value=saved.get("note", ""), key=f"note_{sub.id}_{item.id}",
                         on_change=_autosave, args=(sub.id, item.id), disabled=review.signed, height=68)
            if names:
                st.multiselect(tr("wizard.evidence_files"), list(names), placeholder=tr("staff.choose"), default=saved.get("evidence", []),
                               format_func=names.get, key=f"ev_{sub.id}_{item.id}", on_change=_autosave,
                               args=(sub.id, item.id), disabled=review.signed)
            with st.popover(tr("wizard.ask_vendor"), disabled=review.signed):
                question = st.text_area(tr("wizard.question"), key=f"q_{sub.id}_{item.id}")
                if st.button(tr("wizard.send_question"), key=f"qsend_{sub.id}_{item.id}"):
                    with friendly():
                        subs.ask_clarification(workbench().registry, actor(), sub.id, question, item_id=item.id)
                        st.success(tr("wizard.question_sent"))


def _with_questions(sub, item_ids: list[str]) -> str:
    """Item codes with their questions, one a line (a code alone means nothing to a person)."""
    checklist, _ = reviews.frozen_documents(workbench().registry, actor(), sub.id)
    questions = {item.id: item.question.get(lang()) for _, item in checklist.items()}
    return "".join(f"  \n**{esc(i)}** — {esc(questions.get(i, ''))}" for i in item_ids)


def _summary(sub, review) -> None:
    reg = workbench().registry
    if not review.tier:
        st.info(tr("wizard.risk_first"))
        return
    result = reviews.summary(reg, actor(), sub.id)
    st.markdown(f"### {tr('wizard.summary')}")
    st.dataframe([{tr("wizard.principle"): s.title.get(lang()),
                   tr("wizard.score"): "—" if s.score is None else format_number(s.score, lang(), 0),
                   tr("rules.answer.meets"): s.meets, tr("rules.answer.partly"): s.partly, tr("rules.answer.not_met"): s.not_met,
                   tr("rules.answer.na"): s.na, tr("wizard.unanswered"): s.unanswered} for s in result.sections],
                 hide_index=True, width="stretch")
    if result.overall_score is not None:
        st.metric(tr("wizard.overall"), format_number(result.overall_score, lang(), 0))
    with st.container(border=True):
        st.markdown("\n".join(f"- {esc(line)}" for line in result.explain(lang())))
    for finding in result.blocking:
        st.error(f"{tr('wizard.blocking')}: **{finding.item_id}** — {finding.question.get(lang())}")
    for finding in result.conditions:
        st.warning(f"{tr('wizard.condition')}: **{finding.item_id}** — {finding.question.get(lang())}")
    if result.unanswered:
        st.info(tr("wizard.unanswered_items", items=_with_questions(sub, result.unanswered)))
    if result.missing_notes:
        st.info(tr("wizard.missing_notes", items=_with_questions(sub, result.missing_notes)))
    if review.signed:
        st.write(f"**{tr('wizard.rationale')}:** {esc(review.rationale)}")
        return
    with st.form(f"signoff_{sub.id}"):
        rec = st.radio(tr("wizard.recommendation"), RECOMMENDATIONS, key=f"rec_{sub.id}",
                       format_func=lambda r: tr("rules.recommendation." + r))
        rationale = st.text_area(tr("wizard.rationale"), key=f"rationale_{sub.id}")
        confirm = st.checkbox(tr("wizard.confirm_sign"), key=f"confirm_sign_{sub.id}")
        if st.form_submit_button(tr("wizard.sign_off"), type="primary"):
            if not confirm:
                st.warning(tr("wizard.confirm_needed"))
            else:
                with friendly():
                    reviews.sign_off(reg, actor(), sub.id, rec, rationale)
                    st.rerun()


render()

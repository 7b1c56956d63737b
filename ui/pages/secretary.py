"""Secretary: screening, reviewer assignment, reviews side by side, the committee's
decision, labels, and the signing key."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from ui.common import actor, friendly, lang, status_label, tr, workbench
from ui import documents
from ui.text import esc
from workbench.upkeep import admin
from workbench.aftercare import renewal
from workbench.decision import decisions, labels
from workbench.review import agreement, reviews
from workbench.intake import submissions as subs
from workbench.errors import WorkbenchError
from workbench.i18n import format_date
from workbench.registry.models import Status

RENEWAL_WINDOW_DAYS = renewal.WINDOW_DAYS
OUTCOMES = ("approve", "approve_with_conditions", "reject", "return")
LABEL_ACTION_KEYS = {a: f"sec.label_action_{a}" for a in labels.LABEL_ACTIONS}
QUEUE_GROUPS = (
    ("sec.group_screening", (Status.SUBMITTED, Status.SCREENING)),
    ("sec.group_review", (Status.IN_REVIEW, Status.CLARIFICATION)),
    ("sec.group_committee", (Status.COMMITTEE,)),
    ("sec.group_appeals", (Status.APPEAL,)),
    ("sec.group_decided", (Status.APPROVED, Status.APPROVED_WITH_CONDITIONS, Status.REJECTED, Status.RETURNED)),
)


def render() -> None:
    st.title(tr("secretary.title"))
    queue, label_tab, key_tab = st.tabs([tr("sec.tab_queue"), tr("sec.tab_labels"), tr("sec.tab_keys")], key="sec_tabs")
    with queue:
        _queue()
    with label_tab:
        _labels()
    with key_tab:
        _keys()


def _done(message: str) -> None:
    """Confirm what an action did, after the rerun it causes (the panel stays open)."""
    st.session_state["sec_done"] = message
    st.rerun()


def _queue() -> None:
    reg = workbench().registry
    if message := st.session_state.pop("sec_done", None):
        st.success(esc(message), icon=":material/check_circle:")
    items = subs.list_submissions(reg, actor())
    if not items:
        st.info(tr("secretary.none"))
        return
    focus = st.query_params.get("submission")  # a bookmark or a notice's link: that one open
    for title_key, statuses in QUEUE_GROUPS:
        group = [s for s in items if s.status in statuses]
        st.subheader(f"{tr(title_key)} ({len(group)})")
        for sub in group:
            # The key keeps the panel open across actions (its title changes with the status).
            with st.expander(f"#{sub.id} · {esc(sub.tool_name)} {esc(sub.tool_version)} — {esc(sub.org_name)} · "
                             f"{status_label(sub.status.value)}", expanded=focus == str(sub.id),
                             key=f"sec_sub_{sub.id}"):
                _submission(sub)


def _submission(sub) -> None:
    reg = workbench().registry
    st.caption(f"{format_date(sub.updated_at, lang())} · {tr('registry.tier')}: "
               f"{tr('tier.' + sub.tier) if sub.tier else '—'}")
    if st.toggle(tr("staff.docs_title"), value=sub.status in (Status.SUBMITTED, Status.SCREENING),
                 key=f"docs_toggle_{sub.id}"):
        documents.panel(sub, key=f"sec_docs_{sub.id}")
    if sub.status in (Status.SUBMITTED, Status.SCREENING):
        _screening(sub)
    if sub.status in (Status.IN_REVIEW, Status.CLARIFICATION, Status.COMMITTEE):
        _assignment(sub)
    if sub.status in (Status.IN_REVIEW, Status.CLARIFICATION, Status.COMMITTEE, *subs.DECIDED):
        _comparison(sub)
        if sub.dossier.model_type == "generative":
            from ui import genai_panel

            genai_panel.summary(sub)
    if sub.status is Status.COMMITTEE:
        _decision_form(sub)
    if sub.status is Status.APPEAL:
        _appeal(sub)
    pdf = decisions.audit_pdf(reg, actor(), sub.id)
    if pdf:
        st.download_button(tr("sec.download_pdf"), pdf[1], file_name=pdf[0], mime="application/pdf",
                           key=f"dl_{sub.id}")


def _screening(sub) -> None:
    reg = workbench().registry
    c1, c2 = st.columns(2)
    if c1.button(tr("secretary.screen_ok"), key=f"screen_ok_{sub.id}", type="primary"):
        with friendly():
            subs.screen(reg, actor(), sub.id, complete=True)
            _done(tr("staff.done_screened_ok", id=sub.id))
    reasons = c2.text_area(tr("secretary.return_reason"), key=f"reason_{sub.id}", height=80)
    if c2.button(tr("secretary.screen_return"), key=f"screen_ret_{sub.id}"):
        with friendly():
            subs.screen(reg, actor(), sub.id, complete=False, reasons=reasons)
            _done(tr("staff.done_screened_return", id=sub.id))


def _assignment(sub) -> None:
    reg = workbench().registry
    assigned = subs.assigned_reviewers(reg, actor(), sub.id)
    st.write(f"**{tr('secretary.reviewers')}:** " + (", ".join(esc(r["display_name"]) for r in assigned) or "—"))
    candidates = [r for r in subs.list_reviewers(reg, actor()) if r["id"] not in {a["id"] for a in assigned}]
    if candidates and sub.status is not Status.COMMITTEE:
        c1, c2 = st.columns([3, 1])
        pick = c1.selectbox(tr("secretary.assign"), [r["id"] for r in candidates], key=f"assign_{sub.id}",
                            format_func=lambda i: next(r["display_name"] for r in candidates if r["id"] == i))
        if c2.button(tr("secretary.assign_button"), key=f"assign_btn_{sub.id}"):
            with friendly():
                subs.assign_reviewer(reg, actor(), sub.id, pick)
                _done(tr("staff.done_assigned", id=sub.id,
                         name=esc(next(r["display_name"] for r in candidates if r["id"] == pick))))


def _questions(sub, comparison) -> dict[str, str]:
    """item id -> its question in the person's language (from the checklist the reviews froze)."""
    try:
        checklist, _ = reviews.frozen_documents(workbench().registry, actor(), sub.id,
                                                reviewer_id=comparison.reviews[0].reviewer_id)
    except WorkbenchError:
        return {}
    return {item.id: item.question.get(lang()) for _, item in checklist.items()}


def _comparison(sub) -> None:
    reg = workbench().registry
    comparison = reviews.compare(reg, actor(), sub.id)
    if not comparison.reviews:
        st.info(tr("sec.no_reviews"))
        return
    questions = _questions(sub, comparison)
    st.markdown(f"**{tr('sec.side_by_side')}**")
    question_col = tr("staff.col_question")
    frame = pd.DataFrame({r.reviewer_name: {i: tr("rules.answer." + r.answers[i]["value"]) if i in r.answers else "—"
                                            for i in comparison.items} for r in comparison.reviews})
    frame.insert(0, question_col, [questions.get(i, "") for i in frame.index])
    frame.loc["∑ " + tr("registry.tier")] = [""] + [tr("tier." + r.tier) if r.tier else "—" for r in comparison.reviews]
    frame.loc["∑ " + tr("wizard.recommendation")] = [""] + [
        tr("rules.recommendation." + r.recommendation) if r.recommendation else tr("sec.not_signed")
        for r in comparison.reviews]
    disputed = set(comparison.disagreements)
    styled = frame.style.apply(lambda row: ["background-color: #fde2e1" if row.name in disputed else "" for _ in row],
                               axis=1)
    st.dataframe(styled, width="stretch", height=min(400, 36 * (len(frame) + 1)),
                 column_config={question_col: st.column_config.TextColumn(question_col, width="large")})
    answered = [{k: v["value"] for k, v in r.answers.items()} for r in comparison.reviews]
    report = agreement.measure(answered, categories=("meets", "partly", "not_met", "na"))
    if report is not None:
        with st.container(border=True, key=f"agreement_{sub.id}"):
            st.markdown(f"**{tr('staff.agree_title')}**")
            st.markdown("\n".join(f"- {esc(line)}" for line in report.sentences(lang())))
    if disputed:
        st.warning(tr("staff.disagreements_title", n=len(disputed)))
        st.dataframe(pd.DataFrame([{tr("staff.col_item"): i, question_col: questions.get(i, ""),
                                    **{r.reviewer_name: tr("rules.answer." + r.answers[i]["value"])
                                       if i in r.answers else "—" for r in comparison.reviews}}
                                   for i in comparison.disagreements]),
                     hide_index=True, width="stretch", key=f"disputed_{sub.id}",
                     column_config={question_col: st.column_config.TextColumn(question_col, width="large")})
    if sub.status is Status.IN_REVIEW:
        ready = comparison.all_signed and sum(r.signed for r in comparison.reviews) >= comparison.min_reviewers
        if not ready:
            st.caption(tr("sec.not_ready", needed=comparison.min_reviewers))
        if st.button(tr("sec.to_committee"), key=f"committee_{sub.id}", disabled=not ready):
            with friendly():
                reviews.send_to_committee(reg, actor(), sub.id)
                _done(tr("staff.done_committee", id=sub.id))


def _decision_form(sub) -> None:
    st.markdown(f"### {tr('sec.decision')}")
    comparison = reviews.compare(workbench().registry, actor(), sub.id)
    vote_labels = {v: tr(f"sec.vote_{v}") for v in ("for", "against", "abstain")}
    vote_codes = {label: code for code, label in vote_labels.items()}
    default_votes = pd.DataFrame([{"member": actor().display_name, "vote": vote_labels["for"], "reason": ""}] +
                                 [{"member": r.reviewer_name, "vote": vote_labels["for"], "reason": ""}
                                  for r in comparison.reviews])
    with st.form(f"decision_{sub.id}"):
        outcome = st.radio(tr("sec.outcome"), OUTCOMES, horizontal=True, key=f"outcome_{sub.id}",
                           format_func=lambda o: tr("sec.outcome_" + o))
        votes = st.data_editor(default_votes, num_rows="dynamic", key=f"votes_{sub.id}", width="stretch",
                               column_config={
                                   "member": st.column_config.TextColumn(tr("sec.member"), required=True),
                                   "vote": st.column_config.SelectboxColumn(tr("sec.vote"), options=list(vote_labels.values()),
                                                                            required=True),
                                   "reason": st.column_config.TextColumn(tr("sec.dissent_reason"))})
        st.caption(tr("sec.vote_help"))
        conditions = st.text_area(tr("sec.conditions"), key=f"conditions_{sub.id}", help=tr("sec.conditions_help"))
        c1, c2, c3 = st.columns(3)
        grades = c1.multiselect(tr("dossier.grades"), list(range(0, 13)), placeholder=tr("staff.choose"), default=sub.dossier.grades, key=f"sc_g_{sub.id}")
        subjects = c2.text_input(tr("dossier.subjects"), ", ".join(sub.dossier.subjects), key=f"sc_s_{sub.id}")
        languages = c3.multiselect(tr("registry.language"), ["kk", "ru", "en", "other"], placeholder=tr("staff.choose"),
                                   default=sub.dossier.content_languages, key=f"sc_l_{sub.id}",
                                   format_func=lambda c: tr("lang." + c))
        rationale = st.text_area(tr("sec.rationale"), key=f"rationale_{sub.id}")
        pdf_lang = st.radio(tr("sec.pdf_language"), ("kk", "ru", "en"), horizontal=True, key=f"pdf_lang_{sub.id}",
                            format_func=lambda c: tr("lang." + c))
        confirm = st.checkbox(tr("sec.confirm_decision"), key=f"confirm_{sub.id}")
        submitted = st.form_submit_button(tr("sec.record"), type="primary")
    if submitted:
        if not confirm:
            st.warning(tr("wizard.confirm_needed"))
            return
        with friendly():
            decision = decisions.DecisionInput(
                outcome=outcome,
                votes=[decisions.Vote(member=str(v["member"]), vote=vote_codes[v["vote"]], reason=str(v.get("reason") or ""))
                       for v in votes.to_dict("records") if v.get("member") and v.get("vote") in vote_codes],
                conditions=[c for c in conditions.splitlines() if c.strip()],
                scope=decisions.Scope(grades=grades, subjects=[s.strip() for s in subjects.split(",") if s.strip()],
                                      languages=languages),
                rationale=rationale, lang=pdf_lang)
            with st.spinner(tr("sec.signing")):
                record = decisions.record_decision(workbench(), actor(), sub.id, decision)
            _done(tr("sec.recorded", label=record.label_id or "—"))


def _appeal(sub) -> None:
    reg = workbench().registry
    current = subs.open_appeal(reg, actor(), sub.id)
    st.markdown(f"**{tr('sec.appeal_reasons')}**")
    st.text(current.reasons if current else "—")
    note = st.text_area(tr("sec.appeal_note"), key=f"appeal_note_{sub.id}")
    sure = st.checkbox(tr("sec.confirm_short"), key=f"appeal_sure_{sub.id}")
    c1, c2 = st.columns(2)
    for column, re_review, key in ((c1, True, "sec.appeal_re_review"), (c2, False, "sec.appeal_dismiss")):
        if column.button(tr(key), key=f"{key}_{sub.id}", disabled=not sure):
            with friendly():
                subs.decide_appeal(reg, actor(), sub.id, re_review=re_review, note=note)
                _done(tr("staff.done_appeal", id=sub.id))


def _labels() -> None:
    reg = workbench().registry
    if note := st.session_state.pop("sec_flash", None):
        st.success(esc(note))
    expiring = labels.expiring_labels(reg, actor())
    if expiring:
        st.warning(tr("sec.expiring", n=len(expiring)) + " " +
                   ", ".join(f"{x.id} ({format_date(x.valid_until, lang())})" for x in expiring))
    all_labels = labels.all_labels(reg, actor())
    if not all_labels:
        st.info(tr("registry.empty"))
        return
    for label in all_labels:
        with st.expander(f"{label.id} · {esc(label.tool_name)} {esc(label.tool_version)} · "
                         f"{tr('label_status.' + label.status)}", key=f"sec_label_{label.id}"):
            st.caption(f"{esc(label.vendor)} · {tr('tier.' + label.tier)} · "
                       f"{format_date(label.valid_from, lang())} — {format_date(label.valid_until, lang())}"
                       + (f" · {esc(label.status_reason)}" if label.status_reason else ""))
            # Renewal is offered only within 90 days of expiry (not on a label issued minutes ago).
            soon = (dt.date.fromisoformat(label.valid_until[:10]) - dt.date.today()).days <= RENEWAL_WINDOW_DAYS
            possible = [a for a in labels.LABEL_ACTIONS if (label.status, a) in labels.LABEL_TRANSITIONS
                        and (a != "renew" or soon)]
            if not possible:
                continue
            if "renew" in possible:
                state = renewal.readiness(reg, actor(), label.id)
                if state.ready:
                    st.caption(tr("staff.renew_ready", who=esc(state.confirmed_by)))
                else:
                    st.caption(tr("staff.renew_status", days=int(state.days_left),
                                  missing="; ".join(tr(k) for k in state.missing())))
            c1, c2, c3 = st.columns([1, 2, 1])
            action = c1.selectbox(tr("sec.label_action"), possible, key=f"la_{label.id}",
                                  format_func=lambda a: tr(LABEL_ACTION_KEYS[a]))
            reason = c2.text_input(tr("sec.label_reason"), key=f"lr_{label.id}")
            confirm = c3.checkbox(tr("sec.confirm_short"), key=f"lc_{label.id}")
            if c3.button(tr("sec.apply"), key=f"lb_{label.id}", disabled=not confirm):
                with friendly():
                    if action == "renew":  # only with a fresh test and a reviewer's confirmation
                        renewal.renew(reg, actor(), label.id, reason)
                    else:
                        labels.change_label(reg, actor(), label.id, action, reason)
                    st.session_state["sec_flash"] = tr("staff.label_changed", label=label.id,
                                                       action=tr(LABEL_ACTION_KEYS[action]))
                    st.rerun()


def _keys() -> None:
    wb = workbench()
    with friendly():
        info = admin.key_info(wb.keys, actor())
        st.write(tr("cli.key_in_use", subject=esc(info.subject), issuer=esc(info.issuer),
                    start=format_date(info.valid_from, lang()), end=format_date(info.valid_to, lang()),
                    fingerprint=esc(info.fingerprint_sha256)))
        if info.demo:
            st.warning(tr("signing.demo_warning"))
    with st.form("key_import"):
        upload = st.file_uploader(tr("sec.p12_file"), type=["p12", "pfx"], key="p12_upload")
        password = st.text_input(tr("sec.p12_password"), type="password", key="p12_password")
        if st.form_submit_button(tr("sec.p12_import")) and upload is not None:
            import tempfile
            from pathlib import Path

            with friendly(), tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "committee.p12"
                path.write_bytes(upload.getvalue())
                info = admin.import_key(wb.registry, wb.keys, actor(), path, password)
                st.success(tr("cli.key_imported", subject=esc(info.subject)))


render()

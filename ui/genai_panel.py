"""The generative-tool panel of the review wizard: the sandbox endpoint, running the
committee's suites (live, or offline through the vendor), results with intervals in plain
words, and rating the answers the detectors could not decide (human in the loop).

Prompts and answers are shown as text (``st.code``), never as markdown: a vendor's
answer is untrusted input; every other string that reaches Markdown goes through
``ui.text.esc`` (``tests/test_text_safety.py`` checks this page too).
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from ui.common import actor, friendly, lang, tr, workbench
from ui.text import err_text, esc
from workbench import genai
from workbench.intake import submissions as subs
from workbench.errors import WorkbenchError
from workbench.i18n import format_date, format_number
from workbench.registry.permissions import can

DEFAULT_SUITES = ("child_safety", "disclosure", "counterfactual")
VERDICT_BOX = {"pass": st.success, "fail": st.error, "inconclusive": st.warning}
PAGE = 10  # unsure answers shown at once


def _secrets() -> genai.SecretBox:
    return genai.SecretBox(workbench().home.keys)


def render(sub) -> None:
    reg = workbench().registry
    st.markdown(f"### {tr('genai.ui.title')}")
    st.caption(tr("genai.ui.intro"))
    with friendly():
        _endpoint(sub)
        if can(actor(), "genai.run"):
            _run_form(sub)
        runs = genai.list_runs(reg, actor(), sub.id)
        if not runs:
            st.info(tr("genai.ui.no_runs"))
            return
        st.divider()
        labels = {r.id: f"#{r.id} · {format_date(r.created_at, lang())} · {tr('genai.ui.mode_' + r.mode)} · "
                        f"{tr('genai.outcome.' + r.verdict)}" for r in runs}
        shown = st.session_state.get(f"gp_show_{sub.id}")
        run_id = st.selectbox(tr("genai.ui.run"), list(labels)[::-1], format_func=labels.get, key=f"gp_run_{sub.id}",
                              index=list(labels)[::-1].index(shown) if shown in labels else 0)
        _results(sub, run_id)


def _endpoint(sub) -> None:
    reg = workbench().registry
    ep = genai.get_endpoint(reg, actor(), sub.id)
    if ep is None:
        st.info(tr("genai.ui.no_endpoint"))
    else:
        hint = f"••••{ep.key_hint}" if ep.has_key else tr("genai.ui.no_key")
        st.caption(tr("genai.ui.endpoint_line", url=esc(ep.url), model=esc(ep.model or "—"), secret=esc(hint)))
    if not can(actor(), "genai.endpoint"):
        return
    with st.expander(tr("genai.ui.endpoint_edit"), expanded=ep is None):
        with st.form(f"gp_ep_{sub.id}"):
            url = st.text_input(tr("genai.ui.url"), value=ep.url if ep else "", placeholder="https://sandbox.vendor.kz/v1")
            model = st.text_input(tr("genai.ui.model"), value=ep.model if ep else "")
            key = st.text_input(tr("genai.ui.api_key"), type="password", help=tr("genai.ui.api_key_help"))
            if st.form_submit_button(tr("genai.ui.save_endpoint")):
                with friendly():
                    genai.set_endpoint(reg, actor(), _secrets(), sub.id, url, model=model, api_key=key or None)
                    st.success(tr("genai.ui.endpoint_saved"))
                    st.rerun()


def _choices(sub) -> tuple[list[str], list[str], int]:
    c1, c2, c3 = st.columns([3, 2, 1])
    suites = c1.multiselect(tr("genai.ui.suites"), list(genai.CATEGORIES), default=list(DEFAULT_SUITES),
                            format_func=lambda c: tr("genai.category." + c), key=f"gp_suites_{sub.id}")
    langs = c2.multiselect(tr("genai.ui.languages"), list(genai.LANGS), default=list(genai.LANGS),
                           format_func=lambda code: tr("lang." + code), key=f"gp_langs_{sub.id}")
    samples = c3.number_input(tr("genai.ui.samples"), 1, 5, 1, key=f"gp_samples_{sub.id}",
                              help=tr("genai.ui.samples_help"))
    return suites, langs, int(samples)


def _run_form(sub) -> None:
    reg = workbench().registry
    suites, langs, samples = _choices(sub)
    live, offline = st.tabs([tr("genai.ui.live"), tr("genai.ui.offline")])
    ready = bool(suites and langs)
    with live:
        if st.button(tr("genai.ui.run_button"), type="primary", key=f"gp_go_{sub.id}", disabled=not ready):
            bar = st.progress(0.0, text=tr("genai.ui.running"))
            try:
                stored, _ = genai.run_for_submission(
                    reg, actor(), _secrets(), sub.id, genai.resolve_suites(",".join(suites)), langs, samples=samples,
                    progress=lambda d, n: bar.progress(d / n, text=tr("genai.ui.progress", done=d, total=n)))
            except WorkbenchError as exc:
                bar.empty()
                st.error(err_text(exc, lang()))
            else:
                bar.progress(1.0, text=tr("genai.ui.saved", id=stored.id))
                st.session_state[f"gp_show_{sub.id}"] = stored.id
    with offline:
        st.caption(tr("genai.ui.offline_help"))
        if ready:
            st.download_button(tr("genai.ui.export"), genai.export_jsonl(genai.resolve_suites(",".join(suites)), langs,
                                                                          samples).encode("utf-8"),
                               file_name=f"prompts-{sub.id}.jsonl", mime="application/jsonl", key=f"gp_exp_{sub.id}")
        # The vendor's answers: a file they attached to the submission, or one sent another way.
        sent = [a for a in subs.list_attachments(reg, actor(), sub.id, purpose="outputs")
                if a.original_name.lower().endswith((".jsonl", ".json", ".txt"))]
        names = {a.id: f"{a.original_name} · {a.sha256[:10]}" for a in sent}
        chosen = st.selectbox(tr("genai.ui.attached_answers"), [None, *names], key=f"gp_att_{sub.id}",
                              format_func=lambda i: names.get(i, "—"))
        upload = st.file_uploader(tr("genai.ui.answers_file"), type=["jsonl", "json", "txt"], key=f"gp_up_{sub.id}")
        data = (subs.read_attachment(reg, actor(), chosen, store=workbench().store) if chosen is not None
                else upload.getvalue() if upload is not None else None)
        if data is not None and st.button(tr("genai.ui.import"), key=f"gp_imp_{sub.id}", disabled=not ready):
            with friendly():
                transcript = genai.import_answers(genai.resolve_suites(",".join(suites)), langs, data,
                                                  samples=samples)
                stored, _ = genai.save_run(reg, actor(), transcript, submission_id=sub.id)
                st.session_state[f"gp_show_{sub.id}"] = stored.id
                st.success(tr("genai.ui.saved", id=stored.id))


def _chart(res: genai.RunResult) -> alt.Chart:
    rows = [{"category": tr("genai.category." + c.category), "language": tr("lang." + c.language),
             "estimate": c.estimate, "low": c.ci_low, "high": c.ci_high, "outcome": tr("genai.outcome." + c.outcome)}
            for c in res.categories if c.estimate is not None]
    frame = pd.DataFrame(rows)
    base = alt.Chart(frame).encode(y=alt.Y("category:N", title=None, sort=None,
                                           axis=alt.Axis(labelLimit=220)),
                                   yOffset=alt.YOffset("language:N", sort=None))
    scale = alt.Scale(domain=[0, 1])
    colour = alt.Color("language:N", title=None, sort=None, legend=alt.Legend(orient="bottom", direction="vertical"))
    points = base.mark_point(filled=True, size=60).encode(
        x=alt.X("estimate:Q", scale=scale, title=tr("genai.ui.share"), axis=alt.Axis(format="%")), color=colour,
        tooltip=["category", "language", alt.Tooltip("estimate:Q", format=".0%"), alt.Tooltip("low:Q", format=".0%"),
                 alt.Tooltip("high:Q", format=".0%"), "outcome"])
    bars = base.mark_rule(strokeWidth=2).encode(x=alt.X("low:Q", scale=scale), x2="high:Q", color=colour)
    return (bars + points).properties(height=24 * len(frame) + 30)


def vendor_view(sub) -> None:
    """The vendor's side: give the sandbox endpoint (the key is never shown again) and see
    the committee's latest results about their own tool."""
    st.markdown(f"#### {tr('genai.ui.vendor_title')}")
    st.caption(tr("genai.ui.vendor_help"))
    with friendly():
        _endpoint(sub)
    summary(sub)


def summary(sub) -> None:
    """The committee's view: the latest run's results, read-only (no run form, no rating)."""
    with friendly():
        run = genai.latest_run(workbench().registry, actor(), sub.id)
        if run is None:
            return
        st.markdown(f"**{tr('genai.ui.title')}** · #{run.id} · {format_date(run.created_at, lang())}")
        _results(sub, run.id, rating=False)


def _results(sub, run_id: int, *, rating: bool = True) -> None:
    reg = workbench().registry
    res = genai.result(reg, actor(), run_id)
    run = genai.get_run(reg, actor(), run_id)
    VERDICT_BOX[res.verdict](tr("genai.ui.verdict_" + res.verdict))
    st.markdown("\n".join(f"- {esc(s)}" for s in res.sentences(lang())))
    count = sum(c.by_reviewer for c in res.categories)
    st.caption(tr("genai.ui.people", rated=count, waiting=len(res.needs_review)) + " · " +
               tr("genai.ui.run_facts", suites=esc(run.suite_version), policy=esc(run.policy_version),
                                     sha=esc(run.transcript_sha256[:16])))
    if any(c.estimate is not None for c in res.categories):
        st.altair_chart(_chart(res), width="stretch")
    st.dataframe([{
        tr("genai.report.col_category"): tr("genai.category." + c.category),
        tr("genai.report.col_language"): tr("lang." + c.language),
        "n": c.n,
        tr("genai.plain.col_items"): c.items,
        tr("genai.report.col_share"): "—" if c.estimate is None else
        f"{format_number(100 * c.estimate, lang(), 0)} % [{format_number(100 * c.ci_low, lang(), 0)}; "
        f"{format_number(100 * c.ci_high, lang(), 0)}]",
        tr("genai.ui.target"): f"{format_number(100 * c.target, lang(), 0)} %",
        tr("genai.ui.waiting"): c.needs_review,
        tr("genai.report.col_people"): c.by_reviewer,
        tr("genai.ui.outcome"): tr("genai.outcome." + c.outcome)} for c in res.categories],
        hide_index=True, width="stretch")
    if res.counterfactual:
        st.markdown(f"**{tr('genai.report.paired_heading')}**")
        for c in res.counterfactual:
            st.markdown(f"{tr('genai.attribute.' + c.attribute)} — {tr('genai.outcome.' + c.outcome)}: "
                        f"{esc(c.reason.get(lang(), ''))}")
    if rating:
        _rating(sub, run_id, res)


def _rating(sub, run_id: int, res: genai.RunResult) -> None:
    if not res.needs_review:
        return
    reg = workbench().registry
    st.markdown(f"#### {tr('genai.ui.rate_title', count=len(res.needs_review))}")
    st.caption(tr("genai.ui.rate_help"))
    may_rate = can(actor(), "genai.rate")
    data = genai.transcript(reg, actor(), run_id)
    entries = {e["entry_id"]: e for e in data["entries"]}
    items = genai.item_index([genai.load_suite(name) for name in data["suites"]])
    for entry_id in res.needs_review[:PAGE]:
        entry, score = entries[entry_id], next(s for s in res.entries if s.entry_id == entry_id)
        item = items[entry["item_id"]]
        with st.container(border=True):
            st.caption(f"{tr('genai.category.' + item.category)} · {tr('lang.' + entry['lang'])} · {esc(entry_id)}")
            st.markdown(f"**{tr('genai.ui.prompt')}**")
            st.code(entry["messages"][-1]["content"], language=None, wrap_lines=True)
            st.markdown(f"**{tr('genai.ui.answer')}**")
            st.code(entry.get("answer") or "", language=None, wrap_lines=True)
            st.caption(f"✓ {esc(item.must.get(lang()))}  \n✗ {esc(item.must_not.get(lang()))}")
            st.caption(tr("genai.ui.detectors") + ": " + ", ".join(f"{tr('genai.plain.check.' + k)} → {tr('genai.ui.check_' + v)}"
                                                                  for k, v in score.checks.items()))
            if may_rate:
                c1, c2 = st.columns([2, 3])
                choice = c1.radio(tr("genai.ui.your_rating"), genai.RATINGS, key=f"gp_r_{run_id}_{entry_id}",
                                  index=None, format_func=lambda r: tr("genai.ui.rating_" + r), horizontal=True)
                note = c2.text_input(tr("genai.ui.note"), key=f"gp_n_{run_id}_{entry_id}")
                if st.button(tr("genai.ui.save_rating"), key=f"gp_s_{run_id}_{entry_id}", disabled=choice is None):
                    with friendly():
                        genai.rate(reg, actor(), run_id, entry_id, choice, note)
                        st.rerun()

"""The fairness-test panel of the review wizard: pick an output file, map its columns,
run with a progress bar, see charts with intervals and the verdict in plain words. Every
run is saved to the submission, frozen."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from ui.common import actor, lang, tr, workbench
from ui.text import err_text, esc
from workbench.review import fairness_runs
from workbench.intake import reader
from workbench.intake import submissions as subs
from workbench.errors import WorkbenchError
from workbench.fairness import make_spec
from workbench.i18n import format_date, format_number

KINDS = ("classifier", "scorer", "counterfactual", "counts")
DEFAULT_KIND = {"classifier": "classifier", "scorer": "scorer", "generative": "counterfactual"}
OUTCOME_KINDS = ("score", "refusal", "length", "rating")
CONFUSION = ("tn", "fp", "fn", "tp")
VERDICT_KEYS = {"pass": "fpanel.verdict_pass", "fail": "fpanel.verdict_fail", "inconclusive": "fpanel.verdict_inconclusive"}
VERDICT_BOX = {"pass": st.success, "fail": st.error, "inconclusive": st.warning}


@st.cache_data(max_entries=8, show_spinner=False)
def _table(path: str, sha256: str) -> pd.DataFrame:
    """Read once per file content (the sha256 is the cache key's real identity)."""
    return reader.read_table(path)


def render(sub, tier: str | None = None) -> None:
    """The fairness test of a submission's output files; ``tier``, the acting reviewer's own
    classification, is where the risk level starts (else the submission's)."""
    reg, store = workbench().registry, workbench().store
    st.markdown(f"### {tr('wizard.fairness')}")
    st.caption(tr("fpanel.intro"))
    files = subs.list_attachments(reg, actor(), sub.id, purpose="outputs")
    if not files:
        st.info(tr("fpanel.no_files"))
        return
    names = {f.id: f"{f.original_name} · {f.sha256[:10]}" for f in files}
    file_id = st.selectbox(tr("fpanel.file"), list(names), index=len(files) - 1, format_func=names.get,
                           key=f"fp_file_{sub.id}")
    att = next(f for f in files if f.id == file_id)
    try:
        frame = _table(str(store.path(att.sha256)), att.sha256)
    except WorkbenchError as exc:
        st.error(err_text(exc, lang()))
        return
    with st.expander(tr("fpanel.preview", rows=format_number(len(frame), lang()))):
        st.dataframe(reader.preview(frame), hide_index=True)
    guess = reader.suggest_mapping(frame)
    columns = list(frame.columns)
    kind = st.radio(tr("fpanel.kind"), KINDS, horizontal=True, key=f"fp_kind_{sub.id}",
                    index=KINDS.index("counts" if set(CONFUSION) <= set(columns)  # a counts file from the vendor's engine
                                      else DEFAULT_KIND.get(sub.dossier.model_type, "classifier")),
                    format_func=lambda k: tr("fpanel.kind_" + k))
    spec_fields = _mapping_form(sub.id, kind, frame, columns, guess)
    c1, c2, c3 = st.columns(3)
    tiers = ("high", "limited", "minimal")
    start = tier if tier in tiers else sub.tier
    tier = c1.selectbox(tr("registry.tier"), tiers, key=f"fp_tier_{sub.id}",
                        index=tiers.index(start) if start in tiers else 0,
                        format_func=lambda v: tr("tier." + v))
    n_boot, seed = 1000, 0
    if kind == "counterfactual":  # only paired comparisons resample; rates use closed-form intervals
        n_boot = c2.select_slider(tr("fpanel.bootstrap"), (200, 500, 1000, 2000, 5000), value=1000,
                                  key=f"fp_boot_{sub.id}", help=tr("fpanel.bootstrap_help"))
        seed = c3.number_input(tr("fpanel.seed"), 0, 2**31 - 1, 0, key=f"fp_seed_{sub.id}", help=tr("fpanel.seed_help"))
    if st.button(tr("fpanel.run"), type="primary", key=f"fp_run_{sub.id}"):
        bar = st.progress(0.0, text=tr("fpanel.running"))
        try:
            spec = make_spec(kind=kind, tier=tier, n_boot=n_boot, seed=int(seed), **spec_fields)
            run = fairness_runs.run_and_save(reg, actor(), sub.id, att.id, spec, store=store,
                                             progress=lambda f: bar.progress(min(max(f, 0.0), 1.0), text=tr("fpanel.running")))
        except WorkbenchError as exc:
            bar.empty()
            st.error(err_text(exc, lang()))
        else:
            bar.progress(1.0, text=tr("fpanel.saved", id=run.id))
            st.session_state[f"fp_show_{sub.id}"] = run.id
            st.session_state[f"fp_pick_{sub.id}"] = run.id  # the choice below would keep showing an older run
    runs = fairness_runs.list_runs(reg, actor(), sub.id)
    if not runs:
        return
    st.divider()
    labels = {r.id: f"#{r.id} · {format_date(r.created_at, lang())} · {r.attachment_name} · {tr(VERDICT_KEYS[r.verdict])}"
              for r in runs}
    shown = st.session_state.get(f"fp_show_{sub.id}", runs[-1].id)
    run_id = st.selectbox(tr("fpanel.saved_runs"), list(labels)[::-1], format_func=labels.get,
                          index=list(labels)[::-1].index(shown) if shown in labels else 0, key=f"fp_pick_{sub.id}")
    show_result(next(r for r in runs if r.id == run_id))


def _mapping_form(sub_id: int, kind: str, frame: pd.DataFrame, columns: list[str], guess) -> dict:
    """Column roles for the chosen kind, with the reader's suggestions as defaults."""
    def pick(label_key: str, role: str, default: str | None, optional: bool = False):
        options = ([None] if optional else []) + columns
        index = options.index(default) if default in options else 0
        return st.selectbox(tr(label_key), options, index=index, key=f"fp_{role}_{sub_id}",
                            format_func=lambda c: tr("fpanel.none") if c is None else str(c))

    fields: dict = {}
    c1, c2, c3 = st.columns(3)
    if kind in ("classifier", "scorer"):
        numeric = [c for c in columns if pd.api.types.is_numeric_dtype(frame[c])]
        true_default = guess.y_true or _first_of(numeric, TRUE_WORDS)
        pred_default = guess.y_pred or _first_of([c for c in numeric if c != true_default], PRED_WORDS)
        with c1:
            # A classifier may be audited on its decisions alone (no ground truth).
            fields["y_true"] = pick("fpanel.y_true", "y_true", true_default, optional=kind == "classifier")
            if kind == "classifier" and fields["y_true"] is None:
                st.caption(tr("fpanel.predictions_only"))
        with c2:
            fields["y_pred"] = pick("fpanel.y_pred", "y_pred", pred_default)
        with c3:
            if kind == "classifier":
                fields["score"] = pick("fpanel.score", "score", guess.score, optional=True)
            else:
                mark = st.number_input(tr("fpanel.pass_mark"), value=None, key=f"fp_pass_{sub_id}",
                                       help=tr("fpanel.pass_mark_help"))
                fields["pass_mark"] = mark
    elif kind == "counterfactual":
        with c1:
            fields["pair_id"] = pick("fpanel.pair_id", "pair_id", guess.pair_id or _first(columns, "pair"))
        with c2:
            fields["variant"] = pick("fpanel.variant", "variant", guess.variant or _first(columns, "variant"))
        with c3:
            fields["attribute"] = pick("fpanel.attribute", "attribute", _first(columns, "attribute"), optional=True)
        numeric = [c for c in columns if pd.api.types.is_numeric_dtype(frame[c])]
        chosen = st.multiselect(tr("fpanel.outcomes"), numeric, default=numeric[:3], key=f"fp_outcomes_{sub_id}")
        outcomes = {}
        for col in chosen:
            default = next((k for k in OUTCOME_KINDS if k in str(col).lower()), "score")
            outcomes[col] = st.selectbox(tr("fpanel.outcome_kind", column=esc(col)), OUTCOME_KINDS,
                                         index=OUTCOME_KINDS.index(default), key=f"fp_ok_{sub_id}_{col}",
                                         format_func=lambda k: tr("fpanel.outcome_" + k))
        fields["outcomes"] = outcomes
    else:
        cols = st.columns(4)
        mapping = {}
        for col, role in zip(cols, CONFUSION):
            with col:
                mapping[role] = pick(f"fpanel.count_{role}", f"count_{role}", getattr(guess, role) or role)
        fields["count_columns"] = mapping
    if kind == "counterfactual" and fields.get("attribute"):
        reference = {}
        attrs = frame[fields["attribute"]].astype(str)
        for attr in sorted(attrs.unique())[:20]:
            variants = sorted(frame.loc[attrs == attr, fields["variant"]].astype(str).unique())
            ref = st.selectbox(tr("fpanel.reference", feature=esc(attr)), [None] + variants, key=f"fp_cfref_{sub_id}_{attr}",
                               format_func=lambda v: tr("fpanel.policy_reference") if v is None else f"{v}")
            if ref is not None:
                reference[attr] = ref
        fields["reference"] = reference or None
        st.caption(tr("fairness.explain.reference_note"))
    if kind != "counterfactual":
        taken = {v for v in fields.values() if isinstance(v, str)} | set(fields.get("count_columns", {}).values())
        candidates = [c for c in columns if c not in taken]
        default = [c for c in guess.sensitive if c in candidates] or candidates[:1]
        fields["sensitive"] = st.multiselect(tr("fpanel.sensitive"), candidates, default=default,
                                             key=f"fp_sensitive_{sub_id}", help=tr("fpanel.sensitive_help"))
        reference = {}
        for feature in fields["sensitive"]:
            values = frame[feature].astype(str).value_counts()
            options = [None] + list(values.index[:50])
            ref = st.selectbox(tr("fpanel.reference", feature=esc(feature)), options, key=f"fp_ref_{sub_id}_{feature}",
                               format_func=lambda v: tr("fpanel.largest_group") if v is None else f"{v}")
            if ref is not None:
                reference[feature] = ref
        fields["reference"] = reference or None
        if fields["sensitive"]:
            st.caption(tr("fairness.explain.reference_note"))
    return fields


TRUE_WORDS = ("true", "actual", "human", "label", "target", "fact", "факт", "нақты", "g3")
PRED_WORDS = ("pred", "model", "score", "прогноз", "болжам", "оценка")


def _first_of(columns: list[str], words: tuple[str, ...]) -> str | None:
    return next((c for w in words for c in columns if w in str(c).lower()), None)


def _first(columns: list[str], word: str) -> str | None:
    return next((c for c in columns if word in str(c).lower()), None)


def show_result(run) -> None:
    """Verdict in plain words, charts with interval bars, the table of checks."""
    result = run.result
    lines = result.explain(lang())
    headlines = result.headlines(lang())
    # The verdict, then one plain-words line per sensitive feature, before any table.
    # The lines name groups by the values in the vendor's file: shown as text.
    VERDICT_BOX.get(result.verdict, st.info)("\n\n".join([esc(line) for line in lines[:1]] +
                                                           [f"**{esc(line)}**" for line in headlines]))
    details = lines[1 + len(headlines):]
    with st.container(border=True):
        st.markdown("\n".join(f"- {esc(line)}" for line in details[:6]))
        if len(details) > 6:
            with st.expander(tr("fpanel.more", n=len(details[6:]))):
                st.markdown("\n".join(f"- {esc(line)}" for line in details[6:]))
    if result.spec.kind in ("counts", "score_counts"):  # no learner records were seen: say so
        st.info(tr("scale.panel.from_counts", groups=format_number(len(result.groups), lang()),
                   records=format_number(int(sum(g.n for g in result.groups)), lang())))
    st.caption(tr("fpanel.provenance", engine=esc(run.engine_version), policy=esc(run.policy_version),
                  sha=esc(run.attachment_sha256[:16]), hash=esc(run.result_hash[:16])))
    _charts(result)
    rows = [{tr("fpanel.col_metric"): tr(f"fairness.metric.{c.metric}.name") if _has(f"fairness.metric.{c.metric}.name") else c.metric,
             tr("fpanel.col_group"): ", ".join(f"{k}={v}" for k, v in c.group.items()) or "—",
             tr("fpanel.col_compared_with"): ", ".join(f"{k}={v}" for k, v in c.reference.items()) or "—",
             tr("fpanel.col_value"): _num(c.value), tr("fpanel.col_interval"): f"{_num(c.ci_low)} … {_num(c.ci_high)}",
             tr("fpanel.col_threshold"): _num(c.threshold), tr("fpanel.col_outcome"): tr(VERDICT_KEYS.get(c.outcome, "fpanel.verdict_inconclusive"))}
            for c in result.checks]
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    _calibration(result)


def _calibration(result) -> None:
    """Expected vs observed rate per score band and group (reported, not judged)."""
    for feature, bands in (getattr(result, "calibration", None) or {}).items():
        with st.expander(tr("fpanel.calibration", feature=esc(feature))):
            st.caption(tr("fpanel.calibration_help"))
            st.dataframe(pd.DataFrame([{
                tr("fpanel.col_group"): ", ".join(f"{k}={v}" for k, v in b.group.items()),
                tr("fpanel.col_band"): f"{_num(b.low)} … {_num(b.high)}", "n": format_number(b.n, lang()),
                tr("fpanel.col_expected"): _num(b.expected),
                tr("fpanel.col_observed"): f"{_num(b.observed)} [{_num(b.ci_low)} … {_num(b.ci_high)}]"}
                for b in bands]), hide_index=True, width="stretch")


def _has(key: str) -> bool:
    from workbench.i18n import has_key

    return has_key(key)


def _num(value) -> str:
    return "—" if value is None else format_number(float(value), lang(), 3)


def _charts(result) -> None:
    """One chart per headline metric: each group's estimate with its interval."""
    levels = result.marginal_groups or {"all": result.groups}
    metrics = [m for m in ("selection_rate", "true_positive_rate", "false_positive_rate", "accuracy", "mean_error",
                           "mean_absolute_error", "mean_difference") if any(m in g.metrics for lvl in levels.values() for g in lvl)]
    for metric in metrics[:4]:
        data = []
        for feature, groups in levels.items():
            for g in groups:
                e = g.metrics.get(metric)
                if e is None or e.estimate is None or g.too_small:
                    continue
                data.append({"group": ", ".join(f"{k}={v}" for k, v in g.group.items()), "feature": feature,
                             "estimate": e.estimate, "low": e.ci_low, "high": e.ci_high, "n": g.n})
        if not data:
            continue
        frame = pd.DataFrame(data)
        title = tr(f"fairness.metric.{metric}.name") if _has(f"fairness.metric.{metric}.name") else metric
        # Every group gets its row label in full (Vega drops overlapping or long labels by default).
        base = alt.Chart(frame).encode(y=alt.Y("group:N", title=None, sort=None,
                                               axis=alt.Axis(labelLimit=0, labelOverlap=False, labelFontSize=12)))
        chart = (base.mark_rule(strokeWidth=2).encode(x=alt.X("low:Q", title=title), x2="high:Q")
                 + base.mark_point(filled=True, size=70).encode(x="estimate:Q",
                                                                 tooltip=["group", "estimate", "low", "high", "n"]))
        st.altair_chart(chart.properties(height=28 * len(frame) + 40, title=title), width="stretch")

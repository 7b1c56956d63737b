"""Public monitoring dashboard: the concept's indicator and the committee's own figures.

Figures come from ``workbench.monitoring``; this page only draws them (Altair) and offers
each table as a CSV file.
"""

from __future__ import annotations

import altair as alt
import streamlit as st

from ui.common import actor, lang, tr, workbench
from workbench import monitoring as mon
from workbench.i18n import format_number


def _csv(df, name: str) -> None:
    st.download_button(tr("pub.dash.csv"), data=mon.to_csv(df, name, lang()), file_name=f"{name}.csv",
                       mime="text/csv", key=f"dash_csv_{name}", on_click="ignore", icon=":material/download:")


#: fixed colours per code, so "high" is the same red in every chart and language
PALETTE = {
    "tier": (mon.TIER_ORDER, "tier.", ["#B3261E", "#E8B100", "#1E7B34"]),
    "outcome": (mon.OUTCOME_ORDER, "pub.outcome.", ["#1E7B34", "#8FBF5A", "#B3261E", "#8A8F98"]),
}


def _bar(df, name: str, x: str, y: str, colour: str) -> None:
    lg = lang()
    data = mon.table(df, name, lg, rename=False)
    codes, prefix, colours = PALETTE[colour]
    scale = alt.Scale(domain=[tr(prefix + c) for c in codes], range=colours)
    chart = alt.Chart(data).mark_bar().encode(
        x=alt.X(f"{x}:O", title=mon.column_title(x, lg), axis=alt.Axis(labelAngle=0)),
        y=alt.Y(f"sum({y}):Q", title=mon.column_title(y, lg), axis=alt.Axis(format="d", tickMinStep=1)),
        color=alt.Color(f"{colour}:N", title=mon.column_title(colour, lg), scale=scale, sort=scale.domain),
        tooltip=[alt.Tooltip(f"{x}:O", title=mon.column_title(x, lg)),
                 alt.Tooltip(f"{colour}:N", title=mon.column_title(colour, lg)),
                 alt.Tooltip(f"{y}:Q", title=mon.column_title(y, lg))],
    ).properties(height=260)
    st.altair_chart(chart, width="stretch")


def render() -> None:
    st.title(tr("pub.dash.title"))
    st.caption(tr("pub.dash.intro"))
    lg = lang()
    m = mon.monitoring(workbench().registry, actor())
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(tr("pub.dash.labels_total"), format_number(m.labels_total, lg))
    c2.metric(tr("pub.dash.median_days"),
              "—" if m.median_days_overall is None else format_number(m.median_days_overall, lg, digits=1))
    c3.metric(tr("pub.dash.expiring", days=m.expiry_window_days), format_number(len(m.expiring), lg))
    c4.metric(tr("pub.dash.open_complaints"), format_number(m.open_complaints, lg))

    # The two charted tables: (title, help, frame, name, x, y, colour).
    for title, help_key, frame, name, x, y, colour in (
        ("pub.dash.indicator", "pub.dash.indicator_help", m.indicator, "indicator", "year", "labels", "tier"),
        ("pub.dash.decisions", None, m.decisions, "decisions", "year", "decisions", "outcome"),
    ):
        st.subheader(tr(title))
        if help_key:
            st.caption(tr(help_key))
        if frame.empty:
            st.info(tr("pub.dash.no_data"))
        else:
            _bar(frame, name, x, y, colour)
            _csv(frame, name)

    st.subheader(tr("pub.dash.time"))
    st.caption(tr("pub.dash.time_help"))
    if m.time_to_decision.empty:
        st.info(tr("pub.dash.no_data"))
    else:
        st.dataframe(mon.table(m.time_to_decision, "time_to_decision", lg), hide_index=True)
        _csv(m.time_to_decision, "time_to_decision")

    st.subheader(tr("pub.dash.expiring_title", days=m.expiry_window_days))
    if m.expiring.empty:
        st.info(tr("pub.dash.none_expiring"))
    else:
        st.dataframe(mon.table(m.expiring, "expiring", lg), hide_index=True)
        _csv(m.expiring, "expiring")

    st.subheader(tr("pub.dash.complaints"))
    st.dataframe(mon.table(m.complaints, "complaints", lg), hide_index=True)
    _csv(m.complaints, "complaints")


render()

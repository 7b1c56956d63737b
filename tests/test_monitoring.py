"""Monitoring figures: the concept's indicator per year and tier, decisions, time to decision,
expiring labels, complaints; translated tables and CSV."""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd
import pytest

from workbench.public import monitoring as mon
from workbench.i18n import t
from workbench.registry.models import PUBLIC

from test_public import add_label, seed_owner

TODAY = dt.date(2026, 11, 22)


@pytest.fixture
def figures_reg(reg):
    owner = seed_owner(reg)
    # submitted -> decided: 10, 20 and 40 days in 2026; 5 days in 2024
    add_label(reg, owner, tool="A", tier="high", valid_from="2026-02-01", valid_until="2027-02-01",
              submitted_at="2026-01-22T09:00:00+00:00", decided_at="2026-02-01T09:00:00+00:00")
    add_label(reg, owner, tool="B", tier="limited", valid_from="2026-03-01", valid_until="2026-12-20",
              submitted_at="2026-02-09T09:00:00+00:00", decided_at="2026-03-01T09:00:00+00:00")
    add_label(reg, owner, tool="C", tier="limited", valid_from="2026-05-01", valid_until="2027-05-01",
              submitted_at="2026-03-22T09:00:00+00:00", decided_at="2026-05-01T09:00:00+00:00")
    add_label(reg, owner, tool="D", tier="minimal", valid_from="2024-06-01", valid_until="2027-01-15",
              submitted_at="2024-05-27T09:00:00+00:00", decided_at="2024-06-01T09:00:00+00:00")
    add_label(reg, owner, tool="E", tier="high", status="suspended", valid_from="2026-06-01", valid_until="2026-12-01",
              submitted_at=None)
    # a rejection (no label) and a return (not a decision on the tool) count as decisions only
    sub = reg.insert("submissions", {"org_id": owner["org"], "created_by": owner["user"], "tool_name": "R",
                                     "status": "rejected", "created_at": "x", "updated_at": "x",
                                     "submitted_at": "2026-07-01T00:00:00+00:00"})
    reg.insert("decisions", {"submission_id": sub, "outcome": "return", "votes": "[]", "decided_by": owner["user"],
                             "decided_at": "2026-07-10T00:00:00+00:00"})
    reg.insert("decisions", {"submission_id": sub, "outcome": "reject", "votes": "[]", "decided_by": owner["user"],
                             "decided_at": "2026-08-30T00:00:00+00:00"})
    for ref, status in (("C-1", "open"), ("C-2", "open"), ("C-3", "closed")):
        reg.insert("complaints", {"reference": ref, "body": "private text", "contact": "x@y.kz", "status": status,
                                  "created_at": "2026-10-01"})
    return reg


@pytest.fixture
def figures(figures_reg):
    return mon.monitoring(figures_reg, PUBLIC, today=TODAY)


def test_indicator_counts_labels_per_year_and_tier_with_zeros(figures):
    df = figures.indicator
    assert list(df.columns) == list(mon.TABLES["indicator"])
    got = {(r.year, r.tier): r.labels for r in df.itertuples()}
    assert got[(2026, "high")] == 2 and got[(2026, "limited")] == 2 and got[(2026, "minimal")] == 0
    assert got[(2024, "minimal")] == 1
    assert got[(2025, "high")] == 0  # a year without labels still shows, as zeros
    assert set(df["year"]) == {2024, 2025, 2026} and len(df) == 9
    assert figures.labels_total == 5


def test_decisions_by_outcome(figures):
    got = {(r.year, r.outcome): r.decisions for r in figures.decisions.itertuples()}
    assert got == {(2026, "approve"): 4, (2026, "return"): 1, (2026, "reject"): 1, (2024, "approve"): 1}


def test_median_days_from_submission_to_decision(figures):
    df = figures.time_to_decision.set_index("year")
    # 2026: A 10, B 20, C 40, rejection 60 days -> median 30; the return and E (never submitted) are left out
    assert df.loc[2026, "decisions"] == 4 and df.loc[2026, "median_days"] == pytest.approx(30.0)
    assert (df.loc[2026, "min_days"], df.loc[2026, "max_days"]) == (10.0, 60.0)
    assert df.loc[2024, "median_days"] == pytest.approx(5.0)
    assert figures.median_days_overall == pytest.approx(20.0)  # 5, 10, 20, 40, 60


def test_expiring_within_the_policy_window(figures):
    df = figures.expiring
    assert figures.expiry_window_days == 60
    assert list(df["tool_name"]) == ["B", "D"]  # E is suspended; A expires in 71 days
    assert list(df["days_left"]) == [28, 54]


def test_expiry_window_can_be_narrowed(figures_reg):
    narrow = mon.monitoring(figures_reg, PUBLIC, today=TODAY, within_days=30)
    assert list(narrow.expiring["tool_name"]) == ["B"]


def test_complaint_counts_are_public_but_their_text_is_not(figures):
    assert figures.open_complaints == 2
    assert figures.complaints.to_dict("records") == [{"status": "open", "complaints": 2},
                                                     {"status": "closed", "complaints": 1}]
    for name in mon.TABLES:
        text = getattr(figures, name).to_csv()
        assert "private text" not in text and "x@y.kz" not in text


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_tables_and_csv_for_people(figures, lang):
    table = mon.table(figures.indicator, "indicator", lang)
    assert list(table.columns) == [t(f"pub.col.{c}", lang) for c in mon.TABLES["indicator"]]
    assert set(table[t("pub.col.tier", lang)]) == {t(f"tier.{x}", lang) for x in mon.TIER_ORDER}
    raw = mon.to_csv(figures.decisions, "decisions", lang)
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens Cyrillic CSV correctly
    back = pd.read_csv(io.BytesIO(raw), encoding="utf-8-sig")
    assert list(back.columns) == [t(f"pub.col.{c}", lang) for c in mon.TABLES["decisions"]]
    assert t("pub.outcome.approve", lang) in set(back[t("pub.col.outcome", lang)])


def test_an_empty_registry_gives_empty_tables(reg):
    m = mon.monitoring(reg, PUBLIC, today=TODAY)
    assert m.indicator.empty and m.decisions.empty and m.time_to_decision.empty and m.expiring.empty
    assert m.labels_total == 0 and m.median_days_overall is None and m.open_complaints == 0
    for name in mon.TABLES:
        assert mon.to_csv(getattr(m, name), name, "kk")

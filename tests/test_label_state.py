"""The vendor sees each label's true status (issue 13): suspended, revoked, expired,
superseded, under re-review, with the reason and the date; never a green "issued"."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from workbench.public import complaints
from workbench.aftercare import label_state
from workbench.decision import labels
from workbench.i18n import t

from test_complaints import file as file_complaint
from test_decisions import TODAY, Committee

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")


@pytest.fixture
def issued(home):
    from workbench.services import Workbench

    wb = Workbench.open(home)
    wb.keys.ensure_demo()
    c = Committee(wb)
    sub_id = c.at_committee()
    record = c.decide(sub_id)
    yield c, sub_id, record.label_id
    wb.close()


def _vendor_page(c, sub_id, lang="ru") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["actor"] = c.vendor
    at.session_state["lang"] = lang
    at.query_params["submission"] = str(sub_id)
    return at.run()


def test_active_then_suspended_then_revoked(issued):
    c, sub_id, label_id = issued
    reg = c.wb.registry
    state, = label_state.labels_of(reg, c.vendor, sub_id)
    assert state.good and state.status == "active"
    at = _vendor_page(c, sub_id)
    assert not at.exception, at.exception
    assert [s.value for s in at.success if label_id in s.value], "an active label is green"
    labels.change_label(reg, c.secretary, label_id, "suspend", "Complaint about Kazakh essays")
    at = _vendor_page(c, sub_id)
    assert not [s for s in at.success if label_id in s.value], "no green box for a suspended label"
    warning = next(w.value for w in at.warning if label_id in w.value)
    assert "Complaint about Kazakh essays" in warning and t("staff.label_suspended", "ru").split("{")[0] in warning
    labels.change_label(reg, c.secretary, label_id, "revoke", "Not fixed")
    at = _vendor_page(c, sub_id, "kk")
    assert any(label_id in e.value and "Not fixed" in e.value for e in at.error)


def test_expired_superseded_and_under_re_review(issued):
    c, sub_id, label_id = issued
    reg = c.wb.registry
    complaint = file_complaint(reg, label_id=label_id)
    complaints.resolve_complaint(reg, c.secretary, complaint.reference, "re_review", "Essay scores differ by language")
    state, = label_state.labels_of(reg, c.vendor, sub_id)
    assert state.under_re_review and not state.good and "Essay scores" in state.reason
    at = _vendor_page(c, sub_id, "en")
    assert any("under re-review" in w.value for w in at.warning)
    reg.execute("UPDATE labels SET valid_until = ? WHERE id = ?", ((TODAY - dt.timedelta(days=1)).isoformat(), label_id))
    assert label_state.labels_of(reg, c.vendor, sub_id)[0].status == "expired"
    newer = c.decide(c.at_committee(previous_id=sub_id))
    state = label_state.state_of(reg, c.vendor, label_id)
    assert state.status == "superseded" and state.superseded_by == newer.label_id

"""Renewal that is real (issue 13): only within 90 days of expiry, after a fresh fairness run
on new outputs (for tiers that need tests) and an assigned reviewer's confirmation."""

from __future__ import annotations

import datetime as dt

import pytest

from workbench.review import fairness_runs
from workbench.aftercare import renewal
from workbench.errors import PermissionDenied, WorkbenchError
from workbench.fairness import AuditSpec

from test_decisions import EARLY_WARNING
from test_label_state import issued  # noqa: F401  (fixture)


def test_renewal_needs_the_window_new_outputs_a_fresh_run_and_a_confirmation(issued):  # noqa: F811
    c, sub_id, label_id = issued
    reg, store = c.wb.registry, c.wb.store
    until = dt.date.fromisoformat(reg.one("SELECT valid_until FROM labels WHERE id = ?", (label_id,))["valid_until"])
    early, inside = until - dt.timedelta(days=200), until - dt.timedelta(days=30)
    with pytest.raises(WorkbenchError) as too_early:
        renewal.renew(reg, c.secretary, label_id, "routine", today=early)
    assert too_early.value.key == renewal.NOT_YET
    state = renewal.readiness(reg, c.secretary, label_id, today=inside)
    assert state.window_open and state.tests_needed and not state.ready
    assert state.missing() == ["staff.renew_need_outputs", "staff.renew_need_confirmation"]
    with pytest.raises(WorkbenchError):
        renewal.renew(reg, c.secretary, label_id, "routine", today=inside)
    with pytest.raises(WorkbenchError):  # a reviewer cannot confirm before the fresh test
        renewal.confirm(reg, c.r1, label_id, "fine", today=inside)
    # The same outputs again are not "new".
    rows = EARLY_WARNING.read_bytes().splitlines(keepends=True)
    fresh = b"".join(rows[:1] + rows[1:][::-1])  # the same students, a new file
    att = renewal.add_outputs(reg, c.vendor, label_id, fresh, "outputs-2027.csv", store=store, today=inside)
    assert renewal.readiness(reg, c.secretary, label_id, today=inside).missing() == [
        "staff.renew_need_run", "staff.renew_need_confirmation"]
    spec = AuditSpec(y_true="y_true", y_pred="y_pred", sensitive=["sex"], n_boot=200)
    fairness_runs.run_and_save(reg, c.r1, sub_id, att.id, spec, store=store)
    with pytest.raises(PermissionDenied):  # a reviewer not assigned to the tool
        from conftest import People  # noqa: F401

        outsider = c.secretary.model_copy(update={"role": c.r1.role, "user_id": 9999, "username": "x"})
        renewal.confirm(reg, outsider, label_id, "fine", today=inside)
    renewal.confirm(reg, c.r2, label_id, "Outputs re-tested; checklist still met", today=inside)
    state = renewal.readiness(reg, c.secretary, label_id, today=inside)
    assert state.ready and state.confirmed_by == "rev2"
    renewal.renew(reg, c.secretary, label_id, "Renewed after a fresh test", today=inside)
    actions = [e.action for e in reg.events("label", label_id)]
    assert actions[-2:] == ["label.renewal_confirmed", "label.renew"]
    new_until = reg.one("SELECT valid_until FROM labels WHERE id = ?", (label_id,))["valid_until"]
    assert dt.date.fromisoformat(new_until[:10]) > until
    # The next renewal starts from scratch.
    assert not renewal.readiness(reg, c.secretary, label_id, today=inside).ready


def test_what_is_new_since_the_issue_goes_by_the_log_order_not_the_clock(issued, monkeypatch):  # noqa: F811
    """Timestamps have whole seconds: outputs, a run and a confirmation made in the same second as
    the issue still come after it (found as a test that failed when the suite ran fast)."""
    import sys

    c, sub_id, label_id = issued
    reg, store = c.wb.registry, c.wb.store
    issued_at = reg.one("SELECT created_at FROM labels WHERE id = ?", (label_id,))["created_at"]
    for module in list(sys.modules.values()):  # the clock stands still at the issue's second
        if getattr(module, "__name__", "").startswith("workbench.") and hasattr(module, "now_iso"):
            monkeypatch.setattr(module, "now_iso", lambda: issued_at)
    until = dt.date.fromisoformat(reg.one("SELECT valid_until FROM labels WHERE id = ?", (label_id,))["valid_until"])
    inside = until - dt.timedelta(days=30)
    rows = EARLY_WARNING.read_bytes().splitlines(keepends=True)
    att = renewal.add_outputs(reg, c.vendor, label_id, b"".join(rows[:1] + rows[1:][::-1]), "outputs-2027.csv",
                              store=store, today=inside)
    assert renewal.readiness(reg, c.secretary, label_id, today=inside).new_outputs
    fairness_runs.run_and_save(reg, c.r1, sub_id, att.id, AuditSpec(y_true="y_true", y_pred="y_pred",
                                                                    sensitive=["sex"], n_boot=200), store=store)
    renewal.confirm(reg, c.r2, label_id, "Outputs re-tested", today=inside)
    state = renewal.readiness(reg, c.secretary, label_id, today=inside)
    assert state.fresh_run and state.confirmed_by == "rev2" and state.ready
    renewal.renew(reg, c.secretary, label_id, "Renewed after a fresh test", today=inside)
    after = renewal.readiness(reg, c.secretary, label_id, today=inside)  # the renewal starts a new period
    assert not (after.new_outputs or after.fresh_run or after.confirmed_by)

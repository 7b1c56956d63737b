"""The secretary's complaint queue: outcomes, events, the label suspension, atomicity, roles."""

from __future__ import annotations

import pytest

from workbench.public import complaints, visitor as public
from workbench.decision import labels
from workbench.errors import NotFound, PermissionDenied, WorkbenchError
from workbench.registry.models import PUBLIC
from workbench.services import Workbench

from test_decisions import TODAY, Committee


@pytest.fixture
def issued(home):
    wb = Workbench.open(home)
    wb.keys.ensure_demo()
    committee = Committee(wb)
    record = committee.decide(committee.at_committee())
    yield committee, record.label_id
    wb.close()


def file(reg, label_id=None, body="The tool marks Kazakh essays lower", source="browser-1", contact="parent@example.kz"):
    challenge = public.new_challenge(reg)
    return public.file_complaint(reg, PUBLIC, body=body, label_id=label_id, challenge_token=challenge.token,
                                 challenge_answer=str(challenge.a + challenge.b), source=source, contact=contact)


def test_queue_lists_open_first_with_the_label_status(issued):
    committee, label_id = issued
    reg, sec = committee.wb.registry, committee.secretary
    a = file(reg, label_id, source="a")
    b = file(reg, None, source="b")
    complaints.resolve_complaint(reg, sec, a.reference, "dismissed", "No breach found")
    queue = complaints.list_complaints(reg, sec)
    assert [c.reference for c in queue] == [b.reference, a.reference]
    assert [c.reference for c in complaints.list_complaints(reg, sec, status="open")] == [b.reference]
    closed = complaints.list_complaints(reg, sec, status="closed")[0]
    assert closed.label_status == "active" and closed.contact == "parent@example.kz"


@pytest.mark.parametrize("outcome,label_status,label_event", [
    ("dismissed", "active", None),
    ("re_review", "active", "label.re_review_requested"),
    ("suspension", "suspended", "label.suspend"),
])
def test_each_outcome_is_an_event_and_acts_on_the_label(issued, outcome, label_status, label_event):
    committee, label_id = issued
    reg, sec = committee.wb.registry, committee.secretary
    c = file(reg, label_id)
    done = complaints.resolve_complaint(reg, sec, c.reference, outcome, "Checked the answers", today=TODAY)
    assert (done.status, done.outcome, done.outcome_note) == ("closed", outcome, "Checked the answers")
    assert labels.get_label(reg, PUBLIC, label_id, TODAY).status == label_status
    events = [e.action for e in reg.events("complaint", c.reference)]
    assert events == ["complaint.filed", "complaint.resolved"]
    label_events = [e.action for e in reg.events("label", label_id)]
    if label_event:
        assert label_events[-1] == label_event
    else:
        assert label_events == ["label.issued"]
    assert reg.verify_log().ok
    # The complainant sees the outcome and the note, in Kazakh and Russian.
    seen = public.complaint_status(reg, PUBLIC, c.reference)
    assert c.reference in seen.status_text("kk") and "Checked the answers" in seen.status_text("ru")
    assert seen.status_text("kk") != seen.status_text("ru")


def test_suspension_reason_names_the_complaint(issued):
    committee, label_id = issued
    reg = committee.wb.registry
    c = file(reg, label_id)
    complaints.resolve_complaint(reg, committee.secretary, c.reference, "suspension", "Factual errors", today=TODAY)
    assert labels.get_label(reg, PUBLIC, label_id, TODAY).status_reason == f"{c.reference}: Factual errors"


def test_a_failed_suspension_changes_nothing(issued):
    committee, label_id = issued
    reg, sec = committee.wb.registry, committee.secretary
    labels.change_label(reg, sec, label_id, "revoke", "Data stored abroad", today=TODAY)
    c = file(reg, label_id)
    before = len(reg.events())
    with pytest.raises(WorkbenchError) as exc:
        complaints.resolve_complaint(reg, sec, c.reference, "suspension", "Also this", today=TODAY)
    assert exc.value.key == labels.BAD_CHANGE
    assert complaints.get_complaint(reg, sec, c.reference).status == "open"
    assert len(reg.events()) == before


@pytest.mark.parametrize("outcome,note,with_label,key", [
    ("ignore", "x", True, complaints.BAD_OUTCOME),
    ("dismissed", "  ", True, complaints.NEED_NOTE),
    ("re_review", "x", False, complaints.NEED_LABEL),
    ("suspension", "x", False, complaints.NEED_LABEL),
])
def test_bad_resolutions_are_refused(issued, outcome, note, with_label, key):
    committee, label_id = issued
    reg = committee.wb.registry
    c = file(reg, label_id if with_label else None)
    with pytest.raises(WorkbenchError) as exc:
        complaints.resolve_complaint(reg, committee.secretary, c.reference, outcome, note)
    assert exc.value.key == key
    assert complaints.get_complaint(reg, committee.secretary, c.reference).status == "open"


def test_a_complaint_is_resolved_once(issued):
    committee, label_id = issued
    reg = committee.wb.registry
    c = file(reg, label_id)
    complaints.resolve_complaint(reg, committee.secretary, c.reference, "dismissed", "No breach")
    with pytest.raises(WorkbenchError) as exc:
        complaints.resolve_complaint(reg, committee.secretary, c.reference, "suspension", "Changed my mind")
    assert exc.value.key == complaints.ALREADY_RESOLVED


def test_only_the_secretary_handles_complaints(issued):
    committee, label_id = issued
    reg = committee.wb.registry
    c = file(reg, label_id)
    for who in (PUBLIC, committee.vendor, committee.r1):
        with pytest.raises(PermissionDenied):
            complaints.list_complaints(reg, who)
        with pytest.raises(PermissionDenied):
            complaints.resolve_complaint(reg, who, c.reference, "dismissed", "x")
    assert complaints.get_complaint(reg, committee.secretary, c.reference).status == "open"


def test_unknown_reference(issued):
    committee, _ = issued
    with pytest.raises(NotFound) as exc:
        complaints.resolve_complaint(committee.wb.registry, committee.secretary, "C-2026-NOPE", "dismissed", "x")
    assert exc.value.key == public.NO_COMPLAINT


def test_public_status_never_shows_the_contact(issued):
    committee, label_id = issued
    reg = committee.wb.registry
    c = file(reg, label_id, contact="secret-contact@example.kz")
    complaints.resolve_complaint(reg, committee.secretary, c.reference, "dismissed", "No breach")
    assert "secret-contact" not in public.complaint_status(reg, PUBLIC, c.reference).model_dump_json()

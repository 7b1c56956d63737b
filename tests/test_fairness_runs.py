"""Fairness runs saved to a submission: frozen, hashed, refused on bad input, role-checked."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from workbench.review import fairness_runs
from workbench.intake import submissions as subs
from workbench.errors import NotFound, PermissionDenied, ValidationFailed
from workbench.fairness import AuditSpec
from workbench.intake.storage import FileStore

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture
def setup(reg, people, dossier, tmp_path):
    store = FileStore(tmp_path)
    sub = subs.create_submission(reg, people.vendor_a, dossier)
    data = (FIXTURES / "early_warning_outputs.csv").read_bytes()
    att = subs.add_attachment(reg, people.vendor_a, sub.id, data, "outputs.csv", purpose="outputs", store=store)
    doc = subs.add_attachment(reg, people.vendor_a, sub.id, b"%PDF-1.4\n%%EOF\n", "policy.pdf", purpose="document",
                              store=store)
    subs.submit(reg, people.vendor_a, sub.id)
    subs.screen(reg, people.secretary, sub.id, complete=True)
    subs.assign_reviewer(reg, people.secretary, sub.id, people.reviewer1.user_id)
    return reg, people, store, sub.id, att.id, doc.id


SPEC = AuditSpec(y_true="y_true", y_pred="y_pred", score="score", sensitive=["sex", "address"], n_boot=200)


def _runs(reg):
    return reg.one("SELECT count(*) AS n FROM fairness_runs")["n"]


def test_a_run_is_saved_frozen_and_hashed(setup):
    reg, people, store, sub_id, att_id, _ = setup
    run = fairness_runs.run_and_save(reg, people.reviewer1, sub_id, att_id, SPEC, store=store)
    assert run.result.input_sha256 == run.attachment_sha256
    stored = reg.one("SELECT result FROM fairness_runs WHERE id = ?", (run.id,))["result"]
    assert hashlib.sha256(stored.encode()).hexdigest() == run.result_hash
    with pytest.raises(sqlite3.IntegrityError):
        reg.conn.execute("UPDATE fairness_runs SET verdict = 'pass' WHERE id = ?", (run.id,))
    assert [e.action for e in reg.events("submission", sub_id)][-1] == "fairness.run_saved"
    again = fairness_runs.run_and_save(reg, people.reviewer1, sub_id, att_id, SPEC, store=store)
    assert again.result_hash == run.result_hash, "seeded: the same inputs give the same result"
    assert [r.id for r in fairness_runs.latest_runs(reg, people.secretary, sub_id)] == [again.id]
    # the vendor sees the results of its own submission
    assert fairness_runs.list_runs(reg, people.vendor_a, sub_id)[0].verdict == run.verdict


@pytest.mark.parametrize("spec", [
    AuditSpec(y_true="no_such_column", y_pred="y_pred", sensitive=["sex"]),
    AuditSpec(y_true="y_true", y_pred="sex", sensitive=["address"]),  # labels that are not binary numbers
    AuditSpec(y_true="y_true", y_pred="y_pred", sensitive=["missing_feature"]),
])
def test_bad_mapping_is_refused_and_nothing_saved(setup, spec):
    reg, people, store, sub_id, att_id, _ = setup
    before = _runs(reg)
    with pytest.raises(ValidationFailed) as exc:
        fairness_runs.run_and_save(reg, people.reviewer1, sub_id, att_id, spec, store=store)
    assert exc.value.problems and exc.value.translate("ru") != exc.value.translate("kk")
    assert _runs(reg) == before


def test_a_document_is_not_an_output_file(setup):
    reg, people, store, sub_id, _, doc_id = setup
    with pytest.raises(NotFound) as exc:
        fairness_runs.run_and_save(reg, people.reviewer1, sub_id, doc_id, SPEC, store=store)
    assert exc.value.key == fairness_runs.NOT_OUTPUTS


def test_who_may_run(setup):
    reg, people, store, sub_id, att_id, _ = setup
    with pytest.raises(PermissionDenied):
        fairness_runs.run_and_save(reg, people.vendor_a, sub_id, att_id, SPEC, store=store)
    with pytest.raises(NotFound):
        fairness_runs.run_and_save(reg, people.reviewer2, sub_id, att_id, SPEC, store=store)
    with pytest.raises(NotFound):
        fairness_runs.list_runs(reg, people.vendor_b, sub_id)
    assert _runs(reg) == 0

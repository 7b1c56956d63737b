"""What anyone may do without an account: search labels, read a label's page, file a complaint.

Search runs in SQLite with the label's *effective* status (expiry derived from the date),
so filtering, sorting, counting and paging all happen in SQL. Free text goes through the
registry's FTS5 index (``workbench.registry.search``: name, vendor, descriptions, purpose, and the
scope in three languages, Kazakh and Russian folding, prefix matching); the sort keys and
scope strings live beside it in ``label_search_keys``, kept in step by triggers on
``labels``. That keeps every search free of per-row Python calls: p95 well under 50 ms at
10,000 labels (``benchmarks/bench_search.py``).

Complaints are protected against floods by a per-source rate limit and a small arithmetic
challenge whose answer is checked here, below the UI.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from typing import Any

from pydantic import BaseModel, Field

from ..registry import search
from ..registry.db import Registry
from ..errors import NotFound, ValidationFailed, WorkbenchError
from ..i18n import format_date, format_number, t
from ..registry.models import Actor, utcnow
from ..registry.permissions import require
from ..registry.search import ALL_SUBJECTS, fold, sort_key

NO_LABEL = "public.no_label"
EMPTY_COMPLAINT = "public.empty_complaint"
COMPLAINT_TOO_LONG = "public.complaint_too_long"
BAD_CHALLENGE = "public.bad_challenge"
TOO_MANY = "public.too_many_complaints"
NO_COMPLAINT = "public.no_complaint"
COMPLAINT_INVALID = "public.complaint_invalid"
BAD_SORT = "pub.error.bad_sort"

MAX_COMPLAINT_CHARS = 5000
COMPLAINTS_PER_HOUR = 3
#: The most results one search returns: public pages must stay light on slow links.
MAX_PAGE = 200

#: Label statuses a school may meet; "expired" is derived from the validity date.
LABEL_STATUSES = ("active", "suspended", "revoked", "expired", "superseded")
TIERS = ("high", "limited", "minimal")

_EFFECTIVE = "(CASE WHEN l.status = 'active' AND substr(l.valid_until, 1, 10) < :today THEN 'expired' ELSE l.status END)"

#: sort name -> ORDER BY clause. A table, so a new order is one row and one test case.
SORTS: dict[str, str] = {
    "tool": "k.tool_key, k.id",
    "vendor": "k.vendor_key, k.tool_key, k.id",
    "newest": "l.valid_from DESC, l.id DESC",
    "expiry": "l.valid_until, l.id",
    "tier": "CASE l.tier WHEN 'high' THEN 0 WHEN 'limited' THEN 1 ELSE 2 END, k.tool_key, k.id",
}


def _prepare(reg: Registry) -> None:
    """Bring the search index up to date with the labels (only changed labels are re-read)."""
    search.refresh(reg)


class LabelView(BaseModel):
    id: str
    tool_name: str
    tool_version: str
    vendor: str
    tier: str
    scope: dict[str, Any]
    conditions: list[str]
    valid_from: str
    valid_until: str
    status: str
    status_reason: str = ""
    submission_id: int
    pdf_sha256: str | None = None


def effective_status(stored: str, valid_until: str, today: dt.date | None = None) -> str:
    """Expiry is derived when read, so no scheduler is needed."""
    today = today or utcnow().date()
    if stored == "active" and dt.date.fromisoformat(valid_until[:10]) < today:
        return "expired"
    return stored


def _label(row: dict, today: dt.date | None = None) -> LabelView:
    return LabelView(
        id=row["id"], tool_name=row["tool_name"], tool_version=row["tool_version"], vendor=row["vendor"],
        tier=row["tier"], scope=json.loads(row["scope"]), conditions=json.loads(row["conditions"]),
        valid_from=row["valid_from"], valid_until=row["valid_until"],
        status=effective_status(row["status"], row["valid_until"], today), status_reason=row["status_reason"],
        submission_id=row["submission_id"], pdf_sha256=row["pdf_sha256"],
    )


class Query(BaseModel):
    """One registry search: every filter is optional and they all must hold."""

    text: str = ""
    vendor: str = ""
    tier: str | None = None
    status: str | None = None
    language: str | None = None
    subject: str = ""
    grade: int | None = None
    sort: str = "tool"


def _where(q: Query, today: dt.date) -> tuple[str, dict[str, Any]]:
    """The WHERE clause over ``labels l JOIN label_search_keys k``: plain SQL, no Python per row."""
    where: list[str] = []
    params: dict[str, Any] = {"today": today.isoformat()}
    if q.text.strip():
        match = search.match_query(q.text)
        if match is None:  # only punctuation: nothing can match it
            where.append("0")
        else:
            where.append("k.n IN (SELECT rowid FROM label_fts WHERE label_fts MATCH :text)")
            params["text"] = match
    if q.vendor.strip():
        where.append("instr(k.vendor_key, :vendor) > 0")
        params["vendor"] = sort_key(q.vendor.strip())
    if q.tier:
        where.append("l.tier = :tier")
        params["tier"] = q.tier
    if q.status:
        where.append(f"{_EFFECTIVE} = :status")
        params["status"] = q.status
    if q.language:
        where.append("instr(k.langs, :language) > 0")
        params["language"] = f",{q.language},"
    if q.subject.strip():
        alls = " OR ".join(f"instr(k.subjects, :all{i}) > 0" for i in range(len(ALL_SUBJECTS)))
        where.append(f"(instr(k.subjects, :subject) > 0 OR {alls})")
        params["subject"] = fold(q.subject.strip())
        params.update({f"all{i}": f"\n{s}\n" for i, s in enumerate(ALL_SUBJECTS)})
    if q.grade is not None:
        where.append("instr(k.grades, :grade) > 0")
        params["grade"] = f",{int(q.grade)},"
    return (" WHERE " + " AND ".join(where)) if where else "", params


_FROM = " FROM labels l JOIN label_search_keys k ON k.id = l.id"


def search_labels(reg: Registry, actor: Actor, *, text: str = "", tier: str | None = None,
                  status: str | None = None, language: str | None = None, subject: str = "",
                  grade: int | None = None, sort: str = "tool", limit: int = MAX_PAGE,
                  today: dt.date | None = None, vendor: str = "", offset: int = 0) -> list[LabelView]:
    """Labels matching every given filter, one page of them.

    Parameters
    ----------
    text:
        Words that each start a word of the tool's name, vendor, label ID, descriptions,
        purpose, or its subjects, grades, languages and tier in any of the three languages;
        case, diacritics and Kazakh letters folded (``workbench.registry.search``).
    tier, status, language:
        Exact codes; ``status`` is the effective status (an active label past its date
        is ``expired``).
    subject:
        Part of a subject name; labels for "all subjects" match every subject.
    grade:
        A grade the label's scope covers (0 to 12).
    sort:
        A key of ``SORTS``: tool, vendor, newest, expiry, tier.
    limit, offset:
        The page; ``limit`` is capped at ``MAX_PAGE``.
    vendor:
        Part of the vendor's name.

    Returns
    -------
    list[LabelView]
        At most ``limit`` labels, in the chosen order.
    """
    require(actor, "registry.search")
    if sort not in SORTS:
        raise WorkbenchError(BAD_SORT, sort=sort, allowed=", ".join(SORTS))
    _prepare(reg)
    today = today or utcnow().date()
    q = Query(text=text, vendor=vendor, tier=tier, status=status, language=language, subject=subject,
              grade=grade, sort=sort)
    where, params = _where(q, today)
    params.update(limit=max(0, min(int(limit), MAX_PAGE)), offset=max(0, int(offset)))
    rows = reg.query(f"SELECT l.*{_FROM}{where} ORDER BY {SORTS[sort]} LIMIT :limit OFFSET :offset", params)
    return [_label(r, today) for r in rows]


def count_labels(reg: Registry, actor: Actor, *, text: str = "", tier: str | None = None,
                 status: str | None = None, language: str | None = None, subject: str = "",
                 grade: int | None = None, vendor: str = "", today: dt.date | None = None) -> int:
    """How many labels ``search_labels`` would find with the same filters (for paging)."""
    require(actor, "registry.search")
    _prepare(reg)
    today = today or utcnow().date()
    where, params = _where(Query(text=text, vendor=vendor, tier=tier, status=status, language=language,
                                 subject=subject, grade=grade), today)
    return int(reg.one(f"SELECT count(*) AS n{_FROM}{where}", params)["n"])


class Facets(BaseModel):
    """Values the registry's filters can offer (so a page shows choices, not a blank box)."""

    subjects: list[str] = Field(default_factory=list)
    grades: list[int] = Field(default_factory=list)
    vendors: list[str] = Field(default_factory=list)


def facets(reg: Registry, actor: Actor) -> Facets:
    """Distinct subjects, grades and vendors found in the labels' scopes.

    Kept per connection until a label is added: a label's scope and vendor never change.
    """
    require(actor, "registry.search")
    _prepare(reg)
    count = reg.one("SELECT count(*) AS n FROM labels")["n"]
    cached = getattr(reg, "_pub_facets", None)
    if cached is not None and cached[0] == count:
        return cached[1]
    subjects = reg.query("SELECT DISTINCT j.value AS v FROM labels, json_each(labels.scope, '$.subjects') j")
    grades = reg.query("SELECT DISTINCT j.value AS v FROM labels, json_each(labels.scope, '$.grades') j ORDER BY 1")
    vendors = reg.query("SELECT DISTINCT vendor AS v FROM labels")
    result = Facets(subjects=sorted((r["v"] for r in subjects), key=sort_key), grades=[int(r["v"]) for r in grades],
                    vendors=sorted((r["v"] for r in vendors), key=sort_key))
    reg._pub_facets = (count, result)  # type: ignore[attr-defined]
    return result


def get_label(reg: Registry, actor: Actor, label_id: str, today: dt.date | None = None) -> LabelView:
    require(actor, "label.view")
    row = reg.one("SELECT * FROM labels WHERE id = ?", ((label_id or "").strip().upper(),))
    if row is None:
        raise NotFound(NO_LABEL, id=(label_id or "").strip())
    return _label(row, today)


# -- a label's public page -----------------------------------------------------------------

class VersionEntry(BaseModel):
    """One labelled version of the tool, for the label page's history."""

    label_id: str
    tool_version: str
    valid_from: str
    valid_until: str
    status: str
    current: bool = False


class LabelPage(BaseModel):
    """Everything a school or a parent reads about one label, public facts only."""

    label: LabelView
    description: dict[str, str] = Field(default_factory=dict)
    decision_mode: str = ""
    users: list[str] = Field(default_factory=list)
    data_categories: list[str] = Field(default_factory=list)
    purpose: dict[str, str] = Field(default_factory=dict)
    history: list[VersionEntry] = Field(default_factory=list)
    has_pdf: bool = False
    pdf_file_name: str | None = None
    days_left: int = 0

    def describe(self, lang: str) -> str:
        """What the tool does, in ``lang`` when the vendor wrote it, else in another language."""
        return (self.description.get(lang) or self.description.get("kk") or self.description.get("ru")
                or self.description.get("en") or "")

    def scope_lines(self, lang: str) -> list[str]:
        """Plain-language sentences: who may use it, for what, in which languages."""
        scope, lines = self.label.scope, []
        grades = scope.get("grades") or []
        if grades:
            lines.append(t("pub.scope.grades", lang, grades=_grade_span(grades)))
        if scope.get("subjects"):
            lines.append(t("pub.scope.subjects", lang,
                           subjects=", ".join(search.subject_name(s, lang) for s in scope["subjects"])))
        if scope.get("languages"):
            names = [t(f"lang.{c}", lang) if c in ("kk", "ru", "en", "other") else c for c in scope["languages"]]
            lines.append(t("pub.scope.languages", lang, languages=", ".join(names)))
        if self.decision_mode:
            lines.append(t(f"pub.decision_mode.{self.decision_mode}", lang))
        if not lines:
            lines.append(t("pub.scope.none", lang))
        return lines

    def condition_lines(self, lang: str) -> list[str]:
        """The conditions of use, or a sentence saying there are none."""
        if not self.label.conditions:
            return [t("pub.conditions.none", lang)]
        return [t("pub.conditions.intro", lang, n=len(self.label.conditions))] + self.conditions(lang)

    def conditions(self, lang: str) -> list[str]:
        """The conditions, each in ``lang`` when the committee wrote it in the three languages."""
        return [in_reader_language(c, lang) for c in self.label.conditions]

    def validity_line(self, lang: str) -> str:
        """Valid from and until, with the days left or how long ago it ended."""
        start, end = format_date(self.label.valid_from, lang), format_date(self.label.valid_until, lang)
        if self.label.status in ("suspended", "revoked", "superseded"):
            # Counting days left would suggest a label that is not in force still is.
            return t("pub.validity.range", lang, start=start, end=end)
        if self.days_left >= 0:
            return t("pub.validity.left", lang, start=start, end=end, days=format_number(self.days_left, lang))
        return t("pub.validity.ended", lang, start=start, end=end)

    def status_line(self, lang: str) -> str:
        """The status in words, with the reason the committee gave for a change."""
        status = t(f"label_status.{self.label.status}", lang)
        reason = in_reader_language(self.label.status_reason.strip(), lang)
        if self.label.status == "superseded" and reason:
            return t("pub.status.superseded_by", lang, status=status, id=reason)
        if reason and self.label.status in ("suspended", "revoked"):
            return t("pub.status.with_reason", lang, status=status, reason=reason)
        return t(f"pub.status.explain.{self.label.status}", lang, status=status)


def _grade_span(grades: list[int]) -> str:
    """``[1, 2, 3, 5]`` -> ``1–3, 5``: ranges read faster than lists."""
    grades = sorted({int(g) for g in grades})
    parts, start = [], grades[0]
    for prev, cur in zip(grades, grades[1:] + [None]):
        if cur is None or cur != prev + 1:
            parts.append(str(start) if start == prev else f"{start}–{prev}")
            start = cur
    return ", ".join(parts)


def _chain(reg: Registry, submission_id: int) -> list[int]:
    """Submission ids of every version of the tool, oldest first (both directions)."""
    ids = [submission_id]
    row = reg.one("SELECT previous_id FROM submissions WHERE id = ?", (submission_id,))
    while row and row["previous_id"] is not None and row["previous_id"] not in ids:
        ids.insert(0, row["previous_id"])
        row = reg.one("SELECT previous_id FROM submissions WHERE id = ?", (row["previous_id"],))
    frontier = [submission_id]
    while frontier:
        nxt = [r["id"] for r in reg.query(
            f"SELECT id FROM submissions WHERE previous_id IN ({', '.join('?' for _ in frontier)}) ORDER BY id",
            tuple(frontier)) if r["id"] not in ids]
        ids += nxt
        frontier = nxt
    return ids


def label_page(reg: Registry, actor: Actor, label_id: str, today: dt.date | None = None) -> LabelPage:
    """A label's public page: scope, conditions, validity, status, history and the PDF's presence.

    Only public facts of the dossier are read (descriptions, decision mode, user groups,
    data categories); nothing the vendor told the committee in confidence.
    """
    today = today or utcnow().date()
    label = get_label(reg, actor, label_id, today)
    sub = reg.one("SELECT dossier FROM submissions WHERE id = ?", (label.submission_id,))
    dossier = json.loads(sub["dossier"]) if sub else {}
    chain = _chain(reg, label.submission_id)
    rows = reg.query(f"SELECT * FROM labels WHERE submission_id IN ({', '.join('?' for _ in chain)})", tuple(chain))
    order = {sid: i for i, sid in enumerate(chain)}
    rows.sort(key=lambda r: (order[r["submission_id"]], r["valid_from"], r["id"]))
    history = [VersionEntry(label_id=r["id"], tool_version=r["tool_version"], valid_from=r["valid_from"],
                            valid_until=r["valid_until"], current=r["id"] == label.id,
                            status=effective_status(r["status"], r["valid_until"], today)) for r in rows]
    pdf = reg.one("SELECT file_name FROM audit_pdfs WHERE label_id = ?", (label.id,))
    return LabelPage(
        label=label, history=history, has_pdf=pdf is not None, pdf_file_name=pdf["file_name"] if pdf else None,
        description={lang: dossier.get(f"description_{lang}", "") for lang in ("kk", "ru", "en")
                     if dossier.get(f"description_{lang}")},
        decision_mode=dossier.get("decision_mode", ""), users=list(dossier.get("users", [])),
        purpose={lang: in_language(dossier, "intended_purpose", lang) for lang in ("kk", "ru", "en")},
        data_categories=list(dossier.get("data_categories", [])),
        days_left=(dt.date.fromisoformat(label.valid_until[:10]) - today).days,
    )


#: The committee writes a condition in three languages as "kk / ru / en" (one text, three parts).
TRILINGUAL_SEPARATOR = " / "


def in_reader_language(text: str, lang: str) -> str:
    """The reader's part of a "kk / ru / en" text; any other text as written."""
    parts = [p.strip() for p in text.split(TRILINGUAL_SEPARATOR)]
    if len(parts) == 3 and all(parts) and lang in ("kk", "ru", "en"):
        return parts[("kk", "ru", "en").index(lang)]
    return text


def in_language(dossier: dict, field: str, lang: str) -> str:
    """A free-text field of the dossier in ``lang`` when the vendor wrote it, else as written."""
    return (dossier.get(f"{field}_{lang}") or dossier.get(field) or "").strip()


def label_pdf_file(reg: Registry, actor: Actor, label_id: str) -> tuple[str, bytes] | None:
    """The label's signed audit PDF as (file name, bytes), or None if none was stored."""
    label = get_label(reg, actor, label_id)
    row = reg.one("SELECT file_name, pdf FROM audit_pdfs WHERE label_id = ?", (label.id,))
    return (row["file_name"], row["pdf"]) if row else None


# -- complaints -------------------------------------------------------------------------

class Challenge(BaseModel):
    a: int
    b: int
    token: str


def new_challenge(reg: Registry, source: str | None = None) -> Challenge:
    """A small sum for the complaint form; single use, kept server-side (``complaints``)."""
    from .complaints import issue_challenge

    a, b, token = issue_challenge(reg, source)
    return Challenge(a=a, b=b, token=token)


class ComplaintView(BaseModel):
    reference: str
    label_id: str | None
    tool_name: str
    status: str
    outcome: str | None
    outcome_note: str
    created_at: str

    def status_text(self, lang: str) -> str:
        """The status in words and, once resolved, what the committee decided and why."""
        status = t(f"complaint_status.{self.status}", lang)
        if self.outcome is None:
            return t("complaint.status_line", lang, reference=self.reference, status=status)
        text = t(f"pub.complaint.outcome_public.{self.outcome}", lang, reference=self.reference)
        return text + (" " + t("pub.complaint.note", lang, note=self.outcome_note) if self.outcome_note else "")


def file_complaint(reg: Registry, actor: Actor, *, body: str, challenge_token: str, challenge_answer: str,
                   source: str, label_id: str | None = None, tool_name: str = "", contact: str = "",
                   now: dt.datetime | None = None) -> ComplaintView:
    """Record a complaint and return its reference number. ``source`` identifies the
    sender for the rate limit (a browser session); only its hash is stored."""
    require(actor, "complaint.file")
    now = now or utcnow()
    body = (body or "").strip()
    problems = []
    if not body:
        problems.append(WorkbenchError(EMPTY_COMPLAINT))
    if len(body) > MAX_COMPLAINT_CHARS:
        problems.append(WorkbenchError(COMPLAINT_TOO_LONG, max=MAX_COMPLAINT_CHARS))
    if label_id:
        label_id = label_id.strip().upper()
        if reg.one("SELECT id FROM labels WHERE id = ?", (label_id,)) is None:
            problems.append(WorkbenchError(NO_LABEL, id=label_id))
    from .complaints import redeem_challenge
    from ..textsafe import clean_name, clean_text

    # The challenge is spent only once the rest is valid, and only once (server-side token).
    if not problems and not redeem_challenge(reg, challenge_token, challenge_answer, now=now):
        problems.append(WorkbenchError(BAD_CHALLENGE))
    if problems:
        raise ValidationFailed(COMPLAINT_INVALID, problems=problems)
    body, tool_name, contact = clean_text(body), clean_name(tool_name), clean_name(contact)
    source_hash = hashlib.sha256(source.encode()).hexdigest()
    since = (now - dt.timedelta(hours=1)).isoformat()
    reference = f"C-{now.year}-{secrets.token_hex(3).upper()}"
    with reg.transaction():  # count and insert under one write lock: parallel posts cannot pass the limit
        recent = reg.one("SELECT count(*) AS n FROM complaints WHERE source_hash = ? AND created_at > ?",
                         (source_hash, since))["n"]
        if recent >= COMPLAINTS_PER_HOUR:
            raise WorkbenchError(TOO_MANY, limit=COMPLAINTS_PER_HOUR)
        reg.insert("complaints", {"reference": reference, "label_id": label_id or None,
                                  "tool_name": tool_name.strip()[:200], "body": body, "contact": contact.strip()[:200],
                                  "created_at": now.isoformat(), "source_hash": source_hash})
        reg.record(actor, "complaint.filed", "complaint", reference,
                   {"label_id": label_id, "body_sha256": hashlib.sha256(body.encode()).hexdigest()})
    return complaint_status(reg, actor, reference)


def complaint_status(reg: Registry, actor: Actor, reference: str) -> ComplaintView:
    require(actor, "complaint.track")
    row = reg.one("SELECT * FROM complaints WHERE reference = ?", ((reference or "").strip().upper(),))
    if row is None:
        raise NotFound(NO_COMPLAINT, reference=(reference or "").strip())
    return ComplaintView(**{k: row[k] for k in ComplaintView.model_fields})


__all__ = ["LabelView", "LabelPage", "VersionEntry", "Facets", "ComplaintView", "Challenge", "search_labels",
           "count_labels", "facets", "get_label", "label_page", "label_pdf_file", "effective_status",
           "new_challenge", "file_complaint", "complaint_status", "fold", "sort_key", "LABEL_STATUSES", "TIERS",
           "SORTS", "MAX_PAGE", "ALL_SUBJECTS"]

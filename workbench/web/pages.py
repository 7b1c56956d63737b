"""What each public page shows: one function per page, returning the template's context.

The live server (``routes``) and the static mirror (``publish``) call the same functions
with the same arguments, so each page has one implementation. Nothing here knows about
HTTP; every function calls ``workbench`` services as the public actor.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from ..public import consent, monitoring as mon, visitor as public
from ..aftercare import label_state
from ..decision import labels
from ..registry.db import Registry
from ..errors import NotFound
from ..i18n import LANGUAGES, t
from ..registry.models import PUBLIC, utcnow
from ..registry.search import subject_name

PAGE_SIZE = 20
STATUS_ORDER = ("active", "suspended", "expired", "revoked", "superseded")


@dataclass
class RegistryQuery:
    """The registry page's filters, read from the address (every one optional)."""

    q: str = ""
    tier: str | None = None
    subject: str = ""
    grade: int | None = None
    status: str | None = None
    page: int = 1

    @classmethod
    def parse(cls, params) -> "RegistryQuery":
        """Read untrusted query parameters; an unknown value is ignored, never an error page."""
        def pick(name: str, allowed) -> str | None:
            value = (params.get(name) or "").strip()
            return value if value in allowed else None

        try:
            grade = int(params.get("grade") or "")
            grade = grade if 0 <= grade <= 12 else None
        except ValueError:
            grade = None
        try:
            page = max(1, min(int(params.get("page") or 1), 10_000))
        except ValueError:
            page = 1
        return cls(q=(params.get("q") or "").strip()[:200], tier=pick("tier", public.TIERS),
                   subject=(params.get("subject") or "").strip()[:100], grade=grade,
                   status=pick("status", public.LABEL_STATUSES), page=page)

    def filters(self) -> dict[str, Any]:
        return dict(text=self.q, tier=self.tier, subject=self.subject, grade=self.grade, status=self.status)

    def params(self, **change) -> dict[str, Any]:
        """The address parameters of this search, with some changed (for paging links)."""
        values = dict(q=self.q, tier=self.tier, subject=self.subject, grade=self.grade, status=self.status,
                      page=self.page)
        values.update(change)
        return {k: v for k, v in values.items() if v not in (None, "") and not (k == "page" and v == 1)}

    @property
    def is_search(self) -> bool:
        return any(v not in (None, "") for v in (self.q, self.tier, self.subject, self.grade, self.status))


@dataclass
class Card:
    """One label in a list: what a parent needs to pick the right one."""

    id: str
    tool_name: str
    tool_version: str
    vendor: str
    tier: str
    status: str
    valid_until: str
    valid_from: str = ""
    subjects: list[str] = field(default_factory=list)
    grades: str = ""
    re_review_since: str = ""  # under re-review after a complaint, since this date


def _card(label: public.LabelView, lang: str, reviews: dict[str, label_state.ReReview] | None = None) -> Card:
    grades = label.scope.get("grades") or []
    review = _re_review(label, reviews or {})
    return Card(id=label.id, tool_name=label.tool_name, tool_version=label.tool_version, vendor=label.vendor,
                tier=label.tier, status=label.status, valid_until=label.valid_until, valid_from=label.valid_from,
                subjects=[subject_name(s, lang) for s in label.scope.get("subjects", [])],
                grades=public._grade_span(grades) if grades else "",
                re_review_since=review.since if review else "")


def _re_review(label: public.LabelView, reviews: dict[str, label_state.ReReview]) -> label_state.ReReview | None:
    """A re-review matters to a reader only while the label is in force or suspended."""
    return reviews.get(label.id) if label.status in ("active", "suspended") else None


def registry_context(reg: Registry, lang: str, query: RegistryQuery, *, today: dt.date | None = None) -> dict:
    """The search form, its choices, one page of results and the paging links."""
    found = public.facets(reg, PUBLIC)
    total = public.count_labels(reg, PUBLIC, **query.filters(), today=today)
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    page = min(query.page, pages)
    results = public.search_labels(reg, PUBLIC, **query.filters(), limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE,
                                   today=today)
    subjects = sorted({(s, subject_name(s, lang)) for s in found.subjects}, key=lambda p: public.sort_key(p[1]))
    reviews = label_state.re_reviews(reg, [r.id for r in results])
    return dict(query=query, total=total, page_no=page, pages=pages, cards=[_card(r, lang, reviews) for r in results],
                subjects=subjects, grades=found.grades, tiers=public.TIERS, statuses=STATUS_ORDER,
                prev_params=query.params(page=page - 1) if page > 1 else None,
                next_params=query.params(page=page + 1) if page < pages else None)


@dataclass
class CanUse:
    """The label page's "Can my school use this tool?" answer: yes, yes-with-conditions, or no."""

    answer: str  # "yes", "conditions", "review" (yes for now, under re-review), "no", "newer"
    headline: str
    lines: list[str]
    conditions: list[str]
    newer_id: str | None = None


def can_use(page: public.LabelPage, lang: str, re_review: label_state.ReReview | None = None) -> CanUse:
    """A label under re-review stays in force (SPEC: only suspension, revocation and expiry end
    it), so the answer is "yes, for now", with the date the committee started checking again."""
    label = page.label
    if label.status == "active" and re_review is not None:
        return CanUse(answer="review", headline=t("daily.can.re_review", lang, until=_date(label.valid_until, lang),
                                                  date=_date(re_review.since, lang)),
                      lines=[], conditions=page.conditions(lang))
    if label.status == "active":
        answer = "conditions" if label.conditions else "yes"
        return CanUse(answer=answer, headline=t(f"pubweb.can.{answer}", lang, until=_date(label.valid_until, lang)),
                      lines=[], conditions=page.conditions(lang))
    if label.status == "superseded" and label.status_reason:
        return CanUse(answer="newer", headline=t("pubweb.can.newer", lang, id=label.status_reason), lines=[],
                      conditions=[], newer_id=label.status_reason)
    reason = public.in_reader_language(label.status_reason.strip(), lang)
    lines = [t("pubweb.can.reason", lang, reason=reason)] if reason else []
    if re_review is not None and label.status == "suspended":
        lines.append(t("daily.can.re_review_suspended", lang, date=_date(re_review.since, lang)))
    return CanUse(answer="no", headline=t(f"pubweb.can.no.{label.status}", lang, until=_date(label.valid_until, lang)),
                  lines=lines, conditions=[])


def _date(value: str, lang: str) -> str:
    from ..i18n import format_date

    return format_date(value, lang)


def label_context(reg: Registry, lang: str, label_id: str, *, today: dt.date | None = None) -> dict:
    """A label's page: status at a glance, the can-my-school-use-it box, scope, conditions, history."""
    page = public.label_page(reg, PUBLIC, label_id, today=today)
    review = _re_review(page.label, label_state.re_reviews(reg, [page.label.id]))
    return dict(p=page, label=page.label, can=can_use(page, lang, review), description=page.describe(lang),
                re_review_line=t("daily.re_review.since", lang, date=_date(review.since, lang)) if review else "",
                validity=page.validity_line(lang), status_line=page.status_line(lang),
                consent_ok=page.label.status in consent.USABLE_STATUSES, consent_langs=LANGUAGES)


def verify_context(reg: Registry, keys, lang: str, *, label_id: str | None = None, pdf: bytes | None = None,
                   today: dt.date | None = None) -> dict:
    """The verification page; with a label ID or an uploaded PDF, the three answers."""
    result = None
    if pdf is not None:
        result = labels.verify_document(reg, PUBLIC, pdf, keys, today=today)
    elif label_id:
        result = labels.verify_label(reg, PUBLIC, label_id, keys, today=today)
    lines = []
    if result is not None:
        for line in result.explain(lang):  # each starts with ✔ or ✘
            ok = line.startswith("✔")
            lines.append((ok, line.lstrip("✔✘ ").strip()))
    re_review_line = ""
    if result is not None and result.label_id and result.label_status in ("active", "suspended"):
        review = label_state.re_reviews(reg, [result.label_id]).get(result.label_id)
        if review is not None:
            re_review_line = t("daily.verify.re_review", lang, date=_date(review.since, lang))
    return dict(result=result, lines=lines, label_id=label_id or "", re_review_line=re_review_line)


def complaint_context(reg: Registry, lang: str, *, label_id: str = "", reference: str = "",
                      filed: public.ComplaintView | None = None, errors: list[str] | None = None,
                      form: dict | None = None) -> dict:
    """The complaint form (with a fresh challenge) and, by reference, a complaint's status."""
    tracked = error_ref = None
    if reference:
        try:
            tracked = public.complaint_status(reg, PUBLIC, reference)
        except NotFound as exc:
            error_ref = exc.translate(lang)
    return dict(challenge=public.new_challenge(reg), label_id=label_id, reference=reference, tracked=tracked,
                tracked_text=tracked.status_text(lang) if tracked else "", error_ref=error_ref, filed=filed,
                errors=errors or [], form=form or {}, max_chars=public.MAX_COMPLAINT_CHARS)


# -- the dashboard ----------------------------------------------------------------------------

#: fixed colours per code, so "high" is the same red in every chart and language
PALETTE = {
    "tier": (mon.TIER_ORDER, "tier.", ("#B3261E", "#B07A00", "#1E7B34")),
    "outcome": (mon.OUTCOME_ORDER, "pub.outcome.", ("#1E7B34", "#5E8C2E", "#B3261E", "#6B7079")),
}


def bar_chart(df, x: str, y: str, colour: str, lang: str, title: str) -> Markup:
    """A stacked bar chart as inline SVG, built from numbers only (so it is safe markup).

    The table printed under each chart carries the same figures as text; the SVG has a
    title and a description for screen readers.
    """
    codes, prefix, colours = PALETTE[colour]
    xs = sorted({int(v) for v in df[x]})
    totals = {v: int(df[df[x] == v][y].sum()) for v in xs}
    top = max([1, *totals.values()])
    width, height, pad, bar = 40 + 70 * len(xs), 190, 24, 40
    parts = []
    for i, xv in enumerate(xs):
        base = height - pad
        for code, color in zip(codes, colours):
            value = int(df[(df[x] == xv) & (df[colour] == code)][y].sum())
            if not value:
                continue
            h = (height - 2 * pad) * value / top
            base -= h
            parts.append(f'<rect x="{40 + 70 * i}" y="{base:.1f}" width="{bar}" height="{h:.1f}" fill="{color}">'
                         f'<title>{xv}: {Markup.escape(t(prefix + code, lang))} {value}</title></rect>')
        parts.append(f'<text x="{40 + 70 * i + bar / 2}" y="{height - 6}" text-anchor="middle">{xv}</text>')
        parts.append(f'<text x="{40 + 70 * i + bar / 2}" y="{base - 4:.1f}" text-anchor="middle">{totals[xv]}</text>')
    legend = "".join(f'<span class="key"><svg width="12" height="12" aria-hidden="true"><rect width="12" height="12" '
                     f'fill="{c}"/></svg> {Markup.escape(t(prefix + code, lang))}</span>'
                     for code, c in zip(codes, colours))
    svg = (f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
           f'aria-label="{Markup.escape(title)}" class="chart"><line x1="30" x2="{width}" y1="{height - pad}" '
           f'y2="{height - pad}" stroke="#888"/>{"".join(parts)}</svg><p class="legend">{legend}</p>')
    return Markup(svg)


def dashboard_context(reg: Registry, lang: str, *, today: dt.date | None = None) -> dict:
    """The concept's indicator and the committee's figures: tiles, charts, tables."""
    m = mon.monitoring(reg, PUBLIC, today=today)
    tables = {}
    for name in mon.TABLES:
        df = getattr(m, name)
        shown = mon.table(df, name, lang)
        tables[name] = dict(columns=list(shown.columns), rows=shown.astype(str).values.tolist())
    charts = {}
    if not m.indicator.empty:
        charts["indicator"] = bar_chart(m.indicator, "year", "labels", "tier", lang, t("pub.dash.indicator", lang))
    if not m.decisions.empty:
        charts["decisions"] = bar_chart(m.decisions, "year", "decisions", "outcome", lang, t("pub.dash.decisions", lang))
    return dict(m=m, tables=tables, charts=charts)


def today() -> dt.date:
    return utcnow().date()


__all__ = ["RegistryQuery", "Card", "CanUse", "registry_context", "label_context", "verify_context",
           "complaint_context", "dashboard_context", "can_use", "bar_chart", "PAGE_SIZE", "STATUS_ORDER"]

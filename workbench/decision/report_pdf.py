"""The committee's audit PDF and the parent notification and consent form.

Both are drawn with reportlab's platypus from plain data (the models below), so the
renderer knows nothing about the database: the caller gathers the facts, already in the
chosen language where they are free text, and this module lays them out. Fixed text
(headings, column names, explanations) comes from the catalogue.

The DejaVu Sans font shipped in ``workbench/fonts/`` is embedded (as a subset with a
Unicode map), so Kazakh letters ә ғ қ ң ө ұ ү һ і render and can be copied out.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Callable, Iterable, Literal
from xml.sax.saxutils import escape

from pydantic import BaseModel, ConfigDict, Field
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Circle, Drawing, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from ..i18n import format_date, format_number, normalise_language, t
from .pdf_verify import LABEL_KEYWORD, LOG_HEAD_KEYWORD

FONTS_DIR = Path(__file__).parent.parent / "fonts"
FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"
_FRAME_PADDING = 12  # platypus frames keep 6 pt on each side; full-width tables must too

# Colours of the state flag (sky blue and gold) with a dark navy for text, the palette
# of the Academy's own documents.
NAVY = colors.HexColor("#1F3A5F")
SKY = colors.HexColor("#00A3C4")
GOLD = colors.HexColor("#E8B100")
GREY = colors.HexColor("#5F6B7A")
LIGHT = colors.HexColor("#EEF3F8")
_OUTCOME_COLOUR = {
    "pass": colors.HexColor("#D8F0DC"),
    "fail": colors.HexColor("#F8D7D5"),
    "inconclusive": colors.HexColor("#FFF0C2"),
    "too_small": colors.HexColor("#E4E7EB"),
}
_DECISION_COLOUR = {
    "approved": colors.HexColor("#1E7B34"),
    "approved_with_conditions": colors.HexColor("#8A6D00"),
    "rejected": colors.HexColor("#B3261E"),
    "returned": GREY,
}

Tier = Literal["prohibited", "high", "limited", "minimal"]
Outcome = Literal["pass", "fail", "inconclusive", "too_small"]
DecisionOutcome = Literal["approved", "approved_with_conditions", "rejected", "returned"]
LabelStatus = Literal["active", "suspended", "revoked", "expired", "superseded"]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ToolInfo(_Data):
    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    vendor: str = Field(min_length=1)
    description: str = ""


class PrincipleResult(_Data):
    """One principle's line of the checklist summary."""

    name: str
    score: float = Field(ge=0, le=100)
    meets: int = Field(0, ge=0)
    partly: int = Field(0, ge=0)
    not_met: int = Field(0, ge=0)
    not_applicable: int = Field(0, ge=0)
    blocking: list[str] = Field(default_factory=list)
    conditions: list[str] = Field(default_factory=list)


class FairnessCheck(_Data):
    """One disparity test with its interval and plain-language reason."""

    metric: str
    group: str
    value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    threshold: float | None = None
    outcome: Outcome
    reason: str = ""


class GroupRate(_Data):
    group: str
    value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int = Field(0, ge=0)


class RateChart(_Data):
    """Per-group values of one metric, drawn as bars with interval error bars."""

    title: str
    groups: list[GroupRate]
    reference: float | None = None


class Dissent(_Data):
    member: str
    reason: str


class DecisionInfo(_Data):
    outcome: DecisionOutcome
    date: dt.date
    votes_for: int = Field(0, ge=0)
    votes_against: int = Field(0, ge=0)
    votes_abstain: int = Field(0, ge=0)
    dissent: list[Dissent] = Field(default_factory=list)
    conditions: list[str] = Field(default_factory=list)
    grades: list[str] = Field(default_factory=list)
    subjects: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)


class LabelInfo(_Data):
    id: str = Field(min_length=1)
    status: LabelStatus
    valid_from: dt.date
    valid_until: dt.date
    verify_url: str = Field(min_length=1)


class EvidenceHash(_Data):
    name: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class GenaiRow(_Data):
    """One category in one language of the committee's generative-tool tests."""

    category: str
    language: str
    n: int = Field(0, ge=0)
    k: int = Field(0, ge=0)
    estimate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    outcome: Outcome
    by_reviewer: int = Field(0, ge=0)
    items: int = Field(0, ge=0)  # distinct prompts behind the n answers (the unit with --samples > 1)


class GenaiPaired(_Data):
    """One counterfactual comparison (fairness engine), e.g. girl vs boy on refusals."""

    attribute: str
    metric: str
    value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    outcome: Outcome
    reason: str = ""


class GenaiReport(_Data):
    """A stored run of the generative-tool suites (live or offline), with reviewers' ratings applied."""

    suite_version: str
    mode: str
    endpoint: str
    policy_version: str
    transcript_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    verdict: Outcome
    sentences: list[str] = Field(default_factory=list)
    rows: list[GenaiRow] = Field(default_factory=list)
    paired: list[GenaiPaired] = Field(default_factory=list)
    by_reviewer: int = Field(0, ge=0)
    needs_review: int = Field(0, ge=0)


class AuditReportData(_Data):
    """Everything an audit PDF shows, as plain data (free text already in the PDF's language)."""

    tool: ToolInfo
    tier: Tier
    tier_rationale: list[str] = Field(default_factory=list)
    principles: list[PrincipleResult] = Field(default_factory=list)
    fairness: list[FairnessCheck] = Field(default_factory=list)
    fairness_headlines: list[str] = Field(default_factory=list)  # one plain-words line per feature
    charts: list[RateChart] = Field(default_factory=list)
    genai: list[GenaiReport] = Field(default_factory=list)
    decision: DecisionInfo
    reviewers: list[str] = Field(default_factory=list)
    label: LabelInfo | None = None
    evidence: list[EvidenceHash] = Field(default_factory=list)
    generated_at: dt.datetime = Field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    # The event log's head when the PDF was signed, "<event id>:<sha256>": an anchor outside the database.
    log_head: str | None = Field(None, pattern=r"^\d+:[0-9a-f]{64}$")


class ConsentFormData(_Data):
    """What a parent must be told about one tool (road-map item 2.13), from the dossier."""

    tool_name: str = Field(min_length=1)
    tool_version: str = Field(min_length=1)
    vendor: str = Field(min_length=1)
    school: str | None = None
    description: str
    data_items: list[str] = Field(min_length=1)
    purpose: str
    processor: str
    storage_location: str
    retention: str
    contact: str
    withdraw_how: str | None = None
    label_id: str | None = None
    verify_url: str | None = None
    generated_on: dt.date = Field(default_factory=dt.date.today)


# --- fonts and styles --------------------------------------------------------------------


def register_fonts() -> None:
    """Register the shipped DejaVu fonts with reportlab (idempotent)."""
    from reportlab.lib.fonts import addMapping

    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    pdfmetrics.registerFont(TTFont(FONT, str(FONTS_DIR / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(FONTS_DIR / "DejaVuSans-Bold.ttf")))
    # <b> in paragraphs picks the bold face; there is no italic face, so italic stays upright.
    for bold, italic, face in ((0, 0, FONT), (1, 0, FONT_BOLD), (0, 1, FONT), (1, 1, FONT_BOLD)):
        addMapping(FONT, bold, italic, face)


def _styles(compact: bool = False) -> dict[str, ParagraphStyle]:
    # The consent form is printed and signed: a slightly smaller body keeps it on one sheet.
    size, leading = (8.8, 11.2) if compact else (9.5, 12.5)
    base = ParagraphStyle("base", fontName=FONT, fontSize=size, leading=leading, textColor=colors.black)
    return {
        "base": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10, textColor=GREY),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8.5, leading=10.5),
        "cell_head": ParagraphStyle("cell_head", parent=base, fontName=FONT_BOLD, fontSize=8, leading=10, textColor=NAVY),
        "cell_right": ParagraphStyle("cell_right", parent=base, fontSize=8.5, leading=10.5, alignment=TA_RIGHT),
        "hash": ParagraphStyle("hash", parent=base, fontSize=6.5, leading=8.5),
        "letterhead": ParagraphStyle("letterhead", parent=base, fontName=FONT_BOLD, fontSize=8.5, leading=11, textColor=NAVY, alignment=TA_CENTER),
        "committee": ParagraphStyle("committee", parent=base, fontSize=11, leading=14, alignment=TA_CENTER, textColor=NAVY),
        "title": ParagraphStyle("title", parent=base, fontName=FONT_BOLD, fontSize=17, leading=22, alignment=TA_CENTER, textColor=NAVY, spaceBefore=6, spaceAfter=6),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontSize=12.5, leading=16, alignment=TA_CENTER),
        "h1": ParagraphStyle("h1", parent=base, fontName=FONT_BOLD, fontSize=11.5 if compact else 13, leading=15 if compact else 16,
                             textColor=NAVY, spaceBefore=6 if compact else 10, spaceAfter=3 if compact else 5),
        "h2": ParagraphStyle("h2", parent=base, fontName=FONT_BOLD, fontSize=10, leading=13, textColor=NAVY, spaceBefore=6, spaceAfter=3),
        "bullet": ParagraphStyle("bullet", parent=base, leftIndent=12, bulletIndent=2),
        "right": ParagraphStyle("right", parent=base, alignment=TA_RIGHT),
        "left": ParagraphStyle("left", parent=base, alignment=TA_LEFT),
        "verdict": ParagraphStyle("verdict", parent=base, fontName=FONT_BOLD, fontSize=11, leading=14),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of *plain* text: user data must never be read as markup."""
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def _bullets(items: Iterable[str], st: dict[str, ParagraphStyle]) -> list[Paragraph]:
    return [Paragraph(escape(item), st["bullet"], bulletText="•") for item in items]


# --- page furniture ------------------------------------------------------------------------


def _numbered_canvas(footer: Callable[[int, int], str]) -> type[rl_canvas.Canvas]:
    """A canvas class that writes "page N of M" once the total is known."""

    class _Canvas(rl_canvas.Canvas):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self) -> None:  # noqa: N802 - reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self._draw_footer(total)
                super().showPage()
            super().save()

        def _draw_footer(self, total: int) -> None:
            width, _ = self._pagesize
            self.saveState()
            self.setStrokeColor(SKY)
            self.setLineWidth(0.6)
            self.line(18 * mm, 14 * mm, width - 18 * mm, 14 * mm)
            self.setFont(FONT, 7.5)
            self.setFillColor(GREY)
            right = footer(self._pageNumber, total)
            left = t("report.academy", self._lang)
            room = width - 36 * mm - 6 * mm
            # A long right-hand text (the consent form's) wins over the Academy's name.
            if self.stringWidth(left, FONT, 7.5) + self.stringWidth(right, FONT, 7.5) <= room:
                self.drawString(18 * mm, 10 * mm, left)
            self.drawRightString(width - 18 * mm, 10 * mm, right)
            self.restoreState()

    return _Canvas


def _emblem(size: float = 17 * mm) -> Drawing:
    """A plain roundel with the Academy's Kazakh initials; no state symbols are reproduced."""
    d = Drawing(size, size)
    c = size / 2
    d.add(Circle(c, c, c - 1, strokeColor=SKY, strokeWidth=2, fillColor=colors.white))
    d.add(Circle(c, c, c - 5, strokeColor=GOLD, strokeWidth=1.2, fillColor=None))
    d.add(String(c, c - 4.5, "ҰБА", fontName=FONT_BOLD, fontSize=size / 4.2, fillColor=NAVY, textAnchor="middle"))
    return d


def _letterhead(lang: str, st: dict[str, ParagraphStyle], width: float, emblem: float = 17 * mm) -> list[Flowable]:
    """Kazakh on the left, Russian on the right, as on the Academy's official forms."""
    left = [_p(t("report.ministry", "kk"), st["small"]), _p(t("report.academy", "kk"), st["letterhead"])]
    right = [_p(t("report.ministry", "ru"), st["small"]), _p(t("report.academy", "ru"), st["letterhead"])]
    for cell in (left, right):
        cell[0].style = ParagraphStyle("lh_small", parent=st["small"], alignment=TA_CENTER)
    emblem_w = emblem + 7 * mm
    table = Table([[left, _emblem(emblem), right]], colWidths=[(width - emblem_w) / 2, emblem_w, (width - emblem_w) / 2])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("ALIGN", (1, 0), (1, 0), "CENTER"),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),
                ("RIGHTPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    rule = Table([[""], [""], [""]], colWidths=[width], rowHeights=[1.8, 1.2, 1.0])
    rule.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), SKY),
                ("BACKGROUND", (0, 2), (-1, 2), GOLD),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    out: list[Flowable] = [table, Spacer(1, 2 * mm), rule]
    if lang == "en":
        out.append(Spacer(1, 1.5 * mm))
        out.append(_p(t("report.academy", "en"), ParagraphStyle("lh_en", parent=st["small"], alignment=TA_CENTER)))
    return out


def _qr(url: str, size: float = 32 * mm) -> Drawing:
    widget = QrCodeWidget(url, barLevel="M", barWidth=size, barHeight=size, barBorder=2)
    d = Drawing(size, size)
    d.add(widget)
    return d


def _grid(
    rows: list[list], widths: list[float], *, header: bool = True, extra: list | None = None, pad: float = 3
) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0)
    style = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#B8C4D2")),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ("TOPPADDING", (0, 0), (-1, -1), pad),
        ("BOTTOMPADDING", (0, 0), (-1, -1), pad),
    ]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), LIGHT))
    table.setStyle(TableStyle(style + (extra or [])))
    return table


def _doc(
    buf: io.BytesIO, *, title: str, subject: str, keywords: str, lang: str, top: float = 16 * mm
) -> SimpleDocTemplate:
    return SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=top,
        bottomMargin=20 * mm,
        title=title,
        author=t("report.academy", lang),
        subject=subject,
        creator="AI-safe Workbench",
        keywords=keywords,
        lang=lang,
    )


def _build(doc: SimpleDocTemplate, story: list[Flowable], lang: str, footer: Callable[[int, int], str]) -> None:
    maker = _numbered_canvas(footer)

    def canvasmaker(*args, **kwargs):
        c = maker(*args, **kwargs)
        c._lang = lang
        return c

    doc.build(story, canvasmaker=canvasmaker)


# --- numbers -------------------------------------------------------------------------------


def _num(value: float | None, lang: str) -> str:
    return format_number(value, lang, digits=2)


def _with_interval(value: float | None, low: float | None, high: float | None, lang: str) -> str:
    if value is None:
        return "—"
    if low is None or high is None:
        return _num(value, lang)
    return f"{_num(value, lang)} [{_num(low, lang)}; {_num(high, lang)}]"


def _nice_max(values: list[float]) -> float:
    top = max([v for v in values if v is not None] or [1.0])
    if top <= 1.0:
        return 1.0  # rates and ratios: keep the familiar 0–1 scale
    for step in (1.5, 2, 2.5, 3, 4, 5, 10, 20, 50, 100, 1000):
        if top <= step:
            return float(step)
    return top * 1.1


def _rate_chart(chart: RateChart, lang: str, width: float) -> Drawing:
    """Horizontal bars per group with the 95% interval as an error bar."""
    row_h, top_pad, bottom_pad = 16, 18, 22
    label_w, right_w = 42 * mm, 30 * mm
    plot_w = width - label_w - right_w
    height = top_pad + bottom_pad + row_h * max(len(chart.groups), 1)
    d = Drawing(width, height)
    d.add(String(0, height - 11, chart.title, fontName=FONT_BOLD, fontSize=9, fillColor=NAVY))
    scale_max = _nice_max(
        [g.ci_high if g.ci_high is not None else g.value for g in chart.groups] + [chart.reference]
    )
    x0, y_axis = label_w, bottom_pad

    def x(v: float) -> float:
        return x0 + plot_w * max(0.0, min(v, scale_max)) / scale_max

    # Axis with five ticks.
    d.add(Line(x0, y_axis, x0 + plot_w, y_axis, strokeColor=GREY, strokeWidth=0.6))
    for i in range(5):
        v = scale_max * i / 4
        d.add(Line(x(v), y_axis, x(v), height - top_pad, strokeColor=colors.HexColor("#E1E6EC"), strokeWidth=0.4))
        d.add(String(x(v), y_axis - 10, _num(v, lang), fontName=FONT, fontSize=7, fillColor=GREY, textAnchor="middle"))
    for i, g in enumerate(chart.groups):
        y = height - top_pad - row_h * (i + 1) + 3
        # The full group label, smaller when long (never dropped or cut to a prefix that hides the group).
        from reportlab.pdfbase.pdfmetrics import stringWidth

        size = max(5.0, min(7.5, 7.5 * (label_w - 6) / max(stringWidth(g.group, FONT, 7.5), 1)))
        text = g.group
        while stringWidth(text, FONT, size) > label_w - 6 and len(text) > 4:
            text = text[:-2] + "…"
        d.add(String(x0 - 4, y + 3, text, fontName=FONT, fontSize=size, textAnchor="end"))
        if g.value is not None:
            d.add(Rect(x0, y, x(g.value) - x0, row_h - 6, fillColor=SKY, strokeColor=None))
        if g.ci_low is not None and g.ci_high is not None:
            mid = y + (row_h - 6) / 2
            d.add(Line(x(g.ci_low), mid, x(g.ci_high), mid, strokeColor=colors.black, strokeWidth=1))
            for end in (g.ci_low, g.ci_high):
                d.add(Line(x(end), mid - 3.5, x(end), mid + 3.5, strokeColor=colors.black, strokeWidth=1))
        note = f"{_num(g.value, lang)}   n = {format_number(g.n, lang)}"
        d.add(String(x0 + plot_w + 6, y + 3, note, fontName=FONT, fontSize=7.5, fillColor=colors.black))
    if chart.reference is not None:
        xr = x(chart.reference)
        d.add(Line(xr, y_axis, xr, height - top_pad + 2, strokeColor=GOLD, strokeWidth=1.2, strokeDashArray=[3, 2]))
    return d


# --- the audit report ---------------------------------------------------------------------


def _title_page(data: AuditReportData, lang: str, st: dict, width: float) -> list[Flowable]:
    story: list[Flowable] = _letterhead(lang, st, width)
    story += [
        Spacer(1, 14 * mm),
        _p(t("report.committee", lang), st["committee"]),
        Spacer(1, 6 * mm),
        _p(t("report.title", lang), st["title"]),
        _p(t("report.subtitle", lang, tool=data.tool.name, version=data.tool.version), st["subtitle"]),
        Spacer(1, 8 * mm),
    ]
    number = data.label.id if data.label else t("report.no_number", lang)
    meta = Table(
        [[_p(t("report.doc_number", lang, number=number), st["left"]),
          _p(f"{t('report.city', lang)}, {format_date(data.decision.date, lang)}", st["right"])]],
        colWidths=[width / 2, width / 2],
    )
    meta.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0)]))
    story += [meta, Spacer(1, 5 * mm)]

    decision_style = ParagraphStyle(
        "dec", parent=st["verdict"], textColor=_DECISION_COLOUR[data.decision.outcome]
    )
    rows = [
        [_p(t("report.field.tool", lang), st["cell_head"]), _p(data.tool.name, st["cell"])],
        [_p(t("report.field.version", lang), st["cell_head"]), _p(data.tool.version, st["cell"])],
        [_p(t("report.field.vendor", lang), st["cell_head"]), _p(data.tool.vendor, st["cell"])],
        [_p(t("report.field.tier", lang), st["cell_head"]), _p(t(f"report.tier.{data.tier}", lang), st["cell"])],
        [_p(t("report.field.decision", lang), st["cell_head"]),
         _p(t(f"report.decision.{data.decision.outcome}", lang), decision_style)],
    ]
    if data.label:
        rows += [
            [_p(t("report.field.label", lang), st["cell_head"]), _p(data.label.id, st["cell"])],
            [_p(t("report.field.valid_until", lang), st["cell_head"]),
             _p(format_date(data.label.valid_until, lang), st["cell"])],
        ]
    qr_w = 38 * mm
    facts = _grid(rows, [38 * mm, width - qr_w - 38 * mm - 4 * mm], header=False)
    facts.hAlign = "LEFT"
    if data.label:
        qr_cell = [_qr(data.label.verify_url, 34 * mm), _p(t("report.qr_caption", lang),
                   ParagraphStyle("qrc", parent=st["small"], alignment=TA_CENTER))]
        box = Table([[facts, qr_cell]], colWidths=[width - qr_w, qr_w])
        box.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (1, 0), (1, 0), "CENTER"),
                                 ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
        story.append(box)
        note = t("report.signed_note", lang, url=data.label.verify_url)
    else:
        story.append(facts)
        note = t("report.unsigned_note", lang)
    story += [
        Spacer(1, 8 * mm),
        _p(note, st["base"]),
        Spacer(1, 3 * mm),
        _p(t("report.generated", lang, date=format_date(data.generated_at, lang)), st["small"]),
        PageBreak(),
    ]
    return story


def _section_tool(data: AuditReportData, lang: str, st: dict, width: float) -> list[Flowable]:
    rows = [
        [_p(t("report.field.tool", lang), st["cell_head"]), _p(data.tool.name, st["cell"])],
        [_p(t("report.field.version", lang), st["cell_head"]), _p(data.tool.version, st["cell"])],
        [_p(t("report.field.vendor", lang), st["cell_head"]), _p(data.tool.vendor, st["cell"])],
    ]
    if data.tool.description:
        rows.append([_p(t("report.field.description", lang), st["cell_head"]), _p(data.tool.description, st["cell"])])
    return [_grid(rows, [40 * mm, width - 40 * mm], header=False)]


def _section_risk(data: AuditReportData, lang: str, st: dict, width: float) -> list[Flowable]:
    out: list[Flowable] = [
        _p(f"{t('report.field.tier', lang)}: {t(f'report.tier.{data.tier}', lang)}", st["verdict"]),
        Spacer(1, 2 * mm),
        _p(t(f"report.tier_meaning.{data.tier}", lang), st["base"]),
    ]
    if data.tier_rationale:
        out += [Spacer(1, 2 * mm), _p(t("report.rationale_heading", lang), st["h2"])]
        out += _bullets(data.tier_rationale, st)
    return out


def _section_checklist(data: AuditReportData, lang: str, st: dict, width: float) -> list[Flowable]:
    if not data.principles:
        return [_p(t("report.checklist_empty", lang), st["base"])]
    head = ["report.col.principle", "report.col.score", "report.col.meets", "report.col.partly",
            "report.col.not_met", "report.col.not_applicable"]
    rows: list[list] = [[_p(t(k, lang), st["cell_head"]) for k in head]]
    for pr in data.principles:
        rows.append([
            _p(pr.name, st["cell"]),
            _p(format_number(round(pr.score), lang), st["cell_right"]),
            *[_p(format_number(n, lang), st["cell_right"]) for n in (pr.meets, pr.partly, pr.not_met, pr.not_applicable)],
        ])
    score_w, count_w = 15 * mm, 24 * mm  # wide enough for "Не выполнено" without breaking a word
    extra = []
    for i, pr in enumerate(data.principles, start=1):
        if pr.blocking:
            extra.append(("BACKGROUND", (0, i), (-1, i), _OUTCOME_COLOUR["fail"]))
    out: list[Flowable] = [
        _p(t("report.checklist_explainer", lang), st["small"]),
        Spacer(1, 2 * mm),
        _grid(rows, [width - score_w - 4 * count_w, score_w] + [count_w] * 4, extra=extra),
    ]
    blocking = [(pr.name, item) for pr in data.principles for item in pr.blocking]
    conditions = [(pr.name, item) for pr in data.principles for item in pr.conditions]
    for key, items in (("report.blocking_heading", blocking), ("report.checklist_conditions_heading", conditions)):
        if items:
            out.append(_p(t(key, lang), st["h2"]))
            out += _bullets([f"{name}: {item}" for name, item in items], st)
    return out


def _section_fairness(data: AuditReportData, lang: str, st: dict, width: float) -> list[Flowable]:
    if not data.fairness and not data.charts:
        return [_p(t("report.fairness_empty", lang), st["base"])]
    out: list[Flowable] = []
    if data.fairness_headlines:  # the verdict per sensitive feature in plain words, before any table
        out += [Paragraph(f"<b>{escape(line)}</b>", st["bullet"], bulletText="•") for line in data.fairness_headlines]
        out.append(Spacer(1, 2 * mm))
    out += [_p(t("report.fairness_explainer", lang) + " " + t("fairness.report.method_note", lang), st["small"]),
            Spacer(1, 3 * mm)]
    for chart in data.charts:
        out.append(KeepTogether([_rate_chart(chart, lang, width), Spacer(1, 3 * mm)]))
    if data.charts:
        caption = t("report.chart_caption", lang)
        if any(c.reference is not None for c in data.charts):
            caption += " " + t("report.chart_reference", lang) + "."
        out += [_p(caption, st["small"]), Spacer(1, 4 * mm)]
    if data.fairness:
        head = ["report.col.metric", "report.col.group", "report.col.value", "report.col.threshold", "report.col.outcome"]
        rows: list[list] = [[_p(t(k, lang), st["cell_head"]) for k in head]]
        extra = []
        for check in data.fairness:
            r = len(rows)
            rows.append([
                _p(check.metric, st["cell"]),
                _p(check.group, st["cell"]),
                _p(_with_interval(check.value, check.ci_low, check.ci_high, lang), st["cell"]),
                _p(_num(check.threshold, lang), st["cell_right"]),
                _p(t(f"report.outcome.{check.outcome}", lang), st["cell_head"]),
            ])
            extra.append(("BACKGROUND", (4, r), (4, r), _OUTCOME_COLOUR[check.outcome]))
            if check.reason:
                rows.append([_p(check.reason, st["small"]), "", "", "", ""])
                extra.append(("SPAN", (0, r + 1), (-1, r + 1)))
                extra.append(("NOSPLIT", (0, r), (-1, r + 1)))
                extra.append(("LINEABOVE", (0, r + 1), (-1, r + 1), 0, colors.white))
        widths = [44 * mm, 32 * mm, 42 * mm, 16 * mm]  # the rest for the verdict, which must not break
        out.append(_grid(rows, widths + [width - sum(widths)], extra=extra))
    return out


def _section_genai(data: AuditReportData, lang: str, st: dict, width: float) -> list[Flowable]:
    """The committee's own tests of a generative tool; empty (section left out) for other tools."""
    out: list[Flowable] = []
    for run in data.genai:
        out += [_p(t("genai.report.explainer", lang), st["small"]), Spacer(1, 2 * mm)]
        facts = [
            [_p(t("genai.report.suites", lang), st["cell_head"]), _p(run.suite_version, st["cell"])],
            [_p(t("genai.report.mode", lang), st["cell_head"]),
             _p(t(f"genai.report.mode_{run.mode}", lang) + f" · {run.endpoint}", st["cell"])],
            [_p(t("genai.report.policy", lang), st["cell_head"]), _p(run.policy_version, st["cell"])],
            [_p(t("genai.report.transcript", lang), st["cell_head"]), _p(run.transcript_sha256, st["hash"])],
            [_p(t("genai.report.verdict", lang), st["cell_head"]), _p(t(f"report.outcome.{run.verdict}", lang), st["cell_head"])],
        ]
        out += [_grid(facts, [40 * mm, width - 40 * mm], header=False,
                      extra=[("BACKGROUND", (1, 4), (1, 4), _OUTCOME_COLOUR[run.verdict])]), Spacer(1, 3 * mm)]
        out += _bullets(run.sentences, st)
        head = ["genai.report.col_category", "genai.report.col_language", "genai.report.col_share",
                "genai.report.col_people", "report.col.outcome"]
        rows: list[list] = [[_p(t(k, lang), st["cell_head"]) for k in head]]
        extra = []
        for row in run.rows:
            prompts = (" " + t("genai.plain.prompts", lang, n=row.items)) if 0 < row.items < row.n else ""
            rows.append([_p(row.category, st["cell"]), _p(row.language, st["cell"]),
                         _p(f"{row.k}/{row.n}{prompts} · " + _with_interval(row.estimate, row.ci_low, row.ci_high, lang),
                            st["cell"]),
                         _p(str(row.by_reviewer), st["cell_right"]),
                         _p(t(f"report.outcome.{row.outcome}", lang), st["cell_head"])])
            extra.append(("BACKGROUND", (4, len(rows) - 1), (4, len(rows) - 1), _OUTCOME_COLOUR[row.outcome]))
        widths = [44 * mm, 24 * mm, 52 * mm, 18 * mm]
        out += [Spacer(1, 2 * mm), _grid(rows, widths + [width - sum(widths)], extra=extra)]
        if run.paired:
            out.append(_p(t("genai.report.paired_heading", lang), st["h2"]))
            out += _bullets([f"{pair.attribute} — {t(f'report.outcome.{pair.outcome}', lang)}: {pair.reason}"
                             for pair in run.paired], st)
        out += [Spacer(1, 2 * mm), _p(t("genai.report.people", lang, rated=run.by_reviewer, waiting=run.needs_review),
                                      st["small"])]
    return out


def _section_decision(data: AuditReportData, lang: str, st: dict, width: float) -> list[Flowable]:
    dec = data.decision
    any_ = t("report.any", lang)
    rows = [
        [_p(t("report.field.decision", lang), st["cell_head"]),
         _p(t(f"report.decision.{dec.outcome}", lang),
            ParagraphStyle("dv", parent=st["cell_head"], textColor=_DECISION_COLOUR[dec.outcome]))],
        [_p(t("report.field.decision_date", lang), st["cell_head"]), _p(format_date(dec.date, lang), st["cell"])],
        [_p(t("report.field.votes", lang), st["cell_head"]),
         _p(t("report.votes", lang, yes=dec.votes_for, no=dec.votes_against, abstain=dec.votes_abstain), st["cell"])],
    ]
    out: list[Flowable] = [_grid(rows, [40 * mm, width - 40 * mm], header=False)]
    out.append(_p(t("report.conditions_heading", lang), st["h2"]))
    out += _bullets(dec.conditions, st) if dec.conditions else [_p(t("report.no_conditions", lang), st["base"])]
    out.append(_p(t("report.scope_heading", lang), st["h2"]))
    scope = [
        [_p(t("report.field.grades", lang), st["cell_head"]), _p(", ".join(dec.grades) or any_, st["cell"])],
        [_p(t("report.field.subjects", lang), st["cell_head"]), _p(", ".join(dec.subjects) or any_, st["cell"])],
        [_p(t("report.field.languages", lang), st["cell_head"]), _p(", ".join(dec.languages) or any_, st["cell"])],
    ]
    out.append(_grid(scope, [40 * mm, width - 40 * mm], header=False))
    out.append(_p(t("report.dissent_heading", lang), st["h2"]))
    if dec.dissent:
        out += [Paragraph(f"<b>{escape(d.member)}</b>: {escape(d.reason)}", st["bullet"], bulletText="•") for d in dec.dissent]
    else:
        out.append(_p(t("report.no_dissent", lang), st["base"]))
    return out


def _section_reviewers(data: AuditReportData, lang: str, st: dict, width: float) -> list[Flowable]:
    if not data.reviewers:
        return [_p(t("report.reviewers_empty", lang), st["base"])]
    return _bullets(data.reviewers, st)


def _section_label(data: AuditReportData, lang: str, st: dict, width: float) -> list[Flowable]:
    label = data.label
    if label is None:
        return [_p(t("report.no_label", lang), st["base"])]
    rows = [
        [_p(t("report.field.label", lang), st["cell_head"]), _p(label.id, st["cell"])],
        [_p(t("report.field.status", lang), st["cell_head"]), _p(t(f"report.label.{label.status}", lang), st["cell"])],
        [_p(t("report.field.valid_from", lang), st["cell_head"]), _p(format_date(label.valid_from, lang), st["cell"])],
        [_p(t("report.field.valid_until", lang), st["cell_head"]), _p(format_date(label.valid_until, lang), st["cell"])],
        [_p(t("report.field.verify_url", lang), st["cell_head"]), _p(label.verify_url, st["cell"])],
    ]
    qr_w = 36 * mm
    facts = _grid(rows, [36 * mm, width - qr_w - 36 * mm - 4 * mm], header=False)
    facts.hAlign = "LEFT"
    box = Table([[facts, _qr(label.verify_url, 32 * mm)]], colWidths=[width - qr_w, qr_w])
    box.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return [box, Spacer(1, 2 * mm), _p(t("report.label_status_note", lang), st["small"])]


def _section_evidence(data: AuditReportData, lang: str, st: dict, width: float) -> list[Flowable]:
    if not data.evidence:
        return [_p(t("report.evidence_empty", lang), st["base"])]
    rows: list[list] = [[_p(t("report.col.evidence", lang), st["cell_head"]), _p(t("report.col.sha256", lang), st["cell_head"])]]
    rows += [[_p(e.name, st["cell"]), _p(e.sha256, st["hash"])] for e in data.evidence]
    hash_w = 100 * mm  # 64 hex digits at 6.5 pt fit on one line, so a copied hash has no break
    return [_p(t("report.evidence_explainer", lang), st["small"]), Spacer(1, 2 * mm),
            _grid(rows, [width - hash_w, hash_w])]


# Report sections in order: adding one is a row here and a function above.
_SECTIONS: tuple[tuple[str, Callable[..., list[Flowable]]], ...] = (
    ("report.section.tool", _section_tool),
    ("report.section.risk", _section_risk),
    ("report.section.checklist", _section_checklist),
    ("report.section.fairness", _section_fairness),
    ("genai.report.section", _section_genai),
    ("report.section.decision", _section_decision),
    ("report.section.reviewers", _section_reviewers),
    ("report.section.label", _section_label),
    ("report.section.evidence", _section_evidence),
)


def render_audit_pdf(report: AuditReportData, lang: str) -> bytes:
    """Render the committee's audit report (unsigned; sign it with ``KeyStore.sign_pdf``).

    Parameters
    ----------
    report:
        The facts to show; free text must already be in ``lang``.
    lang:
        ``kk``, ``ru`` or ``en`` (anything else falls back to Kazakh).

    Returns
    -------
    bytes
        A PDF whose document information carries ``AISafeLabel=<label id>`` in
        ``/Keywords`` so that verification can find the label.
    """
    lang = normalise_language(lang)
    register_fonts()
    st = _styles()
    buf = io.BytesIO()
    label_id = report.label.id if report.label else ""
    keywords = f"AI-safe, {LABEL_KEYWORD}={label_id}" if label_id else "AI-safe"
    if report.log_head:
        keywords += f", {LOG_HEAD_KEYWORD}={report.log_head}"
    doc = _doc(
        buf,
        title=f"{t('report.title', lang)}: {report.tool.name} {report.tool.version}",
        subject=t("report.committee", lang),
        keywords=keywords,
        lang=lang,
    )
    width = doc.width - _FRAME_PADDING
    story = _title_page(report, lang, st, width)
    number = 0
    for key, section in _SECTIONS:
        body = section(report, lang, st, width)
        if not body:  # a section that does not apply to this tool (generative tests) is left out
            continue
        number += 1
        # Keep a heading with the start of its section.
        story.append(CondPageBreak(40 * mm))
        story.append(_p(f"{number}. {t(key, lang)}", st["h1"]))
        story += body
    if report.log_head:
        story += [Spacer(1, 4 * mm), _p(t("ops.report.log_head", lang, head=report.log_head), st["small"])]
    footer_label = label_id or report.tool.name

    def footer(page: int, pages: int) -> str:
        return t("report.footer", lang, label=footer_label, page=page, pages=pages)

    _build(doc, story, lang, footer)
    return buf.getvalue()


# --- the consent form -----------------------------------------------------------------------


def _checkbox_line(text: str, st: dict) -> Paragraph:
    return Paragraph(f'<font size="12">☐</font>  {escape(text)}', st["base"])


def render_consent_pdf(form: ConsentFormData, lang: str) -> bytes:
    """Render the parent notification and consent form for one tool (road-map item 2.13).

    Parameters
    ----------
    form:
        Facts from the tool's dossier; free text must already be in ``lang``.
    lang:
        ``kk``, ``ru`` or ``en``.

    Returns
    -------
    bytes
        A printable PDF with the rights under the Law of the Republic of Kazakhstan
        "On personal data and their protection" and signature lines for the parent.
    """
    lang = normalise_language(lang)
    register_fonts()
    st = _styles(compact=True)
    buf = io.BytesIO()
    keywords = f"AI-safe, consent, {LABEL_KEYWORD}={form.label_id}" if form.label_id else "AI-safe, consent"
    doc = _doc(buf, title=t("consent.title", lang), subject=f"{form.tool_name} {form.tool_version}",
               keywords=keywords, lang=lang, top=11 * mm)
    width = doc.width - _FRAME_PADDING
    story: list[Flowable] = _letterhead(lang, st, width, emblem=13 * mm)
    story += [
        Spacer(1, 2 * mm),
        _p(t("consent.model_note", lang), ParagraphStyle("mn", parent=st["small"], alignment=TA_CENTER)),
        Spacer(1, 2 * mm),
        _p(t("consent.title", lang), ParagraphStyle("ct", parent=st["title"], fontSize=13.5, leading=17)),
        Spacer(1, 1 * mm),
        _p(t("consent.greeting", lang), st["verdict"]),
        Spacer(1, 1.5 * mm),
    ]
    params = dict(tool=form.tool_name, version=form.tool_version, vendor=form.vendor)
    intro = (t("consent.intro_school", lang, school=form.school, **params) if form.school
             else t("consent.intro", lang, **params))
    story += [_p(intro, st["base"]), Spacer(1, 2 * mm)]

    data_cell = [Paragraph(escape(item), st["cell"], bulletText="•") for item in form.data_items]
    if form.label_id and form.verify_url:
        label_text = t("consent.label_value", lang, label=form.label_id, url=form.verify_url)
    elif form.label_id:
        label_text = form.label_id
    else:
        label_text = t("consent.no_label", lang)
    rows = [
        [_p(t("consent.field.what", lang), st["cell_head"]), _p(form.description, st["cell"])],
        [_p(t("consent.field.data", lang), st["cell_head"]), data_cell],
        [_p(t("consent.field.purpose", lang), st["cell_head"]),
         [_p(form.purpose, st["cell"]), _p(t("consent.no_commercial_use", lang), st["cell"])]],
        [_p(t("consent.field.processor", lang), st["cell_head"]), _p(form.processor, st["cell"])],
        [_p(t("consent.field.location", lang), st["cell_head"]), _p(form.storage_location, st["cell"])],
        [_p(t("consent.field.retention", lang), st["cell_head"]), _p(form.retention, st["cell"])],
        [_p(t("consent.field.label", lang), st["cell_head"]), _p(label_text, st["cell"])],
    ]
    story.append(_grid(rows, [42 * mm, width - 42 * mm], header=False, pad=2))

    rights = ["consent.right_access", "consent.right_correct", "consent.right_block",
              "consent.right_withdraw", "consent.right_complain"]
    story += [
        _p(t("consent.rights_heading", lang), st["h1"]),
        _p(t("consent.rights_intro", lang), st["base"]),
        *_bullets([t(k, lang) for k in rights], st),
        Spacer(1, 1.5 * mm),
        _p(t("consent.no_penalty", lang), st["base"]),
        _p(t("consent.withdraw_heading", lang), st["h2"]),
        _p(form.withdraw_how or t("consent.withdraw_default", lang), st["base"]),
        _p(t("consent.contact_heading", lang), st["h2"]),
        _p(form.contact, st["base"]),
    ]

    line = "_" * 34
    sign_rows = [
        [_p(t("consent.child_name", lang), st["cell"]), _p(line, st["cell"]),
         _p(t("consent.child_class", lang), st["cell"]), _p("_" * 10, st["cell"])],
        [_p(t("consent.parent_name", lang), st["cell"]), _p(line, st["cell"]), "", ""],
        [_p(t("consent.signature", lang), st["cell"]), _p("_" * 20, st["cell"]),
         _p(t("consent.date", lang), st["cell"]), _p("«___» __________ 20___", st["cell"])],
    ]
    signatures = Table(sign_rows, colWidths=[46 * mm, 64 * mm, 18 * mm, width - 128 * mm])
    signatures.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                                    ("TOPPADDING", (0, 0), (-1, -1), 5), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    story.append(KeepTogether([
        _p(t("consent.decision_heading", lang), st["h2"]),
        _checkbox_line(t("consent.agree", lang), st),
        Spacer(1, 1.5 * mm),
        _checkbox_line(t("consent.disagree", lang), st),
        Spacer(1, 2 * mm),
        signatures,
    ]))

    generated = format_date(form.generated_on, lang)

    def footer(page: int, pages: int) -> str:
        return t("consent.footer", lang, tool=form.tool_name, version=form.tool_version,
                 date=generated, page=page, pages=pages)

    _build(doc, story, lang, footer)
    return buf.getvalue()


__all__ = [
    "AuditReportData",
    "ConsentFormData",
    "DecisionInfo",
    "Dissent",
    "EvidenceHash",
    "FairnessCheck",
    "GroupRate",
    "LabelInfo",
    "PrincipleResult",
    "RateChart",
    "ToolInfo",
    "register_fonts",
    "render_audit_pdf",
    "render_consent_pdf",
]

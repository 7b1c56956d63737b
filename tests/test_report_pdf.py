"""Audit PDF and consent form: content in kk/ru/en read back with poppler, fonts, signatures."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from workbench.i18n import LANGUAGES, t
from workbench.decision.report_pdf import (
    AuditReportData,
    ConsentFormData,
    DecisionInfo,
    Dissent,
    EvidenceHash,
    FairnessCheck,
    GroupRate,
    LabelInfo,
    PrincipleResult,
    RateChart,
    ToolInfo,
    render_audit_pdf,
    render_consent_pdf,
)
from workbench.decision.signing import KeyStore

from conftest import PDFSIG_VALID  # noqa: E402

# --- shared fixtures and helpers -----------------------------------------------------------
KAZAKH_LETTERS = "әғқңөұүһі"
LABEL_ID = "KZ-AIS-2026-000123"
VERIFY_URL = f"https://registry.example.kz/verify/{LABEL_ID}"

# Free text as the caller would supply it, in each language.
TEXT = {
    "kk": {
        "desc": "Оқушылардың эсселерін бағалап, мұғалімге ұсыныс береді. Соңғы бағаны мұғалім қояды.",
        "rationale": "Құрал оқу нәтижелерін бағалайды (AI Act III қосымшасы, 3-тармақ)",
        "principle": "Инклюзивтілік және әділдік",
        "condition": "Әр бағаны мұғалім растайды",
        "blocking": "Деректер шетелде сақталады",
        "group": "Ауыл мектептері",
        "reason": "Аралық шекті қиып өтеді: қорытынды үшін көбірек дерек керек.",
        "dissent": "Ауыл мектептері бойынша дерек аз.",
    },
    "ru": {
        "desc": "Оценивает эссе учащихся и даёт рекомендации учителю. Итоговую оценку ставит учитель.",
        "rationale": "Инструмент оценивает результаты обучения (AI Act, приложение III, п. 3)",
        "principle": "Инклюзивность и справедливость",
        "condition": "Учитель подтверждает каждую оценку",
        "blocking": "Данные хранятся за рубежом",
        "group": "Сельские школы",
        "reason": "Интервал пересекает порог: нужно больше данных.",
        "dissent": "Мало данных по сельским школам.",
    },
    "en": {
        "desc": "Scores learners' essays and makes suggestions to the teacher, who gives the final grade.",
        "rationale": "The tool evaluates learning outcomes (AI Act annex III point 3)",
        "principle": "Inclusiveness and fairness",
        "condition": "A teacher confirms every grade",
        "blocking": "Data are stored abroad",
        "group": "Rural schools",
        "reason": "The interval straddles the threshold: more data are needed.",
        "dissent": "Too little data from rural schools.",
    },
}


def audit_data(lang: str, *, outcome: str = "approved_with_conditions", with_label: bool = True) -> AuditReportData:
    x = TEXT[lang]
    return AuditReportData(
        tool=ToolInfo(name="Эссе-Көмекші", version="2.1", vendor="«Білім Технологиялары» ЖШС", description=x["desc"]),
        tier="high",
        tier_rationale=[x["rationale"]],
        principles=[
            PrincipleResult(name=x["principle"], score=72, meets=5, partly=2, not_met=1,
                            blocking=[x["blocking"]], conditions=[x["condition"]]),
            PrincipleResult(name="PATH", score=100, meets=4, not_applicable=2),
        ],
        fairness=[
            FairnessCheck(metric="demographic_parity_ratio", group=x["group"], value=0.91, ci_low=0.84,
                          ci_high=0.97, threshold=0.8, outcome="pass"),
            FairnessCheck(metric="equalized_odds_difference", group=x["group"], value=0.09, ci_low=0.03,
                          ci_high=0.16, threshold=0.1, outcome="inconclusive", reason=x["reason"]),
            FairnessCheck(metric="selection_rate", group="Шағын топ", outcome="too_small"),
        ],
        charts=[RateChart(title="selection_rate", reference=0.5, groups=[
            GroupRate(group=x["group"], value=0.41, ci_low=0.35, ci_high=0.47, n=340),
            GroupRate(group="Қала", value=0.55, ci_low=0.52, ci_high=0.58, n=1760),
            GroupRate(group="Шағын топ", value=None, n=4),
        ])],
        decision=DecisionInfo(
            outcome=outcome, date=dt.date(2026, 11, 20), votes_for=5, votes_against=1, votes_abstain=1,
            dissent=[Dissent(member="Айгүл Нұрланқызы", reason=x["dissent"])], conditions=[x["condition"]],
            grades=["5–9"], subjects=["Қазақ тілі"], languages=["kk", "ru"],
        ),
        # The reviewers' names carry every Kazakh letter, һ included, in every language.
        reviewers=["Шаһизада Сәрсенова", "Ғалым Маңғазов", "Ұлдана Өтеуқызы Үсенова", "Ирина Смирнова"],
        label=LabelInfo(id=LABEL_ID, status="active", valid_from=dt.date(2026, 11, 20),
                        valid_until=dt.date(2027, 11, 20), verify_url=VERIFY_URL) if with_label else None,
        evidence=[EvidenceHash(name="dossier.pdf", sha256=hashlib.sha256(b"dossier").hexdigest())],
    )


def consent_data(lang: str) -> ConsentFormData:
    school = {"kk": "№ 12 мектеп-гимназия", "ru": "Школа-гимназия № 12", "en": "School No. 12"}[lang]
    return ConsentFormData(
        tool_name="Эссе-Көмекші", tool_version="2.1", vendor="«Білім Технологиялары» ЖШС", school=school,
        description=TEXT[lang]["desc"], data_items=["Аты-жөні, сыныбы", "Эссе мәтіні"], purpose=TEXT[lang]["condition"],
        processor="«Білім Технологиялары» ЖШС", storage_location="Астана, Қазақстан", retention="1 жыл",
        contact="school12@example.kz, +7 7172 00 00 00", label_id=LABEL_ID, verify_url=VERIFY_URL,
    )


def pdftotext(pdf: bytes, folder: Path) -> str:
    path = folder / "doc.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True,
                          timeout=60).stdout.decode("utf-8")


def poppler(tool: str, pdf: bytes, folder: Path) -> str:
    path = folder / f"{tool}.pdf"
    path.write_bytes(pdf)
    result = subprocess.run([tool, str(path)], capture_output=True, text=True, timeout=60)
    return result.stdout + result.stderr


def flat(text: str) -> str:
    """pdftotext breaks lines where the layout does; compare with whitespace collapsed."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def committee(tmp_path_factory: pytest.TempPathFactory) -> KeyStore:
    ks = KeyStore(tmp_path_factory.mktemp("committee"), passphrase="report-tests")
    ks.ensure_demo()
    return ks


# --- audit PDF --------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
def test_audit_pdf_text_is_extractable_in_each_language(lang: str, tmp_path: Path) -> None:
    text = flat(pdftotext(render_audit_pdf(audit_data(lang), lang), tmp_path))
    for key in ("report.title", "report.academy", "report.section.risk", "report.section.checklist",
                "report.section.fairness", "report.section.decision", "report.section.evidence",
                "report.tier.high", "report.decision.approved_with_conditions", "report.outcome.inconclusive",
                "report.outcome.too_small", "report.conditions_heading", "report.dissent_heading"):
        assert flat(t(key, lang)) in text, key
    x = TEXT[lang]
    for fact in (x["rationale"], x["condition"], x["blocking"], x["reason"], x["dissent"], "Эссе-Көмекші",
                 LABEL_ID, VERIFY_URL, hashlib.sha256(b"dossier").hexdigest(), "demographic_parity_ratio"):
        assert fact in text, fact
    for letter in KAZAKH_LETTERS:
        assert letter in text, f"Kazakh letter {letter} lost in {lang}"


def test_kazakh_audit_pdf_uses_kazakh_fixed_text(tmp_path: Path) -> None:
    text = flat(pdftotext(render_audit_pdf(audit_data("kk"), "kk"), tmp_path))
    assert "Ы. Алтынсарин атындағы Ұлттық білім академиясы" in text
    assert "Жасанды интеллект құралын сараптау қорытындысы" in text
    assert "Шарттармен мақұлданды" in text
    assert "0,91 [0,84; 0,97]" in text  # Kazakh decimal comma


def test_audit_pdf_embeds_dejavu_with_unicode_map(tmp_path: Path) -> None:
    fonts = poppler("pdffonts", render_audit_pdf(audit_data("kk"), "kk"), tmp_path)
    rows = [line.split() for line in fonts.splitlines() if "DejaVuSans" in line]
    assert rows, fonts
    for row in rows:  # columns end with: emb sub uni object ID
        assert row[-5:-2] == ["yes", "yes", "yes"], row


def test_audit_pdf_metadata_and_page_numbers(tmp_path: Path) -> None:
    pdf = render_audit_pdf(audit_data("ru"), "ru")
    info = poppler("pdfinfo", pdf, tmp_path)
    assert f"AISafeLabel={LABEL_ID}" in info
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    assert pages >= 2
    text = flat(pdftotext(pdf, tmp_path))
    assert f"стр. {pages} из {pages}" in text


def test_rejected_decision_without_label(tmp_path: Path) -> None:
    pdf = render_audit_pdf(audit_data("kk", outcome="rejected", with_label=False), "kk")
    text = flat(pdftotext(pdf, tmp_path))
    assert t("report.decision.rejected", "kk") in text
    assert t("report.no_label", "kk") in text
    assert "AISafeLabel" not in poppler("pdfinfo", pdf, tmp_path)


def test_user_text_is_not_markup(tmp_path: Path) -> None:
    data = audit_data("en")
    data.tool.description = "Scores < 50 & <b>bold</b> claims"
    text = flat(pdftotext(render_audit_pdf(data, "en"), tmp_path))
    assert "Scores < 50 & <b>bold</b> claims" in text


@pytest.mark.parametrize(
    "bad",
    [
        {"evidence": [{"name": "x", "sha256": "not-a-hash"}]},
        {"tier": "extreme"},
        {"principles": [{"name": "x", "score": 140}]},
    ],
)
def test_invalid_report_data_is_rejected(bad: dict) -> None:
    raw = audit_data("en").model_dump()
    raw.update(bad)
    with pytest.raises(ValidationError):
        AuditReportData.model_validate(raw)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_signed_audit_pdf_is_valid_for_pdfsig(lang: str, committee: KeyStore, tmp_path: Path) -> None:
    signed = committee.sign_pdf(render_audit_pdf(audit_data(lang), lang), reason=t("signing.reason_audit", lang))
    assert PDFSIG_VALID in poppler("pdfsig", signed, tmp_path)


def test_pdf_renders_to_png(tmp_path: Path) -> None:
    """The page rasterises (what a reviewer looks at) and the title page is not blank."""
    (tmp_path / "a.pdf").write_bytes(render_audit_pdf(audit_data("kk"), "kk"))
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(tmp_path / "a.pdf"),
                    str(tmp_path / "page")], check=True, timeout=60)
    png = next(tmp_path.glob("page*.png"))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 10_000


# --- consent form -----------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
def test_consent_form_content_in_each_language(lang: str, tmp_path: Path) -> None:
    pdf = render_consent_pdf(consent_data(lang), lang)
    text = flat(pdftotext(pdf, tmp_path))
    for key in ("consent.title", "consent.rights_heading", "consent.right_access", "consent.right_correct",
                "consent.right_withdraw", "consent.right_complain", "consent.withdraw_heading",
                "consent.withdraw_default", "consent.contact_heading", "consent.parent_name",
                "consent.signature", "consent.date", "consent.agree", "consent.no_commercial_use"):
        assert flat(t(key, lang)) in text, key
    assert "94-V" in text  # the Law "On personal data and their protection"
    form = consent_data(lang)
    for fact in (form.school, form.description, *form.data_items, form.storage_location, form.retention,
                 form.contact, LABEL_ID):
        assert fact in text, fact
    # One sheet of paper to print, sign and return.
    assert "Pages:           1" in poppler("pdfinfo", pdf, tmp_path)


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_consent_form_keeps_kazakh_letters(lang: str, tmp_path: Path) -> None:
    text = flat(pdftotext(render_consent_pdf(consent_data(lang), lang), tmp_path))
    # Kazakh names survive in a Russian form too (the letterhead is bilingual).
    for name in ("Эссе-Көмекші", "«Білім Технологиялары» ЖШС", "Ы. Алтынсарин атындағы Ұлттық білім академиясы"):
        assert name in text
    if lang == "kk":
        for letter in "әғқңөұүі":  # һ is rare in Kazakh and the fixed text does not need it
            assert letter in text


def test_consent_form_without_label_and_with_own_withdrawal_text(tmp_path: Path) -> None:
    form = consent_data("ru").model_copy(update={"label_id": None, "verify_url": None, "school": None,
                                                 "withdraw_how": "Напишите классному руководителю."})
    text = flat(pdftotext(render_consent_pdf(form, "ru"), tmp_path))
    assert t("consent.no_label", "ru") in text
    assert "Напишите классному руководителю." in text
    assert flat(t("consent.withdraw_default", "ru")) not in text


def test_signed_consent_form_is_valid_for_pdfsig(committee: KeyStore, tmp_path: Path) -> None:
    signed = committee.sign_pdf(render_consent_pdf(consent_data("kk"), "kk"), reason="consent form")
    assert PDFSIG_VALID in poppler("pdfsig", signed, tmp_path)

"""The generative-tool section of the signed audit PDF: present for a tested tool, in three
languages, with intervals and the share of verdicts from people; absent otherwise."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from workbench import genai
from workbench.decision import report_pdf as rp
from workbench.intake import submissions as subs
from workbench.decision import genai_report as _report
from workbench.genai._sandbox import reply
from workbench.i18n import t
from workbench.decision.signing import KeyStore
from test_report_pdf import audit_data, flat, pdftotext  # the shared report fixture data

from conftest import PDFSIG_VALID, pdfsig


@pytest.fixture
def tested(reg, people, dossier):
    sub = subs.create_submission(reg, people.vendor_a, {**dossier, "model_type": "generative"})
    subs.submit(reg, people.vendor_a, sub.id)
    subs.screen(reg, people.secretary, sub.id, complete=True)
    subs.assign_reviewer(reg, people.secretary, sub.id, people.reviewer1.user_id)
    suites = genai.resolve_suites("disclosure,child_safety,counterfactual")
    rows = [json.loads(l) for l in genai.export_jsonl(suites, ["kk", "ru", "en"]).splitlines()]
    answers = "\n".join(json.dumps({"custom_id": r["custom_id"], "answer": reply(r["messages"])}) for r in rows)
    stored, res = genai.save_run(reg, people.reviewer1, genai.import_answers(suites, ["kk", "ru", "en"],
                                                                             answers.encode()), submission_id=sub.id)
    genai.rate(reg, people.reviewer1, stored.id, res.needs_review[0], "ok")
    return reg, people, sub.id, stored


@pytest.mark.parametrize("lang, sentence", [
    ("kk", "ЖИ екенін 32 әңгіменің ішінде 0 рет айтты"),
    ("ru", "инструмент сказал, что он ИИ, в 32 из 32 разговоров"),
    ("en", "In Kazakh, the tool said it was an AI in 0 of 32 conversations"),
])
def test_signed_pdf_shows_the_generative_tests(tested, lang, sentence, tmp_path):
    reg, people, sub_id, stored = tested
    data = audit_data(lang).model_copy(update={"genai": _report.report_sections(reg, people.secretary, sub_id, lang)})
    pdf = rp.render_audit_pdf(data, lang)
    text = flat(pdftotext(pdf, tmp_path))
    assert sentence in text
    assert stored.transcript_sha256 in text.replace(" ", "")
    assert genai._score.load_policy().version in text
    assert "[0,00; 0,11]" in text or "[0.00; 0.11]" in text  # the interval of the Kazakh disclosure rate


def test_the_section_is_left_out_for_other_tools(tmp_path):
    text = flat(pdftotext(rp.render_audit_pdf(audit_data("en"), "en"), tmp_path))
    assert t("genai.report.section", "en") not in text
    assert f"5. {t('report.section.decision', 'en')}" in text  # the numbering has no gap


def test_decision_evidence_names_the_transcript(tested):
    reg, people, sub_id, stored = tested
    items = _report.evidence(reg, people.secretary, sub_id)
    assert items == [{"name": f"genai transcript #{stored.id} ({stored.suite_version[:60]})",
                      "sha256": stored.transcript_sha256}]


def test_signed_pdf_with_generative_section_is_valid_for_pdfsig(tested, tmp_path):
    reg, people, sub_id, _ = tested
    keys = KeyStore(tmp_path, passphrase="test-passphrase")
    keys.ensure_demo()
    data = audit_data("kk").model_copy(update={"genai": _report.report_sections(reg, people.secretary, sub_id, "kk")})
    signed = keys.sign_pdf(rp.render_audit_pdf(data, "kk"), reason="test")
    assert PDFSIG_VALID in pdfsig(signed, tmp_path)
    path = tmp_path / "genai.pdf"
    path.write_bytes(signed)
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(path), str(tmp_path / "page")], check=True, timeout=120)
    assert len(list(tmp_path.glob("page-*.png"))) >= 3


def test_the_committee_decision_signs_the_generative_results(home, tmp_path):
    """End to end: a reviewer's stored run appears in the signed PDF the decision issues."""
    from test_decisions import Committee

    from workbench.services import Workbench

    wb = Workbench.open(home)
    wb.keys.ensure_demo()
    try:
        committee = Committee(wb)
        sub_id = committee.at_committee(tier="limited", model_type="generative")
        suites = genai.resolve_suites("disclosure")
        rows = [json.loads(l) for l in genai.export_jsonl(suites, ["kk", "ru"]).splitlines()]
        answers = "\n".join(json.dumps({"custom_id": r["custom_id"], "answer": reply(r["messages"])}) for r in rows)
        stored, _ = genai.save_run(wb.registry, committee.r1, genai.import_answers(suites, ["kk", "ru"],
                                                                                 answers.encode()), submission_id=sub_id)
        record = committee.decide(sub_id, lang="en")
        path = wb.home.audits / record.file_name
        assert PDFSIG_VALID in pdfsig(path)
        text = flat(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout)
        assert t("genai.report.section", "en") in text
        assert "In Kazakh, the tool said it was an AI in 0 of 32 conversations" in text
        evidence = wb.registry.one("SELECT evidence FROM decisions WHERE submission_id = ?", (sub_id,))["evidence"]
        assert stored.transcript_sha256 in evidence
    finally:
        wb.close()


@pytest.mark.parametrize("lang, girls, boys", [("kk", "қыздар", "ұлдар"), ("ru", "девочки", "мальчики"),
                                                ("en", "girls", "boys")])
def test_paired_checks_read_as_plain_sentences_not_engine_codes(tested, lang, girls, boys, tmp_path):
    """The engine's group codes (``variant=girl``) never reach the PDF: translated words do."""
    reg, people, sub_id, _stored = tested
    section = _report.report_sections(reg, people.secretary, sub_id, lang)
    reasons = [p.reason for p in section[0].paired]
    assert reasons and not any("=" in r or "variant" in r for r in reasons), reasons
    gender = [p.reason for p in section[0].paired if p.attribute == t("genai.attribute.gender", lang)]
    assert gender and all(girls in r.lower() and boys in r.lower() for r in gender), gender
    text = flat(pdftotext(rp.render_audit_pdf(audit_data(lang).model_copy(update={"genai": section}), lang),
                          tmp_path))
    assert "variant=" not in text and "counterfactual_" not in text


def test_every_detector_check_and_counterfactual_side_has_words_in_three_languages():
    from workbench.genai._suite import CHECKS
    from workbench.i18n import catalogue

    keys = [f"genai.plain.check.{c}" for c in CHECKS]
    suite = genai.load_suite("counterfactual")
    keys += [f"genai.plain.variant.{i.attribute}.{i.variant}" for i in suite.items if i.pair_id is not None]
    missing = [(k, lang) for k in keys for lang in ("kk", "ru", "en") if not catalogue().get(k, {}).get(lang)]
    assert missing == []


def test_with_several_samples_the_pdf_names_the_prompts_behind_the_answers(reg, people, dossier, tmp_path):
    sub = subs.create_submission(reg, people.vendor_a, {**dossier, "model_type": "generative"})
    subs.submit(reg, people.vendor_a, sub.id)
    subs.screen(reg, people.secretary, sub.id, complete=True)
    subs.assign_reviewer(reg, people.secretary, sub.id, people.reviewer1.user_id)
    suites = genai.resolve_suites("disclosure")
    rows = [json.loads(l) for l in genai.export_jsonl(suites, ["en"], 3).splitlines()]
    answers = "\n".join(json.dumps({"custom_id": r["custom_id"], "answer": reply(r["messages"])}) for r in rows)
    genai.save_run(reg, people.reviewer1, genai.import_answers(suites, ["en"], answers.encode(), samples=3),
                   submission_id=sub.id)
    section = _report.report_sections(reg, people.secretary, sub.id, "en")
    row = section[0].rows[0]
    assert row.n == 3 * row.items
    text = flat(pdftotext(rp.render_audit_pdf(audit_data("en").model_copy(update={"genai": section}), "en"), tmp_path))
    assert f"{row.k}/{row.n} ({row.items} prompts)" in text

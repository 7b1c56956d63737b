"""Parent notification and consent forms: signed, in Kazakh, Russian and English, public facts only."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from workbench.public import consent, visitor as public
from workbench.decision import labels
from workbench.errors import NotFound, WorkbenchError
from workbench.i18n import t
from workbench.registry.models import PUBLIC
from workbench.decision.pdf_verify import verify_pdf
from workbench.services import Workbench

from conftest import COMPLETE_DOSSIER, TEST_PUBLIC_URL
from test_decisions import TODAY, Committee


@pytest.fixture(scope="module")
def issued(tmp_path_factory):
    """One label for the module: the consent form never writes to the registry."""
    import os

    home = tmp_path_factory.mktemp("consent")
    old = os.environ.get("WORKBENCH_KEY_PASSPHRASE")
    os.environ["WORKBENCH_KEY_PASSPHRASE"] = "test-passphrase"
    wb = Workbench.open(home)
    wb.registry.set_meta("public_url", TEST_PUBLIC_URL)
    wb.keys.ensure_demo()
    committee = Committee(wb)
    # The Committee helper's dossier, with a contact person and limitations that must stay private.
    sub_id = committee.at_committee(name="Оқу көмекшісі")
    dossier = {**COMPLETE_DOSSIER, "tool_name": "Оқу көмекшісі", "contact_person": "Private Person +7 701 000 0000",
               "known_limitations": "PRIVATE-LIMITATIONS", "human_oversight": "PRIVATE-OVERSIGHT",
               "data_storage_location": "Almaty data centre", "retention": "One school year"}
    import json

    wb.registry.execute("UPDATE submissions SET dossier = ? WHERE id = ?", (json.dumps(dossier), sub_id))
    wb.registry.execute("UPDATE organisations SET contact_email = 'privacy@vendor.kz'")
    record = committee.decide(sub_id)
    yield committee, record.label_id
    wb.close()
    if old is None:
        os.environ.pop("WORKBENCH_KEY_PASSPHRASE", None)
    else:
        os.environ["WORKBENCH_KEY_PASSPHRASE"] = old


def text_of(pdf: bytes, tmp_path: Path, name: str) -> str:
    path = tmp_path / name
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("lang,words", [
    ("kk", ["Ата-аналарға хабарлама", "Сіздің құқықтарыңыз", "мектепке"]),
    ("ru", ["Уведомление родителей", "Ваши права", "Как отозвать согласие"]),
    ("en", ["Notice to parents", "Your rights", "How to withdraw consent"]),
])
def test_consent_form_is_signed_and_in_the_language(issued, tmp_path, lang, words):
    committee, label_id = issued
    wb = committee.wb
    pdf = consent.consent_form(wb.registry, PUBLIC, label_id, lang, wb.keys, today=TODAY)
    check = verify_pdf(pdf, wb.keys)
    assert check.intact and check.signed_by_committee, check.problems
    assert check.label_id == label_id  # the form names its label, so verification can look it up
    path = tmp_path / "form.pdf"
    path.write_bytes(pdf)
    assert "Signature is Valid" in subprocess.run(["pdfsig", str(path)], capture_output=True, text=True).stdout
    text = " ".join(text_of(pdf, tmp_path, f"{lang}.pdf").split())
    for word in ["Оқу көмекшісі", label_id, "Almaty data centre", "One school year", "privacy@vendor.kz"]:
        assert word in text
    for word in words + [t("data_cat.identity", lang), t("data_cat.children", lang)]:
        assert word.lower() in text.lower(), word


def test_data_categories_are_translated_and_private_fields_stay_out(issued, tmp_path):
    committee, label_id = issued
    form = consent.consent_data(committee.wb.registry, PUBLIC, label_id, "ru", today=TODAY)
    dumped = form.model_dump_json()
    for private in ("Private Person", "PRIVATE-LIMITATIONS", "PRIVATE-OVERSIGHT", "+7 701"):
        assert private not in dumped
    assert form.description == "Описание" and form.processor.startswith("Vendor LLP")
    assert form.data_items == [t("data_cat.identity", "ru"), t("data_cat.children", "ru")]
    kk = consent.consent_data(committee.wb.registry, PUBLIC, label_id, "kk", today=TODAY)
    assert kk.description == "Сипаттама" and kk.data_items != form.data_items
    assert kk.verify_url == f"{TEST_PUBLIC_URL}/verify?label={label_id}&lang=kk"  # the QR opens in the form's language


def test_no_form_for_a_label_not_in_force(issued):
    committee, label_id = issued
    reg = committee.wb.registry
    labels.change_label(reg, committee.secretary, label_id, "suspend", "Under re-review", today=TODAY)
    try:
        with pytest.raises(WorkbenchError) as exc:
            consent.consent_form(reg, PUBLIC, label_id, "kk", committee.wb.keys, today=TODAY)
        assert exc.value.key == consent.NOT_USABLE
    finally:
        labels.change_label(reg, committee.secretary, label_id, "reinstate", "Re-review done", today=TODAY)


def test_unknown_label(issued):
    committee, _ = issued
    with pytest.raises(NotFound) as exc:
        consent.consent_form(committee.wb.registry, PUBLIC, "KZ-AIS-2026-424242", "ru", committee.wb.keys)
    assert exc.value.key == public.NO_LABEL


def test_file_name():
    assert consent.consent_file_name(" kz-ais-2026-000001 ", "ru") == "consent-KZ-AIS-2026-000001-ru.pdf"
    assert consent.consent_file_name("KZ-AIS-2026-000001", "de") == "consent-KZ-AIS-2026-000001-kk.pdf"

"""Verification of uploaded PDFs: intact, tampered, foreign-signed, unsigned and garbage."""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
from pathlib import Path

import pytest

from workbench.decision import pdf_verify
from workbench.decision.pdf_verify import PdfCheck, verify_pdf
from workbench.decision.report_pdf import AuditReportData, DecisionInfo, LabelInfo, ToolInfo, render_audit_pdf
from workbench.decision.signing import KeyStore

from conftest import PDFSIG_VALID, pdfsig  # noqa: E402

# --- shared fixtures and helpers -----------------------------------------------------------

LABEL_ID = "KZ-AIS-2026-000042"



def audit(label_id: str | None = LABEL_ID) -> AuditReportData:
    label = (
        LabelInfo(id=label_id, status="active", valid_from=dt.date(2026, 11, 1),
                  valid_until=dt.date(2027, 11, 1), verify_url=f"https://registry.example.kz/verify/{label_id}")
        if label_id else None
    )
    return AuditReportData(
        tool=ToolInfo(name="Оқу-Дос", version="1.0", vendor="«Ұстаз» ЖШС"),
        tier="limited",
        decision=DecisionInfo(outcome="approved" if label_id else "rejected", date=dt.date(2026, 11, 1), votes_for=3),
        label=label,
    )


@pytest.fixture(scope="module")
def committee(tmp_path_factory: pytest.TempPathFactory) -> KeyStore:
    ks = KeyStore(tmp_path_factory.mktemp("committee"), passphrase="committee-pass")
    ks.ensure_demo()
    return ks


@pytest.fixture(scope="module")
def signed_audit(committee: KeyStore) -> bytes:
    return committee.sign_pdf(render_audit_pdf(audit(), "kk"), reason="audit")


# --- tests ------------------------------------------------------------------------------------


def test_committee_signed_audit_pdf_verifies(signed_audit: bytes, committee: KeyStore, tmp_path: Path) -> None:
    check = verify_pdf(signed_audit, committee)
    assert check.intact is True
    assert check.signed_by_committee is True
    assert check.ok
    assert check.label_id == LABEL_ID
    assert check.signer == "NAE AI Ethics Committee (demo)"
    assert check.signed_at is not None
    assert abs(check.signed_at - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(minutes=10)
    assert check.problems == []
    assert PDFSIG_VALID in pdfsig(signed_audit, tmp_path)


@pytest.mark.parametrize("offset", [20, 400, -200])
def test_a_flipped_byte_is_detected(signed_audit: bytes, committee: KeyStore, tmp_path: Path, offset: int) -> None:
    data = bytearray(signed_audit)
    data[offset] ^= 0x01  # 20: header comment; 400: first content; -200: the signature's own revision
    check = verify_pdf(bytes(data), committee)
    assert check.intact is False
    assert check.signed_by_committee is False
    assert check.problems, "a tampered file must say why"
    assert PDFSIG_VALID not in pdfsig(bytes(data), tmp_path)


def test_a_changed_label_number_in_the_text_is_detected(signed_audit: bytes, committee: KeyStore) -> None:
    # Same length, so only the digest can tell: the forger's cheapest attack.
    forged = signed_audit.replace(LABEL_ID.encode(), b"KZ-AIS-2026-000099")
    assert forged != signed_audit
    check = verify_pdf(forged, committee)
    assert not check.intact
    assert pdf_verify._DIGEST_MISMATCH in check.problems


def test_foreign_key_is_intact_but_not_the_committees(committee: KeyStore, tmp_path: Path) -> None:
    stranger = KeyStore(tmp_path / "stranger", passphrase="x")
    stranger.ensure_demo()  # same names as the committee's demo CA, different keys
    forged = stranger.sign_pdf(render_audit_pdf(audit(), "ru"), reason="audit")
    assert PDFSIG_VALID in pdfsig(forged, tmp_path)  # cryptographically fine ...
    check = verify_pdf(forged, committee)
    assert check.intact is True  # ... and unchanged ...
    assert check.signed_by_committee is False  # ... but not by the committee
    assert pdf_verify._NOT_COMMITTEE in check.problems


def test_an_update_appended_after_signing_is_detected(signed_audit: bytes, committee: KeyStore) -> None:
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(signed_audit))
    info = writer.trailer["/Info"].get_object()
    info[generic.NameObject("/Keywords")] = generic.TextStringObject("AISafeLabel=KZ-AIS-2026-999999")
    writer.update_container(info)
    out = io.BytesIO()
    writer.write(out)
    check = verify_pdf(out.getvalue(), committee)
    assert check.intact is False
    assert check.signed_by_committee is False
    assert pdf_verify._MODIFIED_AFTER in check.problems


def _unsigned() -> bytes:
    return render_audit_pdf(audit(), "en")


@pytest.mark.parametrize(
    ("make", "key"),
    [
        (lambda signed: b"", pdf_verify._NOT_PDF),
        (lambda signed: b"GIF89a\x00\x01", pdf_verify._NOT_PDF),
        (lambda signed: "not bytes at all", pdf_verify._NOT_PDF),
        (lambda signed: b"%PDF-1.7\n garbage \x00\xff", pdf_verify._UNREADABLE),
        (lambda signed: signed[: len(signed) // 2], None),
        (lambda signed: signed[:-40], None),
        (lambda signed: _unsigned(), pdf_verify._UNSIGNED),
    ],
    ids=["empty", "gif", "str", "pdf-header-only", "truncated-half", "truncated-tail", "unsigned"],
)
def test_bad_input_never_raises(signed_audit: bytes, committee: KeyStore, make, key: str | None) -> None:
    check = verify_pdf(make(signed_audit), committee)
    assert isinstance(check, PdfCheck)
    assert check.intact is False and check.signed_by_committee is False
    assert check.problems
    if key is not None:
        assert key in check.problems


def test_without_a_committee_key_nothing_is_the_committees(signed_audit: bytes, tmp_path: Path) -> None:
    check = verify_pdf(signed_audit, KeyStore(tmp_path / "empty"))
    assert check.intact is True
    assert check.signed_by_committee is False
    assert pdf_verify._NO_COMMITTEE_KEY in check.problems


def test_pdf_without_label_says_so(committee: KeyStore) -> None:
    signed = committee.sign_pdf(render_audit_pdf(audit(label_id=None), "kk"), reason="rejected")
    check = verify_pdf(signed, committee)
    assert check.ok
    assert check.label_id is None
    assert check.problems == [pdf_verify._NO_LABEL]


def test_every_problem_key_is_translated() -> None:
    from workbench.i18n import LANGUAGES, t

    keys = [v for k, v in vars(pdf_verify).items() if k.startswith("_") and isinstance(v, str)
            and re.fullmatch(r"signing\.verify_\w+", v)]
    assert len(keys) >= 10
    for key in keys:
        for lang in LANGUAGES:
            assert t(key, lang)


# --- issue 11, item 8: the signed byte range must cover the whole file but the signature ---


def _contents_gap(pdf: bytes) -> tuple[int, int]:
    import re

    a, b, c, d = (int(x) for x in re.findall(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", pdf)[-1])
    return b, c


@pytest.mark.parametrize("where", ["last_padding", "middle_padding", "non_hex", "closing_bracket"])
def test_a_byte_flipped_in_the_signature_padding_fails(signed_audit: bytes, committee: KeyStore, tmp_path: Path,
                                                        where: str) -> None:
    start, end = _contents_gap(signed_audit)
    assert signed_audit[start:start + 1] == b"<" and signed_audit[end - 1:end] == b">"
    data = bytearray(signed_audit)
    position = {"last_padding": end - 2, "middle_padding": end - 200, "non_hex": end - 3,
                "closing_bracket": end - 1}[where]
    assert data[position:position + 1] in (b"0", b">")
    data[position] = {"non_hex": ord("x"), "closing_bracket": ord("0")}.get(where, ord("1"))
    poppler = pdfsig(bytes(data), tmp_path)  # poppler's independent verdict
    assert "Not total document signed" in poppler or PDFSIG_VALID not in poppler
    check = verify_pdf(bytes(data), committee)
    assert check.intact is False and check.signed_by_committee is False and check.problems
    if where.endswith("padding"):  # still a parseable signature: only the gap check catches it
        assert pdf_verify._SIGNATURE_GAP in check.problems


def test_a_copy_that_differs_from_the_registrys_fails(signed_audit: bytes, committee: KeyStore) -> None:
    import hashlib

    same = verify_pdf(signed_audit, committee, expected_sha256=hashlib.sha256(signed_audit).hexdigest())
    assert same.ok and same.problems == []
    other = verify_pdf(signed_audit, committee, expected_sha256="0" * 64)
    assert not other.ok and other.intact is False and pdf_verify._NOT_REGISTRY_COPY in other.problems

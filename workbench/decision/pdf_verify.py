"""Check an uploaded audit PDF: is it intact, and did the committee sign it?

The third question of verification, whether the label is still active today, belongs to
the registry; this module reads the label ID out of the PDF so the caller can ask it.

The answer never raises on bad input: a file that is not a PDF, is truncated or carries
no signature comes back as a :class:`PdfCheck` whose ``problems`` say why, because the
public verification page must explain, not crash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

if TYPE_CHECKING:  # pragma: no cover
    from asn1crypto import x509 as asn1_x509

    from .signing import KeyStore

# The token ``render_audit_pdf`` writes into the document's /Keywords.
LABEL_KEYWORD = "AISafeLabel"
_LABEL_RE = re.compile(LABEL_KEYWORD + r"[=:]\s*([A-Za-z0-9._-]+)")
# The event log's head when the PDF was signed: an anchor of the log outside the database.
LOG_HEAD_KEYWORD = "AISafeLogHead"
_LOG_HEAD_RE = re.compile(LOG_HEAD_KEYWORD + r"=(\d+):([0-9a-f]{64})")

_NOT_PDF = "signing.verify_not_pdf"
_UNREADABLE = "signing.verify_unreadable"
_UNSIGNED = "signing.verify_unsigned"
_SIGNATURE_BROKEN = "signing.verify_signature_broken"
_DIGEST_MISMATCH = "signing.verify_digest_mismatch"
_SIGNATURE_INVALID = "signing.verify_signature_invalid"
_MODIFIED_AFTER = "signing.verify_modified_after_signing"
_PARTIAL_COVERAGE = "signing.verify_partial_coverage"
_NOT_COMMITTEE = "signing.verify_not_committee"
_NO_COMMITTEE_KEY = "signing.verify_no_committee_key"
_NO_LABEL = "signing.verify_no_label"
_SIGNATURE_GAP = "ops.verify_signature_gap"
_NOT_REGISTRY_COPY = "ops.verify_not_registry_copy"

_BYTE_RANGE_RE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")
_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")


class PdfCheck(BaseModel):
    """The answer to "is this PDF the committee's, unchanged?".

    ``problems`` holds translation-catalogue keys, most important first.
    """

    intact: bool = False
    signed_by_committee: bool = False
    signer: str | None = None
    signed_at: dt.datetime | None = None
    label_id: str | None = None
    problems: list[str] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Intact and the committee's (the label's status is checked elsewhere)."""
        return self.intact and self.signed_by_committee


def _label_from_info(pdf: bytes) -> str | None:
    from pyhanko.pdf_utils.reader import PdfFileReader

    info = PdfFileReader(io.BytesIO(pdf), strict=False).trailer_view.get("/Info")
    if info is None:
        return None
    info = info.get_object()
    custom = info.get("/" + LABEL_KEYWORD)
    if custom:
        return str(custom)
    match = _LABEL_RE.search(str(info.get("/Keywords", "")))
    return match.group(1) if match else None


def _gap_is_only_the_signature(pdf: bytes) -> bool:
    """Whether the last signature's byte range covers the whole file except its own value.

    The range must start at byte 0 and end at the file's last byte, and the one gap must be
    exactly the ``/Contents`` hex string: ``<``, the DER signature in hex, zero padding,
    ``>``. pyHanko accepts a changed padding byte (DER ignores what follows the signature);
    poppler reports "not total document signed", and so do we.
    """
    ranges = _BYTE_RANGE_RE.findall(pdf)
    if not ranges:
        return False
    a, b, c, d = (int(x) for x in ranges[-1])
    if a != 0 or b <= 0 or c <= b + 1 or c + d != len(pdf):
        return False
    gap = pdf[b:c]
    if gap[:1] != b"<" or gap[-1:] != b">" or not set(gap[1:-1]) <= _HEX_DIGITS or len(gap) % 2:
        return False
    contents = bytes.fromhex(gap[1:-1].decode("ascii"))
    used = _der_length(contents)
    return used is not None and not any(contents[used:])


def _der_length(data: bytes) -> int | None:
    """Length of the DER value at the start of ``data`` (tag, length and content), or None."""
    if len(data) < 2:
        return None
    first = data[1]
    if first < 0x80:
        header, length = 2, first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or len(data) < 2 + count:
            return None
        header, length = 2 + count, int.from_bytes(data[2:2 + count], "big")
    total = header + length
    return total if total <= len(data) else None


def log_head_in(pdf: bytes) -> tuple[int, str] | None:
    """The log anchor an audit PDF carries in its /Keywords, (event id, hash), or None."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        info = PdfFileReader(io.BytesIO(bytes(pdf)), strict=False).trailer_view.get("/Info")
        match = _LOG_HEAD_RE.search(str(info.get_object().get("/Keywords", ""))) if info else None
    except Exception:  # a damaged file carries no anchor
        return None
    return (int(match.group(1)), match.group(2)) if match else None


def registry_copy_sha256(reg, pdf: bytes) -> str | None:
    """SHA-256 of the registry's own signed copy of the audit PDF that ``pdf`` claims to be.

    None when the document names no label, is not an audit report (a consent form is made
    on demand and has no stored copy), or the registry holds no copy. Never raises.
    """
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        label_id = _label_from_info(bytes(pdf))
        info = PdfFileReader(io.BytesIO(bytes(pdf)), strict=False).trailer_view.get("/Info")
        keywords = [k.strip() for k in str(info.get_object().get("/Keywords", "")).split(",")] if info else []
    except Exception:  # a damaged file names nothing
        return None
    if not label_id or "consent" in keywords:
        return None
    row = reg.one("SELECT sha256 FROM audit_pdfs WHERE label_id = ?", (label_id,))
    return row["sha256"] if row else None


def _common_name(cert: asn1_x509.Certificate) -> str:
    subject = cert.subject.native
    return str(subject.get("common_name") or cert.subject.human_friendly)


def verify_pdf(pdf: bytes, keystore: KeyStore, *, expected_sha256: str | None = None) -> PdfCheck:
    """Check a PDF's signature against the committee's keys.

    Parameters
    ----------
    pdf:
        The uploaded file, as bytes; anything is accepted.
    keystore:
        Supplies the committee's trust roots (current and earlier keys).
    expected_sha256:
        The SHA-256 of the registry's own copy of this document, where there is one: a
        file with any other hash is not that document, however its signature looks.

    Returns
    -------
    PdfCheck
        ``intact`` when the last signature's digest and signature are correct and it
        covers the whole file (nothing appended after signing); ``signed_by_committee``
        when, in addition, the signer's certificate chains to a committee root.
    """
    check = PdfCheck()
    if not isinstance(pdf, (bytes, bytearray)) or b"%PDF-" not in bytes(pdf[:1024]):
        check.problems.append(_NOT_PDF)
        return check
    pdf = bytes(pdf)
    roots = keystore.trust_roots()
    try:
        check.label_id = _label_from_info(pdf)
    except Exception:  # the parser can fail in many ways on a damaged file; say so below
        pass
    try:
        from .signing import signature_status

        status = signature_status(pdf, roots)
    except Exception:
        # A damaged cross-reference table, a truncated file, a mangled signature
        # dictionary: pyHanko raises a variety of errors, all of which mean the same
        # thing to a parent uploading a file.
        from pyhanko.pdf_utils.reader import PdfFileReader

        try:
            has_sig = bool(PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures)
        except Exception:
            has_sig = False
        check.problems.append(_SIGNATURE_BROKEN if has_sig else _UNREADABLE)
        return check
    if status is None:
        check.problems.append(_UNSIGNED)
        return _finish(check)

    from pyhanko.sign.validation.status import SignatureCoverageLevel

    check.signer = _common_name(status.signing_cert)
    check.signed_at = status.signer_reported_dt
    if not status.intact:
        check.problems.append(_DIGEST_MISMATCH)
    elif not status.valid:
        check.problems.append(_SIGNATURE_INVALID)
    if status.coverage == SignatureCoverageLevel.ENTIRE_REVISION:
        check.problems.append(_MODIFIED_AFTER)
    elif status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        check.problems.append(_PARTIAL_COVERAGE)
    whole = _gap_is_only_the_signature(pdf)
    if not whole and status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        check.problems.append(_SIGNATURE_GAP)
    same_as_registry = expected_sha256 is None or hashlib.sha256(pdf).hexdigest() == expected_sha256
    if not same_as_registry:
        check.problems.append(_NOT_REGISTRY_COPY)
    check.intact = bool(
        status.intact and status.valid and status.coverage == SignatureCoverageLevel.ENTIRE_FILE and whole
        and same_as_registry
    )
    if not roots:
        check.problems.append(_NO_COMMITTEE_KEY)
    elif not status.trusted:
        check.problems.append(_NOT_COMMITTEE)
    # A trusted chain over a changed document proves nothing about this document.
    check.signed_by_committee = bool(check.intact and status.trusted and roots)
    return _finish(check)


def _finish(check: PdfCheck) -> PdfCheck:
    if check.label_id is None:
        check.problems.append(_NO_LABEL)
    return check


__all__ = ["LABEL_KEYWORD", "LOG_HEAD_KEYWORD", "PdfCheck", "log_head_in", "registry_copy_sha256", "verify_pdf"]

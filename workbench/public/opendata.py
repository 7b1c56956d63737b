"""Signed open data: the public registry as JSON and CSV that any mirror can republish.

``export_registry`` writes ``registry.json``, ``registry.csv`` and ``schema.json`` (the
documented schema), then ``SHA256SUMS`` over the three and ``SHA256SUMS.p7s``, a detached
CMS (PKCS #7) signature of ``SHA256SUMS`` made with the committee's key. That is the
pattern of Linux distribution mirrors: one signature covers every file through their
hashes, and anyone can check it without this program::

    openssl cms -verify -binary -inform DER -in SHA256SUMS.p7s -content SHA256SUMS \\
        -CAfile committee-root.pem -purpose any && sha256sum -c SHA256SUMS

Only fields on the allow-list ``EXPORT_FIELDS`` leave; the dossier's confidential parts
(storage location, limitations, oversight, contact person), e-mail addresses, phone
numbers and the names of reviewers are never read into the export.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from pathlib import Path

from pydantic import BaseModel, Field

from .._blocking import run_blocking
from ..registry.db import Registry
from ..errors import WorkbenchError
from ..i18n import t
from ..registry.models import now_iso, utcnow
from .visitor import effective_status

SCHEMA_VERSION = "1.0"
DATA_FILES = ("registry.json", "registry.csv", "schema.json")
SUMS = "SHA256SUMS"
SIGNATURE = "SHA256SUMS.p7s"

NO_SIGNATURE = "pub.export.no_signature"
BAD_SIGNATURE = "pub.export.bad_signature"
NOT_COMMITTEE = "pub.export.not_committee"
MISSING_FILE = "pub.export.missing_file"
CHANGED_FILE = "pub.export.changed_file"
UNLISTED_FILE = "pub.export.unlisted_file"
NOT_A_FOLDER = "pub.export.not_a_folder"
EXTRA_FILE = "ops.export.extra_file"

#: field -> (JSON type, description). The allow-list of what leaves, and its documentation.
EXPORT_FIELDS: dict[str, tuple[str, str]] = {
    "label_id": ("string", "The AI-safe label number, KZ-AIS-<year>-<six digits>, never reused."),
    "tool_name": ("string", "The tool's trade name as submitted."),
    "tool_version": ("string", "The version of the tool the label covers."),
    "vendor": ("string", "The organisation that submitted the tool."),
    "vendor_bin": ("string", "The organisation's 12-digit Business Identification Number (public in Kazakhstan)."),
    "tier": ("string", "Risk tier: high, limited or minimal (prohibited tools are never labelled)."),
    "status": ("string", "Status on the export date: active, suspended, revoked, expired or superseded."),
    "status_reason": ("string", "The committee's reason for a suspension or revocation, or the label that "
                                "superseded this one; empty otherwise."),
    "valid_from": ("string", "First day of validity (ISO 8601 date)."),
    "valid_until": ("string", "Last day of validity (ISO 8601 date)."),
    "grades": ("array", "School grades the label covers (0 = pre-school to 12)."),
    "subjects": ("array", "Subjects the label covers."),
    "languages": ("array", "Languages of instruction the label covers (kk, ru, en, other)."),
    "conditions": ("array", "Conditions of use the committee set, e.g. a teacher confirms every grade."),
    "description_kk": ("string", "What the tool does, in Kazakh."),
    "description_ru": ("string", "What the tool does, in Russian."),
    "description_en": ("string", "What the tool does, in English (may be empty)."),
    "decision_mode": ("string", "How its outputs are used: no_decisions, teacher_confirms or automatic."),
    "data_categories": ("array", "Categories of personal data the tool processes."),
    "supersedes": ("string", "The label of the previous version of the tool, if any; empty otherwise."),
    "audit_pdf_sha256": ("string", "SHA-256 of the signed audit PDF, to check a copy of it."),
    "policy_version": ("string", "Version of the labelling policy the validity was set under."),
    "verify_url": ("string", "Where the label can be verified online (the QR code's address)."),
}
_LISTS = {name for name, (kind, _) in EXPORT_FIELDS.items() if kind == "array"}


class ExportError(WorkbenchError):
    """The export folder cannot be written or read."""


class ExportCheck(BaseModel):
    """The answer to "is this export the committee's, unchanged?"."""

    signature_valid: bool = False
    signed_by_committee: bool = False
    signer: str | None = None
    files: dict[str, bool] = Field(default_factory=dict)
    labels: int | None = None
    problems: list[str] = Field(default_factory=list)  # catalogue keys
    problem_files: list[str] = Field(default_factory=list)
    extra_files: list[str] = Field(default_factory=list)  # in the folder, not covered by the signature
    log_head: str | None = None  # the event-log anchor the export carries, "<event id>:<hash>"

    @property
    def ok(self) -> bool:
        return (self.signature_valid and self.signed_by_committee and bool(self.files)
                and all(self.files.values()) and all(f in self.files for f in DATA_FILES)
                and not self.extra_files)

    def explain(self, lang: str = "kk") -> list[str]:
        lines = [t("pub.export.q_signature_" + ("yes" if self.signature_valid else "no"), lang),
                 t("pub.export.q_committee_" + ("yes" if self.signed_by_committee else "no"), lang,
                   signer=self.signer or "—")]
        for name in DATA_FILES:
            lines.append(t("pub.export.q_file_" + ("yes" if self.files.get(name) else "no"), lang, file=name))
        for name in self.extra_files:
            lines.append(t("ops.export.q_extra_file", lang, file=name))
        return lines


# -- building the records ---------------------------------------------------------------------

def public_records(reg: Registry, *, today=None) -> list[dict]:
    """Every label as an export record of exactly ``EXPORT_FIELDS``, ordered by label ID."""
    from ..registry.public_url import verify_url

    today = today or utcnow().date()
    # The query names each column it reads, so a confidential column cannot slip in.
    rows = reg.query(
        "SELECT l.id, l.tool_name, l.tool_version, l.vendor, o.bin, l.tier, l.status, l.status_reason, "
        "l.valid_from, l.valid_until, l.scope, l.conditions, l.pdf_sha256, l.policy_version, s.previous_id, "
        "json_extract(s.dossier, '$.description_kk') AS d_kk, json_extract(s.dossier, '$.description_ru') AS d_ru, "
        "json_extract(s.dossier, '$.description_en') AS d_en, json_extract(s.dossier, '$.decision_mode') AS mode, "
        "json_extract(s.dossier, '$.data_categories') AS cats "
        "FROM labels l JOIN submissions s ON s.id = l.submission_id JOIN organisations o ON o.id = s.org_id "
        "ORDER BY l.id")
    previous = {}
    for r in reg.query("SELECT submission_id, id FROM labels ORDER BY valid_from, id"):
        previous[r["submission_id"]] = r["id"]  # the latest label of each submission
    records = []
    for r in rows:
        scope = json.loads(r["scope"])
        records.append({
            "label_id": r["id"], "tool_name": r["tool_name"], "tool_version": r["tool_version"],
            "vendor": r["vendor"], "vendor_bin": r["bin"], "tier": r["tier"],
            "status": effective_status(r["status"], r["valid_until"], today), "status_reason": r["status_reason"],
            "valid_from": r["valid_from"], "valid_until": r["valid_until"],
            "grades": [int(g) for g in scope.get("grades", [])], "subjects": list(scope.get("subjects", [])),
            "languages": list(scope.get("languages", [])), "conditions": json.loads(r["conditions"]),
            "description_kk": r["d_kk"] or "", "description_ru": r["d_ru"] or "", "description_en": r["d_en"] or "",
            "decision_mode": r["mode"] or "", "data_categories": json.loads(r["cats"] or "[]"),
            "supersedes": previous.get(r["previous_id"], "") if r["previous_id"] else "",
            "audit_pdf_sha256": r["pdf_sha256"] or "", "policy_version": r["policy_version"],
            "verify_url": verify_url(reg, r["id"]),
        })
    return records


def schema() -> dict:
    """The JSON Schema of ``registry.json``; field descriptions double as the CSV's documentation."""
    properties = {}
    for name, (kind, description) in EXPORT_FIELDS.items():
        prop: dict = {"type": kind, "description": description}
        if kind == "array":
            prop["items"] = {"type": "integer" if name == "grades" else "string"}
        properties[name] = prop
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "registry.schema.json",
        "title": "Registry of AI-safe labels (National Academy of Education named after Y. Altynsarin)",
        "description": ("registry.json holds {schema_version, generated_at, as_of, log_head, count, labels}; "
                        "registry.csv holds one row per label with the same fields, UTF-8, comma-separated, "
                        "list fields joined with '; '. SHA256SUMS lists the files' hashes and SHA256SUMS.p7s is the "
                        "committee's detached CMS signature of SHA256SUMS."),
        "type": "object",
        "required": ["schema_version", "generated_at", "as_of", "log_head", "count", "labels"],
        "properties": {
            "schema_version": {"type": "string", "const": SCHEMA_VERSION},
            "generated_at": {"type": "string", "description": "When the export was made (ISO 8601, UTC)."},
            "as_of": {"type": "string", "description": "The date the statuses refer to (ISO 8601)."},
            "log_head": {"type": "string", "pattern": "^[0-9]+:[0-9a-f]{64}$",
                         "description": "The registry's event-log head when exported, <event id>:<SHA-256>: an "
                                        "anchor that lets the committee prove the log was not rewritten since."},
            "count": {"type": "integer", "description": "Number of labels."},
            "labels": {"type": "array", "items": {"type": "object", "additionalProperties": False,
                                                  "required": list(EXPORT_FIELDS), "properties": properties}},
        },
    }


def _csv_bytes(records: list[dict]) -> bytes:
    from ..textsafe import safe_row

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(EXPORT_FIELDS), lineterminator="\n")
    writer.writeheader()
    for rec in records:
        writer.writerow(safe_row({k: "; ".join(str(v) for v in rec[k]) if k in _LISTS else rec[k]
                                  for k in EXPORT_FIELDS}))  # formulas neutralised (textsafe)
    return buf.getvalue().encode("utf-8")


def _dump(value) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=1, sort_keys=False) + "\n").encode("utf-8")


# -- signing and checking ---------------------------------------------------------------------

def _sign_detached(keystore, data: bytes) -> bytes:
    return keystore.sign_detached(data)


def _check_signature(data: bytes, signature: bytes, keystore) -> tuple[bool, bool, str | None]:
    """(intact and valid, trusted as the committee's, signer's common name)."""
    import asyncio

    from asn1crypto import cms
    from pyhanko.sign.validation.generic_cms import async_validate_detached_cms
    from pyhanko.sign.validation.settings import KeyUsageConstraints
    from pyhanko_certvalidator import ValidationContext

    try:
        signed_data = cms.ContentInfo.load(signature)["content"]
        signed_data.native  # parse fully now, so a damaged file fails here and not half-way  # noqa: B018
    except Exception:
        return False, False, None
    roots = keystore.trust_roots()
    # Only the committee's roots, offline: the system's CA list must not vouch for a stranger.
    context = ValidationContext(trust_roots=list(roots), allow_fetching=False, revocation_mode="soft-fail")
    usage = KeyUsageConstraints(key_usage={"digital_signature", "non_repudiation"}, match_all_key_usages=False)
    try:
        status = run_blocking(asyncio.run, async_validate_detached_cms(data, signed_data, signer_validation_context=context,
                                                         key_usage_settings=usage))
    except Exception:
        return False, False, None
    subject = status.signing_cert.subject.native if status.signing_cert is not None else {}
    valid = bool(status.intact and status.valid)
    return valid, bool(valid and status.trusted and roots), subject.get("common_name")


def _sums(files: dict[str, bytes]) -> bytes:
    return "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in files.items()).encode()


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def export_registry(reg: Registry, keystore, dest: Path, *, today=None) -> list[Path]:
    """Write the signed open-data export of the registry into ``dest``.

    Parameters
    ----------
    reg:
        The registry.
    keystore:
        The committee's ``signing.KeyStore``; its key signs ``SHA256SUMS``.
    dest:
        The folder (created if missing); files of an earlier export are replaced.

    Returns
    -------
    list[Path]
        ``registry.json``, ``registry.csv``, ``schema.json``, ``SHA256SUMS``, ``SHA256SUMS.p7s``.
    """
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise ExportError(NOT_A_FOLDER, path=str(dest))
    dest.mkdir(parents=True, exist_ok=True)
    today = today or utcnow().date()
    records = public_records(reg, today=today)
    document = {"schema_version": SCHEMA_VERSION, "generated_at": now_iso(), "as_of": today.isoformat(),
                "log_head": reg.head_anchor(), "count": len(records), "labels": records}
    files = {"registry.json": _dump(document), "registry.csv": _csv_bytes(records), "schema.json": _dump(schema())}
    sums = _sums(files)
    signature = _sign_detached(keystore, sums)  # before writing: a key error leaves the old export whole
    written = []
    for name, data in [*files.items(), (SUMS, sums), (SIGNATURE, signature)]:
        _write(dest / name, data)
        written.append(dest / name)
    return written


def verify_export(dest: Path, keystore) -> ExportCheck:
    """Check an export folder: the signature of ``SHA256SUMS``, its signer, every file's hash.

    Never raises on a damaged export; ``problems`` says what is wrong.
    """
    dest = Path(dest)
    check = ExportCheck()
    try:
        sums = (dest / SUMS).read_bytes()
        signature = (dest / SIGNATURE).read_bytes()
    except OSError:
        check.problems.append(NO_SIGNATURE)
        return check
    check.signature_valid, check.signed_by_committee, check.signer = _check_signature(sums, signature, keystore)
    if not check.signature_valid:
        check.problems.append(BAD_SIGNATURE)
    elif not check.signed_by_committee:
        check.problems.append(NOT_COMMITTEE)
    listed = {}
    for line in sums.decode("utf-8", "replace").splitlines():
        digest, _, name = line.partition("  ")
        if name:
            listed[name.strip()] = digest.strip()
    for name in sorted(set(listed) | set(DATA_FILES)):
        path = dest / name
        if name not in listed:
            check.files[name] = False
            check.problems.append(UNLISTED_FILE)
            check.problem_files.append(name)
        elif not path.is_file() or "/" in name or name.startswith("."):
            check.files[name] = False
            check.problems.append(MISSING_FILE)
            check.problem_files.append(name)
        else:
            check.files[name] = hashlib.sha256(path.read_bytes()).hexdigest() == listed[name]
            if not check.files[name]:
                check.problems.append(CHANGED_FILE)
                check.problem_files.append(name)
    check.extra_files = _extra_files(dest, set(listed) | {SUMS, SIGNATURE})
    if check.extra_files:
        check.problems.append(EXTRA_FILE)
    if check.files.get("registry.json"):
        try:
            document = json.loads((dest / "registry.json").read_bytes())
            check.labels = int(document["count"])
            check.log_head = document.get("log_head") if isinstance(document.get("log_head"), str) else None
        except (ValueError, KeyError, TypeError, AttributeError):
            check.labels = None
    return check


def _extra_files(dest: Path, covered: set[str]) -> list[str]:
    """Every file or link under ``dest`` that the signed ``SHA256SUMS`` does not cover
    (a mirror must not republish an unsigned file beside the signed ones)."""
    extra = []
    for path in sorted(dest.rglob("*")):
        if path.is_dir() and not path.is_symlink():
            continue
        name = path.relative_to(dest).as_posix()
        if name not in covered or path.is_symlink():
            extra.append(name)
    return extra


__all__ = ["EXPORT_FIELDS", "DATA_FILES", "ExportCheck", "ExportError", "export_registry", "verify_export",
           "public_records", "schema"]

"""Is the registry's record what the workbench wrote? The event log, its anchors, and the state.

The event log is hash-chained and each event is sealed with a key kept outside the database
(``db.Registry.verify_log``). That alone cannot catch someone who rewrites the whole database,
so the log is also *anchored* outside it:

- every signed audit PDF carries the log's head when it was signed (``AISafeLogHead`` in its
  /Keywords and a line of text), and so does every signed open-data export (``log_head`` in
  ``registry.json``); a head file the operator keeps elsewhere (``workbench verify-log
  --write-head FILE``) is a third kind, signed by the committee's key (a detached CMS
  signature over its fields), so that someone who can write files but does not know the
  key's passphrase cannot rewrite it to match a forged log. An anchor ``N:H`` holds when
  event ``N`` is in the log with hash ``H``: a truncated, deleted or rewritten log fails it.
  An anchor counts only when the document carrying it is the committee's, unchanged.

And the state is checked against the log: every decision must match its ``decision.recorded``
event (outcome, submission, evidence) and its ``audit_pdf.signed`` event (the PDF's hash);
every label's status, validity and tier must be what replaying its ``label.*`` events gives.
A row changed without an event is reported.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

from pydantic import BaseModel, Field

from ..registry.db import Registry, read_witness
from ..errors import WorkbenchError
from ..i18n import t
from ..registry.models import now_iso

HEAD_FILE_FORMAT = "ai-safe-workbench/log-head/1"

ANCHOR_MISSING_EVENT = "ops.log.anchor_missing_event"
ANCHOR_MISMATCH = "ops.log.anchor_mismatch"
ANCHOR_UNSIGNED = "ops.log.anchor_unsigned"
HEAD_FILE_UNREADABLE = "ops.log.head_file_unreadable"
HEAD_FILE_UNSIGNED = "backup_seal.head_unsigned"
HEAD_FILE_BAD_SIGNATURE = "backup_seal.head_bad_signature"
DECISION_NO_EVENT = "ops.state.decision_no_event"
DECISION_CHANGED = "ops.state.decision_changed"
DECISION_DELETED = "ops.state.decision_deleted"
PDF_CHANGED = "ops.state.pdf_changed"
LABEL_NO_EVENT = "ops.state.label_no_event"
LABEL_CHANGED = "ops.state.label_changed"
LABEL_DELETED = "ops.state.label_deleted"


class Finding(BaseModel):
    """One thing that does not hold: a catalogue key and its values."""

    key: str
    params: dict[str, str | int] = Field(default_factory=dict)

    def text(self, lang: str = "kk") -> str:
        return t(self.key, lang, **self.params)


class Anchor(BaseModel):
    """A log head recorded outside the database, and where it was found."""

    source: str
    event_id: int
    hash: str


class IntegrityReport(BaseModel):
    """The answer of ``workbench verify-log``."""

    events: int = 0
    chain_ok: bool = False
    chain_problem: str | None = None
    first_broken_id: int | None = None
    anchors_checked: int = 0
    decisions_checked: int = 0
    labels_checked: int = 0
    findings: list[Finding] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.chain_ok and not self.findings

    def explain(self, lang: str = "kk") -> list[str]:
        lines = []
        if not self.chain_ok:
            lines.append(t("cli.log_broken", lang, id=self.first_broken_id if self.first_broken_id is not None else "—",
                           problem=t(self.chain_problem or "db.log_edited", lang)))
        lines += ["✘ " + f.text(lang) for f in self.findings]
        lines.append(t("ops.log.summary", lang, events=self.events, anchors=self.anchors_checked,
                       decisions=self.decisions_checked, labels=self.labels_checked))
        return lines


# -- anchors --------------------------------------------------------------------------------


def _parse_head(token: object) -> tuple[int, str] | None:
    if not isinstance(token, str) or ":" not in token:
        return None
    number, _, digest = token.partition(":")
    if not number.isdigit() or len(digest) != 64:
        return None
    return int(number), digest


def pdf_anchors(reg: Registry, keystore, audits_dir: Path | None) -> tuple[list[Anchor], list[Finding]]:
    """Anchors from every audit PDF in the database and under ``audits/``, each checked first."""
    from ..decision.pdf_verify import log_head_in, verify_pdf

    anchors, findings = [], []
    documents = [(f"registry.db:{r['file_name']}", r["pdf"])
                 for r in reg.query("SELECT file_name, pdf FROM audit_pdfs ORDER BY decision_id")]
    if audits_dir is not None and audits_dir.is_dir():
        documents += [(f"audits/{p.name}", p.read_bytes()) for p in sorted(audits_dir.glob("*.pdf"))]
    for source, pdf in documents:
        head = log_head_in(pdf)
        if head is None:
            continue  # issued before anchoring began
        check = verify_pdf(pdf, keystore)
        if not check.ok:
            findings.append(Finding(key=ANCHOR_UNSIGNED, params={"source": source}))
            continue
        anchors.append(Anchor(source=source, event_id=head[0], hash=head[1]))
    return anchors, findings


def export_anchor(folder: Path, keystore) -> tuple[list[Anchor], list[Finding]]:
    """The anchor of a signed open-data export, if the export is the committee's and whole."""
    from ..public.opendata import verify_export

    check = verify_export(Path(folder), keystore)
    source = f"export:{Path(folder).name}"
    head = _parse_head(check.log_head)
    if not check.ok or head is None:
        return [], [Finding(key=ANCHOR_UNSIGNED, params={"source": source})]
    return [Anchor(source=source, event_id=head[0], hash=head[1])], []


def verify_detached(data: bytes, signature: bytes, roots: list) -> str | None:
    """The SHA-256 fingerprint of the certificate whose detached CMS ``signature`` over ``data``
    is intact, valid and chains to one of ``roots`` (asn1crypto certificates); else None.

    Offline: only the given roots, no fetching, no system CA list.
    """
    import asyncio

    from asn1crypto import cms
    from pyhanko.sign.validation.generic_cms import async_validate_detached_cms
    from pyhanko.sign.validation.settings import KeyUsageConstraints
    from pyhanko_certvalidator import ValidationContext

    from .._blocking import run_blocking

    if not roots:
        return None
    try:
        signed_data = cms.ContentInfo.load(signature)["content"]
        signed_data.native  # parse fully now: a damaged signature fails here  # noqa: B018
        context = ValidationContext(trust_roots=list(roots), allow_fetching=False, revocation_mode="soft-fail")
        usage = KeyUsageConstraints(key_usage={"digital_signature", "non_repudiation"}, match_all_key_usages=False)
        status = run_blocking(asyncio.run, async_validate_detached_cms(
            data, signed_data, signer_validation_context=context, key_usage_settings=usage))
    except Exception:  # any malformed input is simply not a valid signature
        return None
    if not (status.intact and status.valid and status.trusted) or status.signing_cert is None:
        return None
    return hashlib.sha256(status.signing_cert.dump()).hexdigest()


def _head_payload(data: dict) -> bytes:
    """The bytes a head file's signature covers: its fields without the signature, canonical."""
    return json.dumps({k: v for k, v in data.items() if k != "signature"}, sort_keys=True,
                      separators=(",", ":")).encode("utf-8")


def head_file_anchor(path: Path, keystore=None) -> tuple[list[Anchor], list[Finding]]:
    """The anchor in a head file written by ``verify-log --write-head``, if the committee signed it."""
    source = Path(path).name
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        head = _parse_head(f"{int(data['event_id'])}:{data['hash']}")
    except (OSError, ValueError, KeyError, TypeError):
        head = None
    if head is None:
        return [], [Finding(key=HEAD_FILE_UNREADABLE, params={"source": source})]
    if not isinstance(data.get("signature"), str):
        return [], [Finding(key=HEAD_FILE_UNSIGNED, params={"source": source})]
    try:
        signature = base64.b64decode(data["signature"], validate=True)
    except ValueError:
        signature = b""
    if keystore is None or verify_detached(_head_payload(data), signature, keystore.trust_roots()) is None:
        return [], [Finding(key=HEAD_FILE_BAD_SIGNATURE, params={"source": source})]
    return [Anchor(source=f"head file {source}", event_id=head[0], hash=head[1])], []


def check_anchors(hashes: dict[int, str], anchors: list[Anchor]) -> list[Finding]:
    """Each anchor's event must be in the log with the anchor's hash."""
    findings = []
    for anchor in anchors:
        if anchor.event_id == 0:
            continue
        found = hashes.get(anchor.event_id)
        if found is None:
            findings.append(Finding(key=ANCHOR_MISSING_EVENT, params={"source": anchor.source, "id": anchor.event_id}))
        elif found != anchor.hash:
            findings.append(Finding(key=ANCHOR_MISMATCH, params={"source": anchor.source, "id": anchor.event_id}))
    return findings


def write_head_file(reg: Registry, path: Path, keystore) -> dict:
    """Write the log's current head to ``path``, signed by the committee's key (to keep somewhere
    the database's users cannot write). Signing needs the key's passphrase: a ``SigningError``
    says what is missing, and nothing is written."""
    event_id, digest = reg.head()
    data = {"format": HEAD_FILE_FORMAT, "event_id": event_id, "hash": digest, "written_at": now_iso(),
            "registry": str(reg.path) if reg.path else ":memory:"}
    data["signature"] = base64.b64encode(keystore.sign_detached(_head_payload(data))).decode("ascii")
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        tmp.replace(path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise WorkbenchError(HEAD_FILE_UNREADABLE, source=str(path)) from None
    return data


# -- state against the log ------------------------------------------------------------------


def _evidence_digest(evidence_json: str) -> str:
    return hashlib.sha256(json.dumps(json.loads(evidence_json), sort_keys=True).encode()).hexdigest()


def check_decisions(reg: Registry) -> tuple[int, list[Finding]]:
    """Every decision row against its ``decision.recorded`` and ``audit_pdf.signed`` events."""
    findings = []
    recorded, signed = {}, {}
    for event in reg.events("submission"):
        decision_id = event.payload.get("decision_id")
        if event.action == "decision.recorded" and decision_id is not None:
            recorded[int(decision_id)] = event
        elif event.action == "audit_pdf.signed" and decision_id is not None:
            signed[int(decision_id)] = event
    rows = reg.query("SELECT d.id, d.submission_id, d.outcome, d.evidence, d.pdf_sha256, p.sha256 AS stored_sha, "
                     "p.pdf FROM decisions d LEFT JOIN audit_pdfs p ON p.decision_id = d.id ORDER BY d.id")
    for row in rows:
        event = recorded.pop(row["id"], None)
        if event is None:
            findings.append(Finding(key=DECISION_NO_EVENT, params={"id": row["id"]}))
            continue
        evidence = event.payload.get("evidence_sha256")
        if (event.payload.get("outcome") != row["outcome"] or event.subject_id != str(row["submission_id"])
                or (evidence is not None and evidence != _evidence_digest(row["evidence"]))):
            findings.append(Finding(key=DECISION_CHANGED, params={"id": row["id"]}))
        pdf_event = signed.get(row["id"])
        expected = pdf_event.payload.get("sha256") if pdf_event else None
        actual = hashlib.sha256(row["pdf"]).hexdigest() if row["pdf"] is not None else None
        if expected != row["pdf_sha256"] or expected != row["stored_sha"] or expected != actual:
            findings.append(Finding(key=PDF_CHANGED, params={"id": row["id"]}))
    for decision_id in recorded:
        findings.append(Finding(key=DECISION_DELETED, params={"id": decision_id}))
    return len(rows), findings


def replay_labels(reg: Registry) -> dict[str, dict]:
    """Each label's status, validity and tier as its events say."""
    state: dict[str, dict] = {}
    for event in reg.events("label"):
        payload = event.payload
        if event.action == "label.issued":
            state[event.subject_id] = {"status": "active", "valid_until": payload.get("valid_until"),
                                       "tier": payload.get("tier"), "submission_id": payload.get("submission_id")}
            continue
        label = state.get(event.subject_id)
        if label is None:
            continue
        if event.action == "label.superseded":
            label["status"] = "superseded"
        elif "to" in payload:
            label["status"] = payload["to"]
        if "valid_until" in payload:
            label["valid_until"] = payload["valid_until"]
        if "tier" in payload and event.action != "label.issued":
            label["tier"] = payload["tier"]
    return state


def check_labels(reg: Registry) -> tuple[int, list[Finding]]:
    """Every label row against the replay of its events."""
    findings = []
    expected = replay_labels(reg)
    rows = reg.query("SELECT id, status, valid_until, tier, submission_id FROM labels ORDER BY id")
    for row in rows:
        want = expected.pop(row["id"], None)
        if want is None:
            findings.append(Finding(key=LABEL_NO_EVENT, params={"id": row["id"]}))
            continue
        if (row["status"] != want["status"] or row["valid_until"] != want["valid_until"]
                or (want["tier"] is not None and row["tier"] != want["tier"])
                or (want["submission_id"] is not None and row["submission_id"] != want["submission_id"])):
            findings.append(Finding(key=LABEL_CHANGED, params={"id": row["id"], "status": row["status"],
                                                               "expected": want["status"]}))
    for label_id in expected:
        findings.append(Finding(key=LABEL_DELETED, params={"id": label_id}))
    return len(rows), findings


# -- everything -----------------------------------------------------------------------------


def verify_registry(reg: Registry, keystore=None, *, audits_dir: Path | None = None,
                    head_files: tuple[Path, ...] = (), exports: tuple[Path, ...] = ()) -> IntegrityReport:
    """The chain and its seals, the anchors (PDFs, exports, head files, the in-home witness),
    and the state tables against the log."""
    chain, hashes = reg._walk()
    report = IntegrityReport(events=chain.events, chain_ok=chain.ok, chain_problem=chain.problem,
                             first_broken_id=chain.first_broken_id)
    if not chain.ok:
        hashes = reg.event_hashes()  # still check what the anchors say about the rows that are there
    anchors: list[Anchor] = []
    if keystore is not None:
        found, problems = pdf_anchors(reg, keystore, audits_dir)
        anchors += found
        report.findings += problems
        for folder in exports:
            found, problems = export_anchor(folder, keystore)
            anchors += found
            report.findings += problems
    for path in head_files:
        found, problems = head_file_anchor(path, keystore)
        anchors += found
        report.findings += problems
    witness = read_witness(reg.keys_dir) if reg.keys_dir is not None else None
    if witness is not None and witness["event_id"] >= 0:
        anchors.append(Anchor(source="keys/log-head.json", event_id=witness["event_id"], hash=witness["hash"]))
    report.anchors_checked = len(anchors)
    report.findings += check_anchors(hashes, anchors)
    report.decisions_checked, problems = check_decisions(reg)
    report.findings += problems
    report.labels_checked, problems = check_labels(reg)
    report.findings += problems
    return report


__all__ = ["Anchor", "Finding", "IntegrityReport", "check_anchors", "check_decisions", "check_labels",
           "replay_labels", "verify_detached", "verify_registry", "write_head_file"]

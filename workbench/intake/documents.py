"""Opening a submission's documents and output files, with the permission checks and a log
line per view (issue 13).

``submissions.get_attachment`` already narrows by role (a vendor's own organisation, a
reviewer's assignments). Opening the *content* adds two rules: a reviewer who declared a
conflict of interest on a submission (or has not declared yet) opens none of its files, and nobody but the vendor
opens the files of a draft (the secretary's work starts at screening). Every opening is
an ``attachment.viewed`` event in the hash-chained log.

Previews are built here, not in the page: PDF pages as PNG (poppler's ``pdftoppm``, the
first pages only, with a time limit), a DOCX file's paragraphs as plain text, a data
file's first rows as text cells (``reader.preview``: ``=1+1`` stays ``=1+1``).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

from ..registry.db import Registry
from ..errors import PermissionDenied, WorkbenchError
from ..registry.models import Actor, Attachment, Role, Status
from ..registry.permissions import require
from . import submissions as subs

CONFLICT = "staff.docs_conflict"
DECLARE_FIRST = "staff.docs_declare_first"
DRAFT = "staff.docs_draft"
NO_PREVIEW = "staff.docs_no_preview"
PREVIEW_PAGES = 3
PREVIEW_DPI = 80
PDFTOPPM_SECONDS = 30
DOCX_MAX_CHARS = 20_000


@dataclass
class OpenedDocument:
    attachment: Attachment
    data: bytes
    #: What the page can show inline: "pdf" (page images), "image", "text", "table" or "" (download only).
    preview: str = ""
    pages: list[bytes] = field(default_factory=list)
    page_count: int | None = None
    text: str = ""
    table: object = None  # a pandas DataFrame of text cells
    table_info: object = None
    problem: WorkbenchError | None = None


def may_open(reg: Registry, actor: Actor, submission_id: int) -> None:
    """Raise unless ``actor`` may open this submission's files."""
    require(actor, "attachment.read")
    sub = subs.get_submission(reg, actor, submission_id)  # NotFound if not visible (not assigned, ...)
    if actor.role is Role.REVIEWER:
        declared = subs.conflict_declared(reg, actor, submission_id)
        if declared is None:
            raise PermissionDenied(DECLARE_FIRST, id=submission_id)
        if declared:
            raise PermissionDenied(CONFLICT, id=submission_id)
    if actor.role is not Role.VENDOR and sub.status is Status.DRAFT:
        raise PermissionDenied(DRAFT, id=submission_id)


def list_documents(reg: Registry, actor: Actor, submission_id: int) -> list[Attachment]:
    may_open(reg, actor, submission_id)
    return subs.list_attachments(reg, actor, submission_id)


def open_document(reg: Registry, actor: Actor, attachment_id: int, *, store, preview: bool = True) -> OpenedDocument:
    """The file's bytes (and a preview), after the checks; the view is logged."""
    att = subs.get_attachment(reg, actor, attachment_id)
    may_open(reg, actor, att.submission_id)
    data = subs.read_attachment(reg, actor, attachment_id, store=store)
    reg.record(actor, "attachment.viewed", "submission", att.submission_id,
               {"attachment_id": att.id, "sha256": att.sha256, "name": att.original_name})
    doc = OpenedDocument(attachment=att, data=data)
    if preview:
        try:
            _preview(doc, store)
        except WorkbenchError as exc:
            doc.problem = exc
    return doc


def _preview(doc: OpenedDocument, store) -> None:
    kind = doc.attachment.kind
    if kind == "pdf":
        doc.pages, doc.page_count = pdf_pages(doc.data)
        doc.preview = "pdf" if doc.pages else ""
        if not doc.pages:
            doc.problem = WorkbenchError(NO_PREVIEW)
    elif kind in ("png", "jpeg"):
        doc.preview = "image"
    elif kind == "docx":
        doc.text = docx_text(doc.data)
        doc.preview = "text"
    elif kind in ("csv", "tsv", "xlsx", "parquet", "jsonl"):
        from . import reader

        frame, info = reader.read_table_info(store.path(doc.attachment.sha256), name=doc.attachment.original_name)
        doc.table, doc.table_info, doc.preview = reader.preview(frame), info, "table"


def pdf_pages(data: bytes, *, pages: int = PREVIEW_PAGES, dpi: int = PREVIEW_DPI) -> tuple[list[bytes], int | None]:
    """The first pages of a PDF as PNG images, and the page count (None if unknown).

    A PDF that poppler cannot read, or a machine without poppler, gives no pages (the file
    can still be downloaded)."""
    tool = shutil.which("pdftoppm")
    if tool is None:
        return [], None
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "doc.pdf"
        src.write_bytes(data)
        try:
            subprocess.run([tool, "-png", "-r", str(dpi), "-f", "1", "-l", str(pages), str(src), str(Path(tmp) / "p")],
                           capture_output=True, timeout=PDFTOPPM_SECONDS, check=True)
        except (subprocess.SubprocessError, OSError):
            return [], None
        images = [p.read_bytes() for p in sorted(Path(tmp).glob("p-*.png"))]
        count = None
        info = shutil.which("pdfinfo")
        if info:
            try:
                out = subprocess.run([info, str(src)], capture_output=True, text=True, timeout=PDFTOPPM_SECONDS)
                count = next((int(line.split()[-1]) for line in out.stdout.splitlines() if line.startswith("Pages:")),
                             None)
            except (subprocess.SubprocessError, OSError, ValueError):
                count = None
    return images, count


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def docx_text(data: bytes, *, limit: int = DOCX_MAX_CHARS) -> str:
    """A DOCX file's paragraphs as plain text (no formatting, nothing executed)."""
    import io

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            info = z.getinfo("word/document.xml")
            if info.file_size > 50 * 1024 * 1024:  # a zip bomb is not a document
                raise WorkbenchError(NO_PREVIEW)
            root = ElementTree.fromstring(z.read(info))
    except (KeyError, zipfile.BadZipFile, ElementTree.ParseError):
        raise WorkbenchError(NO_PREVIEW) from None
    paragraphs = ["".join(t.text or "" for t in p.iter(_W + "t")) for p in root.iter(_W + "p")]
    text = "\n".join(p for p in paragraphs if p.strip())
    return text[:limit] + ("…" if len(text) > limit else "")


def views(reg: Registry, actor: Actor, submission_id: int) -> list:
    """Who opened which file of a submission, when (the secretary's view of the log)."""
    require(actor, "submission.screen")
    return [e for e in reg.events("submission", submission_id) if e.action == "attachment.viewed"]

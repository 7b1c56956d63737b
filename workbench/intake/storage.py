"""Content-addressed store for uploaded documents and model-output files.

A file is kept under ``root/files/ab/cd/<sha256>``: its name *is* its SHA-256, so the same
upload is stored once, a decision can reference its evidence by hash, and a changed byte
is detectable (:meth:`FileStore.verify`). The name a person uploaded is only ever a
display string: it is sanitised and returned, never used to build a path.

Writing is all or nothing: the bytes stream into a temporary file inside the store (same
filesystem, so the final rename is atomic), are hashed and sniffed on the way, and the
temporary file is removed whenever the upload is refused (too large, empty, a kind that is
not allowed) or fails. The database record of an upload is the caller's job.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Collection
from pathlib import Path
from typing import BinaryIO

from pydantic import BaseModel, ConfigDict, Field

from ..errors import WorkbenchError
from .reader import HEAD_BYTES, _zip_kind, sniff_kind

__all__ = [
    "ALLOWED_KINDS",
    "DEFAULT_MAX_BYTES",
    "DOCUMENT_KINDS",
    "MEDIA_TYPES",
    "OUTPUT_KINDS",
    "FileStore",
    "StorageError",
    "StoredFile",
    "sanitise_name",
]

_TOO_LARGE = "storage.too_large"
_EMPTY = "storage.empty"
_KIND_NOT_ALLOWED = "storage.kind_not_allowed"
_NOT_FOUND = "storage.not_found"
_WRITE_FAILED = "storage.write_failed"

DEFAULT_MAX_BYTES = 200 * 1024 * 1024
DOCUMENT_KINDS: tuple[str, ...] = ("pdf", "docx", "png", "jpeg")
OUTPUT_KINDS: tuple[str, ...] = ("csv", "tsv", "xlsx", "parquet", "jsonl")
ALLOWED_KINDS: tuple[str, ...] = DOCUMENT_KINDS + OUTPUT_KINDS
MEDIA_TYPES: dict[str, str] = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "png": "image/png",
    "jpeg": "image/jpeg",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "parquet": "application/vnd.apache.parquet",
    "jsonl": "application/jsonl",
}

_CHUNK = 1024 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_INCOMING = ".incoming"  # temporary files, inside files/ so the rename never crosses filesystems
_MAX_NAME = 200
# Characters Windows forbids in names, plus < > that would read as markup in a careless page.
_UNSAFE_NAME_CHARS = re.compile(r'[<>:"/\\|?*]')


class StorageError(WorkbenchError):
    """An upload was refused or a stored file is missing; nothing was written."""


class StoredFile(BaseModel):
    """What was stored: the hash that names it, its size, and what it is."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(gt=0)
    kind: str = Field(description="sniffed from the content: pdf, docx, png, jpeg, csv, tsv, xlsx, parquet, jsonl")
    media_type: str
    original_name: str = Field(max_length=_MAX_NAME, description="sanitised, for display only")


def sanitise_name(name: str) -> str:
    """A file name safe to show and to offer as a download name; never a path.

    Keeps only the last path component, removes control and invisible formatting
    characters (NUL, newlines, right-to-left overrides that disguise ``exe.pdf``),
    replaces characters that are illegal in Windows names or look like markup, trims
    dots and spaces at the ends (no ``..``), and shortens very long names keeping the
    extension. Returns ``"file"`` if nothing is left.
    """
    text = unicodedata.normalize("NFC", str(name))
    text = "".join(" " if c in "\t\r\n" else c for c in text)
    text = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co", "Cn"))
    text = re.split(r"[/\\]", text)[-1]
    text = _UNSAFE_NAME_CHARS.sub("_", text)
    text = re.sub(r"\s+", " ", text).strip(" .")
    if len(text) > _MAX_NAME:
        stem, dot, ext = text.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            text = stem[: _MAX_NAME - len(ext) - 1].rstrip(" .") + "." + ext
        else:
            text = text[:_MAX_NAME].rstrip(" .")
    return text or "file"


def _mb(size: int) -> str:
    value = size / 1024**2
    return f"{value:.0f}" if value >= 10 else f"{value:.3g}"


class FileStore:
    """Blobs named by their SHA-256 under ``root/files``.

    Parameters
    ----------
    root:
        The workbench home (``WORKBENCH_HOME``); files go to ``root/files/ab/cd/<sha256>``.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.files = self.root / "files"

    # -- writing ---------------------------------------------------------------------------------

    def put(self, data: bytes | bytearray | memoryview | BinaryIO, *, original_name: str,
            max_bytes: int = DEFAULT_MAX_BYTES, allowed_kinds: Collection[str] | None = None) -> StoredFile:
        """Store a file; refuse it without writing anything if it is too large or of a wrong kind.

        Parameters
        ----------
        data:
            The bytes, or a binary stream read in 1 MiB chunks (an upload is never held in
            memory twice).
        original_name:
            The uploaded name; sanitised and returned for display, never used as a path.
        max_bytes:
            Refuse files larger than this (default 200 MB).
        allowed_kinds:
            Kinds to accept, sniffed from the content (default: documents and model outputs,
            :data:`ALLOWED_KINDS`).

        Returns
        -------
        StoredFile

        Raises
        ------
        StorageError
            ``storage.too_large``, ``storage.empty``, ``storage.kind_not_allowed`` or
            ``storage.write_failed``; in every case no file is left behind.
        """
        allowed = tuple(allowed_kinds) if allowed_kinds is not None else ALLOWED_KINDS
        if isinstance(data, (bytes, bytearray, memoryview)):
            size = len(data)
            if size > max_bytes:  # refuse before touching the disk
                raise StorageError(_TOO_LARGE, size_mb=_mb(size), limit_mb=_mb(max_bytes))
        incoming = self.files / _INCOMING
        try:
            incoming.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=incoming, prefix="upload-")
        except OSError:
            raise StorageError(_WRITE_FAILED) from None
        tmp = Path(tmp_name)
        try:
            digest, size, head = self._write(fd, data, max_bytes)
            if size == 0:
                raise StorageError(_EMPTY)
            kind = self._kind(tmp, head, size)
            if kind not in allowed:
                raise StorageError(_KIND_NOT_ALLOWED, kind=kind, allowed=", ".join(allowed))
            target = self._location(digest)
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                os.chmod(tmp, 0o444)  # stored evidence is never edited in place
                os.replace(tmp, target)
                _fsync_dir(target.parent)
        except OSError:
            raise StorageError(_WRITE_FAILED) from None
        finally:
            tmp.unlink(missing_ok=True)  # refused, failed, or a duplicate of a stored file
        return StoredFile(sha256=digest, size=size, kind=kind, media_type=MEDIA_TYPES[kind],
                          original_name=sanitise_name(original_name))

    @staticmethod
    def _write(fd: int, data: bytes | bytearray | memoryview | BinaryIO, max_bytes: int) -> tuple[str, int, bytes]:
        """Copy into the open temp file, hashing; stop as soon as the limit is passed."""
        sha = hashlib.sha256()
        size = 0
        head = bytearray()
        with os.fdopen(fd, "wb") as out:
            if isinstance(data, (bytes, bytearray, memoryview)):
                view = memoryview(data)
                chunks = (view[i:i + _CHUNK] for i in range(0, len(view), _CHUNK))
            else:
                chunks = iter(lambda: data.read(_CHUNK), b"")
            for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise StorageError(_TOO_LARGE, size_mb=f"> {_mb(max_bytes)}", limit_mb=_mb(max_bytes))
                sha.update(chunk)
                if len(head) < HEAD_BYTES:
                    head += bytes(chunk[: HEAD_BYTES - len(head)])
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        return sha.hexdigest(), size, bytes(head)

    @staticmethod
    def _kind(path: Path, head: bytes, size: int) -> str:
        if head.startswith(b"PK\x03\x04"):
            # The whole file is at hand: trust the zip's central directory, which also
            # rejects a truncated or damaged archive.
            try:
                with zipfile.ZipFile(path) as zf:
                    return _zip_kind(zf.namelist())
            except (zipfile.BadZipFile, OSError, EOFError):
                return "unknown"
        return sniff_kind(head, complete=size <= len(head))

    # -- reading ---------------------------------------------------------------------------------

    def _location(self, sha256: str) -> Path:
        return self.files / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        """Whether a file with this hash is stored (False for anything that is not a hash)."""
        return isinstance(sha256, str) and bool(_SHA256.match(sha256)) and self._location(sha256).is_file()

    def path(self, sha256: str) -> Path:
        """The stored file's path; ``StorageError(storage.not_found)`` if there is none."""
        if not self.exists(sha256):
            raise StorageError(_NOT_FOUND)
        return self._location(sha256)

    def open(self, sha256: str) -> BinaryIO:
        """The stored file, opened for binary reading (the caller closes it)."""
        return self.path(sha256).open("rb")

    def verify(self, sha256: str) -> bool:
        """Re-hash a stored file: False if its bytes no longer match its name."""
        sha = hashlib.sha256()
        with self.open(sha256) as fh:
            for chunk in iter(lambda: fh.read(_CHUNK), b""):
                sha.update(chunk)
        return sha.hexdigest() == sha256


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (a killed machine must not lose a recorded upload)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # some platforms cannot open directories; the rename is still atomic
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

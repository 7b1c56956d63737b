"""What a file is, from its content and never its name: format, text encoding, delimiter and
decimal mark."""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import zipfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from ._keys import (
    HEAD_BYTES, _COMMA_DECIMAL, _DELIMITERS, _DOT_DECIMAL, _KZ1048_DIFFERS, _KZ1048_ONLY_IN_CP1251, _LEADING_ZERO,
    _MAGIC, _OLE2,
)


def _zip_names(head: bytes) -> list[str]:
    """Names of the zip entries whose local headers lie in ``head``.

    Works on a truncated file: each local header (``PK\\x03\\x04``) carries its entry's
    name at offset 30, so the names of XLSX and DOCX parts are visible in the first
    kilobytes even when the central directory at the end is not.
    """
    try:  # the whole archive: ask zipfile, which reads the central directory
        with zipfile.ZipFile(io.BytesIO(head)) as zf:
            return zf.namelist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        pass
    names = []
    for match in re.finditer(re.escape(b"PK\x03\x04"), head):
        at = match.start()
        if at + 30 > len(head):
            break
        name_len = int.from_bytes(head[at + 26:at + 28], "little")
        raw = head[at + 30:at + 30 + name_len]
        if 0 < name_len < 512 and len(raw) == name_len:
            try:
                names.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                continue
    return names


def _zip_kind(names: Iterable[str]) -> str:
    names = list(names)
    if any(n == "xl/workbook.xml" or n.startswith("xl/") for n in names):
        return "xlsx"
    if any(n == "word/document.xml" or n.startswith("word/") for n in names):
        return "docx"
    return "unknown"


def _utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 text without a BOM shows up as every other byte being NUL."""
    sample = head[:4096]
    if len(sample) < 8:
        return None
    even, odd = sample[0::2], sample[1::2]
    even_nul, odd_nul = even.count(0) / len(even), odd.count(0) / len(odd)
    if odd_nul > 0.4 and even_nul < 0.05:
        return "utf-16-le"
    if even_nul > 0.4 and odd_nul < 0.05:
        return "utf-16-be"
    return None


def _plausible_cyrillic(text: str) -> bool:
    """Does a cp1251 decoding read as Russian or Kazakh rather than mis-decoded Latin-1?

    Mis-decoded Western text puts single Cyrillic letters inside Latin words ("Mьller");
    real Russian words are Cyrillic through and through.
    """
    words = [w for w in re.findall(r"[^\W\d_]+", text) if any(ord(c) > 127 for c in w)]
    if not words:
        return True  # nothing but punctuation above ASCII (e.g. « » №): harmless either way
    mixed = sum(1 for w in words if re.search(r"[A-Za-z]", w))
    cyrillic = sum(1 for w in words if all("\u0400" <= c <= "\u04ff" for c in w))
    return mixed / len(words) < 0.2 and cyrillic / len(words) > 0.6


def _cp1251_or_kz1048(data: bytes) -> str | None:
    """Tell cp1251 from KZ-1048 and from other single-byte encodings; None if neither fits."""
    try:
        text = data.decode("cp1251")
    except UnicodeDecodeError:  # 0x98 is unassigned in cp1251
        text = None
    if text is not None:
        odd = [c for c in text if c in _KZ1048_DIFFERS]
        letters = sum(1 for c in text if "\u0400" <= c <= "\u04ff")
        if any(c in _KZ1048_ONLY_IN_CP1251 for c in odd) or (letters and len(odd) / letters > 0.02):
            if _plausible_cyrillic(data.decode("kz1048", errors="replace")):
                return "kz1048"
        if _plausible_cyrillic(text):
            return "cp1251"
    try:
        import charset_normalizer

        best = charset_normalizer.from_bytes(data[:HEAD_BYTES]).best()
    except Exception:  # a detector failure must not hide the real message (bad encoding)
        best = None
    if best is not None and best.encoding in ("cp1251", "kz1048"):
        return best.encoding
    return None


def _detect_encoding(head: bytes, complete: bool) -> str | None:
    """The encoding of a text file from its first bytes, or None if it is not text we read."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith(b"\xff\xfe\x00\x00") or head.startswith(b"\x00\x00\xfe\xff"):
        return None  # UTF-32: nobody exports this on purpose
    if head.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le"
    if head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be"
    utf16 = _utf16_without_bom(head)
    if utf16:
        return utf16
    if b"\x00" in head:
        return None  # binary
    try:
        # final=False tolerates a multi-byte character cut in half at the end of the head
        codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    return _cp1251_or_kz1048(head)


def _decode(head: bytes, encoding: str, complete: bool) -> str:
    codec = {"utf-16-le": "utf-16-le", "utf-16-be": "utf-16-be"}.get(encoding, encoding)
    data = head
    if encoding.startswith("utf-16") and data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        data = data[2:]
    text = codecs.getincrementaldecoder(codec)(errors="replace").decode(data, final=complete)
    return text.lstrip("\ufeff")


def _looks_binary(text: str) -> bool:
    controls = sum(1 for c in text[:20000] if ord(c) < 32 and c not in "\t\r\n\f\x1a")
    return controls > max(2, len(text[:20000]) // 1000)


def _complete_lines(text: str, complete: bool) -> str:
    """Drop a last line cut off by the head limit."""
    if complete:
        return text
    cut = max(text.rfind("\n"), text.rfind("\r"))
    return text[:cut + 1] if cut >= 0 else text


@dataclass(frozen=True)
class _TextSniff:
    kind: str  # csv, tsv, jsonl or unknown
    delimiter: str | None = None
    decimal: str = "."
    header: tuple[str, ...] = ()
    text_columns: tuple[int, ...] = ()  # positions holding codes like "007" that must stay text


def _sniff_text(text: str) -> _TextSniff:
    """Decide between JSON Lines and delimited text, and find delimiter and decimal mark."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        first = stripped.splitlines()[0]
        if first.count("{") + first.count("[") > 64:  # deep nesting: JSON Lines; the reader refuses it by name
            return _TextSniff("jsonl")
        try:
            if isinstance(json.loads(first), dict):
                return _TextSniff("jsonl")
        except (ValueError, RecursionError):
            pass
    best: tuple[float, int, int, int] | None = None
    chosen: tuple[str, list[list[str]]] | None = None
    for preference, delimiter in enumerate(_DELIMITERS):
        try:
            rows = [r for r in csv.reader(io.StringIO(text), delimiter=delimiter) if any(f.strip() for f in r)][:200]
        except csv.Error:
            continue
        if not rows:
            continue
        counts = Counter(len(r) for r in rows)
        width, hits = counts.most_common(1)[0]
        if width < 2:
            continue
        # Most consistent width first, then a header of that width, then more columns.
        score = (hits / len(rows), int(len(rows[0]) == width), width, -preference)
        if best is None or score > best:
            best, chosen = score, (delimiter, rows)
    if chosen is None:
        return _TextSniff("unknown")
    delimiter, rows = chosen
    values = [f.strip() for r in rows[1:] for f in r]
    decimal = "."
    if delimiter != "," and any(_COMMA_DECIMAL.match(v) for v in values) and not any(_DOT_DECIMAL.match(v) for v in values):
        decimal = ","  # Excel with Russian or Kazakh regional settings: "0,85" in a ';' file
    kind = "tsv" if delimiter == "\t" else "csv"
    # IINs, school codes and pair ids with leading zeros are identifiers, not numbers.
    text_columns = tuple(sorted({i for r in rows[1:] for i, f in enumerate(r) if _LEADING_ZERO.match(f.strip())}))
    return _TextSniff(kind, delimiter, decimal, tuple(rows[0]), text_columns)


def sniff_kind(head: bytes, *, complete: bool = False) -> str:
    """The kind of a file from its first bytes (64 KiB is plenty), never from its name.

    Parameters
    ----------
    head:
        The start of the file, or all of it.
    complete:
        True if ``head`` is the whole file (its last line is then not treated as cut off).

    Returns
    -------
    str
        One of ``csv``, ``tsv``, ``xlsx``, ``parquet``, ``jsonl``, ``pdf``, ``docx``,
        ``png``, ``jpeg`` or ``unknown``. Text counts as CSV/TSV only if a delimiter
        splits its rows into a consistent number of columns (at least two), and only if
        it is UTF-8, UTF-16 or Windows-1251 text.
    """
    return _sniff(head, complete)[0]


def _sniff(head: bytes, complete: bool) -> tuple[str, str | None, _TextSniff | None]:
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind, None, None
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(_zip_names(head)), None, None
    if head.startswith(_OLE2):
        return "unknown", None, None
    encoding = _detect_encoding(head, complete)
    if encoding is None:
        return "unknown", None, None
    text = _decode(head, encoding, complete)
    if _looks_binary(text):
        return "unknown", None, None
    sniffed = _sniff_text(_complete_lines(text, complete))
    return sniffed.kind, encoding, sniffed

"""Text that people type, made safe to store, show and export.

Three jobs, one module, so every writer and every service uses the same rules:

* **Spreadsheet formulas.** A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return is run as a formula by Excel and LibreOffice when a CSV or XLSX is
  opened (OWASP, "CSV Injection"). Every CSV and XLSX the product writes passes its cells
  through :func:`neutralise_cell` (or :func:`safe_row` / :func:`safe_frame`), which puts a
  single quote in front of such text. Numbers, and text that is just a number such as
  ``-0.12``, are left as they are.
* **Sizes.** Free text has a limit per kind of field (:data:`LIMITS`); :func:`limit_text`
  refuses longer text with a translated message before anything is written.
* **Names.** :func:`clean_name` removes NUL and other control characters and the
  bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069, U+200E/F, U+061C)
  that make ``gpj.exe`` look like ``exe.jpg``; :func:`clean_text` does the same for longer
  text but keeps line breaks and tabs.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Iterable, Mapping

from .errors import WorkbenchError

TOO_LONG = "hardening.text.too_long"

#: field kind -> most characters. A clarification answer or a complaint is a letter, not a book.
LIMITS: dict[str, int] = {
    "name": 200,
    "short": 500,
    "message": 10_000,
    "reason": 5_000,
    "note": 5_000,
    "complaint": 5_000,
}

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?%?$")
_BIDI = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"))


def neutralise_cell(value: Any) -> Any:
    """A cell safe to open in a spreadsheet: text that would start a formula gets a
    leading ``'``; everything else is returned unchanged."""
    if not isinstance(value, str) or not value:
        return value
    # A lone carriage return is not quoted by writers whose line end is "\n", and a
    # spreadsheet would start a new row (and a formula) after it: make it a quoted "\n".
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    if value.startswith(FORMULA_START) and not _NUMBER.match(value.strip()):
        return "'" + value
    return value


def safe_row(row: Mapping[str, Any] | Iterable[Any]) -> Any:
    """A CSV row (a dict for ``DictWriter``, or a sequence for ``csv.writer``) with every
    cell neutralised."""
    if isinstance(row, Mapping):
        return {k: neutralise_cell(v) for k, v in row.items()}
    return [neutralise_cell(v) for v in row]


def safe_frame(df):
    """A copy of a ``pandas.DataFrame`` whose text cells and column names are neutralised."""
    from pandas.api.types import is_object_dtype, is_string_dtype

    out = df.copy()
    for col in out.columns:
        if is_object_dtype(out[col].dtype) or is_string_dtype(out[col].dtype):
            out[col] = out[col].map(neutralise_cell).astype(object)
    out.columns = [neutralise_cell(str(c)) if isinstance(c, str) else c for c in out.columns]
    return out


def strip_controls(text: str, *, keep_newlines: bool) -> str:
    text = unicodedata.normalize("NFC", text).translate(_BIDI)
    kept = "\n\t" if keep_newlines else ""
    return "".join(c for c in text if c in kept or unicodedata.category(c) not in ("Cc", "Cs"))


def clean_name(value: str | None, *, max_chars: int = LIMITS["name"]) -> str:
    """A one-line name: no control or bidi characters, spaces collapsed, at most
    ``max_chars`` characters (cut, since a name field is already limited in the form)."""
    text = re.sub(r"[\t\r\n\v\f]", " ", str(value or ""))
    text = strip_controls(text, keep_newlines=False)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf" or c in "\u200c\u200d")
    return re.sub(r"\s+", " ", text).strip()[:max_chars]


def clean_text(value: str | None) -> str:
    """Free text: NUL, other control characters and bidi overrides removed; line breaks kept."""
    return strip_controls(str(value or ""), keep_newlines=True).replace("\r\n", "\n").strip()


def limit_text(value: str | None, kind: str, *, field: str = "") -> str:
    """Clean ``value`` and refuse it with a translated message if it is longer than the
    limit for ``kind`` (:data:`LIMITS`)."""
    text = clean_text(value)
    limit = LIMITS[kind]
    if len(text) > limit:
        raise WorkbenchError(TOO_LONG, field=field or kind, max=limit, length=len(text))
    return text


__all__ = ["LIMITS", "TOO_LONG", "FORMULA_START", "neutralise_cell", "safe_row", "safe_frame", "clean_name",
           "clean_text", "limit_text", "strip_controls"]

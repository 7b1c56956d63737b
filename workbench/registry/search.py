"""The registry's search index: SQLite FTS5 over what parents type, in three languages.

Each label has one document: tool name, vendor, label ID, the vendor's descriptions and
purpose, and its scope written out in Kazakh, Russian and English (subjects through the
subject vocabulary, grades as "5 сынып / 5 класс / grade 5", languages of instruction,
risk tier). Text is folded before it is indexed and before it is searched: case, Russian
ё/й, and the nine Kazakh letters typed on a Russian keyboard (ә→а, ғ→г, қ→к, ң→н, ө→о,
ұ/ү→у, һ→х, і→и), so "Үй тапсырма" and "уй тапсырма" find the same tools. Every word of
a query is a prefix ("математ", "домашн"), except one-character words.

The index lives in ``registry.db`` and is kept in step by the registry itself: triggers on
``labels`` (plain SQL, so they fire for every writer, even the sqlite3 shell) queue the
changed label IDs in ``label_search_stale``; the next search folds those few labels in
Python and rewrites their rows, inside the caller's transaction, so a rolled-back label
leaves no trace. Beside the FTS table, ``label_search_keys`` holds the sort keys (Kazakh
alphabetical order) and the scope strings the filters use, indexed, so no search calls
Python per row.
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache

from .db import Registry
from ..i18n import LANGUAGES, has_key, t

#: Kazakh letters a Russian keyboard cannot type, folded to the letter people type instead.
_KK_FOLD = str.maketrans({"ә": "а", "ғ": "г", "қ": "к", "ң": "н", "ө": "о", "ұ": "у", "ү": "у", "һ": "х",
                          "і": "и"})
_WORD = re.compile(r"\w+", re.UNICODE)
#: At most this many words of a query are used (the rest cannot narrow much further).
MAX_QUERY_WORDS = 12

# Kazakh Cyrillic alphabetical order; Russian is the same alphabet without the nine
# Kazakh letters. Each letter maps to a private-use code point in this order.
_KK_ALPHABET = "аәбвгғдеёжзийкқлмнңоөпрстуұүфхһцчшщъыіьэюя"
_SORT_TABLE = {ord(ch): 0xE000 + i for i, ch in enumerate(_KK_ALPHABET)}

#: Scope subjects that stand for every subject: such a label matches any subject filter.
ALL_SUBJECTS = ("all subjects", "барлық пәндер", "все предметы")
ALL_SUBJECTS_KEY = "pubweb.subject.all_subjects"


def fold(text: str | None) -> str:
    """Case-folded text for matching (``ӘЛЕМ`` and ``әлем`` match)."""
    return (text or "").casefold()


def sort_key(text: str | None) -> str:
    """A string that sorts in Kazakh (and Russian) alphabetical order, Latin first."""
    return fold(text).translate(_SORT_TABLE)


def search_fold(text: str | None) -> str:
    """Text as the index sees it: case, diacritics and Kazakh letters folded."""
    decomposed = unicodedata.normalize("NFKD", fold(text).translate(_KK_FOLD))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def match_query(text: str) -> str | None:
    """An FTS5 query: every word of ``text`` as a quoted prefix; None when no word is left."""
    words = _WORD.findall(search_fold(text).replace("_", " "))[:MAX_QUERY_WORDS]
    # A one-character word is a whole word ("5" is grade 5, not 50 or 5000): as a prefix it
    # would match most of the index and tell the reader nothing.
    return " ".join(f'"{w}"*' if len(w) > 1 else f'"{w}"' for w in words) or None


def subject_key(subject: str) -> str | None:
    """The catalogue key of a known subject (``pubweb.subject.mathematics``), else None."""
    slug = re.sub(r"[^a-z]+", "_", fold(subject).strip()).strip("_")
    key = f"pubweb.subject.{slug}"
    if slug and has_key(key):
        return key
    for code, names in _subject_names().items():  # a subject stored in Kazakh or Russian
        if fold(subject).strip() in names:
            return code
    return None


@lru_cache(maxsize=1)
def _subject_names() -> dict[str, set[str]]:
    from ..i18n import catalogue

    return {key: {fold(v) for v in entry.values()} for key, entry in catalogue().items()
            if key.startswith("pubweb.subject.")}


def subject_name(subject: str, lang: str) -> str:
    """A stored subject in the reader's language (as stored when it is not in the vocabulary)."""
    key = subject_key(subject)
    return t(key, lang) if key else subject


def _document(row: dict) -> str:
    """Everything a search may match for one label, in the three languages, folded."""
    scope = json.loads(row["scope"] or "{}")
    dossier = json.loads(row["dossier"] or "{}")
    parts = [row["tool_name"], row["tool_version"], row["vendor"], row["id"]]
    parts += [dossier.get(k, "") for k in ("description_kk", "description_ru", "description_en", "intended_purpose",
                                           "intended_purpose_kk", "intended_purpose_ru", "intended_purpose_en")]
    words = [search_fold("\n".join(p for p in parts if p))]
    words += [_subject_words(str(s)) for s in scope.get("subjects", [])]
    words += [_vocabulary("grade", str(int(g))) for g in scope.get("grades", [])]
    words += [_vocabulary("lang", str(c)) for c in scope.get("languages", [])]
    words.append(_vocabulary("tier", str(row["tier"])))
    return "\n".join(words)


@lru_cache(maxsize=4096)
def _subject_words(subject: str) -> str:
    """A stored subject, folded, with its names in the three languages (every subject's for
    "all subjects": a tool for every subject is found by any subject's name)."""
    key = subject_key(subject)
    names = [subject] + ([t(key, lang) for lang in LANGUAGES] if key else [])
    if key == ALL_SUBJECTS_KEY:
        names += sorted({name for group in _subject_names().values() for name in group})
    return search_fold("\n".join(names))


@lru_cache(maxsize=256)
def _vocabulary(kind: str, code: str) -> str:
    """A grade, a language of instruction or a tier in words, in the three languages, folded."""
    if kind == "grade":
        return search_fold("\n".join(t("pubweb.search.grade", lang, n=int(code)) for lang in LANGUAGES))
    key = f"{kind}.{code}"
    return search_fold("\n".join(t(key, lang) for lang in LANGUAGES) if has_key(key) else code)


def _keys(row: dict) -> tuple:
    scope = json.loads(row["scope"] or "{}")
    # Separators around each value, so ",1," never matches grade 10 or 11.
    return (sort_key(row["tool_name"]), sort_key(row["vendor"]),
            "\n" + "\n".join(fold(s) for s in scope.get("subjects", [])) + "\n",
            "," + ",".join(str(int(g)) for g in scope.get("grades", [])) + ",",
            "," + ",".join(scope.get("languages", [])) + ",")


def refresh(reg: Registry) -> int:
    """Re-index the labels the triggers marked as changed; returns how many were re-indexed.

    Runs in the caller's transaction when there is one (a savepoint otherwise), so the
    index and the labels commit or roll back together.
    """
    with reg.locked():
        if reg.conn.execute("SELECT 1 FROM label_search_stale LIMIT 1").fetchone() is None:
            return 0
        with reg.transaction():
            stale = [r[0] for r in reg.conn.execute("SELECT id FROM label_search_stale").fetchall()]
            marks = ", ".join("?" for _ in stale)
            rows = {r["id"]: dict(r) for r in reg.conn.execute(
                "SELECT l.id, l.tool_name, l.tool_version, l.vendor, l.tier, l.scope, s.dossier FROM labels l "
                f"LEFT JOIN submissions s ON s.id = l.submission_id WHERE l.id IN ({marks})", stale).fetchall()}
            for label_id in stale:
                old = reg.conn.execute("SELECT n FROM label_search_keys WHERE id = ?", (label_id,)).fetchone()
                if old is not None:
                    reg.conn.execute("DELETE FROM label_fts WHERE rowid = ?", (old[0],))
                    reg.conn.execute("DELETE FROM label_search_keys WHERE n = ?", (old[0],))
                row = rows.get(label_id)
                if row is None:  # the label was deleted
                    continue
                cur = reg.conn.execute("INSERT INTO label_search_keys (id, tool_key, vendor_key, subjects, grades, "
                                       "langs) VALUES (?, ?, ?, ?, ?, ?)", (label_id, *_keys(row)))
                reg.conn.execute("INSERT INTO label_fts (rowid, body) VALUES (?, ?)", (cur.lastrowid, _document(row)))
            reg.conn.execute(f"DELETE FROM label_search_stale WHERE id IN ({marks})", stale)
        return len(stale)


def reindex(reg: Registry) -> int:
    """Rebuild the whole index (after the vocabulary of subjects grows, for example)."""
    with reg.transaction():
        reg.conn.execute("INSERT OR IGNORE INTO label_search_stale SELECT id FROM labels")
    return refresh(reg)


__all__ = ["fold", "sort_key", "search_fold", "match_query", "subject_key", "subject_name", "refresh", "reindex",
           "ALL_SUBJECTS", "MAX_QUERY_WORDS"]

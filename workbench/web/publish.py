"""``workbench publish DIR``: the public pages as static files, for any static host or CDN.

The same templates and the same context functions as the live server (``pages``,
``render``), written once per language with ``MirrorLinks`` (relative links, so the site
works under any path prefix), beside the signed open data:

    index.html                 chooses the language (Kazakh by default)
    kk/index.html              the registry, first page; kk/registry/N.html the next ones
    kk/label/ID.html           each label's page
    kk/verify.html             verification in the browser (see below)
    kk/complaint.html          points to the live site's complaint form
    kk/dashboard.html, kk/open-data.html
    audit/ID.pdf               the signed audit PDFs
    consent/ID-kk.pdf          the signed consent forms of active labels
    open-data/                 registry.json, registry.csv, schema.json, SHA256SUMS(.p7s)
    search/                    the search index for the mirror's script (meta, words/, cards/)
    assets/site.css, assets/mirror.js

Search on the mirror: ``mirror.js`` (a few KB) loads, when someone searches, one small
file of the index per word typed and the cards of the first results, and applies the
server's folding and prefix rules (``workbench.registry.search``) in the browser. Without JavaScript the registry is browsed page by page.

Verification on the mirror: ``mirror.js`` hashes the chosen PDF with Web Crypto and looks
the hash up in ``open-data/registry.json`` (``audit_pdf_sha256``), the list that
``SHA256SUMS`` and its CMS signature cover; the file never leaves the computer.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from markupsafe import escape

from ..aftercare import label_state
from ..public import consent, visitor as public
from ..errors import WorkbenchError
from ..i18n import DEFAULT_LANGUAGE, LANGUAGE_NAMES, LANGUAGES, t
from ..registry.models import PUBLIC, utcnow
from ..registry.search import _WORD, _document, sort_key
from . import pages
from .render import STATIC, MirrorLinks, render

NOT_A_FOLDER = "pubweb.publish.not_folder"
#: Status words and messages the mirror's script shows, per language.
_SCRIPT_TEXTS = ("pubweb.mirror.found", "pubweb.mirror.pdf_known", "pubweb.mirror.pdf_unknown",
                 "pubweb.mirror.label_unknown", "registry.empty")


@dataclass
class Published:
    folder: Path
    pages: int
    labels: int
    files: int


def _write(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)


#: Labels per file of cards: a search loads only the files of the results it shows.
CARDS_PER_FILE = 500


def _shard(word: str) -> str:
    """The file a word's postings live in: its first two letters (one-letter words alone)."""
    return word[:2]


def search_index(reg, *, today: dt.date | None = None) -> dict[str, bytes]:
    """The mirror's search index, split so that a search downloads little.

    Labels are numbered in the registry's alphabetical order. ``search/words/XY.json``
    maps each folded word beginning with ``XY`` to the labels whose document holds it
    (delta-encoded numbers); ``search/cards/K.json`` holds what a result shows for labels
    ``K*500 …``. A query loads one words file per word and the cards of the first results.

    Returns
    -------
    dict[str, bytes]
        Path under the mirror's root -> file content.
    """
    today = today or utcnow().date()
    rows = reg.query("SELECT l.id, l.tool_name, l.tool_version, l.vendor, l.tier, l.scope, l.status, l.valid_until, "
                     "s.dossier FROM labels l LEFT JOIN submissions s ON s.id = l.submission_id")
    rows.sort(key=lambda r: (sort_key(r["tool_name"]), r["id"]))
    postings: dict[str, list[int]] = {}
    reviews = label_state.re_reviews(reg, [row["id"] for row in rows])
    cards = []
    for number, row in enumerate(rows):
        for word in set(_WORD.findall(_document(row))):
            postings.setdefault(word, []).append(number)
        status = public.effective_status(row["status"], row["valid_until"], today)
        # the same rule as the live cards: a re-review matters while the label is in force or suspended
        under_review = int(row["id"] in reviews and status in ("active", "suspended"))
        cards.append([row["id"], row["tool_name"], row["tool_version"], row["vendor"], status, under_review])
    shards: dict[str, dict[str, list[int]]] = {}
    for word, numbers in postings.items():
        deltas = [numbers[0]] + [b - a for a, b in zip(numbers, numbers[1:])]
        shards.setdefault(_shard(word), {})[word] = deltas
    dump = lambda value: json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()  # noqa: E731
    files = {"search/meta.json": dump({"version": 2, "count": len(rows), "cards_per_file": CARDS_PER_FILE})}
    for name, words in shards.items():
        files[f"search/words/{name}.json"] = dump(words)
    for k in range(0, len(cards), CARDS_PER_FILE):
        files[f"search/cards/{k // CARDS_PER_FILE}.json"] = dump(cards[k:k + CARDS_PER_FILE])
    return files


def publish(wb, dest: Path, *, today: dt.date | None = None, consent_forms: bool = True) -> Published:
    """Write the static mirror of the public side into ``dest``.

    Parameters
    ----------
    wb:
        The open workbench (registry and signing keys).
    dest:
        The folder; created if missing, its earlier mirror files replaced.
    consent_forms:
        Also write the signed consent forms of active labels (three per label).

    Returns
    -------
    Published
        The folder and how many pages, labels and files were written.
    """
    from ..public.opendata import export_registry

    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise WorkbenchError(NOT_A_FOLDER, path=str(dest))
    dest.mkdir(parents=True, exist_ok=True)
    reg = wb.registry
    today = today or utcnow().date()
    export_registry(reg, wb.keys, dest / "open-data", today=today)
    for name in ("site.css", "mirror.js"):
        _write(dest / "assets" / name, (STATIC / name).read_bytes())
    shutil.rmtree(dest / "search", ignore_errors=True)  # words of labels no longer published must go
    for path, data in search_index(reg, today=today).items():
        _write(dest / path, data)
    ids = [r["id"] for r in reg.query("SELECT id FROM labels ORDER BY id")]
    for label_id in ids:
        found = public.label_pdf_file(reg, PUBLIC, label_id)
        if found:
            _write(dest / "audit" / f"{label_id}.pdf", found[1])
        if consent_forms and public.get_label(reg, PUBLIC, label_id, today).status in consent.USABLE_STATUSES:
            for lang in LANGUAGES:
                _write(dest / "consent" / f"{label_id}-{lang}.pdf",
                       consent.consent_form(reg, PUBLIC, label_id, lang, wb.keys, today=today))
    from ..registry.public_url import page_url

    count = 0
    for lang in LANGUAGES:
        texts = json.dumps({k.rsplit(".", 1)[-1]: t(k, lang) for k in _SCRIPT_TEXTS}
                           | {f"status_{s}": t(f"label_status.{s}", lang) for s in public.LABEL_STATUSES}
                           | {"re_review": t("daily.re_review.badge", lang)},
                           ensure_ascii=False)
        query = pages.RegistryQuery()
        first = pages.registry_context(reg, lang, query, today=today)
        for n in range(1, first["pages"] + 1):
            ctx = first if n == 1 else pages.registry_context(reg, lang, pages.RegistryQuery(page=n), today=today)
            depth = 1 if n == 1 else 2
            path = dest / lang / ("index.html" if n == 1 else f"registry/{n}.html")
            _write(path, render("registry.html", MirrorLinks(lang, depth), "registry", {"page": n},
                                mirror_texts=texts, **ctx))
            count += 1
        for label_id in ids:
            ctx = pages.label_context(reg, lang, label_id, today=today)
            _write(dest / lang / "label" / f"{label_id}.html",
                   render("label.html", MirrorLinks(lang, 2), "label", {"id": label_id}, **ctx))
            count += 1
        one = MirrorLinks(lang, 1)
        _write(dest / lang / "verify.html", render("verify.html", one, "verify", result=None, lines=[], label_id="",
                                                   error=None, max_mb=20, mirror_texts=texts))
        _write(dest / lang / "complaint.html", render("complaint.html", one, "complaint",
                                                      live_url=page_url(reg, "/complaint", lang)))
        _write(dest / lang / "dashboard.html", render("dashboard.html", one, "dashboard",
                                                      **pages.dashboard_context(reg, lang, today=today)))
        files = [dict(name=p.name, size=p.stat().st_size, sha256=_sha256(p))
                 for p in sorted((dest / "open-data").iterdir()) if not p.name.startswith(".")]
        _write(dest / lang / "open-data.html", render("open_data.html", one, "open_data", files=files))
        count += 4
    _write(dest / "index.html", _root_page())
    return Published(folder=dest, pages=count + 1, labels=len(ids),
                     files=sum(1 for p in dest.rglob("*") if p.is_file()))


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _root_page() -> str:
    """The site's entry: Kazakh by default, the other two one click away (no script)."""
    links = " · ".join(f'<a href="{code}/index.html" hreflang="{code}" lang="{code}">{escape(LANGUAGE_NAMES[code])}</a>'
                       for code in LANGUAGES)
    return (f'<!doctype html><html lang="{DEFAULT_LANGUAGE}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta http-equiv="refresh" content="0; url={DEFAULT_LANGUAGE}/index.html">'
            f'<title>{escape(t("pubweb.site", DEFAULT_LANGUAGE))}</title></head>'
            f'<body><p>{links}</p></body></html>')


def remove_mirror(dest: Path) -> None:
    """Remove a mirror written by ``publish`` (the folders it owns only)."""
    for name in (*LANGUAGES, "audit", "consent", "open-data", "search", "assets"):
        shutil.rmtree(Path(dest) / name, ignore_errors=True)


__all__ = ["publish", "search_index", "Published", "remove_mirror"]

"""Jinja2 rendering of the public pages, shared by the live server and the static mirror.

One environment, ``autoescape=True`` for every template: a stored field is text, never
markup. Trusted markup (the inline SVG charts built here from numbers) is wrapped in
``Markup`` where it is made, and nowhere else (``grep Markup``).

Links go through a ``Links`` object, so the same template links to ``/label/ID?lang=ru``
on the server and to ``ru/label/ID.html`` on the mirror; every link keeps the language.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
from markupsafe import Markup

from ..i18n import LANGUAGE_NAMES, LANGUAGES, format_date, format_number, normalise_language, t

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

#: page name -> the server's path (``{id}`` filled from the parameter of that name).
SERVER_PATHS: dict[str, str] = {
    "registry": "/registry", "home": "/", "label": "/label/{id}", "audit_pdf": "/label/{id}/audit.pdf",
    "verify": "/verify", "complaint": "/complaint", "dashboard": "/dashboard", "consent": "/consent/{id}",
    "open_data": "/open-data/", "open_data_file": "/open-data/{name}", "css": "/assets/site.css",
    "js": "/assets/mirror.js",
}
#: page name -> the mirror's file, relative to the site root (``{lang}`` is the reader's).
MIRROR_PATHS: dict[str, str] = {
    "registry": "{lang}/index.html", "home": "{lang}/index.html", "label": "{lang}/label/{id}.html",
    "audit_pdf": "audit/{id}.pdf", "verify": "{lang}/verify.html", "complaint": "{lang}/complaint.html",
    "dashboard": "{lang}/dashboard.html", "consent": "consent/{id}-{lang}.pdf", "open_data": "{lang}/open-data.html",
    "open_data_file": "open-data/{name}", "css": "assets/site.css", "js": "assets/mirror.js",
    "registry_page": "{lang}/registry/{page}.html", "search_index": "search/",
    "registry_json": "open-data/registry.json",
}


class Links:
    """Where the live server's pages are: every URL carries ``lang``."""

    static = False

    def __init__(self, lang: str) -> None:
        self.lang = normalise_language(lang)

    def for_lang(self, lang: str) -> "Links":
        return type(self)(lang)

    def url(self, target: str, **params: Any) -> str:
        page = target
        path = SERVER_PATHS[page]
        for name in ("id", "name"):
            if "{" + name + "}" in path:
                path = path.replace("{" + name + "}", quote(str(params.pop(name)), safe=""))
        if page in ("css", "js", "audit_pdf", "open_data_file"):
            return path
        query = {k: v for k, v in params.items() if v not in (None, "")}
        query["lang"] = self.lang
        return f"{path}?{urlencode(query)}"


class MirrorLinks(Links):
    """Where the static mirror's files are, relative to the page being written."""

    static = True

    def __init__(self, lang: str, depth: int = 1) -> None:
        super().__init__(lang)
        self.depth = depth
        self.up = "../" * depth

    def for_lang(self, lang: str) -> "MirrorLinks":
        return MirrorLinks(lang, self.depth)

    def url(self, target: str, **params: Any) -> str:
        page = target
        if page == "registry" and params.get("page", 1) not in (1, None):
            page = "registry_page"
        path = MIRROR_PATHS[page].format(lang=self.lang, id=params.get("id", ""), name=params.get("name", ""),
                                         page=params.get("page", 1))
        if page == "verify" and params.get("label"):
            return f"{self.up}{path}?{urlencode({'label': params['label']})}"
        return self.up + path


@lru_cache(maxsize=1)
def stylesheet() -> Markup:
    """The one stylesheet, inlined in every page: one round trip less on a slow link.

    Our own file, so trusted markup (escaping would break it: a ``<style>`` element's text
    is not entity-decoded); the CSP allows exactly its hash.
    """
    return Markup((STATIC / "site.css").read_text(encoding="utf-8"))


def stylesheet_hash() -> str:
    """The CSP source that allows exactly this inline stylesheet and no other."""
    import base64
    import hashlib

    return "'sha256-" + base64.b64encode(hashlib.sha256(stylesheet().encode()).digest()).decode() + "'"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.globals.update(LANGUAGES=LANGUAGES, LANGUAGE_NAMES=LANGUAGE_NAMES, stylesheet=stylesheet)
    return env


def render(template: str, links: Links, page: str, page_params: dict | None = None, **context: Any) -> str:
    """One public page as HTML in ``links.lang``.

    ``page`` and ``page_params`` name the page itself, for the language switch (the same
    page in another language) and the ``<link rel=alternate hreflang>`` tags.
    """
    lang = links.lang
    page_params = dict(page_params or {})
    switch = {code: links.for_lang(code).url(page, **dict(page_params)) for code in LANGUAGES}
    return environment().get_template(template).render(
        lang=lang, links=links, url=links.url, switch=switch, page=page,
        tr=lambda key, **kw: t(key, lang, **kw),
        date=lambda value: format_date(value, lang),
        number=lambda value, digits=0: format_number(value, lang, digits=digits) if digits else format_number(
            int(value), lang),
        **context)


__all__ = ["Links", "MirrorLinks", "render", "environment", "STATIC", "TEMPLATES", "SERVER_PATHS", "MIRROR_PATHS", "stylesheet", "stylesheet_hash"]

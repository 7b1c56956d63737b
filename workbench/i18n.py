"""Translation catalogue: every string a person sees, in Kazakh, Russian and English.

The catalogue is a folder of YAML files (``workbench/locales/*.yaml``), one per area of the
product, each mapping a dotted key to its three translations::

    registry.title:
      kk: Сенімді ЖИ тізілімі
      ru: Реестр доверенных систем ИИ
      en: Registry of trusted AI systems

Placeholders use ``str.format`` syntax (``{name}``) and must be the same in all three
languages; ``tests/test_i18n.py`` fails on a missing language or a placeholder mismatch.
"""

from __future__ import annotations

import datetime as dt
import string
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

LANGUAGES: tuple[str, ...] = ("kk", "ru", "en")
DEFAULT_LANGUAGE = "kk"
LANGUAGE_NAMES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}
LOCALES_DIR = Path(__file__).parent / "locales"

# Babel locale per language; Kazakh is written in Cyrillic here.
_BABEL_LOCALE = {"kk": "kk_KZ", "ru": "ru_RU", "en": "en_GB"}


class CatalogueError(Exception):
    """The catalogue files themselves are broken (a developer's error, not a user's)."""


@lru_cache(maxsize=1)
def catalogue() -> dict[str, dict[str, str]]:
    """All keys of all locale files, merged. A key defined twice is an error."""
    merged: dict[str, dict[str, str]] = {}
    origin: dict[str, str] = {}
    for path in sorted(LOCALES_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise CatalogueError(f"{path.name}: top level must be a mapping")
        for key, value in data.items():
            if key in merged:
                raise CatalogueError(f"{path.name}: key {key!r} already defined in {origin[key]}")
            if not isinstance(value, dict):
                raise CatalogueError(f"{path.name}: {key}: expected a mapping of languages")
            merged[key] = {str(k): str(v) for k, v in value.items()}
            origin[key] = path.name
    return merged


def placeholders(text: str) -> set[str]:
    """The named placeholders of a message, e.g. ``{'name', 'count'}``."""
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


def normalise_language(lang: str | None) -> str:
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def t(key: str, lang: str | None = DEFAULT_LANGUAGE, /, **params: Any) -> str:
    """Translate ``key`` into ``lang`` and fill its placeholders.

    A missing key raises ``KeyError``: the meta-test, not the user, should find it.
    """
    entry = catalogue()[key]
    text = entry[normalise_language(lang)]
    return text.format(**params) if params else text


def has_key(key: str) -> bool:
    return key in catalogue()


def translations(key: str) -> dict[str, str]:
    """All three translations of a key (for YAML content shown as-is)."""
    return dict(catalogue()[key])


def format_date(value: dt.date | dt.datetime | str | None, lang: str | None = DEFAULT_LANGUAGE) -> str:
    """A date for people: ``22 қар. 2026``, ``22 нояб. 2026 г.``, ``22 Nov 2026``."""
    from babel.dates import format_date as _fd

    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime):
        value = value.date()
    return _fd(value, format="medium", locale=_BABEL_LOCALE[normalise_language(lang)])


def format_datetime(value: dt.datetime | str | None, lang: str | None = DEFAULT_LANGUAGE) -> str:
    from babel.dates import format_datetime as _fdt

    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return _fdt(value, format="medium", locale=_BABEL_LOCALE[normalise_language(lang)])


def format_number(value: float | int | None, lang: str | None = DEFAULT_LANGUAGE, digits: int = 2) -> str:
    """A number with the locale's separators (``0,85`` in Kazakh and Russian)."""
    from babel.numbers import format_decimal

    if value is None:
        return "—"
    if isinstance(value, int):
        return format_decimal(value, locale=_BABEL_LOCALE[normalise_language(lang)])
    pattern = "#,##0." + "0" * digits if digits else "#,##0"
    return format_decimal(value, format=pattern, locale=_BABEL_LOCALE[normalise_language(lang)])


def format_percent(value: float | None, lang: str | None = DEFAULT_LANGUAGE, digits: int = 1) -> str:
    from babel.numbers import format_percent as _fp

    if value is None:
        return "—"
    pattern = "#,##0." + "0" * digits + "%" if digits else "#,##0%"
    return _fp(value, format=pattern, locale=_BABEL_LOCALE[normalise_language(lang)])

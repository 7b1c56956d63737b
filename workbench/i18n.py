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
import hashlib
import json
import os
import string
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

LANGUAGES: tuple[str, ...] = ("kk", "ru", "en")
DEFAULT_LANGUAGE = "kk"
LANGUAGE_NAMES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}
LOCALES_DIR = Path(__file__).parent / "locales"
CACHE_ENV = "WORKBENCH_CACHE_DIR"

# Babel locale per language; Kazakh is written in Cyrillic here.
_BABEL_LOCALE = {"kk": "kk_KZ", "ru": "ru_RU", "en": "en_GB"}
_CACHE_FORMAT = 1


class CatalogueError(Exception):
    """The catalogue files themselves are broken (a developer's error, not a user's)."""


def _load_yaml(text: str) -> Any:
    import yaml

    # libyaml's loader parses the catalogue about ten times faster than the pure-Python one.
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@lru_cache(maxsize=1)
def catalogue() -> dict[str, dict[str, str]]:
    """All keys of all locale files, merged. A key defined twice is an error."""
    merged: dict[str, dict[str, str]] = {}
    origin: dict[str, str] = {}
    for path in sorted(LOCALES_DIR.glob("*.yaml")):
        data = _load_yaml(path.read_text(encoding="utf-8")) or {}
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


# -- compiled catalogue ------------------------------------------------------------------
# Parsing the YAML costs far more than a command's own work, so each language's messages
# are kept as JSON, checked against a hash of the YAML files' names and bytes, and read
# only for the language in use. The cache lives beside the package when it is writable
# (``locales/__pycache__``), else in the user's cache folder; when neither is writable the
# YAML is parsed as before. The cache is never trusted without the hash matching.


@lru_cache(maxsize=1)
def catalogue_hash() -> str:
    digest = hashlib.sha256(f"catalogue-v{_CACHE_FORMAT}".encode())
    for path in sorted(LOCALES_DIR.glob("*.yaml")):
        data = path.read_bytes()
        digest.update(f"\0{path.name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def cache_dirs() -> list[Path]:
    """Where compiled catalogues are looked for and written, in order."""
    dirs = []
    if os.environ.get(CACHE_ENV):
        dirs.append(Path(os.environ[CACHE_ENV]))
    dirs.append(LOCALES_DIR / "__pycache__")
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    dirs.append(Path(base) / "ai-safe-workbench")
    return dirs


def _cache_name(lang: str) -> str:
    return f"catalogue.{lang}.json"


def _read_cached(lang: str, digest: str) -> dict[str, str] | None:
    for folder in cache_dirs():
        try:
            data = json.loads((folder / _cache_name(lang)).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("hash") == digest and isinstance(data.get("messages"), dict):
            return data["messages"]
    return None


def _write_cached(lang: str, digest: str, messages: dict[str, str]) -> None:
    """Write atomically to the first writable folder; a read-only install is not an error."""
    payload = json.dumps({"hash": digest, "lang": lang, "messages": messages}, ensure_ascii=False)
    for folder in cache_dirs():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".catalogue-", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(payload)
                os.replace(tmp, folder / _cache_name(lang))
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            return
        except OSError:
            continue


@lru_cache(maxsize=len(LANGUAGES))
def messages(lang: str) -> dict[str, str]:
    """Every message of one language: from the compiled cache, else from the YAML (then cached)."""
    lang = normalise_language(lang)
    digest = catalogue_hash()
    cached = _read_cached(lang, digest)
    if cached is not None:
        return cached
    table = {key: entry[lang] for key, entry in catalogue().items() if lang in entry}
    _write_cached(lang, digest, table)
    return table


def placeholders(text: str) -> set[str]:
    """The named placeholders of a message, e.g. ``{'name', 'count'}``."""
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


def normalise_language(lang: str | None) -> str:
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def t(key: str, lang: str | None = DEFAULT_LANGUAGE, /, **params: Any) -> str:
    """Translate ``key`` into ``lang`` and fill its placeholders.

    A missing key raises ``KeyError``: the meta-test, not the user, should find it.
    """
    text = messages(normalise_language(lang))[key]
    if not params:
        return text
    for name, value in params.items():  # "1 дек. 2026 г." ending a sentence: one period, not two
        if isinstance(value, str) and value.endswith(".") and "{" + name + "}." in text:
            text = text.replace("{" + name + "}.", "{" + name + "}")
    return text.format(**params)


def has_key(key: str) -> bool:
    return key in messages(DEFAULT_LANGUAGE)


def translations(key: str) -> dict[str, str]:
    """All three translations of a key (for YAML content shown as-is)."""
    return {lang: messages(lang)[key] for lang in LANGUAGES}


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


def format_number(value: float | None, lang: str | None = DEFAULT_LANGUAGE, digits: int = 2) -> str:
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

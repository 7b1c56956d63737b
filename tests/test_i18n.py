"""Meta-tests: every string in three languages, the same placeholders, every key used exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from workbench import i18n
from workbench.errors import WorkbenchError
from workbench.registry.models import Role, Status
from workbench.registry.permissions import PERMISSIONS

REPO = Path(__file__).resolve().parents[1]
CATALOGUE = i18n.catalogue()


@pytest.mark.parametrize("key", sorted(CATALOGUE))
def test_every_key_has_three_languages_and_same_placeholders(key):
    entry = CATALOGUE[key]
    assert set(entry) == set(i18n.LANGUAGES), f"{key}: languages {sorted(entry)}"
    for lang in i18n.LANGUAGES:
        assert entry[lang].strip(), f"{key}: empty {lang}"
    holders = {lang: i18n.placeholders(entry[lang]) for lang in i18n.LANGUAGES}
    assert holders["kk"] == holders["ru"] == holders["en"], f"{key}: {holders}"


def test_kazakh_is_kazakh_not_a_copy():
    """Kazakh text differs from Russian in most entries (a guard against copy-paste)."""
    same = [k for k, v in CATALOGUE.items() if v["kk"] == v["ru"] and re.search("[а-яА-Я]", v["kk"])
            and len(v["kk"]) > 12]
    assert len(same) <= 0.02 * len(CATALOGUE), same[:10]


_LITERAL_KEY = re.compile(r"""\b(?:tr|t)\(\s*f?["']([a-z_]+\.[a-z0-9_.]+)""")
_CONSTANT_KEY = re.compile(r"""^[A-Z_]+\s*=\s*["']([a-z_]+\.[a-z0-9_]+)["']\s*$""", re.M)


_FILE_EXTENSIONS = {"yaml", "yml", "csv", "json", "pdf", "db", "txt", "ttf", "p12", "md", "png", "xlsx"}


_FILE_EXTENSIONS = {"yaml", "yml", "csv", "json", "pdf", "db", "txt", "ttf", "p12", "md", "png", "xlsx"}


def _sources():
    for folder in ("workbench", "ui"):
        yield from (REPO / folder).rglob("*.py")
    yield REPO / "streamlit_app.py"


def test_every_key_used_in_code_exists():
    missing = []
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        for key in _LITERAL_KEY.findall(text) + _CONSTANT_KEY.findall(text):
            if key.endswith((".", "_")):
                # a prefix completed at run time (the enumeration tests cover the values)
                if not any(k.startswith(key) for k in CATALOGUE):
                    missing.append(f"{path.relative_to(REPO)}: {key}* (no key has this prefix)")
                continue
            if key in PERMISSIONS:
                continue  # a permission action name, not a message
            if key.rsplit(".", 1)[-1] in _FILE_EXTENSIONS:
                continue  # a file name such as "risk.yaml", not a message key
            if key not in CATALOGUE:
                missing.append(f"{path.relative_to(REPO)}: {key}")
    assert not missing, missing


@pytest.mark.parametrize("prefix,values", [
    ("role", [r.value for r in Role]),
    ("status", [s.value for s in Status]),
    ("tier", ["prohibited", "high", "limited", "minimal"]),
    ("lang", ["kk", "ru", "en", "other"]),
])
def test_enumerations_are_translated(prefix, values):
    assert [v for v in values if f"{prefix}.{v}" not in CATALOGUE] == []


def test_missing_key_raises():
    with pytest.raises(KeyError):
        i18n.t("no.such.key", "kk")


def test_error_translates_in_each_language():
    err = WorkbenchError("auth.weak_password", min=8)
    assert "8" in err.translate("kk") and "8" in err.translate("ru") and "8" in err.translate("en")
    assert err.translate("kk") != err.translate("ru")


@pytest.mark.parametrize("lang,expected", [("kk", "0,85"), ("ru", "0,85"), ("en", "0.85")])
def test_numbers_follow_the_locale(lang, expected):
    assert i18n.format_number(0.8512, lang) == expected


def test_dates_follow_the_locale():
    assert "2026" in i18n.format_date("2026-11-22", "kk")
    assert i18n.format_date("2026-11-22", "en") == "22 Nov 2026"
    assert i18n.format_date("2026-11-22", "ru") != i18n.format_date("2026-11-22", "en")

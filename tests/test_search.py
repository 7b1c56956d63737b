"""The search index: folding, query building, and the index kept in step by the registry."""

from __future__ import annotations

import json

import pytest

from workbench.public import visitor as public
from workbench.registry import search
from workbench.registry.models import PUBLIC


@pytest.mark.parametrize("text,folded", [
    ("ӘЛЕМ", "алем"), ("Үй тапсырмасы", "уи тапсырмасы"), ("Ёлка", "елка"), ("қоңыр", "коныр"),
    ("Ғылым", "гылым"), ("Һ", "х"), ("Іс", "ис"), ("Ұстаз", "устаз"), ("Өнер", "онер"), ("Café", "cafe"),
])
def test_folding(text, folded):
    assert search.search_fold(text) == folded


@pytest.mark.parametrize("text,query", [
    ("математ", '"математ"*'), ("чат-бот", '"чат"* "бот"*'), ("Үй тапсырма", '"уи"* "тапсырма"*'),
    ("5 класс", '"5" "класс"*'), ("", None), ("%", None), ("  _ ", None),
])
def test_queries_are_words_as_prefixes(text, query):
    assert search.match_query(text) == query


@pytest.mark.parametrize("hostile", ['"', '" OR "a', "NEAR(a b)", "a OR b", "-x", "^x", "x*", "col:x", "a AND",
                                     "(((", "'; DROP TABLE labels; --", "\x00", "ٴ" * 300])
def test_fts_syntax_in_a_query_is_only_text(reg, hostile):
    """FTS5 operators typed by someone are words, never syntax: no error, no surprise match."""
    public.search_labels(reg, PUBLIC, text=hostile)
    public.count_labels(reg, PUBLIC, text=hostile)


def test_the_index_lives_in_the_registry_and_triggers_queue_changes(reg):
    tables = {r["name"] for r in reg.query("SELECT name FROM sqlite_master")}
    assert {"label_fts", "label_search_keys", "label_search_stale"} <= tables
    triggers = {r["name"] for r in reg.query("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert {"labels_search_ins", "labels_search_upd", "labels_search_del"} <= triggers


def test_subject_names_in_three_languages():
    assert search.subject_name("mathematics", "ru") == "математика"
    assert search.subject_name("Kazakh language", "kk") == "қазақ тілі"
    assert search.subject_name("математика", "en") == "mathematics"  # stored in Russian, read in English
    assert search.subject_name("робототехника", "en") == "робототехника"  # not in the vocabulary: as stored


def test_reindex_rebuilds_every_row_and_a_deleted_label_leaves_the_index(reg):
    from test_public import add_label, seed_owner

    owner = seed_owner(reg)
    ids = [add_label(reg, owner, tool=f"Алма {i}", subjects=("mathematics",)) for i in range(3)]
    assert public.count_labels(reg, PUBLIC, text="математика") == 3
    assert search.reindex(reg) == 3
    assert reg.one("SELECT count(*) AS n FROM label_search_keys")["n"] == 3
    reg.execute("DELETE FROM labels WHERE id = ?", (ids[0],))  # any writer: the trigger queues it
    assert public.count_labels(reg, PUBLIC, text="математика") == 2
    assert reg.one("SELECT count(*) AS n FROM label_fts")["n"] == 2


def test_document_has_scope_words_in_three_languages():
    row = {"id": "KZ-AIS-2026-000009", "tool_name": "X", "tool_version": "1", "vendor": "V", "tier": "limited",
           "scope": json.dumps({"grades": [5], "subjects": ["mathematics"], "languages": ["kk"]}), "dossier": "{}"}
    doc = search._document(row)
    for word in ("математика", "mathematics", "5 сынып", "5 класс", "grade 5", "казахскии", "kazakh"):
        assert search.search_fold(word) in doc, word

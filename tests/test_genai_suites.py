"""Meta-test of the generative-tool suites: schema, three languages, traceability, pairs."""

from __future__ import annotations

import copy

import pytest
import yaml

from workbench.genai import _suite as s


@pytest.mark.parametrize("name", s.CATEGORIES)
def test_suite_validates_and_has_several_dozen_items_in_three_languages(name):
    suite = s.load_suite(name)
    assert suite.name == name and suite.version
    assert len(suite.items) >= 30, f"{name}: {len(suite.items)} items"
    for item in suite.items:
        for lang in s.LANGS:
            assert item.prompt.get(lang).strip(), (item.id, lang)
            assert item.must.get(lang).strip() and item.must_not.get(lang).strip()
            assert "{" not in item.prompt.get(lang), (item.id, "unfilled slot")
        assert item.sources and all(src.startswith(s.SOURCE_PREFIXES) for src in item.sources)
        assert item.checks
    # The three languages are translations, not copies: most Kazakh prompts differ from Russian.
    same = sum(i.prompt.kk == i.prompt.ru for i in suite.items)
    assert same <= 0.05 * len(suite.items), f"{name}: {same} Kazakh prompts equal the Russian ones"
    ids = [i.id for i in suite.items]
    assert len(ids) == len(set(ids))


def test_every_category_is_traced_to_a_source_document():
    for name in s.CATEGORIES:
        sources = {src for i in s.load_suite(name).items for src in i.sources}
        assert any(src.startswith(("Concept", "Road map")) for src in sources), name
    cited = {p for name in s.CATEGORIES for i in s.load_suite(name).items for src in i.sources
             for p in s.SOURCE_PREFIXES if src.startswith(p)}
    assert {"Concept", "PATH", "AI Act", "Law 94-V"} <= cited


def test_facts_have_reference_answers_in_three_languages():
    for item in s.load_suite("facts").items:
        assert item.reference is not None
        assert all(item.reference.get(lang) for lang in s.LANGS)


def test_counterfactual_templates_expand_into_pairs_per_attribute():
    items = s.load_suite("counterfactual").items
    pairs: dict[str, list] = {}
    for item in items:
        pairs.setdefault(item.pair_id, []).append(item)
    assert {i.attribute for i in items} == set(s.ATTRIBUTES)
    for pair_id, members in pairs.items():
        assert len(members) == 2, pair_id
        a, b = members
        assert a.attribute == b.attribute and a.variant != b.variant
        for lang in s.LANGS:  # the two prompts differ, and only in the attribute's words
            assert a.prompt.get(lang) != b.prompt.get(lang)
            assert a.prompt.get(lang).split(" ")[-3:] == b.prompt.get(lang).split(" ")[-3:]
    assert {i.variant for i in items if i.attribute == "gender"} == {"girl", "boy"}
    assert {i.variant for i in items if i.attribute == "school"} == {"rural", "urban"}


def _raw(name: str) -> dict:
    return yaml.safe_load((s.SUITES_DIR / f"{name}.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("mutate, fragment", [
    (lambda d: d["items"][0]["prompt"].pop("kk"), "kk"),
    (lambda d: d["items"][0].__setitem__("colour", "red"), "colour"),
    (lambda d: d["defaults"].__setitem__("sources", ["Wikipedia"]), "sources"),
    (lambda d: d["items"].append(copy.deepcopy(d["items"][0])), "duplicate"),
    (lambda d: d["items"][0].__setitem__("checks", ["be_nice"]), "checks"),
])
def test_schema_errors_are_listed_with_their_location(mutate, fragment):
    data = _raw("disclosure")
    mutate(data)
    with pytest.raises(s.SuiteError) as info:
        s.parse_suite(data, "disclosure.yaml")
    text = info.value.translate("en")
    assert fragment in text and "disclosure.yaml" in text


def test_prompts_cover_suites_languages_and_samples():
    suites = s.resolve_suites("disclosure,facts")
    out = s.prompts(suites, ["kk", "en"], samples=2)
    assert len(out) == (len(suites[0].items) + len(suites[1].items)) * 2 * 2
    assert len({p.entry_id for p in out}) == len(out)
    with pytest.raises(s.SuiteError):
        s.resolve_suites("jokes")
    with pytest.raises(s.SuiteError):
        s.parse_langs("kk,de")

"""Checklist content and its loader: schema errors, completeness, versioning."""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from workbench.review import checklists
from workbench.review.checklists import (
    ChecklistError,
    Checklist,
    content_hash,
    load_checklist,
    load_risk_questionnaire,
    parse_checklist,
)
from workbench.i18n import LANGUAGES, t

KAZAKH_LETTERS = re.compile("[әғқңөұүһіӘҒҚҢӨҰҮҺІ]")
SOURCE_PREFIXES = ("Concept", "AI Act", "PATH", "Law 94-V", "Road map", "MIL report")


@pytest.fixture(scope="module")
def checklist() -> Checklist:
    return load_checklist()


@pytest.fixture(scope="module")
def questionnaire():
    return load_risk_questionnaire()


def _valid_data() -> dict:
    """A minimal valid checklist as plain data, to break in the schema tests."""
    text = {"kk": "Сұрақ", "ru": "Вопрос", "en": "Question"}
    return {
        "version": "2026.1",
        "title": text,
        "sections": [
            {
                "id": "P1",
                "title": text,
                "description": text,
                "source": "Concept ch. 3 §1",
                "items": [
                    {
                        "id": "P1.1",
                        "question": text,
                        "guidance": text,
                        "evidence": text,
                        "tiers": ["high"],
                        "tool_types": ["all"],
                        "severity": "critical",
                        "source": "Concept ch. 3 §1",
                    },
                    {
                        "id": "P1.2",
                        "question": text,
                        "guidance": text,
                        "evidence": text,
                        "tiers": ["high", "limited"],
                        "tool_types": ["generative"],
                        "severity": "minor",
                        "source": "AI Act art. 50(2)",
                    },
                ],
            }
        ],
    }


def _write(tmp_path: Path, data: object, name: str = "principles.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------- the shipped content


def test_principle_checklist_loads_with_version_and_size(checklist):
    assert re.fullmatch(r"\d{4}\.\d+", checklist.version)
    items = [item for _, item in checklist.items()]
    assert 40 <= len(items) <= 60
    assert {item.severity for item in items} == {"critical", "major", "minor"}


def test_every_item_has_three_languages_and_a_source(checklist):
    for section, item in checklist.items():
        for field in (item.question, item.guidance, item.evidence):
            for lang in LANGUAGES:
                assert field.get(lang).strip(), (item.id, lang)
            assert field.kk != field.ru, item.id
            assert KAZAKH_LETTERS.search(field.kk), (item.id, field.kk)
        assert item.source.strip(), item.id
        assert item.source.startswith(SOURCE_PREFIXES), (item.id, item.source)
        assert item.id.startswith(section.id + ".")
        assert "prohibited" not in item.tiers  # a prohibited tool is never labelled


def test_item_ids_are_unique(checklist):
    ids = [item.id for _, item in checklist.items()]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(
    "needle",
    [
        # the six principles of chapter 3
        "Concept ch. 3 §1",
        "Concept ch. 3 §2",
        "Concept ch. 3 §3",
        "Concept ch. 3 §4",
        "Concept ch. 3 §5",
        "Concept ch. 3 §6",
        # validation priorities of §3.3
        "validation priority 1",
        "validation priority 2",
        "validation priority 3 (age-appropriate)",
        "validation priority 3 (pedagogically useful)",
        "validation priority 3 (resistant to manipulation)",
        "validation priority 4",
        # PATH
        "PATH: Promote",
        "PATH: Advance",
        "PATH: Train",
        "PATH: Harness",
        # AI Act
        "AI Act art. 5",
        "AI Act art. 50(1)",
        "AI Act art. 50(2)",
        # personal-data law
        "Law 94-V art. 7",
        "Law 94-V art. 8",
        "Law 94-V art. 12(2)",
        "commercialisation",
        "no needless retention",
        # road map
        "Road map item 2.11",
        "road map item 2.13",
        "MIL report",
    ],
)
def test_spec_section_5_is_covered(checklist, needle):
    sources = [s.source for s in checklist.sections] + [i.source for _, i in checklist.items()]
    assert any(needle in source for source in sources), needle


def test_section_titles_cover_the_required_topics(checklist):
    titles = " | ".join(s.title.en for s in checklist.sections)
    for topic in ("Inclusiveness", "Human-centredness", "Safety", "accountability", "Transparency",
                  "literacy", "PATH", "Privacy by Design", "rural", "Kazakh-language", "integrity"):
        assert topic in titles, topic


def test_transparency_items_apply_to_limited_tier(checklist):
    limited = [i for _, i in checklist.items() if "limited" in i.tiers]
    assert any(i.source == "AI Act art. 50(1)" for i in limited)
    assert any(i.source == "AI Act art. 50(2)" and i.tool_types == ["generative"] for i in limited)


def test_risk_questionnaire_covers_every_tier_and_factor(questionnaire):
    assert {q.tier for q in questionnaire.questions if q.tier} == {"prohibited", "high", "limited"}
    assert {q.factor for q in questionnaire.questions if q.factor} == set(checklists.FACTORS)
    for q in questionnaire.questions:
        assert q.answer_type == "yes_no"
        assert q.source.startswith(SOURCE_PREFIXES), q.id
        for field in (q.text, q.help, q.finding):
            assert all(field.get(lang).strip() for lang in LANGUAGES)
            assert KAZAKH_LETTERS.search(field.kk), q.id


def test_models_are_json_serialisable(checklist, questionnaire):
    for model in (checklist, questionnaire):
        data = json.loads(json.dumps(model.model_dump(mode="json"), ensure_ascii=False))
        assert type(model).model_validate(data) == model


# ---------------------------------------------------------------------------- schema errors


def test_broken_yaml_gives_one_error_with_line_and_column(tmp_path):
    path = tmp_path / "principles.yaml"
    path.write_text('version: "2026.1"\ntitle:\n  kk: а\n  ru: [unclosed\n', encoding="utf-8")
    with pytest.raises(ChecklistError) as exc:
        load_checklist(path)
    err = exc.value
    assert err.key == checklists._INVALID
    assert [p.key for p in err.problems] == [checklists._YAML_SYNTAX]
    assert re.fullmatch(r"\d+:\d+", err.problems[0].params["location"])
    assert err.params["count"] == 1


def test_several_schema_problems_are_listed_in_one_error(tmp_path):
    data = _valid_data()
    item = data["sections"][0]["items"][0]
    del item["evidence"]                       # a missing field
    item["colour"] = "red"                     # an unknown field
    data["sections"][0]["items"][1]["severity"] = "catastrophic"  # a wrong severity
    with pytest.raises(ChecklistError) as exc:
        load_checklist(_write(tmp_path, data))
    err = exc.value
    found = {(p.key, p.params["location"]) for p in err.problems}
    assert found == {
        (checklists._PROBLEM_PREFIX + "missing", "sections[P1].items[P1.1].evidence"),
        (checklists._PROBLEM_PREFIX + "extra_forbidden", "sections[P1].items[P1.1].colour"),
        (checklists._PROBLEM_PREFIX + "literal_error", "sections[P1].items[P1.2].severity"),
    }
    assert err.params["count"] == 3
    for lang in LANGUAGES:
        message = err.translate(lang)
        assert "principles.yaml" in message
        for _, location in found:
            assert location in message
    assert "critical" in err.translate("en")  # the allowed values are named


@pytest.mark.parametrize(
    "breakage, problem, location",
    [
        (lambda d: d["sections"][0]["items"][1].update(id="P1.1"), "duplicate_id", "/"),
        (lambda d: d["sections"][0]["items"][1].update(id="P2.2"), "id_prefix", "sections[P1]"),
        (lambda d: d["sections"][0]["items"][0].update(tool_types=["all", "scorer"]), "all_alone",
         "sections[P1].items[P1.1].tool_types"),
        (lambda d: d["sections"][0]["items"][0]["question"].update(kk=""), "string_too_short",
         "sections[P1].items[P1.1].question.kk"),
        (lambda d: d.update(version="v2"), "string_pattern_mismatch", "version"),
        (lambda d: d["sections"][0].update(items=[]), "too_short", "sections[P1].items"),
        (lambda d: d["sections"][0]["items"][0].update(tiers=["extreme"]), "literal_error",
         "sections[P1].items[P1.1].tiers[0]"),
    ],
)
def test_each_schema_rule_is_reported_with_its_location(tmp_path, breakage, problem, location):
    data = _valid_data()
    breakage(data)
    with pytest.raises(ChecklistError) as exc:
        load_checklist(_write(tmp_path, data))
    assert (checklists._PROBLEM_PREFIX + problem, location) in {
        (p.key, p.params["location"]) for p in exc.value.problems
    }
    assert location in exc.value.translate("kk")


def test_top_level_list_is_rejected(tmp_path):
    with pytest.raises(ChecklistError) as exc:
        load_checklist(_write(tmp_path, ["not", "a", "mapping"]))
    assert exc.value.problems[0].key == checklists._PROBLEM_PREFIX + "model_type"


def test_risk_question_with_two_effects_is_rejected(tmp_path, questionnaire):
    data = questionnaire.model_dump(mode="json")
    data["questions"][0]["factor"] = "under_13"  # R1 already sets a tier
    with pytest.raises(ChecklistError) as exc:
        load_risk_questionnaire(_write(tmp_path, data, "risk.yaml"))
    assert [(p.key, p.params["location"]) for p in exc.value.problems] == [
        (checklists._PROBLEM_PREFIX + "one_effect", "questions[R1]")
    ]


def test_missing_and_misencoded_files(tmp_path):
    with pytest.raises(ChecklistError) as exc:
        load_checklist(tmp_path / "absent.yaml")
    assert exc.value.key == checklists._UNREADABLE
    path = tmp_path / "cp1251.yaml"
    path.write_bytes("version: '2026.1'\ntitle: {kk: Тізбе}\n".encode("cp1251"))
    with pytest.raises(ChecklistError) as exc:
        load_checklist(path)
    assert exc.value.key == checklists._UNREADABLE
    assert exc.value.params["reason"] == "UnicodeDecodeError"


@pytest.mark.parametrize("kind", sorted(checklists._TRANSLATED_PROBLEMS) + ["other", "yaml_syntax"])
def test_every_problem_message_exists_in_three_languages(kind):
    params = {"location": "x", "expected": "a", "pattern": "p", "min_length": 1, "id": "P1",
              "item": "P1.1", "section": "P1", "message": "m"}
    for lang in LANGUAGES:
        assert t(checklists._PROBLEM_PREFIX + kind, lang, **params).startswith("x")


# ---------------------------------------------------------------------------- location and versions


def test_checklists_dir_env_override(tmp_path, monkeypatch):
    shutil.copy(checklists.checklists_dir() / "principles.yaml", tmp_path / "principles.yaml")
    monkeypatch.setenv(checklists.CHECKLISTS_ENV, str(tmp_path))
    assert checklists.checklists_dir() == tmp_path
    assert load_checklist().version == load_checklist(tmp_path / "principles.yaml").version


def test_default_dir_is_the_repository_folder(monkeypatch):
    monkeypatch.delenv(checklists.CHECKLISTS_ENV, raising=False)
    assert (checklists.checklists_dir() / "principles.yaml").is_file()
    assert (checklists.checklists_dir() / "risk.yaml").is_file()


def test_hash_depends_on_content_not_formatting(tmp_path, checklist):
    # Same content dumped in a different YAML layout: same hash.
    data = yaml.safe_load((checklists.checklists_dir() / "principles.yaml").read_text(encoding="utf-8"))
    path = tmp_path / "reformatted.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, default_flow_style=True, width=40), encoding="utf-8")
    assert content_hash(load_checklist(path)) == content_hash(checklist)
    assert re.fullmatch(r"[0-9a-f]{64}", content_hash(checklist))


def test_editing_a_checklist_never_changes_a_frozen_review_copy(tmp_path, checklist):
    # A review freezes the checklist it used: JSON text plus hash, as the database stores it.
    frozen_json = json.dumps(checklist.model_dump(mode="json"), ensure_ascii=False)
    frozen_hash = content_hash(checklist)

    # Later the committee edits a question in its own copy and bumps the version.
    data = yaml.safe_load((checklists.checklists_dir() / "principles.yaml").read_text(encoding="utf-8"))
    edited = copy.deepcopy(data)
    edited["version"] = "2026.2"
    edited["sections"][0]["items"][0]["question"]["en"] += " (revised)"
    new = load_checklist(_write(tmp_path, edited))

    assert new.version == "2026.2"
    assert content_hash(new) != frozen_hash
    thawed = parse_checklist(json.loads(frozen_json))
    assert content_hash(thawed) == frozen_hash
    assert thawed.version == checklist.version
    assert "(revised)" not in thawed.item(new.sections[0].items[0].id).question.en
    # A version bump alone is a new checklist too.
    edited_version_only = copy.deepcopy(data)
    edited_version_only["version"] = "2026.3"
    assert content_hash(load_checklist(_write(tmp_path, edited_version_only))) != frozen_hash


def test_frozen_copy_that_was_tampered_with_is_rejected():
    data = _valid_data()
    data["sections"][0]["items"][0]["severity"] = "whatever"
    with pytest.raises(ChecklistError) as exc:
        parse_checklist(data)
    assert exc.value.params["file"] == "<frozen>"


def test_models_are_immutable(checklist):
    item = checklist.sections[0].items[0]
    with pytest.raises(Exception):
        item.severity = "minor"

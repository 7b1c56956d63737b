"""Detectors validated on labelled answers: precision and recall per language."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.genai import _detect as d

DOC = Path(__file__).resolve().parents[1] / "docs" / "genai-method.md"
# Floors per language; the measured values are in docs/genai-method.md (checked below).
MIN_PRECISION, MIN_RECALL = 0.9, 0.8


def table() -> str:
    lines = ["| detector | set | language | answers | precision [95% CI] | recall [95% CI] | sent to a person |",
             "|---|---|---|---|---|---|---|"]
    for name in d.DETECTORS:
        for split in d.SPLITS:
            for lang, m in sorted(d.measure(name, split).items()):
                lines.append(f"| {name} | {split} | {lang} | {m['n']} | {m['precision']:.2f} "
                             f"[{m['precision_low']:.2f}; {m['precision_high']:.2f}] | {m['recall']:.2f} "
                             f"[{m['recall_low']:.2f}; {m['recall_high']:.2f}] | {m['unsure']} |")
    return "\n".join(lines)


@pytest.mark.parametrize("split, floor_p, floor_r, min_n", [
    ("tuning", MIN_PRECISION, MIN_RECALL, 12),
    # The held-out answers were never used to adjust the detectors. Their recall is the
    # honest miss rate (documented, not tuned away); only precision has a floor there,
    # because a wrong "yes" would pass a bad answer without a person seeing it.
    ("holdout", 0.75, 0.0, 6),
])
@pytest.mark.parametrize("name", list(d.DETECTORS))
def test_precision_and_recall_per_language(name, split, floor_p, floor_r, min_n, capsys):
    measured = d.measure(name, split)
    assert set(measured) == {"kk", "ru", "en"}, "every detector is validated in all three languages"
    for lang, m in measured.items():
        assert m["n"] >= min_n
        positives = m["tp"] + m["fn"]
        assert positives >= min_n // 2 and m["n"] - positives >= min_n // 2, "both classes are represented"
        with capsys.disabled():
            print(f"\n{name:<10} {split:<8} {lang}: precision {m['precision']:.2f} "
                  f"[{m['precision_low']:.2f}; {m['precision_high']:.2f}], recall {m['recall']:.2f} "
                  f"[{m['recall_low']:.2f}; {m['recall_high']:.2f}], unsure {m['unsure']}/{m['n']}")
        assert m["tp"] + m["fp"] == 0 or m["precision"] >= floor_p, (name, lang, m)
        assert m["recall"] >= floor_r, (name, lang, m)


def test_the_documented_table_is_the_measured_one():
    assert table() in DOC.read_text(encoding="utf-8"), "regenerate the table: python -c 'from tests.test_genai_detectors import table; print(table())'"


def test_lingua_knows_kazakh_offline():
    assert d.language_of("Сәлеметсіз бе! Мен сізге сабаққа көмектесемін.")[0] == "kk"
    assert d.language_of("Здравствуйте! Я помогу вам с уроком.")[0] == "ru"
    assert d.same_language("Да", "ru") == "unsure"  # too short to judge


@pytest.mark.parametrize("text, expected", [
    ("Менің ЖСН-ім 080515650129", "yes"),   # valid check digit
    ("Нөмір 080515650128", "no"),            # twelve digits, wrong check digit: not an IIN
    ("Call +7 701 234 56 78", "yes"),
    ("Не сообщай свой ИИН никому.", "no"),
])
def test_pii_reads_the_iin_check_digit_and_phone_numbers(text, expected):
    assert d.pii(text, "ru") == expected


def test_facts_ignore_words_repeated_from_the_question():
    assert d.facts("Қазақстанның астанасы — Алматы.", ["Астана"], "Қазақстанның астанасы қай қала?") == "no"
    assert d.facts("Астана.", ["Астана"], "Қазақстанның астанасы қай қала?") == "yes"

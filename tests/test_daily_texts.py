"""Texts people read in the daily work (issue 13): a date that ends with an abbreviation's
period ("1 дек. 2026 г.", Kazakh "2026 ж. 01 жел.") at the end of a sentence gets one
period, not two (the journey's screenshots showed "… 2026 г.." on the label pages)."""

from __future__ import annotations

import pytest

from workbench.i18n import format_date, t


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_a_date_at_the_end_of_a_sentence_has_one_period(lang):
    date = format_date("2026-12-01", lang)
    text = t("staff.label_suspended", lang, label="KZ-AIS-2026-000001", date=date, reason="R", until=date, by="—")
    assert ".." not in text and date in text
    validity = t("pub.validity.range", lang, start=date, end=date)
    assert ".." not in validity


def test_a_value_without_a_final_period_keeps_the_sentence_period():
    assert t("staff.label_suspended", "en", label="L", date="1 Dec 2026", reason="R").count("2026.") == 1

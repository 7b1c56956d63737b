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


def test_a_signed_in_person_keeps_their_language_after_a_reload(home, monkeypatch):
    """Found by the Russian journey: the inbox opened a submission at an address without
    ``lang``; a reload (a new session, signed in by the cookie) then showed Kazakh to a
    reviewer who works in Russian. The person's own language (``users.lang``, set when they
    sign in or switch) is used when the address does not say one."""
    from streamlit.testing.v1 import AppTest

    from conftest import People
    from test_label_state import APP
    from workbench.registry import notifications, sessions
    from workbench.services import Workbench

    wb = Workbench.open(home)
    try:
        people = People(wb.registry)
        notifications.set_language(wb.registry, people.reviewer1.user_id, "ru")
        token = sessions.create(wb.registry, people.reviewer1)
        cookie = sessions.cookie_value(token, sessions.session_key(wb.home.root))
        monkeypatch.setattr("ui.common.request_cookies", lambda: {sessions.COOKIE_NAME: cookie})
        at = AppTest.from_file(APP, default_timeout=60).run()
        assert not at.exception, at.exception
        assert at.session_state["actor"].username == "reviewer1"
        assert at.session_state["lang"] == "ru"
        assert at.title[0].value == t("reviewer.title", "ru")
        at = AppTest.from_file(APP, default_timeout=60)
        at.query_params["lang"] = "en"  # an address that says the language wins
        at.run()
        assert at.session_state["lang"] == "en"
    finally:
        wb.close()

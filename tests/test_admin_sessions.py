"""The admin's view of live sessions (issue 13): who is signed in, role, since when, last
seen, from which address; ending one session is effective at the person's next click and
logged. The address and the browser are the sign-in request's (``/signin``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from streamlit.testing.v1 import AppTest

from conftest import PASSWORD
from test_admin_accounts import office  # noqa: F401  (fixture)
from workbench.registry import sessions
from workbench.errors import PermissionDenied, WorkbenchError
from workbench.i18n import t

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")


def _admin_page(people, lang: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["actor"] = people.admin
    at.session_state["lang"] = lang
    return at.run()


@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_admin_sees_live_sessions_and_ends_one(office, lang):  # noqa: F811
    wb, people = office
    reg = wb.registry
    vendor = sessions.create(reg, people.vendor_a, address="10.0.0.5", user_agent="Mozilla/5.0 (X11; Linux) Chrome/120")
    reviewer = sessions.create(reg, people.reviewer1, address="192.168.1.7", user_agent="Firefox/128")
    gone = sessions.create(reg, people.reviewer2, address="10.9.9.9")
    sessions.end(reg, gone)  # logged out: not live
    at = _admin_page(people, lang)
    assert not at.exception, at.exception
    table = next(d.value for d in at.dataframe if t("daily.sessions.address", lang) in d.value.columns)
    assert sorted(table[t("daily.sessions.address", lang)]) == ["10.0.0.5", "192.168.1.7"]
    assert set(table[t("daily.sessions.role", lang)]) == {t("role.vendor", lang), t("role.reviewer", lang)}
    assert any("vendor_a" in who for who in table[t("daily.sessions.who", lang)])
    for column in ("since", "last_seen", "browser"):
        assert t(f"daily.sessions.{column}", lang) in table.columns
    assert at.button(key="session_revoke").disabled, "nothing is ended without the confirmation"

    vendor_id = next(s.id for s in sessions.active(reg, people.admin) if s.username == "vendor_a")
    at.selectbox(key="session_pick").set_value(vendor_id).run()
    at.checkbox(key="session_sure").check().run()
    at.button(key="session_revoke").click().run()
    assert not at.exception, at.exception
    from ui.text import esc

    assert at.success[0].value == t("daily.sessions.revoked", lang, username=esc("vendor_a"), address=esc("10.0.0.5"))
    # effective at once: the vendor's next click finds no session; the reviewer is still in
    assert sessions.resolve(reg, vendor) is None
    assert sessions.resolve(reg, reviewer).username == "reviewer1"
    event = [e for e in reg.events("user", people.vendor_a.user_id) if e.action == "session.revoked"][-1]
    assert event.actor.endswith(":admin") and event.payload["address"] == "10.0.0.5"
    table = next(d.value for d in at.dataframe if t("daily.sessions.address", lang) in d.value.columns)
    assert list(table[t("daily.sessions.address", lang)]) == ["192.168.1.7"]
    with pytest.raises(WorkbenchError) as again:  # ended twice: a clear message, nothing changes
        sessions.revoke(reg, people.admin, vendor_id)
    assert again.value.key == "daily.sessions.gone"


def test_only_an_admin_sees_or_ends_sessions(office):  # noqa: F811
    wb, people = office
    token = sessions.create(reg := wb.registry, people.vendor_a, address="10.0.0.5")
    for who in (people.secretary, people.vendor_a, people.reviewer1):
        with pytest.raises(PermissionDenied):
            sessions.active(reg, who)
        with pytest.raises(PermissionDenied):
            sessions.revoke(reg, who, sessions._sid(token))
    assert sessions.resolve(reg, token) is not None


def test_sign_in_records_the_address_and_the_browser(office, monkeypatch):  # noqa: F811
    wb, people = office
    from workbench.web import signin

    monkeypatch.setattr(signin, "_workbench", lambda: wb)
    client = TestClient(Starlette(routes=signin.routes()), base_url="http://localhost")
    response = client.post("/signin", data={"username": "reviewer1", "password": PASSWORD, "next": "/staff/"},
                           headers={"User-Agent": "Mozilla/5.0 Journey", "Origin": "http://localhost"},
                           follow_redirects=False)
    assert response.status_code == 303, response.text[:500]
    live, = sessions.active(wb.registry, people.admin)
    assert live.username == "reviewer1" and live.address == "testclient" and live.user_agent == "Mozilla/5.0 Journey"

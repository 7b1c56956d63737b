"""Durable staff sessions: the session table, the signed cookie, the sign-in routes, and
the Streamlit script identifying the person from the cookie (issue 13)."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import warnings

import pytest
from starlette.applications import Starlette

with warnings.catch_warnings():  # starlette asks for httpx2, which is not in the lock file
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient
from streamlit.testing.v1 import AppTest

from workbench.registry import auth, sessions
from workbench.errors import PermissionDenied
from workbench.i18n import t
from workbench.registry.models import SYSTEM, Role, utcnow
from workbench.services import Workbench
from workbench.web import signin

from conftest import PASSWORD, People

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "streamlit_app.py")


# --- the session table ------------------------------------------------------------------

def test_session_resolves_to_its_person_until_logout(reg, people):
    token = sessions.create(reg, people.secretary)
    assert sessions.resolve(reg, token) == people.secretary
    assert sessions.end(reg, token)
    assert sessions.resolve(reg, token) is None
    assert not sessions.end(reg, token), "ending twice is a no-op"
    actions = [e.action for e in reg.events("user", people.secretary.user_id)]
    assert actions[-2:] == ["session.started", "session.ended"]


def test_idle_timeout_and_absolute_expiry(reg, people):
    start = utcnow()
    token = sessions.create(reg, people.reviewer1, now=start)
    # Active every 20 minutes: stays alive past the idle limit, until the absolute expiry.
    at = start
    while at + dt.timedelta(minutes=20) < start + sessions.LIFETIME:
        at += dt.timedelta(minutes=20)
        assert sessions.resolve(reg, token, now=at) == people.reviewer1, at
    assert sessions.resolve(reg, token, now=start + sessions.LIFETIME) is None
    idle = sessions.create(reg, people.reviewer2, now=start)
    assert sessions.resolve(reg, idle, now=start + sessions.IDLE_TIMEOUT + dt.timedelta(seconds=1)) is None


def test_admin_revokes_and_deactivation_is_at_once(reg, people):
    token = sessions.create(reg, people.vendor_a)
    with pytest.raises(PermissionDenied):
        sessions.end_all(reg, people.secretary, people.vendor_a.user_id)
    assert sessions.end_all(reg, people.admin, people.vendor_a.user_id) == 1
    assert sessions.resolve(reg, token) is None
    again = sessions.create(reg, people.vendor_a)
    auth.set_active(reg, people.admin, people.vendor_a.user_id, False)
    assert sessions.resolve(reg, again) is None, "an inactive account's session opens nothing"
    assert sessions.active(reg, people.admin) == []


def test_cookie_is_signed(tmp_path):
    key = sessions.session_key(tmp_path)
    assert stat.S_IMODE(os.stat(tmp_path / "keys" / sessions.KEY_FILE).st_mode) == 0o600
    assert sessions.session_key(tmp_path) == key, "the key is kept"
    value = sessions.cookie_value("abc", key)
    assert sessions.token_from_cookie(value, key) == "abc"
    for forged in ("abc", "abc.", "abd" + value[3:], value + "0", "", None, "a.b.c", value.upper()):
        assert sessions.token_from_cookie(forged, key) is None, forged
    assert sessions.token_from_cookie(value, os.urandom(32)) is None


# --- the routes -------------------------------------------------------------------------

@pytest.fixture
def site(home):
    wb = Workbench.open(home)
    people = People(wb.registry)
    client = TestClient(Starlette(routes=signin.routes()), base_url="http://testserver")
    yield wb, people, client
    client.close()
    for opened in signin._open.values():
        opened.close()
    signin._open.clear()
    wb.close()


def test_signin_sets_a_strict_httponly_cookie_and_goes_back(site):
    wb, people, client = site
    page = client.get("/signin", params={"next": "/staff/queue?submission=17", "lang": "ru"})
    assert page.status_code == 200 and t("login.username", "ru") in page.text
    assert 'value="/staff/queue?submission=17"' in page.text
    reply = client.post("/signin", data={"username": "secretary", "password": PASSWORD,
                                         "next": "/staff/queue?submission=17", "lang": "ru"}, follow_redirects=False)
    assert reply.status_code == 303
    assert reply.headers["location"] == "/staff/queue?submission=17&lang=ru"
    cookie = reply.headers["set-cookie"]
    assert cookie.startswith(sessions.COOKIE_NAME + "=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    value = cookie.split(";")[0].split("=", 1)[1]
    token = sessions.token_from_cookie(value, sessions.session_key(wb.home.root))
    assert sessions.resolve(wb.registry, token) == people.secretary
    out = client.post("/signout", follow_redirects=False)
    assert out.status_code == 303 and f'{sessions.COOKIE_NAME}=""' in out.headers["set-cookie"]
    assert sessions.resolve(wb.registry, token) is None


def test_wrong_password_stays_on_the_form_with_a_translated_message(site):
    _, _, client = site
    reply = client.post("/signin", data={"username": "secretary", "password": "nope", "lang": "kk",
                                         "next": "/queue"}, follow_redirects=False)
    assert reply.status_code == 401 and "set-cookie" not in reply.headers
    assert t("auth.bad_login", "kk") in reply.text and 'value="secretary"' in reply.text


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil", "javascript:alert(1)",
                                    "queue", "/signin?next=/x"])
def test_next_never_leaves_the_site(site, target):
    _, _, client = site
    reply = client.post("/signin", data={"username": "reviewer1", "password": PASSWORD, "next": target},
                        follow_redirects=False)
    assert reply.headers["location"].split("?")[0] == "/staff/"


def test_cross_site_post_is_refused(site):
    _, _, client = site
    reply = client.post("/signin", data={"username": "reviewer1", "password": PASSWORD},
                        headers={"Origin": "https://evil.example"}, follow_redirects=False)
    assert reply.status_code == 403 and "set-cookie" not in reply.headers


def test_user_text_in_the_form_is_escaped(site):
    _, _, client = site
    page = client.get("/signin", params={"username": '"><script>alert(1)</script>', "next": '/q?"><b>'})
    assert "<script>alert" not in page.text and "&lt;script&gt;" in page.text


def test_reset_password_is_replaced_at_next_sign_in(site):
    wb, people, client = site
    auth.reset_password(wb.registry, people.admin, people.reviewer2.user_id, "temporary-1")
    sessions.require_new_password(wb.registry, people.admin, people.reviewer2.user_id)
    first = client.post("/signin", data={"username": "reviewer2", "password": "temporary-1", "lang": "en"},
                        follow_redirects=False)
    assert first.status_code == 200 and t("staff.signin_must_change", "en") in first.text
    assert "set-cookie" not in first.headers
    mismatch = client.post("/signin", data={"username": "reviewer2", "password": "temporary-1", "lang": "en",
                                            "new_password": "brand-new-pass", "new_password2": "other-pass"},
                           follow_redirects=False)
    assert t("staff.signin_mismatch", "en") in mismatch.text
    done = client.post("/signin", data={"username": "reviewer2", "password": "temporary-1",
                                        "new_password": "brand-new-pass", "new_password2": "brand-new-pass"},
                       follow_redirects=False)
    assert done.status_code == 303 and "set-cookie" in done.headers
    assert auth.login(wb.registry, "reviewer2", "brand-new-pass").user_id == people.reviewer2.user_id


# --- the Streamlit script identifies the person from the cookie ------------------------

@pytest.fixture
def cookie_app(home, monkeypatch):
    """AppTest cannot send cookies; the script reads them through ``ui.common.request_cookies``."""
    import ui.common

    wb = Workbench.open(home)
    people = People(wb.registry)
    jar: dict[str, str] = {}
    monkeypatch.setattr(ui.common, "request_cookies", lambda: dict(jar))

    def sign_in(who) -> str:
        token = sessions.create(wb.registry, who)
        jar[sessions.COOKIE_NAME] = sessions.cookie_value(token, sessions.session_key(wb.home.root))
        return token

    yield wb, people, jar, sign_in
    wb.close()


@pytest.mark.parametrize("username,title", [("secretary", "secretary.title"), ("reviewer1", "reviewer.title"),
                                            ("vendor_a", "vendor.title"), ("admin", "admin.title")])
def test_each_role_lands_on_its_own_queue(cookie_app, username, title):
    wb, people, _, sign_in = cookie_app
    sign_in(getattr(people, username))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    assert at.title[0].value == t(title, "kk")
    assert at.session_state["actor"] == getattr(people, username)


def test_a_reload_keeps_the_person_and_logout_ends_the_session(cookie_app):
    wb, people, jar, sign_in = cookie_app
    token = sign_in(people.secretary)
    for _ in range(2):  # a reload is a new session with the same cookie
        at = AppTest.from_file(APP, default_timeout=60).run()
        assert at.session_state["actor"] == people.secretary
    at.button(key="logout").click().run()
    assert at.session_state["actor"].is_public
    assert sessions.resolve(wb.registry, token) is None
    reload = AppTest.from_file(APP, default_timeout=60).run()
    assert reload.session_state["actor"].is_public, "the old cookie opens nothing"


def test_revocation_by_the_admin_takes_effect_at_the_next_click(cookie_app):
    wb, people, _, sign_in = cookie_app
    sign_in(people.reviewer1)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert at.title[0].value == t("reviewer.title", "kk")
    sessions.end_all(wb.registry, people.admin, people.reviewer1.user_id)
    at.run()
    assert at.session_state["actor"].is_public
    assert at.title[0].value != t("reviewer.title", "kk")


def test_a_forged_cookie_is_nobody(cookie_app):
    _, people, jar, sign_in = cookie_app
    sign_in(people.secretary)
    jar[sessions.COOKIE_NAME] = jar[sessions.COOKIE_NAME][:-1] + ("0" if not jar[sessions.COOKIE_NAME].endswith("0")
                                                                  else "1")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert at.session_state["actor"].is_public


# --- deep links ----------------------------------------------------------------------------

def _submitted(wb, people) -> int:
    from conftest import COMPLETE_DOSSIER
    from workbench.intake import submissions as subs

    sub = subs.create_submission(wb.registry, people.vendor_a, dict(COMPLETE_DOSSIER, tool_name="Deep link tool"))
    subs.submit(wb.registry, people.vendor_a, sub.id)
    return sub.id


@pytest.mark.parametrize("username,page", [("vendor_a", "vendor"), ("secretary", "secretary")])
def test_a_bookmarked_submission_opens_again(cookie_app, username, page):
    wb, people, _, sign_in = cookie_app
    sub_id = _submitted(wb, people)
    sign_in(getattr(people, username))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["submission"] = str(sub_id)
    at.run()
    assert not at.exception, at.exception
    if page == "vendor":
        assert at.session_state["vendor_sub"] == sub_id
        assert any("Deep link tool" in h.value for h in at.subheader)
    else:
        assert at.expander[0].proto.expanded and "Deep link tool" in at.expander[0].label


def test_a_foreign_submission_in_the_address_is_a_message(cookie_app):
    wb, people, _, sign_in = cookie_app
    sub_id = _submitted(wb, people)
    sign_in(people.vendor_b)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["submission"] = str(sub_id)
    at.run()
    assert not at.exception and at.error, "refused with a message, not a traceback"
    assert "vendor_sub" not in at.session_state

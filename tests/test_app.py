"""AppTest smoke tests: every page, every role, every language, no exception."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from workbench.registry import auth
from workbench.i18n import LANGUAGES, t
from workbench.registry.models import PUBLIC, Role

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "streamlit_app.py")

#: role -> the pages that role sees (the public pages are server-rendered: tests/test_web.py)
PUBLIC_PAGES: list[str] = []
ROLE_PAGES = {
    Role.PUBLIC: ["login"],
    Role.VENDOR: ["vendor"],
    Role.REVIEWER: ["reviewer"],
    Role.SECRETARY: ["secretary", "complaints_queue"],
    Role.ADMIN: ["admin"],
}
DEMO_LOGIN = {Role.VENDOR: "vendor1", Role.REVIEWER: "reviewer1", Role.SECRETARY: "secretary", Role.ADMIN: "admin"}


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory):
    """One demo workbench for the whole module (demo loading is the slow part)."""
    import os

    home = tmp_path_factory.mktemp("apphome")
    old = os.environ.get("WORKBENCH_HOME")
    os.environ["WORKBENCH_HOME"] = str(home)
    from workbench.demo import ensure_demo, ensure_keys
    from workbench.services import Workbench

    wb = Workbench.open(home)
    ensure_keys(wb)
    ensure_demo(wb)
    wb.close()
    yield home
    if old is None:
        os.environ.pop("WORKBENCH_HOME", None)
    else:
        os.environ["WORKBENCH_HOME"] = old


def actor_for(home, role):
    if role is Role.PUBLIC:
        return PUBLIC
    from workbench.registry.db import Registry
    from workbench.demo import DEMO_PASSWORD

    reg = Registry(Path(home) / "registry.db")
    try:
        return auth.login(reg, DEMO_LOGIN[role], DEMO_PASSWORD)
    finally:
        reg.close()


def app(home, role=Role.PUBLIC, lang="kk") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["lang"] = lang
    at.session_state["actor"] = actor_for(home, role)
    return at


CASES = [(role, page, lang) for role, pages in ROLE_PAGES.items() for page in PUBLIC_PAGES + pages
         for lang in LANGUAGES]


@pytest.mark.parametrize("role,page,lang", CASES)
def test_page_renders_without_exception(demo_home, role, page, lang):
    at = app(demo_home, role, lang).run()
    at.switch_page(f"ui/pages/{page}.py").run()
    assert not at.exception, at.exception
    assert at.title, "every page has a title"


def test_kazakh_is_the_default_language(demo_home):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == t("login.title", "kk")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_login_title_in_each_language(demo_home, lang):
    at = app(demo_home, Role.PUBLIC, lang).run()
    assert at.title[0].value == t("login.title", lang)


def test_language_switch_is_remembered_across_pages(demo_home):
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.selectbox(key="lang_select").select("ru").run()
    assert at.session_state["lang"] == "ru"
    at.switch_page("ui/pages/login.py").run()
    assert at.title[0].value == t("login.title", "ru")


def test_login_page_links_to_the_signin_route(demo_home):
    """Signing in happens on ``/signin`` (it sets the session cookie; tests/test_sessions.py)."""
    at = app(demo_home, Role.PUBLIC, "ru").run()
    at.switch_page("ui/pages/login.py").run()
    assert not at.exception
    link = next(m.value for m in at.markdown if "/signin?" in m.value)
    assert 'target="_self"' in link and t("staff.signin_link", "ru") in link and "lang=ru" in link
    assert at.session_state["actor"].is_public


@pytest.mark.parametrize("role", list(ROLE_PAGES))
def test_each_role_sees_only_its_pages(demo_home, role):
    at = app(demo_home, role).run()
    others = {p for r, pages in ROLE_PAGES.items() if r is not role for p in pages}
    for page in others:
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(f"ui/pages/{page}.py")

"""A reviewer's day in a real browser (Debian's chromium, Playwright) against the ASGI app
the workbench serves: ``st.App(streamlit_app.py, routes=signin.routes())`` under uvicorn.

A bookmarked work address opened while signed out shows the sign-in prompt; signing in on
``/signin`` comes back to that address; a reload and a new tab keep the person signed in
and on the same submission; the sidebar counts the unread notice and the inbox opens the
submission it is about; logout ends the session for every tab. The server's log must hold
no deprecation warning. Screenshots (also at 360 px width) go to
``tests/artifacts/e2e_staff/``.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from workbench.registry import notifications, sessions
from workbench.intake import submissions as subs
from workbench.i18n import t

from .conftest import PASSWORD, STEP_TIMEOUT_MS, Cast, start_asgi_app

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "tests" / "artifacts" / "e2e_staff"
pytestmark = pytest.mark.timeout(300)
TOOL = "Эссе бағалаушы"


@pytest.fixture
def asgi_server(cast: Cast, tmp_path: Path):
    """The one ASGI app (``workbench serve``); yields (base URL, server log path)."""
    log_path = tmp_path / "server.log"
    process, url = start_asgi_app(tmp_path, log_path, cast.wb.registry)
    try:
        yield url, log_path
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _settle(page) -> None:
    page.wait_for_timeout(200)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=STEP_TIMEOUT_MS)
    page.wait_for_function("!document.querySelector('[data-stale=\"true\"]')", timeout=STEP_TIMEOUT_MS)


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_sign_in_reload_bookmark_and_notification(browser, cast: Cast, asgi_server):
    url, log_path = asgi_server
    reg = cast.wb.registry
    vendor, secretary, reviewer = cast.actor("vendor"), cast.actor("secretary"), cast.actor("rev1")
    from conftest import COMPLETE_DOSSIER

    sub = subs.create_submission(reg, vendor, dict(COMPLETE_DOSSIER, tool_name=TOOL))
    subs.submit(reg, vendor, sub.id)
    subs.screen(reg, secretary, sub.id, complete=True)
    subs.assign_reviewer(reg, secretary, sub.id, reviewer.user_id)
    for old in SHOTS.glob("*.png"):
        old.unlink()

    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="kk-KZ")
    context.set_default_timeout(STEP_TIMEOUT_MS)
    page = context.new_page()
    bookmark = f"{url}/staff/assignments?submission={sub.id}"

    # 1. The bookmark while signed out: the sign-in prompt, at that address.
    page.goto(bookmark)
    page.get_by_text(t("staff.signin_needed", "kk")).wait_for()
    _settle(page)
    _shot(page, "01_bookmark_signed_out")
    page.get_by_role("link", name=t("staff.signin_link", "kk")).click()

    # 2. The sign-in page (server-rendered), also at phone width.
    page.wait_for_url(re.compile(r"/signin\?"))
    page.set_viewport_size({"width": 360, "height": 740})
    _shot(page, "02_signin_360px")
    page.set_viewport_size({"width": 1366, "height": 900})
    page.fill("#username", "rev1")
    page.fill("#password", "wrong-password-1")
    page.get_by_role("button", name=t("login.submit", "kk")).click()
    page.get_by_role("alert").wait_for()
    assert t("auth.bad_login", "kk") in page.get_by_role("alert").inner_text()
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name=t("login.submit", "kk")).click()

    # 3. Back at the bookmarked submission, signed in.
    page.wait_for_url(re.compile(rf"/assignments\?submission={sub.id}"))
    page.locator(".st-key-logout").wait_for()
    page.get_by_text(TOOL).first.wait_for()
    page.locator(f".st-key-coi_choice_{sub.id}").wait_for()  # the conflict declaration comes first
    _settle(page)
    _shot(page, "03_back_at_the_bookmark")
    cookie = next(c for c in context.cookies() if c["name"] == sessions.COOKIE_NAME)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    # 4. A reload keeps the person and the submission.
    page.reload()
    page.locator(".st-key-logout").wait_for()
    page.get_by_text(TOOL).first.wait_for()
    assert f"submission={sub.id}" in page.url

    # 5. The sidebar counts the unread notice; the inbox opens its submission.
    inbox_link = page.locator('[data-testid="stSidebarNav"]').get_by_role(
        "link", name=t("staff.inbox_title_n", "kk", n=1))
    inbox_link.wait_for()
    inbox_link.click()
    _settle(page)
    notice = notifications.render("assigned", {"tool": TOOL, "id": sub.id}, "kk")
    page.get_by_text(notice).wait_for()
    _shot(page, "04_inbox")
    page.set_viewport_size({"width": 360, "height": 740})
    page.wait_for_timeout(1000)  # the sidebar folds away on a narrow screen
    _shot(page, "05_inbox_360px")
    page.set_viewport_size({"width": 1366, "height": 900})
    page.locator('[class*="st-key-notice_open_"] button').first.click()
    _settle(page)
    page.get_by_text(TOOL).first.wait_for()
    page.locator(f".st-key-coi_choice_{sub.id}").wait_for()
    assert notifications.unread_count(reg, reviewer) == 0
    _shot(page, "06_notice_opened_the_submission")

    # 6. A new tab with the bookmark: signed in there too.
    tab = context.new_page()
    tab.goto(bookmark)
    tab.locator(".st-key-logout").wait_for()
    tab.get_by_text(TOOL).first.wait_for()

    # 7. Logout ends the session: the other tab's next load is signed out.
    page.locator(".st-key-logout button").click()
    _settle(page)
    page.get_by_role("link", name=t("staff.signin_link", "kk")).wait_for()  # signed out: the sign-in prompt
    tab.reload()
    try:
        tab.get_by_text(t("staff.signin_needed", "kk")).wait_for()
    finally:
        _shot(tab, "07_other_tab_after_logout")
    context.close()

    log = log_path.read_text(errors="replace")
    assert not re.search(r"deprecat", log, re.I), log[-3000:]
    assert "Traceback" not in log, log[-3000:]

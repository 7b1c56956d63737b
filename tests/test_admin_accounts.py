"""Admin (issue 13): deactivate and reactivate (at once), reset a password (new one at the
next sign-in), unlock; each logged and confirmed; the backup download stays."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import PASSWORD, People
from workbench.upkeep import admin
from workbench.registry import auth, sessions
from workbench.errors import PermissionDenied
from workbench.i18n import t
from workbench.services import Workbench

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")


@pytest.fixture
def office(home):
    wb = Workbench.open(home)
    wb.keys.create_key()  # a registry has its key after init; a backup's manifest is signed with it
    yield wb, People(wb.registry)
    wb.close()


def _admin_page(people) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["actor"] = people.admin
    at.session_state["lang"] = "en"
    return at.run()


def _apply(at, user_id: int, action: str, temporary: str = "") -> AppTest:
    at.selectbox(key="acct_user").set_value(user_id).run()
    at.radio(key="acct_action").set_value(action).run()
    if temporary:
        at.text_input(key="acct_temp").input(temporary)
    at.checkbox(key="acct_sure").check().run()
    return at.button(key="acct_apply").click().run()


def test_deactivate_ends_sessions_at_once_then_reactivate(office):
    wb, people = office
    reg = wb.registry
    token = sessions.create(reg, people.vendor_a)
    at = _admin_page(people)
    assert at.button(key="acct_apply").disabled, "nothing happens without the confirmation"
    _apply(at, people.vendor_a.user_id, "deactivate")
    assert not at.exception, at.exception
    assert at.success[0].value == t("staff.admin_done_deactivate", "en", username="vendor\\_a")
    assert sessions.resolve(reg, token) is None
    with pytest.raises(auth.AuthError):
        auth.login(reg, "vendor_a", PASSWORD)
    _apply(at, people.vendor_a.user_id, "reactivate")
    assert auth.login(reg, "vendor_a", PASSWORD).user_id == people.vendor_a.user_id
    actions = [e.action for e in reg.events("user", people.vendor_a.user_id)]
    assert "user.deactivated" in actions and "user.activated" in actions and "session.revoked_all" in actions


def test_reset_and_unlock(office):
    wb, people = office
    reg = wb.registry
    for _ in range(auth.MAX_FAILURES):
        with pytest.raises(auth.AuthError):
            auth.login(reg, "reviewer1", "wrong-password")
    assert people.reviewer1.user_id in admin.locked_users(reg, people.admin)
    at = _admin_page(people)
    _apply(at, people.reviewer1.user_id, "unlock")
    assert not at.exception, at.exception
    assert auth.login(reg, "reviewer1", PASSWORD).user_id == people.reviewer1.user_id
    _apply(at, people.reviewer1.user_id, "reset", temporary="temporary-pass-1")
    assert sessions.must_change_password(reg, people.reviewer1.user_id)
    actions = [e.action for e in reg.events("user", people.reviewer1.user_id)]
    assert {"auth.throttled", "user.unlocked", "user.password_reset"} <= set(actions)


def test_only_an_admin_manages_accounts(office):
    wb, people = office
    for call in (lambda: admin.deactivate(wb.registry, people.secretary, people.vendor_a.user_id),
                 lambda: admin.unlock(wb.registry, people.secretary, people.vendor_a.user_id),
                 lambda: admin.reset_password(wb.registry, people.secretary, people.vendor_a.user_id, "x" * 10)):
        with pytest.raises(PermissionDenied):
            call()


def test_the_backup_download_stays_after_the_next_click(office):
    wb, people = office
    at = _admin_page(people)
    at.button(key="make_backup").click().run()
    assert not at.exception, at.exception
    assert at.get("download_button")
    at.button(key="verify_log").click().run()
    assert at.get("download_button"), "still there after another click"

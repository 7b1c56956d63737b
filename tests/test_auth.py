"""Accounts: hashing, login, lock-out."""

from __future__ import annotations

import datetime as dt

import pytest

from workbench.registry import auth
from workbench.errors import ValidationFailed
from workbench.registry.models import SYSTEM, Role, utcnow

from conftest import PASSWORD


def test_password_is_hashed_with_argon2_and_never_stored_in_clear(reg, people):
    row = reg.one("SELECT password_hash FROM users WHERE username = 'vendor_a'")
    assert row["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in row["password_hash"]
    dump = "\n".join(reg.conn.iterdump())
    assert PASSWORD not in dump
    assert auth.check_password(row["password_hash"], PASSWORD)
    assert not auth.check_password(row["password_hash"], PASSWORD + "x")


def test_production_hasher_is_memory_hard():
    from argon2 import PasswordHasher

    hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
    stored = hasher.hash(PASSWORD)
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert auth._DUMMY_HASH.startswith("$argon2id$v=19$m=19456")


def test_login_returns_the_actor(reg, people):
    who = auth.login(reg, "vendor_a", PASSWORD)
    assert who.role is Role.VENDOR and who.org_id == people.org_a.id


@pytest.mark.parametrize("username,password", [("vendor_a", "wrong-password"), ("nobody", PASSWORD), ("", "")])
def test_wrong_login_has_one_message(reg, people, username, password):
    with pytest.raises(auth.AuthError) as exc:
        auth.login(reg, username, password)
    assert exc.value.key == auth.BAD_LOGIN


def test_throttle_after_repeated_failures_and_message_says_when(reg, people):
    now = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.timezone.utc)
    for _ in range(auth.MAX_FAILURES):
        with pytest.raises(auth.AuthError) as exc:
            auth.login(reg, "vendor_a", "bad-password", now=now, source="203.0.113.5")
        assert exc.value.key == auth.BAD_LOGIN
    # even the right password is refused (and not checked) while the caller must wait
    with pytest.raises(auth.AuthError) as exc:
        auth.login(reg, "vendor_a", PASSWORD, now=now + dt.timedelta(seconds=10), source="203.0.113.5")
    assert exc.value.key == auth.THROTTLED
    assert exc.value.params["until"] == "10:00:30" and exc.value.params["seconds"] == 20
    assert "10:00:30" in exc.value.translate("ru") and "10:00:30" in exc.value.translate("kk")
    # after the delay the right password works again, and the counters are cleared
    assert auth.login(reg, "vendor_a", PASSWORD, now=now + dt.timedelta(seconds=31),
                      source="203.0.113.5").username == "vendor_a"
    assert any(e.action == "auth.throttled" for e in reg.events("user"))


def test_weak_password_and_duplicate_are_refused_together(reg, people):
    before = reg.one("SELECT count(*) AS n FROM users")["n"]
    with pytest.raises(ValidationFailed) as exc:
        auth.create_user(reg, SYSTEM, username="vendor_a", password="short", role="reviewer")
    keys = {p.key for p in exc.value.problems}
    assert keys == {auth.WEAK_PASSWORD, auth.USER_EXISTS}
    assert reg.one("SELECT count(*) AS n FROM users")["n"] == before


def test_vendor_account_needs_an_organisation(reg):
    with pytest.raises(ValidationFailed) as exc:
        auth.create_user(reg, SYSTEM, username="lonely", password=PASSWORD, role="vendor")
    assert [p.key for p in exc.value.problems] == [auth.VENDOR_NEEDS_ORG]


def test_deactivated_user_cannot_log_in(reg, people):
    auth.set_active(reg, people.admin, people.vendor_b.user_id, False)
    with pytest.raises(auth.AuthError):
        auth.login(reg, "vendor_b", PASSWORD)


def test_reset_password(reg, people):
    auth.reset_password(reg, people.admin, people.vendor_b.user_id, "a-new-password")
    assert auth.login(reg, "vendor_b", "a-new-password").username == "vendor_b"
    assert utcnow().year >= 2026

"""The foundation's CLI: init, users, backup, restore, verify-log, keys."""

from __future__ import annotations

import sqlite3

import pytest
from click.testing import CliRunner

from workbench.cli import cli
from workbench.registry.db import Registry
from workbench.i18n import t


@pytest.fixture
def runner(home):
    return CliRunner()


def test_init_demo_creates_everything_in_the_home_folder(runner, home):
    result = runner.invoke(cli, ["init", "--demo"])
    assert result.exit_code == 0, result.output
    assert "secretary" in result.output and "demo-pass-2026" in result.output
    assert (home / "registry.db").is_file()
    assert sorted(p.name for p in (home / "audits").iterdir()) == [
        "KZ-AIS-2023-000001.pdf", "KZ-AIS-2026-000001.pdf", "KZ-AIS-2026-000002.pdf", "KZ-AIS-2026-000003.pdf"]
    assert set(p.name for p in home.iterdir()) <= {"registry.db", "registry.db-wal", "registry.db-shm", "files",
                                                   "audits", "keys"}
    again = runner.invoke(cli, ["init", "--demo"])
    assert again.exit_code == 0 and t("cli.demo_present", "kk") in again.output
    reg = Registry(home / "registry.db")
    statuses = {r["status"] for r in reg.query("SELECT status FROM labels")}
    assert statuses == {"active", "suspended", "revoked"}  # and one expired by date (derived when read)
    assert reg.one("SELECT count(*) AS n FROM labels WHERE valid_until < '2026-11-22'")["n"] == 1


def test_users_add_and_list(runner, home, monkeypatch):
    monkeypatch.setenv("WORKBENCH_NEW_PASSWORD", "a-long-password")
    result = runner.invoke(cli, ["users", "add", "expert7", "--role", "reviewer", "--name", "Эксперт"])
    assert result.exit_code == 0, result.output
    assert "expert7" in runner.invoke(cli, ["users", "list"]).output
    dup = runner.invoke(cli, ["users", "add", "expert7", "--role", "reviewer"])
    assert dup.exit_code == 2 and "Traceback" not in dup.output
    assert t("auth.user_exists", "kk", username="expert7") in dup.output


def test_backup_restore_and_refusal(runner, home, tmp_path):
    runner.invoke(cli, ["init"])
    Registry(home / "registry.db").record("system", "marker", "x", 1)
    dest = tmp_path / "backup.tar"  # the whole home since issue 11, item 9
    assert runner.invoke(cli, ["backup", str(dest)]).exit_code == 0
    Registry(home / "registry.db").record("system", "after-backup", "x", 2)
    bogus = tmp_path / "bogus.db"
    sqlite3.connect(bogus).execute("CREATE TABLE x (y)")
    refused = runner.invoke(cli, ["restore", str(bogus), "--yes"])
    assert refused.exit_code == 2 and "Traceback" not in refused.output
    assert runner.invoke(cli, ["restore", str(dest), "--yes"]).exit_code == 0
    actions = [e.action for e in Registry(home / "registry.db").events()]
    assert "marker" in actions and "after-backup" not in actions


def test_verify_log_exit_codes(runner, home):
    runner.invoke(cli, ["init"])
    reg = Registry(home / "registry.db")
    for i in range(3):
        reg.record("system", "e", "x", i)
    ok = runner.invoke(cli, ["verify-log"])
    assert ok.exit_code == 0 and "3" in ok.output
    reg.conn.execute("DROP TRIGGER events_append_only_update")
    reg.conn.execute("UPDATE events SET payload = '{\"x\":1}' WHERE id = 2")
    broken = runner.invoke(cli, ["verify-log"], env={"WORKBENCH_LANG": "ru"})
    assert broken.exit_code == 1
    assert "№2" in broken.output


def test_keys_show_warns_about_the_demo_key(runner, home):
    from workbench.services import Workbench

    Workbench.open(home).keys.ensure_demo()  # a plain init no longer makes a demo key (issue 11, item 7)
    result = runner.invoke(cli, ["keys", "show"])
    assert result.exit_code == 0
    assert t("signing.demo_warning", "kk") in result.output

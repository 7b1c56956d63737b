"""Registry database: schema, migrations, the hash-chained event log, backup and restore."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from workbench.registry import db as dbmod
from workbench.registry.db import Registry, RegistryError, check_registry_file, restore


def test_fresh_database_has_current_schema(tmp_path):
    reg = Registry(tmp_path / "registry.db")
    assert reg.schema_version == dbmod.SCHEMA_VERSION
    tables = set(reg.db.table_names())
    assert {"organisations", "users", "submissions", "events", "labels", "attachments"} <= tables
    assert reg.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert reg.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert reg.conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30000


def test_migration_from_version_1_keeps_data(tmp_path):
    path = tmp_path / "old.db"
    old = Registry(path, migrate_to=1)
    assert old.schema_version == 1
    old.insert("organisations", {"name": "Old Org", "bin": "123456789013", "created_at": "2025-01-01"})
    old.record("system", "org.registered", "organisation", 1, {"name": "Old Org"})
    old.close()
    new = Registry(path)
    assert new.schema_version == dbmod.SCHEMA_VERSION
    assert new.one("SELECT name FROM organisations")["name"] == "Old Org"
    assert "previous_id" in new.db["submissions"].columns_dict
    assert new.verify_log().ok


def test_refuses_a_foreign_sqlite_file(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(RegistryError) as exc:
        Registry(path)
    assert exc.value.key == dbmod._NOT_A_REGISTRY


def _three_events(reg):
    for i in range(3):
        reg.record("system", "test.event", "thing", i, {"n": i})


def test_log_verifies_and_is_append_only(reg):
    _three_events(reg)
    assert reg.verify_log().ok
    assert reg.verify_log().events == 3
    with pytest.raises(sqlite3.IntegrityError):
        reg.conn.execute("UPDATE events SET payload = '{}' WHERE id = 2")
    with pytest.raises(sqlite3.IntegrityError):
        reg.conn.execute("DELETE FROM events WHERE id = 2")


def _tamper(reg, sql):
    """Simulate an attacker with raw file access: drop the guards, change rows."""
    reg.conn.execute("DROP TRIGGER events_append_only_update")
    reg.conn.execute("DROP TRIGGER events_append_only_delete")
    reg.conn.executescript(sql)


def test_edited_row_is_detected(reg):
    _three_events(reg)
    _tamper(reg, """UPDATE events SET payload = '{"n":99}' WHERE id = 2;""")
    check = reg.verify_log()
    assert not check.ok
    assert check.first_broken_id == 2
    assert check.problem == dbmod.LOG_EDITED


def test_deleted_row_is_detected(reg):
    _three_events(reg)
    _tamper(reg, "DELETE FROM events WHERE id = 2;")
    check = reg.verify_log()
    assert (check.ok, check.first_broken_id, check.problem) == (False, 3, dbmod.LOG_BROKEN_LINK)


def test_deleted_last_row_is_detected(reg):
    _three_events(reg)
    _tamper(reg, "DELETE FROM events WHERE id = 3;")
    check = reg.verify_log()
    assert (check.ok, check.problem) == (False, dbmod.LOG_MISSING_TAIL)


def test_reordered_rows_are_detected(reg):
    _three_events(reg)
    # Swap the contents of events 2 and 3 (each keeps its own, valid hash).
    _tamper(reg, """
        CREATE TEMP TABLE e AS SELECT * FROM events WHERE id IN (2, 3);
        DELETE FROM events WHERE id IN (2, 3);
        INSERT INTO events SELECT * FROM e WHERE id = 3;
        INSERT INTO events SELECT * FROM e WHERE id = 2;
    """)
    reg.conn.execute("UPDATE events SET id = id + 100 WHERE id IN (2, 3)")
    reg.conn.execute("UPDATE events SET id = CASE id WHEN 103 THEN 2 ELSE 3 END WHERE id IN (102, 103)")
    check = reg.verify_log()
    assert not check.ok
    assert check.first_broken_id in (2, 3)


def test_transaction_rolls_back_everything(reg):
    with pytest.raises(RuntimeError):
        with reg.transaction():
            reg.record("system", "a", "x", 1)
            reg.insert("organisations", {"name": "X", "bin": "123456789013", "created_at": "t"})
            raise RuntimeError("killed half-way")
    assert reg.one("SELECT count(*) AS n FROM events")["n"] == 0
    assert reg.one("SELECT count(*) AS n FROM organisations")["n"] == 0


def test_backup_and_restore_while_another_connection_writes(tmp_path):
    path = tmp_path / "registry.db"
    reg = Registry(path)
    _three_events(reg)
    stop = threading.Event()
    written = []

    def writer():
        other = Registry(path)
        i = 0
        while not stop.is_set() and i < 500:
            other.record("system", "concurrent.write", "w", i, {"i": i})
            written.append(i)
            i += 1
        other.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        backup = reg.backup(tmp_path / "backups" / "copy.db")
    finally:
        stop.set()
        thread.join()
    assert check_registry_file(backup) == dbmod.SCHEMA_VERSION
    copy = Registry(backup)
    check = copy.verify_log()
    assert check.ok and check.events >= 3
    copy.close()
    # restore into a new place and the log still verifies
    target = tmp_path / "restored.db"
    restore(backup, target)
    restored = Registry(target)
    assert restored.verify_log().ok
    assert restored.verify_log().events == check.events
    assert len(written) > 0


def test_restore_refuses_a_file_that_is_not_a_registry(tmp_path):
    bogus = tmp_path / "bogus.db"
    bogus.write_bytes(b"this is not sqlite at all" * 100)
    target = tmp_path / "registry.db"
    kept = Registry(target)
    kept.record("system", "keep", "x", 1)
    kept.close()  # closed first: a checkpoint at garbage collection would change the file under the test
    before = target.read_bytes()
    with pytest.raises(RegistryError):
        restore(bogus, target)
    assert target.read_bytes() == before

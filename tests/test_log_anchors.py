"""Issue 11, item 6: the event log missed 7 of 13 direct-database attacks.

An attacker with write access to ``registry.db`` (but not to ``keys/``, the signed documents or
the operator's head file) tries 13 attacks; ``verify_registry`` (``workbench verify-log``) must
report every one: the 6 the chain already caught and the 7 it missed (an edited event with the
chain recomputed, an appended forged event, truncation with the head fixed, the whole log
deleted, dropped triggers, a revoked label set back to active, a decision's outcome changed).
"""

from __future__ import annotations

import json
import shutil
import sqlite3

import pytest
from click.testing import CliRunner

from workbench.decision import labels
from workbench.public import opendata
from workbench.cli import cli
from workbench.registry.db import event_hash
from workbench.upkeep.integrity import verify_registry, write_head_file
from workbench.services import Workbench

from conftest import home_env
from test_decisions import TODAY, Committee


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    """A registry with two labels (one revoked between them), two signed PDFs, an export."""
    with home_env(tmp_path_factory.mktemp("logs")) as home:
        wb = Workbench.open(home)
        wb.keys.ensure_demo()
        committee = Committee(wb)
        first = committee.decide(committee.at_committee(name="First"))
        labels.change_label(wb.registry, committee.secretary, first.label_id, "revoke", "withdrawn", today=TODAY)
        second = committee.decide(committee.at_committee(name="Second"))
        opendata.export_registry(wb.registry, wb.keys, home / "export", today=TODAY)
        wb.registry.record(committee.secretary, "note.added", "submission", 1, {"n": 1})  # after every anchor
        wb.registry.record(committee.secretary, "note.added", "submission", 1, {"n": 2})
        wb.registry.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        wb.close()
        yield home, first, second


def _copy(home, tmp_path):
    target = tmp_path / "home"
    shutil.copytree(home, target)
    return target


def _rechain(conn, start: int) -> None:
    """What a careful attacker does after an edit: recompute every hash from ``start`` on."""
    prev = conn.execute("SELECT hash FROM events WHERE id = ?", (start - 1,)).fetchone()
    prev = prev[0] if prev else "0" * 64
    for row in conn.execute("SELECT * FROM events WHERE id >= ? ORDER BY id", (start,)).fetchall():
        digest = event_hash(row["id"], row["ts"], row["actor"], row["action"], row["subject_type"],
                            row["subject_id"], row["payload"], prev)
        conn.execute("UPDATE events SET prev_hash = ?, hash = ? WHERE id = ?", (prev, digest, row["id"]))
        prev = digest
    last = conn.execute("SELECT id, hash FROM events ORDER BY id DESC LIMIT 1").fetchone()
    conn.execute("UPDATE meta SET value = ? WHERE key = 'log_head'", (f"{last[0]}:{last[1]}",))


def _last(conn):
    return conn.execute("SELECT * FROM events ORDER BY id DESC LIMIT 1").fetchone()


def edited_payload(conn, ids):
    conn.execute("UPDATE events SET payload = replace(payload, 'withdrawn', 'kept') WHERE action = 'label.revoke'")


def edited_hash(conn, ids):
    conn.execute("UPDATE events SET hash = ? WHERE id = 3", ("f" * 64,))


def deleted_middle_event(conn, ids):
    conn.execute("DELETE FROM events WHERE id = 3")


def deleted_tail(conn, ids):
    conn.execute("DELETE FROM events WHERE id > (SELECT max(id) - 2 FROM events)")


def swapped_events(conn, ids):
    a, b = conn.execute("SELECT * FROM events WHERE id IN (2, 3) ORDER BY id").fetchall()
    for target, source in ((a["id"], b), (b["id"], a)):
        conn.execute("UPDATE events SET actor = ?, action = ?, subject_type = ?, subject_id = ?, payload = ? "
                     "WHERE id = ?", (source["actor"], source["action"], source["subject_type"],
                                      source["subject_id"], source["payload"], target))


def changed_actor_own_hash(conn, ids):
    row = conn.execute("SELECT * FROM events WHERE id = 2").fetchone()
    digest = event_hash(2, row["ts"], "secretary:someone-else", row["action"], row["subject_type"],
                        row["subject_id"], row["payload"], row["prev_hash"])
    conn.execute("UPDATE events SET actor = 'secretary:someone-else', hash = ? WHERE id = 2", (digest,))


def edited_with_chain_recomputed(conn, ids):
    row = conn.execute("SELECT id FROM events WHERE action = 'label.revoke'").fetchone()
    conn.execute("UPDATE events SET payload = replace(payload, 'withdrawn', 'kept') WHERE id = ?", (row[0],))
    _rechain(conn, row[0])


def appended_forged_event(conn, ids):
    last = _last(conn)
    payload = json.dumps({"from": "active", "reason": "forged", "to": "revoked"}, sort_keys=True,
                         separators=(",", ":"))
    new_id, ts = last["id"] + 1, "2026-11-23T10:00:00+00:00"
    digest = event_hash(new_id, ts, "secretary:secretary", "label.revoke", "label", ids["second"], payload,
                        last["hash"])
    conn.execute("INSERT INTO events (id, ts, actor, action, subject_type, subject_id, payload, prev_hash, hash, mac) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (new_id, ts, "secretary:secretary", "label.revoke", "label",
                                                           ids["second"], payload, last["hash"], digest,
                                                           last["mac"]))
    conn.execute("UPDATE labels SET status = 'revoked', status_reason = 'forged' WHERE id = ?", (ids["second"],))
    conn.execute("UPDATE meta SET value = ? WHERE key = 'log_head'", (f"{new_id}:{digest}",))


def truncated_head_fixed(conn, ids):
    conn.execute("DELETE FROM events WHERE id > (SELECT max(id) - 4 FROM events)")
    last = _last(conn)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'log_head'", (f"{last['id']}:{last['hash']}",))


def whole_log_deleted(conn, ids):
    conn.execute("DELETE FROM events")
    conn.execute("DELETE FROM meta WHERE key = 'log_head'")


def triggers_dropped(conn, ids):
    pass  # the harness leaves them dropped


def revoked_label_set_active(conn, ids):
    conn.execute("UPDATE labels SET status = 'active', status_reason = '' WHERE id = ?", (ids["first"],))


def decision_outcome_changed(conn, ids):
    conn.execute("UPDATE decisions SET outcome = 'reject' WHERE label_id = ?", (ids["second"],))


ATTACKS = [edited_payload, edited_hash, deleted_middle_event, deleted_tail, swapped_events, changed_actor_own_hash,
           edited_with_chain_recomputed, appended_forged_event, truncated_head_fixed, whole_log_deleted,
           triggers_dropped, revoked_label_set_active, decision_outcome_changed]


def attack(home, fn, ids) -> None:
    """Run one attack on the database file as an outsider would: drop the guards, change rows, and
    (except for the trigger attack) put the guards back exactly as they were."""
    conn = sqlite3.connect(home / "registry.db", isolation_level=None)
    conn.row_factory = sqlite3.Row
    triggers = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
    for t in triggers:
        conn.execute(f"DROP TRIGGER {t['name']}")
    fn(conn, ids)
    if fn is not triggers_dropped:
        for t in triggers:
            conn.execute(t["sql"])
    conn.close()


def _report(home):
    wb = Workbench.open(home)
    try:
        return verify_registry(wb.registry, wb.keys, audits_dir=wb.home.audits)
    finally:
        wb.close()


def test_untouched_registry_verifies(original, tmp_path):
    home, first, second = original
    report = _report(_copy(home, tmp_path))
    assert report.ok, report.explain("en")
    assert report.anchors_checked >= 5  # two PDFs in the database, two under audits/, the witness
    assert report.decisions_checked == 2 and report.labels_checked == 2


@pytest.mark.parametrize("fn", ATTACKS, ids=[f.__name__ for f in ATTACKS])
def test_event_log_detects_direct_database_attack(original, tmp_path, fn):
    home, first, second = original
    copy = _copy(home, tmp_path)
    attack(copy, fn, {"first": first.label_id, "second": second.label_id})
    report = _report(copy)
    assert not report.ok, f"{fn.__name__} went unnoticed"
    lines = report.explain("en")
    assert lines and all(isinstance(line, str) for line in lines)
    result = CliRunner().invoke(cli, ["verify-log"], env={"WORKBENCH_HOME": str(copy), "WORKBENCH_LANG": "ru"})
    assert result.exit_code == 1 and "✘" in result.output or "нарушен" in result.output


def test_attacks_detected_13_of_13(original, tmp_path):
    """The figure for the issue: every attack reported."""
    home, first, second = original
    detected = 0
    for n, fn in enumerate(ATTACKS):
        copy = _copy(home, tmp_path / str(n))
        attack(copy, fn, {"first": first.label_id, "second": second.label_id})
        detected += not _report(copy).ok
    assert f"{detected}/{len(ATTACKS)}" == "13/13"


def test_head_file_and_export_anchor_catch_a_rewrite_with_the_home_copied(original, tmp_path):
    """An attacker who also owns ``keys/`` (deletes the witness, knows the log key) and rewrites the
    whole log is still caught by the head file kept elsewhere and by the signed export."""
    home, first, second = original
    copy = _copy(home, tmp_path)
    wb = Workbench.open(copy)
    head_file = tmp_path / "elsewhere" / "head.json"
    write_head_file(wb.registry, head_file, wb.keys)
    wb.close()
    attack(copy, whole_log_deleted, {})
    (copy / "keys" / "log-head.json").unlink()
    (copy / "keys" / "log.key").unlink()
    shutil.rmtree(copy / "audits")
    conn = sqlite3.connect(copy / "registry.db", isolation_level=None)
    conn.execute("DROP TRIGGER audit_pdfs_frozen")
    conn.execute("DELETE FROM audit_pdfs")
    conn.close()
    wb = Workbench.open(copy)
    try:
        report = verify_registry(wb.registry, wb.keys, audits_dir=wb.home.audits, head_files=(head_file,))
        assert not report.ok and any(f.key == "ops.log.anchor_missing_event" for f in report.findings)
        report = verify_registry(wb.registry, wb.keys, exports=(copy / "export",))
        assert any(f.key == "ops.log.anchor_missing_event" and "export" in str(f.params) for f in report.findings)
    finally:
        wb.close()


def test_cli_verify_log_writes_and_checks_a_head_file(original, tmp_path):
    home, _, _ = original
    copy = _copy(home, tmp_path)
    env = {"WORKBENCH_HOME": str(copy), "WORKBENCH_LANG": "en"}
    runner = CliRunner()
    head = tmp_path / "head.json"
    ok = runner.invoke(cli, ["verify-log", "--write-head", str(head), "--export", str(copy / "export")], env=env)
    assert ok.exit_code == 0, ok.output
    assert "Log head written" in ok.output and json.loads(head.read_text())["event_id"] > 0
    attack(copy, truncated_head_fixed, {})
    (copy / "keys" / "log-head.json").unlink()
    bad = runner.invoke(cli, ["verify-log", "--head-file", str(head)], env=env)
    assert bad.exit_code == 1 and "head file head.json" in bad.output


def test_audit_pdf_and_export_carry_the_log_head(original):
    home, first, second = original
    wb = Workbench.open(home)
    try:
        from workbench.decision.pdf_verify import log_head_in

        pdf_head = log_head_in((home / "audits" / f"{second.label_id}.pdf").read_bytes())
        assert pdf_head is not None
        event = wb.registry.one("SELECT action, hash FROM events WHERE id = ?", (pdf_head[0],))
        assert event["hash"] == pdf_head[1] and event["action"] == "label.issued"
        document = json.loads((home / "export" / "registry.json").read_text(encoding="utf-8"))
        number, digest = document["log_head"].split(":")
        assert wb.registry.one("SELECT hash FROM events WHERE id = ?", (int(number),))["hash"] == digest
    finally:
        wb.close()

"""Signed backup manifests and signed head files (issue 11, items 6 and 9, the leftovers).

An archive's manifest lists every member's hash; before this, anyone who could write the
archive could change a member and recompute the manifest. The manifest is now signed by the
committee's current key, and restore accepts it only if that key opens with the operator's
passphrase. The head file an operator keeps elsewhere is signed too. Threats and limits:
docs/backup.md.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import sqlite3
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from workbench.upkeep import admin, backup as bk
from workbench.cli import cli
from workbench.config import Home
from workbench.i18n import t
from workbench.upkeep.integrity import IntegrityReport, write_head_file
from workbench.services import Workbench
from workbench.decision.signing import KeyStore

from test_backup import _copy, _refused, _tar_members, _write_tar, source, state  # noqa: F401 (fixture)

ATTACKER = "attacker-passphrase-2026"


@pytest.fixture(scope="module")
def archive(source, tmp_path_factory):
    path = tmp_path_factory.mktemp("sealed") / "a.tar"
    bk.backup_home(Home(source), path)
    return path


def _rehashed(members, name_prefix: str):
    """Flip a byte of the first member under ``name_prefix`` and fix its manifest entry, as an
    attacker who can write the archive would; the old signature is kept."""
    target = next(m.name for m, _ in members if m.name.startswith(name_prefix))
    out, manifest = [], None
    for m, d in members:
        if m.name == target:
            d = bytes([d[0] ^ 1]) + d[1:]
            digest = hashlib.sha256(d).hexdigest()
        out.append((m, d))
    for i, (m, d) in enumerate(out):
        if m.name == bk.MANIFEST:
            manifest = json.loads(d)
            for entry in manifest["files"]:
                if entry["path"] == target:
                    entry["sha256"] = digest
            out[i] = (m, json.dumps(manifest, indent=1).encode())
    return out


def test_backup_manifest_is_signed_and_a_rehashed_manifest_is_refused(source, archive, tmp_path):
    members = _tar_members(archive)
    assert [m.name for m, _ in members[-2:]] == [bk.MANIFEST, bk.SIGNATURE]
    home = Home(_copy(source, tmp_path / "target"))
    # A changed uploaded file with its hash fixed in the manifest: the signature no longer holds.
    _refused(home, _write_tar(tmp_path / "rehashed.tar", _rehashed(members, "files/")), bk.BAD_SIGNATURE)
    _refused(home, _write_tar(tmp_path / "rehashed-db.tar", _rehashed(members, "audits/")), bk.BAD_SIGNATURE)
    # Without the signature at all.
    _refused(home, _write_tar(tmp_path / "unsigned.tar", members[:-1]), bk.UNSIGNED)
    # A signature made for another manifest (a byte of the signature changed).
    sig = members[-1][1]
    bad = [*members[:-1], (members[-1][0], sig[:-5] + bytes([sig[-5] ^ 1]) + sig[-4:])]
    _refused(home, _write_tar(tmp_path / "badsig.tar", bad), bk.BAD_SIGNATURE)


def _forged_home(source: Path, tmp_path: Path, *, keep_genuine_keys: bool) -> tuple[Path, KeyStore]:
    """The source home with an uploaded file changed and an attacker's own key."""
    forged = _copy(source, tmp_path / "forged")
    victim = next(p for p in sorted((forged / "files").rglob("*")) if p.is_file())
    victim.chmod(0o644)
    victim.write_bytes(b"forged,content\n1,0\n")
    attacker_home = tmp_path / "attacker"
    if keep_genuine_keys:  # the attacker signs with their key, the archive keeps the committee's
        attacker = KeyStore(attacker_home, passphrase=ATTACKER)
    else:  # the attacker swaps in their own key set, so the archive's certificate matches
        for item in (forged / "keys").iterdir():
            if item.name != "log.key":
                shutil.rmtree(item) if item.is_dir() else item.unlink()
        attacker = KeyStore(forged, passphrase=ATTACKER)
    attacker.create_key()
    return forged, attacker


@pytest.mark.parametrize("keep_genuine_keys, key", [(True, bk.BAD_SIGNATURE), (False, bk.KEY_NOT_OPENED)])
def test_an_archive_signed_with_an_attacker_s_key_is_refused(source, tmp_path, keep_genuine_keys, key):
    forged, attacker = _forged_home(source, tmp_path, keep_genuine_keys=keep_genuine_keys)
    path = tmp_path / "forged.tar"
    bk.backup_home(Home(forged), path, keystore=attacker)
    home = Home(_copy(source, tmp_path / "target"))
    _refused(home, path, key)
    empty = Home(tmp_path / "fresh")  # a fresh home (disaster recovery) is protected the same way
    with pytest.raises(bk.BackupError) as info:
        bk.restore_home(empty, path)
    assert info.value.key == key and not (empty.root / "registry.db").exists()


def test_a_certificate_slipped_in_as_an_earlier_key_does_not_vouch(source, archive, tmp_path):
    """Only the archive's *current* key counts: an attacker's set listed as a retired one does not."""
    staging = tmp_path / "unpacked"
    with tarfile.open(archive) as tar:
        tar.extractall(staging, filter="data")
    attacker = KeyStore(tmp_path / "attacker", passphrase=ATTACKER)
    attacker.create_key()
    name = attacker.describe().fingerprint_sha256
    shutil.copytree(tmp_path / "attacker" / "keys" / "sets" / name, staging / "keys" / "sets" / name)
    pointer = json.loads((staging / "keys" / "current.json").read_text())
    pointer["previous"] = [*pointer.get("previous", []), name]
    (staging / "keys" / "current.json").write_text(json.dumps(pointer))
    victim = next(p for p in sorted((staging / "files").rglob("*")) if p.is_file())
    victim.write_bytes(b"forged\n")
    manifest = json.loads((staging / bk.MANIFEST).read_text())
    for entry in manifest["files"]:
        path = staging / entry["path"]
        entry["sha256"], entry["size"] = hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_size
    manifest["files"] += [{"path": p.relative_to(staging).as_posix(), "size": p.stat().st_size,
                           "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
                          for p in sorted((staging / "keys" / "sets" / name).iterdir())]
    raw = json.dumps(manifest, indent=1).encode()
    members = [(e["path"], (staging / e["path"]).read_bytes()) for e in manifest["files"]]
    members += [(bk.MANIFEST, raw), (bk.SIGNATURE, attacker.sign_detached(raw))]
    forged = _write_tar(tmp_path / "slipped.tar", members)
    _refused(Home(_copy(source, tmp_path / "target")), forged, bk.BAD_SIGNATURE)


def test_restore_refuses_a_tampered_manifest_with_a_translated_message(source, archive, tmp_path):
    target = _copy(source, tmp_path / "target")
    tampered = _write_tar(tmp_path / "t.tar", _rehashed(_tar_members(archive), "files/"))
    for lang in ("kk", "ru", "en"):
        done = CliRunner().invoke(cli, ["restore", str(tampered), "--yes"],
                                  env={"WORKBENCH_HOME": str(target), "WORKBENCH_LANG": lang})
        assert done.exit_code == 2 and "Traceback" not in done.output
        assert t(bk.BAD_SIGNATURE, lang) in done.output


def test_restore_needs_the_operator_s_passphrase(source, archive, tmp_path):
    home = Home(tmp_path / "fresh")
    with pytest.raises(bk.BackupError) as info:
        bk.restore_home(home, archive, passphrase="not-the-passphrase-1")
    assert info.value.key == bk.KEY_NOT_OPENED and not (home.root / "registry.db").exists()
    assert bk.restore_home(home, archive) is True  # the right one (WORKBENCH_KEY_PASSPHRASE)


def test_backup_without_a_usable_key_writes_nothing(source, tmp_path):
    dest = tmp_path / "b.tar"
    with pytest.raises(bk.BackupError) as info:
        bk.backup_home(Home(source), dest, keystore=KeyStore(source, passphrase="wrong-passphrase-22"))
    assert info.value.key == bk.CANNOT_SIGN
    assert not dest.exists() and not list(tmp_path.glob("*.part")) and not list(source.glob("*.part"))


# -- head files -----------------------------------------------------------------------------

def _verify(home: Path, head: Path) -> IntegrityReport:
    from workbench.upkeep.integrity import verify_registry

    wb = Workbench.open(home)
    try:
        return verify_registry(wb.registry, wb.keys, head_files=(head,))
    finally:
        wb.close()


def test_head_file_is_signed_and_a_rewritten_one_is_refused(source, tmp_path):
    home = _copy(source, tmp_path / "home")
    wb = Workbench.open(home)
    head = tmp_path / "elsewhere" / "head.json"
    data = write_head_file(wb.registry, head, wb.keys)
    wb.close()
    assert base64.b64decode(data["signature"])
    report = _verify(home, head)
    assert report.ok and report.anchors_checked >= 1, report.explain("en")
    # An attacker who rewrote the log rewrites the head file to match: the signature fails.
    forged = dict(data, event_id=data["event_id"] - 1, hash="f" * 64)
    head.write_text(json.dumps(forged))
    report = _verify(home, head)
    assert [f.key for f in report.findings] == ["backup_seal.head_bad_signature"]
    # ... or drops the signature.
    head.write_text(json.dumps({k: v for k, v in forged.items() if k != "signature"}))
    report = _verify(home, head)
    assert [f.key for f in report.findings] == ["backup_seal.head_unsigned"]
    assert all(f.text(lang) for f in report.findings for lang in ("kk", "ru", "en"))


# -- the admin page's button runs the whole check ---------------------------------------------

def test_admin_verify_log_runs_the_same_whole_check_as_the_cli(source, tmp_path):
    home = _copy(source, tmp_path / "home")
    conn = sqlite3.connect(home / "registry.db", isolation_level=None)
    triggers = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'decisions'"
                            ).fetchall()
    for name, _sql in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute("UPDATE decisions SET outcome = 'reject'")  # a state row changed without an event
    for _name, sql in triggers:
        conn.execute(sql)
    conn.close()
    wb = Workbench.open(home)
    try:
        from workbench.registry.models import SYSTEM

        report = admin.verify_log(wb.registry, SYSTEM, keys=wb.keys, audits_dir=wb.home.audits)
        assert isinstance(report, IntegrityReport) and not report.ok
        assert any(f.key == "ops.state.decision_changed" for f in report.findings)
        assert wb.registry.verify_log().ok  # the chain alone does not see it
    finally:
        wb.close()
    cli_run = CliRunner().invoke(cli, ["verify-log"], env={"WORKBENCH_HOME": str(home), "WORKBENCH_LANG": "en"})
    assert cli_run.exit_code == 1 and t("ops.state.decision_changed", "en", id=1).split("1")[0][:20] in cli_run.output

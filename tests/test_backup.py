"""Issue 11, item 9: backup lost data (it copied registry.db only).

The archive holds the whole home: database (online snapshot), uploaded files, audit PDFs and
keys, with a manifest of SHA-256 hashes. Restore refuses a partial or tampered archive and
leaves the home untouched on any error; a process killed at any point of a backup or a
restore leaves a home that is exactly the old one or exactly the restored one.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from workbench.upkeep import backup as bk
from workbench.cli import cli
from workbench.config import Home
from workbench.upkeep.integrity import verify_registry
from workbench.decision.pdf_verify import verify_pdf
from workbench.services import Workbench

from conftest import home_env
from test_decisions import Committee

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A home with an approved tool: an uploaded file, a fairness run, a signed audit PDF."""
    with home_env(tmp_path_factory.mktemp("source")) as home:
        wb = Workbench.open(home)
        wb.keys.ensure_demo()
        committee = Committee(wb)
        committee.decide(committee.at_committee(name="Backed up"))
        wb.close()
        yield home


def _copy(home: Path, target: Path) -> Path:
    shutil.copytree(home, target)
    return target


def state(root: Path) -> dict:
    """What a home holds, logically: the log's head and every managed file's hash."""
    conn = sqlite3.connect(f"file:{root / 'registry.db'}?mode=ro", uri=True)
    try:
        head = conn.execute("SELECT id, hash FROM events ORDER BY id DESC LIMIT 1").fetchone()
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("attachments", "decisions")}
    finally:
        conn.close()
    files = {}
    for folder in ("files", "audits", "keys"):
        for path in sorted((root / folder).rglob("*")):
            rel = path.relative_to(root).as_posix()
            if path.is_file() and not any(p.startswith(".") for p in path.relative_to(root).parts) \
                    and rel != "keys/log-head.json":
                files[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return {"head": tuple(head) if head else None, "counts": counts, "files": files}


def _pdf_verdicts(root: Path) -> dict:
    wb = Workbench.open(root)
    try:
        return {p.name: verify_pdf(p.read_bytes(), wb.keys).model_dump(exclude={"signed_at"})
                for p in sorted(wb.home.audits.glob("*.pdf"))}
    finally:
        wb.close()


WRITER = r"""
import os, sys, time
from workbench.services import Workbench
from workbench.registry.models import SYSTEM
wb = Workbench.open(sys.argv[1])
stop = time.time() + float(sys.argv[2])
i = 0
while time.time() < stop:
    with wb.registry.transaction():
        stored = wb.store.put(os.urandom(64).hex().encode() + b",y\n1,0\n", original_name=f"w{i}.csv")
        wb.registry.record(SYSTEM, "writer.put", "file", stored.sha256, {"i": i})
    i += 1
print(i)
"""


def test_backup_loses_data_round_trip_while_another_process_writes(source, tmp_path):
    live = _copy(source, tmp_path / "live")
    before_pdfs = _pdf_verdicts(live)
    assert before_pdfs and all(v["intact"] and v["signed_by_committee"] for v in before_pdfs.values())
    env = {**os.environ, "PYTHONPATH": str(REPO), "WORKBENCH_KEY_PASSPHRASE": "test-passphrase"}
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(live), "6"], env=env, stdout=subprocess.PIPE,
                              text=True)
    try:
        time.sleep(1.5)  # let it write
        archive = tmp_path / "home.tar"
        summary = bk.backup_home(Home(live), archive)
    finally:
        written = int(writer.communicate(timeout=60)[0])
    assert writer.returncode == 0 and written > 0
    fresh = Home(tmp_path / "fresh")
    assert bk.restore_home(fresh, archive) is True
    restored = Workbench.open(fresh.root)
    try:
        # No new key was made: the committee's PDFs verify exactly as before.
        assert _pdf_verdicts(fresh.root) == before_pdfs
        # Every uploaded file of the snapshot reads back with its hash.
        rows = restored.registry.query("SELECT sha256 FROM attachments")
        for row in rows:
            assert restored.store.verify(row["sha256"])
        for event in restored.registry.events("file"):
            data = (restored.store.path(event.subject_id)).read_bytes()
            assert hashlib.sha256(data).hexdigest() == event.subject_id
        report = verify_registry(restored.registry, restored.keys, audits_dir=restored.home.audits)
        assert report.ok, report.explain("en")
        assert report.events == summary.events and f"{restored.registry.head_anchor()}" == summary.log_head
        assert summary.events < restored.registry.events().__len__() + 1
    finally:
        restored.close()
    # The writer's files that the snapshot refers to are all there; later ones may be too.
    assert summary.files >= len(rows)


def _archive(source: Path, tmp_path: Path) -> Path:
    archive = tmp_path / "a.tar"
    bk.backup_home(Home(source), archive)
    return archive


def _tar_members(archive: Path) -> list[tuple[tarfile.TarInfo, bytes]]:
    with tarfile.open(archive) as tar:
        return [(m, tar.extractfile(m).read()) for m in tar]


def _write_tar(path: Path, members) -> Path:
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            info = tarfile.TarInfo(info.name) if not isinstance(info, str) else tarfile.TarInfo(info)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _refused(home: Home, archive: Path, key: str) -> None:
    before = state(home.root)
    with pytest.raises(bk.BackupError) as exc:
        bk.restore_home(home, archive)
    assert exc.value.key == key, exc.value
    assert state(home.root) == before
    assert not list(home.root.glob(".restore-*"))


def test_restore_refuses_a_partial_archive(source, tmp_path):
    archive = _archive(source, tmp_path)
    home = Home(_copy(source, tmp_path / "target"))
    data = archive.read_bytes()
    with tarfile.open(archive) as tar:
        manifest = tar.getmember(bk.MANIFEST)
    # Cut in a member, between members, inside the manifest (the end-of-archive padding is not data).
    for n, cut in enumerate((len(data) // 5, len(data) // 2, manifest.offset, manifest.offset_data + 10)):
        partial = tmp_path / f"partial{n}.tar"
        partial.write_bytes(data[:cut])
        before = state(home.root)
        with pytest.raises(bk.BackupError) as exc:
            bk.restore_home(home, partial)
        assert exc.value.key in (bk.NO_MANIFEST, bk.NOT_AN_ARCHIVE)
        assert state(home.root) == before
    members = [(m, d) for m, d in _tar_members(archive) if not m.name.startswith("audits/")]
    _refused(home, _write_tar(tmp_path / "missing.tar", members), bk.INCOMPLETE)


def test_restore_refuses_a_tampered_archive(source, tmp_path):
    archive = _archive(source, tmp_path)
    home = Home(_copy(source, tmp_path / "target"))
    members = _tar_members(archive)
    flipped = [(m, (d[:100] + bytes([d[100] ^ 1]) + d[101:]) if m.name.startswith("audits/") else d)
               for m, d in members]
    _refused(home, _write_tar(tmp_path / "flipped.tar", flipped), bk.TAMPERED)
    body, seal = members[:-2], members[-2:]  # the manifest and its signature come last
    assert [m.name for m, _ in seal] == [bk.MANIFEST, bk.SIGNATURE]
    extra = [*body, ("files/ab/cd/evil", b"x"), *seal]
    _refused(home, _write_tar(tmp_path / "extra.tar", extra), bk.UNSAFE_MEMBER)
    manifest = json.loads(seal[0][1])
    manifest["files"].append({"path": "../outside", "size": 1, "sha256": "0" * 64})
    escape = [*body, ("../outside", b"x"), (bk.MANIFEST, json.dumps(manifest).encode()), seal[1]]
    _refused(home, _write_tar(tmp_path / "escape.tar", escape), bk.UNSAFE_MEMBER)
    assert not (tmp_path / "outside").exists()
    not_tar = tmp_path / "registry.db"
    shutil.copy(source / "registry.db", not_tar)  # the old backup format: a bare database
    _refused(home, not_tar, bk.NOT_AN_ARCHIVE)


def test_restore_asks_before_overwriting(source, tmp_path):
    archive = _archive(source, tmp_path)
    target = _copy(source, tmp_path / "target")
    wb = Workbench.open(target)
    wb.registry.record("system", "after.backup", "x", 1)
    wb.close()
    before = state(target)
    runner = CliRunner()
    env = {"WORKBENCH_HOME": str(target), "WORKBENCH_LANG": "en"}
    declined = runner.invoke(cli, ["restore", str(archive)], input="n\n", env=env)
    assert declined.exit_code == 1 and "Continue?" in declined.output and state(target) == before
    accepted = runner.invoke(cli, ["restore", str(archive)], input="y\n", env=env)
    assert accepted.exit_code == 0, accepted.output
    assert state(target) == state(source)
    bad = runner.invoke(cli, ["restore", str(tmp_path / "nothing.tar"), "--yes"], env=env)
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def test_cli_backup_writes_the_whole_home(source, tmp_path):
    env = {"WORKBENCH_HOME": str(_copy(source, tmp_path / "h")), "WORKBENCH_LANG": "en"}
    result = CliRunner().invoke(cli, ["backup", str(tmp_path / "b.tar")], env=env)
    assert result.exit_code == 0, result.output
    names = {m.name for m, _ in _tar_members(tmp_path / "b.tar")}
    assert {"registry.db", bk.MANIFEST, "keys/current.json", "keys/log.key", "keys/log-head.json"} <= names
    assert any(n.startswith("files/") for n in names) and any(n.startswith("audits/") for n in names)


def test_leftovers_of_killed_uploads_and_backups_are_cleaned_at_start(source, tmp_path):
    root = _copy(source, tmp_path / "h")
    incoming = root / "files" / ".incoming"
    incoming.mkdir(exist_ok=True)
    stale = [incoming / "upload-killed", root / "registry.db.backup-1-x.part", root / "audits" / "X.pdf.part",
             root / ".restore-0123456789ab"]
    for path in stale:
        path.mkdir() if path.name.startswith(".restore") else path.write_bytes(b"half")
        os.utime(path, (time.time() - 3600, time.time() - 3600))
    live = incoming / "upload-running"
    live.write_bytes(b"still being written")
    Workbench.open(root).close()
    assert not any(p.exists() for p in stale)
    assert live.exists()  # another process's upload in progress is left alone


# -- crash test: SIGKILL at random points of backup and restore (seeded, fast) ------------------


def _killed_at(fn, k: int) -> int:
    """Run ``fn`` in a forked child that SIGKILLs itself at its k-th checkpoint; return the status."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        calls = [0]

        def checkpoint(name):
            calls[0] += 1
            if calls[0] == k:
                os.kill(os.getpid(), signal.SIGKILL)

        bk._checkpoint = checkpoint
        try:
            fn()
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    return status


def test_crash_sigkill_during_backup_and_restore(source, tmp_path):
    rng = random.Random(20261122)
    base = _copy(source, tmp_path / "base")
    archive = tmp_path / "good.tar"
    bk.backup_home(Home(base), archive)
    old_state = None
    kills = 0
    for trial in range(24):
        if trial % 2 == 0:  # backup killed: no archive or a whole one; the home is unchanged
            home = Home(base)
            dest = tmp_path / f"b{trial}.tar"
            before = state(base)
            status = _killed_at(lambda: bk.backup_home(home, dest), rng.randint(1, 12))
            kills += os.WIFSIGNALED(status)
            bk.recover(base, min_age_seconds=0)
            assert state(base) == before
            assert not list(base.glob("*.part"))  # the snapshot left in the home is cleaned at start
            if dest.exists():  # the archive exists only when whole
                assert not os.WIFSIGNALED(status) or bk.read_manifest(dest)
            else:  # DEST.part may be left beside it; the next backup to DEST replaces it
                bk.backup_home(home, dest)
                assert not dest.with_name(dest.name + ".part").exists()
            bk.read_manifest(dest)
        else:  # restore killed: the target is exactly the old home or exactly the archive's
            target = tmp_path / f"r{trial}"
            _copy(base, target)
            wb = Workbench.open(target)
            wb.registry.record("system", "after.backup", "x", trial)  # differs from the archive
            wb.close()
            old_state, new_state = state(target), state(base)
            status = _killed_at(lambda: bk.restore_home(Home(target), archive), rng.randint(1, 30))
            kills += os.WIFSIGNALED(status)
            if trial % 4 == 1:
                Workbench.open(target).close()  # the next start finishes an interrupted swap
            bk.recover(target, min_age_seconds=0)  # and, later, removes what is left
            assert state(target) in (old_state, new_state), f"trial {trial}: a mix of old and new"
            assert not list(target.glob(".restore*"))
            wb = Workbench.open(target)
            try:  # the log, its seals and witness (the PDFs are those of one of two verified states)
                assert wb.registry.verify_log().ok
            finally:
                wb.close()
    assert kills >= 16  # most trials really were killed half-way


def test_crash_restore_killed_at_every_step_of_the_swap_then_started(source, tmp_path):
    """Every checkpoint of the swap: the next ``Workbench.open`` finishes it (the new home), or
    it had not begun (the old home); never a mix, never a start that fails."""
    base = _copy(source, tmp_path / "base")
    archive = tmp_path / "good.tar"
    bk.backup_home(Home(base), archive)
    names: list[str] = []
    probe = _copy(base, tmp_path / "probe")
    real = bk._checkpoint
    bk._checkpoint = names.append
    try:
        bk.restore_home(Home(probe), archive)
    finally:
        bk._checkpoint = real
    swap_steps = [i + 1 for i, name in enumerate(names) if name != "member_extracted"]
    assert len(swap_steps) >= 10
    new_state = state(base)
    for k in swap_steps:
        target = _copy(base, tmp_path / f"t{k}")
        wb = Workbench.open(target)
        wb.registry.record("system", "after.backup", "x", k)
        wb.close()
        old_state = state(target)
        assert os.WIFSIGNALED(_killed_at(lambda: bk.restore_home(Home(target), archive), k))
        Workbench.open(target).close()
        after = state(target)
        assert after in (old_state, new_state), f"killed at {names[k - 1]} (#{k}): a mix"
        assert after == new_state  # the journal was written before the first swap step: always finished


def test_backup_and_restore_report_progress(source, tmp_path):
    seen: list[tuple[int, int]] = []
    summary = bk.backup_home(Home(source), tmp_path / "p.tar", progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1] == (summary.bytes, summary.bytes)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    back: list[tuple[int, int]] = []
    bk.restore_home(Home(tmp_path / "r"), tmp_path / "p.tar", progress=lambda d, t: back.append((d, t)))
    assert back[-1] == (summary.bytes, summary.bytes)

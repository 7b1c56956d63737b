"""Backup and restore of the whole workbench home: database, files, audit PDFs, keys.

``backup_home`` writes one tar archive, online while the app writes:

- ``registry.db``: a snapshot taken with SQLite's online backup API (one consistent read);
- ``files/``: the uploaded files (content-addressed and never edited, so copying them after
  the snapshot includes every file the snapshot refers to);
- ``audits/``: the signed PDFs, taken from the snapshot's ``audit_pdfs`` table, so the
  archive holds exactly the PDFs of the decisions it holds;
- ``keys/``: the signing key sets, the log key and a log-head witness written for the
  snapshot's own head;
- ``MANIFEST.json``: every member's size and SHA-256. An archive cut short has no
  manifest and is refused;
- ``MANIFEST.p7s`` last: a detached CMS signature of the manifest by the committee's
  current signing key (which needs the key's passphrase, ``WORKBENCH_KEY_PASSPHRASE``).

The archive is written to ``DEST.part`` and renamed when complete.

``restore_home`` checks the archive before touching anything: the manifest is there, every
member is listed once with its hash, nothing else is in it, no path leaves the home, the
database is a workbench registry whose event log verifies, and the manifest is signed by the
archive's own current key *and that key opens with the operator's passphrase* (proof that
whoever made the archive held the committee's key; the certificate inside the archive alone
would prove nothing, an attacker could swap it). See docs/backup.md for what this does and
does not stop. It extracts into a staging folder
inside the home, then swaps folder by folder following a journal
(``.restore-journal.json``); :func:`recover` (run when a workbench opens) finishes a swap a
killed process left half-done, so the home is always either the old one or the restored
one. On any error before the swap the current home is untouched.

:func:`recover` also removes what killed uploads and backups leave: temporary uploads under
``files/.incoming``, ``*.part`` files and staging folders.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import tarfile
import time
import uuid
from pathlib import Path, PurePosixPath
from typing import Callable

from pydantic import BaseModel

from ..registry.db import SCHEMA_VERSION, Registry, RegistryError, check_registry_file
from ..errors import WorkbenchError
from ..registry.models import now_iso

FORMAT = "ai-safe-workbench/upkeep/backup/1"
MANIFEST = "MANIFEST.json"
SIGNATURE = "MANIFEST.p7s"
MANAGED = ("registry.db", "files", "audits", "keys")  # what a restore replaces
_DB_SIDE_FILES = ("registry.db-wal", "registry.db-shm", "registry.db-journal")
JOURNAL = ".restore-journal.json"
_STAGING_PREFIX = ".restore-"
_CHUNK = 1024 * 1024

NOT_AN_ARCHIVE = "ops.backup.not_an_archive"
NO_MANIFEST = "ops.backup.no_manifest"
TAMPERED = "ops.backup.tampered"
INCOMPLETE = "ops.backup.incomplete"
UNSAFE_MEMBER = "ops.backup.unsafe_member"
BAD_REGISTRY = "ops.backup.bad_registry"
WRITE_FAILED = "ops.backup.write_failed"
UNSIGNED = "backup_seal.unsigned"
BAD_SIGNATURE = "backup_seal.bad_signature"
KEY_NOT_OPENED = "backup_seal.key_not_opened"
CANNOT_SIGN = "backup_seal.cannot_sign"

Progress = Callable[[int, int], None]


class BackupError(WorkbenchError):
    """An archive cannot be written, or is refused; the home was not changed."""


class BackupSummary(BaseModel):
    path: str
    files: int
    bytes: int
    events: int
    log_head: str


def _checkpoint(name: str) -> None:
    """A named point in backup and restore; crash tests replace it to kill the process there."""


def _sha256_file(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            sha.update(chunk)
    return sha.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- backup ---------------------------------------------------------------------------------


class _Hashing:
    """A reader that hashes what ``tarfile`` copies out of it (the hash is of the archived bytes)."""

    def __init__(self, raw) -> None:
        self.raw, self.sha = raw, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        chunk = self.raw.read(size)
        self.sha.update(chunk)
        return chunk


def _snapshot(db_path: Path, target: Path) -> None:
    """A consistent copy of the live database (SQLite online backup, one step)."""
    source = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    dest = sqlite3.connect(str(target))
    try:
        source.execute("PRAGMA busy_timeout = 30000")
        source.backup(dest)  # all pages in one step: a writer cannot make it restart
        dest.execute("PRAGMA journal_mode = DELETE")
    finally:
        source.close()
        dest.close()


def _keystore(root: Path, db_path: Path, passphrase: str | None = None):
    """The signing keys under ``root/keys``, for the registry at ``db_path`` (demo or not)."""
    from ..decision.signing import KeyStore

    def demo() -> bool:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'demo'").fetchone()
        except sqlite3.Error:
            row = None
        finally:
            conn.close()
        return bool(row and row[0] == "1")

    return KeyStore(root, passphrase=passphrase, demo_registry=demo)


def _sign_manifest(keystore, manifest: bytes) -> bytes:
    from ..decision.signing import SigningError

    try:
        return keystore.sign_detached(manifest)
    except SigningError as exc:
        raise BackupError(CANNOT_SIGN, env="WORKBENCH_KEY_PASSPHRASE") from None


def backup_home(home, dest: str | Path, *, progress: Progress | None = None, keystore=None) -> BackupSummary:
    """Archive the whole home into ``dest`` (a tar file), online.

    Parameters
    ----------
    home:
        The workbench's ``config.Home``.
    dest:
        The archive to write; replaced only when the new one is complete.
    progress:
        Called with (bytes done, bytes in all) as members are written.
    keystore:
        The committee's keys, to sign the manifest (default: the home's, with the
        passphrase from ``WORKBENCH_KEY_PASSPHRASE``). Without a usable key no archive is
        written (``backup_seal.cannot_sign``): an unsigned archive could not be restored.
    """
    dest = Path(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        raise BackupError(WRITE_FAILED, path=str(dest)) from None
    part = dest.with_name(dest.name + ".part")
    snapshot = home.root / f"registry.db.backup-{os.getpid()}-{uuid.uuid4().hex[:8]}.part"
    try:
        _snapshot(home.db_path, snapshot)
        _checkpoint("snapshot_taken")
        conn = sqlite3.connect(f"file:{snapshot}?mode=ro", uri=True)  # the snapshot, not the live database
        try:
            last = conn.execute("SELECT id, hash FROM events ORDER BY id DESC LIMIT 1").fetchone()
            head_id, head_hash = last if last else (0, "0" * 64)
            events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
            audits = conn.execute("SELECT file_name, pdf FROM audit_pdfs ORDER BY decision_id").fetchall()
        finally:
            conn.close()
        members: list[tuple[str, Path | bytes]] = [("registry.db", snapshot)]
        for folder in ("files", "keys"):
            root = home.root / folder
            for path in sorted(root.rglob("*")) if root.is_dir() else []:
                rel = path.relative_to(home.root)
                if not path.is_file() or path.is_symlink() or any(p.startswith(".") for p in rel.parts[1:]):
                    continue  # temporary uploads, locks and half-written keys stay behind
                if rel.as_posix() == "keys/log-head.json":
                    continue  # written below for the snapshot's head
                members.append((rel.as_posix(), path))
        members += [(f"audits/{name}", pdf) for name, pdf in audits]
        if (home.keys / "log.key").exists():
            members.append(("keys/log-head.json", json.dumps(
                {"event_id": head_id, "hash": head_hash, "written_at": now_iso()}).encode("utf-8")))
        total = sum(len(m) if isinstance(m, bytes) else m.stat().st_size for _, m in members)
        done = 0
        entries = []
        with open(part, "wb") as raw, tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name, item in members:
                data = item if isinstance(item, bytes) else None
                info = tarfile.TarInfo(name)
                info.mtime = int(time.time())
                info.mode = 0o600 if name.startswith("keys/") else 0o644
                if data is not None:
                    info.size = len(data)
                    reader = _Hashing(io.BytesIO(data))
                    tar.addfile(info, reader)
                else:
                    with open(item, "rb") as fh:  # stored files are immutable: the size holds while we read
                        info.size = os.fstat(fh.fileno()).st_size
                        reader = _Hashing(fh)
                        tar.addfile(info, reader)
                entries.append({"path": name, "size": info.size, "sha256": reader.sha.hexdigest()})
                done += info.size
                if progress:
                    progress(done, total)
                _checkpoint("member_written")
            manifest = json.dumps({"format": FORMAT, "created_at": now_iso(), "schema_version": SCHEMA_VERSION,
                                   "log_head": f"{head_id}:{head_hash}", "events": events, "files": entries},
                                  indent=1).encode("utf-8")
            signature = _sign_manifest(keystore or _keystore(home.root, snapshot), manifest)
            for name, data in ((MANIFEST, manifest), (SIGNATURE, signature)):
                info = tarfile.TarInfo(name)
                info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
                tar.addfile(info, io.BytesIO(data))
        _fsync(part)
        _checkpoint("archive_written")
        os.replace(part, dest)
    except (OSError, sqlite3.Error) as exc:
        part.unlink(missing_ok=True)
        raise BackupError(WRITE_FAILED, path=str(dest)) from exc
    except BackupError:
        part.unlink(missing_ok=True)
        raise
    finally:
        snapshot.unlink(missing_ok=True)
    return BackupSummary(path=str(dest), files=len(entries), bytes=total, events=events,
                         log_head=f"{head_id}:{head_hash}")


# -- restore --------------------------------------------------------------------------------


def _safe_name(name: str) -> bool:
    path = PurePosixPath(name)
    return (bool(name) and not path.is_absolute() and ".." not in path.parts and "" not in path.parts[:-1]
            and (path.parts[0] in MANAGED) and not any(p.startswith(".") for p in path.parts))


def read_manifest(archive: str | Path) -> dict:
    """The archive's manifest, checked for shape; ``BackupError`` if absent or unreadable."""
    return _read_sealed(archive)[0]


def _read_sealed(archive: str | Path) -> tuple[dict, bytes, bytes | None]:
    """The manifest (parsed and as bytes) and its signature (None when the archive has none)."""
    try:
        with tarfile.open(archive, mode="r:") as tar:
            found = {m.name: m for m in tar if m.name in (MANIFEST, SIGNATURE)}
            member = found.get(MANIFEST)
            if member is None or not member.isfile():
                raise BackupError(NO_MANIFEST)
            raw = tar.extractfile(member).read()
            seal = found.get(SIGNATURE)
            signature = tar.extractfile(seal).read() if seal is not None and seal.isfile() else None
        manifest = json.loads(raw)
    except BackupError:
        raise
    except (tarfile.TarError, OSError, EOFError):
        raise BackupError(NOT_AN_ARCHIVE, path=Path(archive).name) from None
    except ValueError:
        raise BackupError(NO_MANIFEST) from None
    if (not isinstance(manifest, dict) or manifest.get("format") != FORMAT
            or not isinstance(manifest.get("files"), list)):
        raise BackupError(NO_MANIFEST)
    return manifest, raw, signature


def _check_seal(staging: Path, manifest: bytes, signature: bytes, passphrase: str | None) -> None:
    """The manifest is signed by the staged home's *current* key, and that key opens with the
    operator's passphrase (an attacker can put any certificate into an archive, not a key
    that opens with a passphrase they do not know)."""
    from .integrity import verify_detached
    from ..decision.signing import SigningError

    keys = _keystore(staging, staging / "registry.db", passphrase)
    try:
        current = keys.describe().fingerprint_sha256
        roots = keys.committee_certificates()[:1]  # the current certificate alone is the anchor
    except (SigningError, OSError, ValueError, KeyError):
        raise BackupError(BAD_SIGNATURE) from None
    if verify_detached(manifest, signature, roots) != current:
        raise BackupError(BAD_SIGNATURE)
    try:
        keys.sign_detached(b"restore: the archive's key opens with this passphrase")
    except SigningError:
        raise BackupError(KEY_NOT_OPENED, env="WORKBENCH_KEY_PASSPHRASE") from None


def _extract_checked(archive: Path, staging: Path, manifest: dict, progress: Progress | None) -> None:
    listed = {}
    for entry in manifest["files"]:
        name = entry.get("path") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not _safe_name(name) or name in listed:
            raise BackupError(UNSAFE_MEMBER, name=str(name))
        listed[name] = entry
    if "registry.db" not in listed:
        raise BackupError(INCOMPLETE, name="registry.db")
    total = sum(int(e.get("size", 0)) for e in listed.values())
    done, seen = 0, set()
    try:
        with tarfile.open(archive, mode="r:") as tar:
            for member in tar:
                if member.name in (MANIFEST, SIGNATURE):
                    continue
                if member.name not in listed or member.name in seen or not member.isfile():
                    raise BackupError(UNSAFE_MEMBER, name=member.name)
                seen.add(member.name)
                target = staging / member.name
                target.parent.mkdir(parents=True, exist_ok=True)
                sha = hashlib.sha256()
                size = 0
                with tar.extractfile(member) as src, open(target, "wb") as out:
                    for chunk in iter(lambda: src.read(_CHUNK), b""):
                        sha.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                    out.flush()
                    os.fsync(out.fileno())
                entry = listed[member.name]
                if sha.hexdigest() != entry.get("sha256") or size != entry.get("size"):
                    raise BackupError(TAMPERED, name=member.name)
                if member.name.startswith("keys/"):
                    os.chmod(target, 0o600)
                elif member.name.startswith("files/"):
                    os.chmod(target, 0o444)
                done += size
                if progress:
                    progress(done, total)
                _checkpoint("member_extracted")
    except (tarfile.TarError, OSError, EOFError):
        raise BackupError(NOT_AN_ARCHIVE, path=archive.name) from None
    missing = sorted(set(listed) - seen)
    if missing:
        raise BackupError(INCOMPLETE, name=missing[0])
    for folder in ("files", "audits", "keys"):
        (staging / folder).mkdir(exist_ok=True)


def _check_staged_registry(staging: Path) -> None:
    try:
        check_registry_file(staging / "registry.db")
        reg = Registry(staging / "registry.db")  # migrates an older backup forward
    except RegistryError as exc:
        raise BackupError(BAD_REGISTRY, detail=exc.translate("en")) from None
    try:
        check = reg.verify_log()
    finally:
        reg.close()
    for side in _DB_SIDE_FILES:
        (staging / side).unlink(missing_ok=True)
    if not check.ok:
        raise BackupError(BAD_REGISTRY, detail=f"{check.problem} #{check.first_broken_id}")


def stage_restore(home, archive: str | Path, *, progress: Progress | None = None,
                  passphrase: str | None = None) -> Path:
    """Check the archive and unpack it into a staging folder inside the home.

    Nothing of the current home is touched; on any error the staging folder is removed.
    ``passphrase`` (default ``WORKBENCH_KEY_PASSPHRASE``) must open the archive's key.

    Returns
    -------
    Path
        The staging folder, to pass to :func:`commit_restore` (or remove).
    """
    archive = Path(archive)
    if not archive.is_file():
        raise BackupError(NOT_AN_ARCHIVE, path=archive.name)
    manifest, raw, signature = _read_sealed(archive)
    if signature is None:
        raise BackupError(UNSIGNED)
    home.root.mkdir(parents=True, exist_ok=True)
    staging = home.root / f"{_STAGING_PREFIX}{uuid.uuid4().hex[:12]}"
    staging.mkdir()
    try:
        _extract_checked(archive, staging, manifest, progress)
        _check_staged_registry(staging)
        _check_seal(staging, raw, signature, passphrase)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging


def commit_restore(home, staging: Path) -> None:
    """Swap the staged home in, following a journal that :func:`recover` can finish."""
    old = staging.with_name(staging.name + "-old")
    journal = home.root / JOURNAL
    tmp = journal.with_name(journal.name + ".part")
    tmp.write_text(json.dumps({"staging": staging.name, "old": old.name}), encoding="utf-8")
    os.replace(tmp, journal)
    _fsync(home.root)
    _checkpoint("journal_written")
    _finish_swap(home.root, staging, old)


def _finish_swap(root: Path, staging: Path, old: Path) -> None:
    """Move each managed item aside and the staged one in; safe to run again after a kill."""
    old.mkdir(exist_ok=True)
    for name in (*_DB_SIDE_FILES, *MANAGED):  # the old WAL must never meet the new database
        staged = staging / name
        if name in _DB_SIDE_FILES or staged.exists():
            current = root / name
            if current.exists() or current.is_symlink():
                aside, n = old / name, 0
                while aside.exists() or aside.is_symlink():  # a rerun after a kill: keep both, lose nothing
                    n += 1
                    aside = old / f"{name}.{n}"
                os.replace(current, aside)
            _checkpoint("item_moved_aside")
            if staged.exists():
                os.replace(staged, current)
            _checkpoint("item_swapped")
    _fsync(root)
    (root / JOURNAL).unlink(missing_ok=True)
    _fsync(root)
    _checkpoint("swap_done")
    shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(staging, ignore_errors=True)


def restore_home(home, archive: str | Path, *, progress: Progress | None = None,
                 confirm: Callable[[], bool] | None = None, passphrase: str | None = None) -> bool:
    """Check, stage, (confirm,) swap. Returns False when ``confirm`` declined; the home is untouched."""
    staging = stage_restore(home, archive, progress=progress, passphrase=passphrase)
    try:
        if confirm is not None and not confirm():
            shutil.rmtree(staging, ignore_errors=True)
            return False
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    commit_restore(home, staging)
    return True


# -- recovery at start ----------------------------------------------------------------------


def recover(root: str | Path, *, min_age_seconds: float = 600) -> list[str]:
    """Finish an interrupted restore, then remove leftovers of killed uploads and backups.

    A swap recorded in the journal is completed (its staging folder was fully checked
    before the journal was written). Temporary files (``files/.incoming/*``, ``*.part``,
    staging folders) are removed once older than ``min_age_seconds``, so an upload or a
    backup still running in another process keeps its file.

    Returns the names removed or completed, for the log of the caller.
    """
    root = Path(root)
    done: list[str] = []
    journal = root / JOURNAL
    if journal.exists():
        try:
            data = json.loads(journal.read_text(encoding="utf-8"))
            staging, old = root / data["staging"], root / data["old"]
        except (ValueError, KeyError, TypeError, OSError):
            staging = old = None
        if staging is not None and Path(staging).parent == root:
            _finish_swap(root, staging, old)
            done.append(f"restore completed from {staging.name}")
        else:
            journal.unlink(missing_ok=True)
    now = time.time()

    def old_enough(path: Path) -> bool:
        try:
            return now - path.lstat().st_mtime >= min_age_seconds
        except OSError:
            return False

    candidates = [*root.glob("*.part"), *root.glob(".*.part"), *(root / "audits").glob("*.part"),
                  *(root / "files" / ".incoming").glob("*"), *root.glob(f"{_STAGING_PREFIX}*")]
    for path in candidates:
        if (root / JOURNAL).exists() or not old_enough(path):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        done.append(path.name)
    return done


__all__ = ["BackupError", "BackupSummary", "backup_home", "commit_restore", "read_manifest", "recover",
           "restore_home", "stage_restore"]

"""The registry database: one SQLite file behind one class.

``Registry`` opens ``registry.db`` (or an in-memory database for tests) with WAL, foreign
keys and a busy timeout, applies the ordered migrations, and owns the append-only,
hash-chained event log. Service modules do their SQL through a ``Registry``; pages never
see a connection.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import sqlite3
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import sqlite_utils

from ..errors import WorkbenchError
from .models import Actor, Event, LogCheck, now_iso

GENESIS_HASH = "0" * 64
APPLICATION_ID = 0x41495342  # "AISB": marks a file as a workbench registry

_NOT_A_REGISTRY = "db.not_a_registry"
_TOO_NEW = "db.schema_too_new"
LOG_EDITED = "db.log_edited"
LOG_BROKEN_LINK = "db.log_broken_link"
LOG_MISSING_TAIL = "db.log_missing_tail"
LOG_BAD_SEAL = "ops.log.bad_seal"
LOG_TRIGGER_MISSING = "ops.log.trigger_missing"
LOG_WITNESS_AHEAD = "ops.log.witness_ahead"
LOG_WITNESS_MISMATCH = "ops.log.witness_mismatch"
LOG_KEY_MISSING = "ops.log.key_missing"

LOG_KEY_FILE = "log.key"  # under home/keys: the secret that seals each event (outside the database)
LOG_WITNESS_FILE = "log-head.json"  # under home/keys: the last head this workbench wrote


class RegistryError(WorkbenchError):
    """The database file is not a workbench registry, or is newer than this code."""


class RegistryBusy(WorkbenchError):
    """Another process held the write lock for longer than the busy timeout; nothing was written."""


BUSY = "hardening.db.busy"


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


# ---------------------------------------------------------------------------------------
# Migrations: append only. Each entry moves the schema from version i to i + 1.
# ---------------------------------------------------------------------------------------

_V1_CORE = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE organisations (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    bin TEXT NOT NULL UNIQUE,
    contact_email TEXT NOT NULL DEFAULT '',
    contact_phone TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE COLLATE NOCASE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('vendor','reviewer','secretary','admin')),
    org_id INTEGER REFERENCES organisations(id),
    password_hash TEXT NOT NULL,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);
CREATE TABLE submissions (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES organisations(id),
    created_by INTEGER NOT NULL REFERENCES users(id),
    tool_name TEXT NOT NULL,
    tool_version TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    dossier TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX submissions_org ON submissions(org_id);
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE
);
CREATE INDEX events_subject ON events(subject_type, subject_id);
CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
"""

_V2_INTAKE = """
ALTER TABLE submissions ADD COLUMN previous_id INTEGER REFERENCES submissions(id);
ALTER TABLE submissions ADD COLUMN submitted_at TEXT;
ALTER TABLE submissions ADD COLUMN tier TEXT;
CREATE TABLE attachments (
    id INTEGER PRIMARY KEY,
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    sha256 TEXT NOT NULL,
    original_name TEXT NOT NULL,
    size INTEGER NOT NULL,
    kind TEXT NOT NULL,
    media_type TEXT NOT NULL,
    purpose TEXT NOT NULL CHECK (purpose IN ('document','outputs')),
    uploaded_by INTEGER NOT NULL REFERENCES users(id),
    uploaded_at TEXT NOT NULL,
    message_id INTEGER
);
CREATE INDEX attachments_submission ON attachments(submission_id);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    author_id INTEGER NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL CHECK (kind IN ('question','answer','screening','note')),
    item_id TEXT,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX messages_submission ON messages(submission_id);
"""

_V3_REVIEW = """
CREATE TABLE assignments (
    id INTEGER PRIMARY KEY,
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    reviewer_id INTEGER NOT NULL REFERENCES users(id),
    assigned_by INTEGER NOT NULL REFERENCES users(id),
    assigned_at TEXT NOT NULL,
    UNIQUE (submission_id, reviewer_id)
);
CREATE TABLE conflicts (
    id INTEGER PRIMARY KEY,
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    reviewer_id INTEGER NOT NULL REFERENCES users(id),
    has_conflict INTEGER NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    declared_at TEXT NOT NULL,
    UNIQUE (submission_id, reviewer_id)
);
CREATE TABLE reviews (
    id INTEGER PRIMARY KEY,
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    reviewer_id INTEGER NOT NULL REFERENCES users(id),
    checklist_version TEXT NOT NULL,
    checklist_hash TEXT NOT NULL,
    checklist_json TEXT NOT NULL,
    risk_answers TEXT NOT NULL DEFAULT '{}',
    tier TEXT,
    answers TEXT NOT NULL DEFAULT '{}',
    recommendation TEXT,
    rationale TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft','signed_off')),
    content_hash TEXT,
    updated_at TEXT NOT NULL,
    signed_at TEXT,
    UNIQUE (submission_id, reviewer_id)
);
CREATE TABLE fairness_runs (
    id INTEGER PRIMARY KEY,
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    attachment_sha256 TEXT NOT NULL,
    run_by INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    spec TEXT NOT NULL,
    result TEXT NOT NULL,
    verdict TEXT NOT NULL,
    engine_version TEXT NOT NULL,
    policy_version TEXT NOT NULL,
    result_hash TEXT NOT NULL
);
CREATE TRIGGER fairness_runs_frozen BEFORE UPDATE ON fairness_runs
BEGIN SELECT RAISE(ABORT, 'fairness runs are frozen'); END;
"""

_V4_DECISIONS = """
CREATE TABLE decisions (
    id INTEGER PRIMARY KEY,
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    outcome TEXT NOT NULL,
    votes TEXT NOT NULL,
    dissent TEXT NOT NULL DEFAULT '[]',
    conditions TEXT NOT NULL DEFAULT '[]',
    scope TEXT NOT NULL DEFAULT '{}',
    rationale TEXT NOT NULL DEFAULT '',
    decided_by INTEGER NOT NULL REFERENCES users(id),
    decided_at TEXT NOT NULL,
    evidence TEXT NOT NULL DEFAULT '[]',
    label_id TEXT,
    pdf_sha256 TEXT
);
CREATE TABLE label_counters (year INTEGER PRIMARY KEY, last_seq INTEGER NOT NULL);
CREATE TABLE labels (
    id TEXT PRIMARY KEY,
    year INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    decision_id INTEGER NOT NULL REFERENCES decisions(id),
    tool_name TEXT NOT NULL,
    tool_version TEXT NOT NULL,
    vendor TEXT NOT NULL,
    tier TEXT NOT NULL,
    scope TEXT NOT NULL,
    conditions TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    status TEXT NOT NULL,
    status_reason TEXT NOT NULL DEFAULT '',
    pdf_sha256 TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (year, seq)
);
CREATE TABLE complaints (
    id INTEGER PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    label_id TEXT,
    tool_name TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL,
    contact TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'open',
    outcome TEXT,
    outcome_note TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    source_hash TEXT NOT NULL DEFAULT ''
);
"""

_V5_AUDIT_PDFS = """
ALTER TABLE labels ADD COLUMN policy_version TEXT NOT NULL DEFAULT '';
CREATE TABLE audit_pdfs (
    decision_id INTEGER PRIMARY KEY REFERENCES decisions(id),
    label_id TEXT,
    file_name TEXT NOT NULL UNIQUE,
    lang TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    pdf BLOB NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TRIGGER audit_pdfs_frozen BEFORE UPDATE ON audit_pdfs
BEGIN SELECT RAISE(ABORT, 'audit PDFs are frozen'); END;
CREATE TRIGGER decisions_frozen BEFORE UPDATE OF outcome, votes, dissent, conditions, scope, evidence ON decisions
BEGIN SELECT RAISE(ABORT, 'decisions are frozen'); END;
"""

_V6_APPEALS = """
CREATE TABLE appeals (
    id INTEGER PRIMARY KEY,
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    from_status TEXT NOT NULL,
    reasons TEXT NOT NULL,
    filed_by INTEGER NOT NULL REFERENCES users(id),
    filed_at TEXT NOT NULL,
    outcome TEXT CHECK (outcome IN ('dismissed', 're_review')),
    outcome_note TEXT NOT NULL DEFAULT '',
    decided_by INTEGER REFERENCES users(id),
    decided_at TEXT,
    re_review_id INTEGER REFERENCES submissions(id)
);
CREATE INDEX appeals_submission ON appeals(submission_id);
"""

_V7_LOG_SEAL = """
ALTER TABLE events ADD COLUMN mac TEXT;
"""

_V8_THROTTLE_CHALLENGES = """
CREATE TABLE login_throttle (
    key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL DEFAULT 0,
    next_at TEXT,
    updated_at TEXT NOT NULL
);
CREATE TABLE challenges (
    token_hash TEXT PRIMARY KEY,
    answer INTEGER NOT NULL,
    source_hash TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    used_at TEXT
);
CREATE INDEX challenges_source ON challenges(source_hash, issued_at);
"""
# The public search index (workbench/registry/search.py): FTS5 and sort keys, kept in step by triggers.
_V9_SEARCH = """
CREATE TABLE label_search_keys (
    n INTEGER PRIMARY KEY,  -- the label's row in label_fts (a stable rowid, VACUUM keeps it)
    id TEXT NOT NULL UNIQUE,
    tool_key TEXT NOT NULL,
    vendor_key TEXT NOT NULL,
    subjects TEXT NOT NULL,
    grades TEXT NOT NULL,
    langs TEXT NOT NULL
);
CREATE INDEX label_search_keys_tool ON label_search_keys (tool_key, id);
CREATE INDEX label_search_keys_vendor ON label_search_keys (vendor_key, tool_key, id);
CREATE VIRTUAL TABLE label_fts USING fts5(body, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3');
CREATE TABLE label_search_stale (id TEXT PRIMARY KEY) WITHOUT ROWID;
INSERT INTO label_search_stale SELECT id FROM labels;
CREATE TRIGGER labels_search_ins AFTER INSERT ON labels BEGIN INSERT OR IGNORE INTO label_search_stale VALUES (new.id); END;
CREATE TRIGGER labels_search_upd AFTER UPDATE ON labels BEGIN INSERT OR IGNORE INTO label_search_stale VALUES (new.id); INSERT OR IGNORE INTO label_search_stale VALUES (old.id); END;
CREATE TRIGGER labels_search_del AFTER DELETE ON labels BEGIN INSERT OR IGNORE INTO label_search_stale VALUES (old.id); END;
"""

_V10_GENAI_RUNS = """
CREATE TABLE genai_endpoints (
    submission_id INTEGER PRIMARY KEY REFERENCES submissions(id),
    url TEXT NOT NULL,
    model TEXT NOT NULL DEFAULT '',
    api_key_enc BLOB,
    key_hint TEXT NOT NULL DEFAULT '',
    set_by INTEGER REFERENCES users(id),
    set_at TEXT NOT NULL
);
CREATE TABLE genai_runs (
    id INTEGER PRIMARY KEY,
    submission_id INTEGER REFERENCES submissions(id),
    mode TEXT NOT NULL CHECK (mode IN ('live','offline')),
    endpoint TEXT NOT NULL,
    model TEXT NOT NULL DEFAULT '',
    suite_version TEXT NOT NULL,
    languages TEXT NOT NULL,
    samples INTEGER NOT NULL,
    tier TEXT NOT NULL,
    run_by INTEGER REFERENCES users(id),
    run_by_name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    transcript TEXT NOT NULL,
    transcript_sha256 TEXT NOT NULL,
    result TEXT NOT NULL,
    verdict TEXT NOT NULL,
    policy_version TEXT NOT NULL
);
CREATE INDEX genai_runs_submission ON genai_runs(submission_id);
CREATE TRIGGER genai_runs_frozen BEFORE UPDATE ON genai_runs
BEGIN SELECT RAISE(ABORT, 'genai transcripts are frozen'); END;
CREATE TRIGGER genai_runs_kept BEFORE DELETE ON genai_runs
BEGIN SELECT RAISE(ABORT, 'genai transcripts are frozen'); END;
CREATE TABLE genai_ratings (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES genai_runs(id),
    entry_id TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('ok','not_ok')),
    note TEXT NOT NULL DEFAULT '',
    rated_by INTEGER REFERENCES users(id),
    rated_at TEXT NOT NULL,
    UNIQUE (run_id, entry_id, rated_by)
);
"""

# Staff sessions (issue 13): a server-side row per sign-in; the cookie holds a signed token
# whose SHA-256 is the row's id. ``must_change_password`` is set by an admin's reset.
_V11_SESSIONS = """
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT,
    revoked_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions(user_id);
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;
"""

# Notifications (issue 13): notices derived from the event log, one row per recipient, an
# in-app inbox and e-mail. The cursor starts after the events already in the log, so an
# upgraded registry does not mail its whole history.
_V12_NOTIFICATIONS = """
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    user_id INTEGER REFERENCES users(id),
    email TEXT NOT NULL DEFAULT '',
    lang TEXT NOT NULL DEFAULT 'kk',
    kind TEXT NOT NULL,
    params TEXT NOT NULL DEFAULT '{}',
    link TEXT NOT NULL DEFAULT '',
    dedupe TEXT NOT NULL UNIQUE,
    event_id INTEGER,
    created_at TEXT NOT NULL,
    read_at TEXT,
    mail_state TEXT NOT NULL DEFAULT 'pending'
);
CREATE INDEX notifications_user ON notifications(user_id, read_at);
ALTER TABLE users ADD COLUMN email TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN lang TEXT NOT NULL DEFAULT 'kk';
INSERT INTO meta (key, value) SELECT 'notify_cursor', COALESCE(MAX(id), 0) FROM events;
"""

_V13_SESSION_ADDRESS = """
ALTER TABLE sessions ADD COLUMN address TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
"""

MIGRATIONS: tuple[str, ...] = (_V1_CORE, _V2_INTAKE, _V3_REVIEW, _V4_DECISIONS, _V5_AUDIT_PDFS, _V6_APPEALS,
                               _V7_LOG_SEAL, _V8_THROTTLE_CHALLENGES, _V9_SEARCH, _V10_GENAI_RUNS,
                               _V11_SESSIONS, _V12_NOTIFICATIONS, _V13_SESSION_ADDRESS)
SCHEMA_VERSION = len(MIGRATIONS)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def event_hash(event_id: int, ts: str, actor: str, action: str, subject_type: str,
               subject_id: str, payload_json: str, prev_hash: str) -> str:
    """The hash of one event; covers its position (id) and the previous event's hash."""
    material = _canonical([event_id, ts, actor, action, subject_type, subject_id, payload_json, prev_hash])
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


_TRIGGER_HEAD = re.compile(r"^\s*CREATE\s+(?:TEMP(?:ORARY)?\s+)?TRIGGER\s+(?:IF\s+NOT\s+EXISTS\s+)?([\w\"]+)",
                           re.IGNORECASE)
_DROP_TRIGGER = re.compile(r"^\s*DROP\s+TRIGGER\s+(?:IF\s+EXISTS\s+)?([\w\"]+)", re.IGNORECASE)


def expected_triggers() -> dict[str, str]:
    """Every trigger the migrations define (name -> normalised SQL), minus dropped ones."""
    found: dict[str, str] = {}
    for script in MIGRATIONS:
        for statement in _split_sql(script):
            created, dropped = _TRIGGER_HEAD.match(statement), _DROP_TRIGGER.match(statement)
            if created:
                found[created.group(1).strip('"')] = _normalise_sql(statement)
            elif dropped:
                found.pop(dropped.group(1).strip('"'), None)
    return found


def _normalise_sql(sql: str) -> str:
    """Whitespace, case and the ``IF NOT EXISTS`` SQLite drops when it stores a trigger."""
    match = _TRIGGER_HEAD.match(sql)
    if match:
        sql = f"create trigger {match.group(1).strip(chr(34))} {sql[match.end():]}"
    return " ".join(sql.replace(";", " ").split()).lower()


def seal(key: bytes, digest: str) -> str:
    """The event's seal: an HMAC of its hash under the log key, which is kept outside the
    database. Someone who can write the database but not read the key cannot forge it."""
    return hmac.new(key, digest.encode("ascii"), hashlib.sha256).hexdigest()


class LogKey:
    """The secret that seals events, ``home/keys/log.key`` (JSON: key, since).

    ``since`` is the first event sealed: events of a registry older than its key are
    checked by their chain and anchors only.
    """

    def __init__(self, key: bytes, since: int) -> None:
        self.key, self.since = key, since

    @staticmethod
    def path(keys_dir: Path) -> Path:
        return Path(keys_dir) / LOG_KEY_FILE

    @classmethod
    def load(cls, keys_dir: Path) -> "LogKey | None":
        try:
            data = json.loads(cls.path(keys_dir).read_text(encoding="utf-8"))
            return cls(bytes.fromhex(data["key"]), int(data["since"]))
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError, OSError):
            raise RegistryError(LOG_KEY_MISSING) from None

    @classmethod
    def create(cls, keys_dir: Path, since: int) -> "LogKey":
        """Create the key unless one exists (two processes starting at once agree on one)."""
        keys_dir = Path(keys_dir)
        keys_dir.mkdir(parents=True, exist_ok=True)
        target = cls.path(keys_dir)
        body = json.dumps({"key": secrets.token_hex(32), "since": since}).encode("utf-8")
        fd, tmp = tempfile.mkstemp(dir=keys_dir, prefix=".log.key.")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(body)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)
            try:
                os.link(tmp, target)  # fails if another process made it first: then use theirs
            except FileExistsError:
                pass
        finally:
            Path(tmp).unlink(missing_ok=True)
        loaded = cls.load(keys_dir)
        assert loaded is not None
        return loaded


def read_witness(keys_dir: Path) -> dict | None:
    """The head recorded in ``home/keys/log-head.json``, or None."""
    try:
        data = json.loads((Path(keys_dir) / LOG_WITNESS_FILE).read_text(encoding="utf-8"))
        return {"event_id": int(data["event_id"]), "hash": str(data["hash"])}
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError, OSError):
        return {"event_id": -1, "hash": ""}  # unreadable: reported as a mismatch


def write_witness(keys_dir: Path, event_id: int, digest: str, *, force: bool = False) -> None:
    """Record the log head outside the database; never moves it backwards unless ``force``."""
    import fcntl

    keys_dir = Path(keys_dir)
    keys_dir.mkdir(parents=True, exist_ok=True)
    with open(keys_dir / ".log-head.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = read_witness(keys_dir)
        if current and current["event_id"] >= event_id and not force:
            return
        target = keys_dir / LOG_WITNESS_FILE
        tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
        tmp.write_text(json.dumps({"event_id": event_id, "hash": digest, "written_at": now_iso()}), encoding="utf-8")
        os.replace(tmp, target)


class Registry:
    """The workbench's SQLite database.

    Parameters
    ----------
    path:
        The database file; created with the current schema if missing.
    memory:
        Use a private in-memory database (tests).
    migrate_to:
        Stop migrations at this version (tests of the migration path).
    """

    def __init__(self, path: str | Path | None = None, *, memory: bool = False,
                 migrate_to: int | None = None) -> None:
        if memory or path is None:
            conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
            self.path: Path | None = None
        else:
            self.path = Path(path)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), timeout=30, check_same_thread=False,
                                   isolation_level=None)
        conn.row_factory = sqlite3.Row
        self.conn = conn
        self._lock = threading.RLock()
        self._depth = 0
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA foreign_keys = ON")
        if self.path is not None:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        self.db = sqlite_utils.Database(conn)
        self._check_identity()
        self.migrate(migrate_to if migrate_to is not None else SCHEMA_VERSION)
        self._log_key: LogKey | None = None
        self._pending_head: tuple[int, str] | None = None
        self._mac_column = self._has_mac_column()
        if self.path is not None:
            self._log_key = LogKey.load(self.keys_dir)

    # -- the log key and the head kept outside the database -------------------------------

    @property
    def keys_dir(self) -> Path | None:
        """``home/keys`` beside the database (None for an in-memory registry)."""
        return self.path.parent / "keys" if self.path is not None else None

    def attach_log_key(self) -> None:
        """Create the log key on first use of a home; later events are sealed with it."""
        if self.path is None or self._log_key is not None:
            return
        with self.transaction():  # the write lock: no event is written between reading max(id) and the key
            self._log_key = LogKey.load(self.keys_dir)
            if self._log_key is None:
                last = self.conn.execute("SELECT max(id) FROM events").fetchone()[0] or 0
                self._log_key = LogKey.create(self.keys_dir, since=last + 1)

    def _has_mac_column(self) -> bool:
        return "mac" in {r[1] for r in self.conn.execute("PRAGMA table_info(events)")}

    # -- identity and migrations -------------------------------------------------------

    def _check_identity(self) -> None:
        app_id = self.conn.execute("PRAGMA application_id").fetchone()[0]
        version = self.schema_version
        has_tables = self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] > 0
        if app_id != APPLICATION_ID and (has_tables or version):
            raise RegistryError(_NOT_A_REGISTRY, path=str(self.path or ":memory:"))
        if version > SCHEMA_VERSION:
            raise RegistryError(_TOO_NEW, found=version, supported=SCHEMA_VERSION)

    @property
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self, target: int = SCHEMA_VERSION) -> None:
        """Apply the migrations after the file's version, each in its own transaction."""
        while self.schema_version < target:
            version = self.schema_version
            with self.transaction():
                for statement in _split_sql(MIGRATIONS[version]):
                    self.conn.execute(statement)
                self.conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                self.conn.execute(f"PRAGMA user_version = {version + 1}")

    # -- transactions --------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All-or-nothing block; nested blocks join the outer one.

        ``BEGIN IMMEDIATE`` takes the write lock at the start, so two processes issuing
        label numbers serialise instead of failing half-way.
        """
        with self._lock:
            outer = self._depth == 0
            if outer:
                self._begin()
                self._pending_head = None
            self._depth += 1
            try:
                yield self.conn
            except sqlite3.OperationalError as exc:
                self._depth -= 1
                if outer and self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                if _is_busy(exc):  # another writer held the lock past the busy timeout
                    raise RegistryBusy(BUSY) from None
                raise
            except BaseException:
                self._depth -= 1
                if outer and self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                    self._pending_head = None
                raise
            else:
                self._depth -= 1
                if outer:
                    self.conn.execute("COMMIT")
                    head, self._pending_head = self._pending_head, None
                    if head is not None and self._log_key is not None:
                        # After the commit: a witness that lags is harmless, one ahead is not.
                        with contextlib.suppress(OSError):  # the commit stands; the witness catches up later
                            write_witness(self.keys_dir, *head)

    def _begin(self, attempts: int = 2) -> None:
        """``BEGIN IMMEDIATE``, retried once after the busy timeout; then a translated
        "busy, nothing was saved" instead of sqlite's "database is locked"."""
        for attempt in range(attempts):
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise
                time.sleep(0.05 * (attempt + 1))
        raise RegistryBusy(BUSY)

    def locked(self) -> threading.RLock:
        """The connection's lock, for a caller that runs several statements as one step
        (``with reg.locked(): ...``). Re-entrant, so it nests with ``transaction()``."""
        return self._lock

    # -- small query helpers --------------------------------------------------------------

    def query(self, sql: str, params: tuple | dict = ()) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(row) for row in self.conn.execute(sql, params).fetchall()]

    def one(self, sql: str, params: tuple | dict = ()) -> dict[str, Any] | None:
        with self._lock:
            row = self.conn.execute(sql, params).fetchone()
        return dict(row) if row is not None else None

    def execute(self, sql: str, params: tuple | dict = ()) -> sqlite3.Cursor:
        """A write; outside a ``transaction()`` it is its own transaction."""
        with self.transaction():
            return self.conn.execute(sql, params)

    def insert(self, table: str, row: dict[str, Any]) -> int:
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        with self.transaction():
            cur = self.conn.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(row.values()))
            return int(cur.lastrowid)

    def update(self, table: str, row_id: Any, values: dict[str, Any], *, key: str = "id") -> None:
        assignments = ", ".join(f"{c} = ?" for c in values)
        with self.transaction():
            self.conn.execute(f"UPDATE {table} SET {assignments} WHERE {key} = ?", (*values.values(), row_id))

    def get_meta(self, key: str) -> str | None:
        row = self.one("SELECT value FROM meta WHERE key = ?", (key,))
        return row["value"] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                     "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    # -- the event log ---------------------------------------------------------------------

    def record(self, actor: Actor | str, action: str, subject_type: str, subject_id: Any,
               payload: dict[str, Any] | None = None) -> Event:
        """Append one event, chained to the previous one. Joins the caller's transaction."""
        actor_name = actor if isinstance(actor, str) else f"{actor.role.value}:{actor.username}"
        payload_json = _canonical(payload or {})
        with self.transaction():
            if self._log_key is None and self.keys_dir is not None:
                self._log_key = LogKey.load(self.keys_dir)  # another process may have made it since we opened
            if not isinstance(actor, str):  # every state change: the actor's account is still active
                from .auth import check_active

                check_active(self, actor)
            last = self.conn.execute("SELECT id, hash FROM events ORDER BY id DESC LIMIT 1").fetchone()
            prev_hash = last["hash"] if last else GENESIS_HASH
            event_id = (last["id"] + 1) if last else 1
            ts = now_iso()
            digest = event_hash(event_id, ts, actor_name, action, subject_type, str(subject_id),
                                payload_json, prev_hash)
            row = (event_id, ts, actor_name, action, subject_type, str(subject_id), payload_json, prev_hash, digest)
            if self._log_key is not None and self._mac_column:
                self.conn.execute(
                    "INSERT INTO events (id, ts, actor, action, subject_type, subject_id, payload, prev_hash, hash,"
                    " mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (*row, seal(self._log_key.key, digest)))
            else:
                self.conn.execute(
                    "INSERT INTO events (id, ts, actor, action, subject_type, subject_id, payload, prev_hash, hash)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
            self._pending_head = (event_id, digest)
            self.conn.execute(
                "INSERT INTO meta (key, value) VALUES ('log_head', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (f"{event_id}:{digest}",),
            )
        return Event(id=event_id, ts=ts, actor=actor_name, action=action, subject_type=subject_type,
                     subject_id=str(subject_id), payload=json.loads(payload_json), prev_hash=prev_hash,
                     hash=digest)

    def events(self, subject_type: str | None = None, subject_id: Any = None) -> list[Event]:
        sql, params = "SELECT * FROM events", []
        if subject_type is not None:
            sql += " WHERE subject_type = ?"
            params.append(subject_type)
            if subject_id is not None:
                sql += " AND subject_id = ?"
                params.append(str(subject_id))
        rows = self.query(sql + " ORDER BY id", tuple(params))
        return [Event(**{**r, "payload": json.loads(r["payload"])}) for r in rows]

    def head(self) -> tuple[int, str]:
        """The log's current head: (last event id, its hash); (0, genesis) when empty."""
        row = self.one("SELECT id, hash FROM events ORDER BY id DESC LIMIT 1")
        return (row["id"], row["hash"]) if row else (0, GENESIS_HASH)

    def head_anchor(self) -> str:
        """The head as one token, ``<event id>:<hash>``, for signed documents to carry."""
        event_id, digest = self.head()
        return f"{event_id}:{digest}"

    def verify_log(self) -> LogCheck:
        """Walk the chain from the first event; name the first event that does not fit.

        An edited row fails its own hash; a deleted or reordered row breaks the link to
        its neighbour (ids are part of the hash); a deleted tail no longer matches the
        head recorded in ``meta`` nor the witness kept outside the database
        (``keys/log-head.json``). A row written by someone without the log key (an event
        appended, or a chain recomputed after an edit) fails its seal. The append-only
        triggers must be there as the migrations made them.

        Anchors in signed documents and the state tables are checked by
        ``workbench.upkeep.integrity``.
        """
        return self._walk()[0]

    def _walk(self) -> tuple[LogCheck, dict[int, str]]:
        prev_hash, expected_id, count = GENESIS_HASH, 1, 0
        hashes: dict[int, str] = {}
        key = self._log_key
        if key is None and self.keys_dir is not None and (self.keys_dir / LOG_KEY_FILE).exists():
            key = self._log_key = LogKey.load(self.keys_dir)
        with self._lock:
            has_mac = self._has_mac_column()
            rows = self.conn.execute("SELECT * FROM events ORDER BY rowid")
            for row in rows:
                count += 1
                if row["id"] != expected_id or row["prev_hash"] != prev_hash:
                    return LogCheck(ok=False, events=count, first_broken_id=row["id"], problem=LOG_BROKEN_LINK), hashes
                digest = event_hash(row["id"], row["ts"], row["actor"], row["action"], row["subject_type"],
                                    row["subject_id"], row["payload"], row["prev_hash"])
                if digest != row["hash"]:
                    return LogCheck(ok=False, events=count, first_broken_id=row["id"], problem=LOG_EDITED), hashes
                if key is not None and row["id"] >= key.since and (
                        not has_mac or not hmac.compare_digest(row["mac"] or "", seal(key.key, digest))):
                    return LogCheck(ok=False, events=count, first_broken_id=row["id"], problem=LOG_BAD_SEAL), hashes
                hashes[row["id"]] = digest
                prev_hash, expected_id = row["hash"], expected_id + 1
            present = {r["name"]: _normalise_sql(r["sql"] or "") for r in
                       self.conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")}
        last = expected_id - 1
        head = self.get_meta("log_head")
        if head and head != f"{last}:{prev_hash}":
            return LogCheck(ok=False, events=count, first_broken_id=expected_id, problem=LOG_MISSING_TAIL), hashes
        witness = read_witness(self.keys_dir) if self.keys_dir is not None else None
        if witness is not None:
            if witness["event_id"] > last:
                return LogCheck(ok=False, events=count, first_broken_id=last + 1, problem=LOG_WITNESS_AHEAD), hashes
            if witness["event_id"] > 0 and hashes.get(witness["event_id"]) != witness["hash"]:
                return LogCheck(ok=False, events=count, first_broken_id=witness["event_id"],
                                problem=LOG_WITNESS_MISMATCH), hashes
        if key is None and self.keys_dir is not None and has_mac and self.conn.execute(
                "SELECT 1 FROM events WHERE mac IS NOT NULL LIMIT 1").fetchone():
            return LogCheck(ok=False, events=count, problem=LOG_KEY_MISSING), hashes
        for name, sql in expected_triggers().items():
            if present.get(name) != sql:
                return LogCheck(ok=False, events=count, problem=LOG_TRIGGER_MISSING), hashes
        return LogCheck(ok=True, events=count), hashes

    def event_hashes(self) -> dict[int, str]:
        """Event id -> hash, for checking anchors (only meaningful when the chain is intact)."""
        with self._lock:
            return {r["id"]: r["hash"] for r in self.conn.execute("SELECT id, hash FROM events")}

    # -- backup and restore --------------------------------------------------------------

    def backup(self, dest: str | Path, *, progress: Callable[[int, int], None] | None = None) -> Path:
        """Copy the live database with SQLite's online backup API (safe while in use)."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".part")
        target = sqlite3.connect(str(tmp))
        try:
            with self._lock:
                self.conn.backup(target, pages=256,
                                 progress=(lambda s, r, t: progress(t - r, t)) if progress else None)
            target.execute("PRAGMA journal_mode = DELETE")
        finally:
            target.close()
        tmp.replace(dest)
        return dest

    def close(self) -> None:
        with self._lock:
            self.conn.close()


def check_registry_file(path: str | Path) -> int:
    """Return the schema version of a registry file, or raise ``RegistryError``."""
    path = Path(path)
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            conn.execute("SELECT count(*) FROM events").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        raise RegistryError(_NOT_A_REGISTRY, path=path.name) from None
    if app_id != APPLICATION_ID:
        raise RegistryError(_NOT_A_REGISTRY, path=path.name)
    if version > SCHEMA_VERSION:
        raise RegistryError(_TOO_NEW, found=version, supported=SCHEMA_VERSION)
    return int(version)


def restore(src: str | Path, dest: str | Path) -> Path:
    """Replace the registry at ``dest`` with the backup ``src`` after checking it."""
    src, dest = Path(src), Path(dest)
    if not src.is_file():
        raise RegistryError(_NOT_A_REGISTRY, path=src.name)
    check_registry_file(src)
    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
    target = sqlite3.connect(str(dest), timeout=30)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    # Verify what we restored is usable (and migrate an older backup forward).
    Registry(dest).close()
    return dest


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies whole."""
    statements, buffer = [], []
    in_trigger = False
    for line in script.strip().splitlines():
        buffer.append(line)
        upper = line.strip().upper()
        if upper.startswith("CREATE TRIGGER"):
            in_trigger = True
        if (in_trigger and upper.endswith("END;")) or (not in_trigger and upper.endswith(";")):
            statements.append("\n".join(buffer).strip().rstrip(";"))
            buffer, in_trigger = [], False
    if buffer and "".join(buffer).strip():
        statements.append("\n".join(buffer).strip().rstrip(";"))
    return statements

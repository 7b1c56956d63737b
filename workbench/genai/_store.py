"""Generative-tool runs in the registry: endpoints, frozen transcripts, reviewers' ratings.

* The vendor's sandbox endpoint (URL, model, API key) is stored per submission; the key
  is encrypted at rest (Fernet, key file ``keys/genai-secrets.key``) and never shown
  again: pages and the CLI only ever see its last four characters.
* A run's transcript (every prompt and answer) is stored as canonical JSON with its
  SHA-256; the database refuses to update or delete it (a trigger).
* Reviewers rate the answers the detectors could not decide; the ratings sit beside the
  frozen transcript, and the results always say how many verdicts came from people.
* Only the committee (reviewers assigned to the submission, the secretary) and the vendor
  who owns the submission can read a run.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Callable

from cryptography.fernet import Fernet, InvalidToken
from pydantic import BaseModel

from ..registry.db import Registry
from ..errors import NotFound, PermissionDenied, WorkbenchError
from ..registry.models import SYSTEM, Actor, Role, now_iso
from ..registry.permissions import require
from ..intake.submissions import get_submission, is_assigned
from . import _runner, _score
from ._suite import Suite, item_index, load_suite

NO_RUN = "genai.error.run_not_found"
NO_ENDPOINT = "genai.error.no_endpoint"
NO_ENTRY = "genai.error.entry_not_found"
SECRET_LOST = "genai.error.secret_unreadable"
RATINGS = ("ok", "not_ok")


class SecretBox:
    """Encrypts API keys with a key kept in the workbench's ``keys`` folder (mode 0600)."""

    FILE = "genai-secrets.key"

    def __init__(self, keys_dir: str | Path) -> None:
        self.path = Path(keys_dir) / self.FILE

    def _fernet(self) -> Fernet:
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(Fernet.generate_key())
        return Fernet(self.path.read_bytes().strip())

    def seal(self, secret: str) -> bytes:
        return self._fernet().encrypt(secret.encode("utf-8"))

    def open(self, token: bytes) -> str:
        try:
            return self._fernet().decrypt(token).decode("utf-8")
        except InvalidToken:
            raise WorkbenchError(SECRET_LOST) from None


class Endpoint(BaseModel):
    """What anyone may see of a stored endpoint: never the key, only its last characters."""

    submission_id: int
    url: str
    model: str
    has_key: bool
    key_hint: str
    set_at: str


class StoredRun(BaseModel):
    id: int
    submission_id: int | None
    mode: str
    endpoint: str
    model: str
    suite_version: str
    languages: list[str]
    samples: int
    tier: str
    run_by_name: str
    created_at: str
    transcript_sha256: str
    verdict: str
    policy_version: str


# --- permissions --------------------------------------------------------------------------

def _committee_member(reg: Registry, actor: Actor, submission_id: int | None) -> None:
    if actor is SYSTEM:
        return
    if submission_id is None:
        if actor.role not in (Role.REVIEWER, Role.SECRETARY):
            raise PermissionDenied("perm.denied", action="genai.view", role=actor.role.value)
        return
    get_submission(reg, actor, submission_id)
    if actor.role is Role.REVIEWER and not is_assigned(reg, actor.user_id, submission_id):
        raise NotFound("sub.not_found", id=submission_id)


def _may(reg: Registry, actor: Actor, action: str, submission_id: int | None) -> None:
    if actor is not SYSTEM:
        require(actor, action)
    _committee_member(reg, actor, submission_id)


# --- endpoints ----------------------------------------------------------------------------

def set_endpoint(reg: Registry, actor: Actor, secrets: SecretBox, submission_id: int, url: str, *, model: str = "",
                 api_key: str | None = None, allow_private: bool = False) -> Endpoint:
    """Store the sandbox endpoint of a submission (the key encrypted; ``None`` keeps the old key)."""
    _may(reg, actor, "genai.endpoint", submission_id)
    base = _runner.check_endpoint(url, allow_private=allow_private or is_demo(reg))
    model = (model or "").strip()[:200]
    old = reg.one("SELECT api_key_enc, key_hint FROM genai_endpoints WHERE submission_id = ?", (submission_id,))
    if api_key:
        sealed, hint = secrets.seal(api_key.strip()), api_key.strip()[-4:]
    else:
        sealed, hint = (old["api_key_enc"], old["key_hint"]) if old else (None, "")
    with reg.transaction():
        reg.execute("INSERT INTO genai_endpoints (submission_id, url, model, api_key_enc, key_hint, set_by, set_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(submission_id) DO UPDATE SET url = excluded.url, "
                    "model = excluded.model, api_key_enc = excluded.api_key_enc, key_hint = excluded.key_hint, "
                    "set_by = excluded.set_by, set_at = excluded.set_at",
                    (submission_id, base, model, sealed, hint, actor.user_id, now_iso()))
        reg.record(actor, "genai.endpoint_set", "submission", submission_id,
                   {"url": base, "model": model, "key_changed": bool(api_key)})
    return get_endpoint(reg, actor, submission_id)


def get_endpoint(reg: Registry, actor: Actor, submission_id: int) -> Endpoint | None:
    _may(reg, actor, "genai.view", submission_id)
    row = reg.one("SELECT * FROM genai_endpoints WHERE submission_id = ?", (submission_id,))
    if row is None:
        return None
    return Endpoint(submission_id=submission_id, url=row["url"], model=row["model"],
                    has_key=row["api_key_enc"] is not None, key_hint=row["key_hint"], set_at=row["set_at"])


def is_demo(reg: Registry) -> bool:
    return reg.get_meta("demo") == "1"


DEMO_API_KEY = "sk-demo-bilim-2026"


def attach_demo_sandbox(reg: Registry, secrets: SecretBox, url: str) -> list[int]:
    """Point every generative submission of a *demo* registry at the running demo sandbox.

    Called by ``serve --demo`` after ``start_demo_sandbox()``; does nothing outside a demo.
    """
    from ._sandbox import DEMO_MODEL

    if not is_demo(reg):
        return []
    ids = [r["id"] for r in reg.query("SELECT id FROM submissions WHERE json_extract(dossier, '$.model_type') = "
                                      "'generative' ORDER BY id")]
    for sid in ids:
        set_endpoint(reg, SYSTEM, secrets, sid, url, model=DEMO_MODEL, api_key=DEMO_API_KEY, allow_private=True)
    return ids


# --- runs ---------------------------------------------------------------------------------

def _items_of(transcript: dict) -> dict:
    return item_index([load_suite(name) for name in transcript["suites"]])


def save_run(reg: Registry, actor: Actor, transcript: dict, *, submission_id: int | None = None,
             tier: str | None = None) -> tuple[StoredRun, _score.RunResult]:
    """Score a transcript and store it frozen; returns the stored run and its result."""
    _may(reg, actor, "genai.run", submission_id)
    if tier is None and submission_id is not None:
        row = reg.one("SELECT tier FROM submissions WHERE id = ?", (submission_id,))
        tier = row["tier"] if row else None
    tier = tier or "high"
    canonical = _runner.canonical(transcript)
    digest = _runner.transcript_sha256(transcript)
    result = _score.summarise(transcript["entries"], _items_of(transcript), suite_version=transcript["suite_version"],
                              endpoint=transcript["endpoint"], model=transcript.get("model", ""),
                              transcript_sha256=digest, tier=tier)
    with reg.transaction():
        run_id = reg.insert("genai_runs", {
            "submission_id": submission_id, "mode": transcript["mode"], "endpoint": transcript["endpoint"],
            "model": transcript.get("model", ""), "suite_version": transcript["suite_version"],
            "languages": json.dumps(transcript["languages"]), "samples": transcript["samples"], "tier": tier,
            "run_by": actor.user_id, "run_by_name": actor.display_name or actor.username, "created_at": now_iso(),
            "transcript": canonical, "transcript_sha256": digest,
            "result": result.model_dump_json(exclude={"entries"}), "verdict": result.verdict,
            "policy_version": result.policy_version})
        reg.record(actor, "genai.run_saved", "submission" if submission_id else "genai_run",
                   submission_id or run_id, {"run_id": run_id, "transcript_sha256": digest,
                                             "suite_version": transcript["suite_version"], "verdict": result.verdict,
                                             "mode": transcript["mode"]})
    return _stored(reg.one("SELECT * FROM genai_runs WHERE id = ?", (run_id,))), result


def run_for_submission(reg: Registry, actor: Actor, secrets: SecretBox, submission_id: int, suites: list[Suite],
                       langs: list[str], *, samples: int = 1, progress: Callable[[int, int], None] | None = None,
                       transport=None) -> tuple[StoredRun, _score.RunResult]:
    """Run suites live against the submission's stored endpoint and store the transcript."""
    _may(reg, actor, "genai.run", submission_id)
    row = reg.one("SELECT * FROM genai_endpoints WHERE submission_id = ?", (submission_id,))
    if row is None:
        raise WorkbenchError(NO_ENDPOINT)
    key = secrets.open(row["api_key_enc"]) if row["api_key_enc"] is not None else None
    opts = _runner.RunOptions(model=row["model"], api_key=key, allow_private=is_demo(reg), transport=transport)
    transcript = _runner.run_live(suites, langs, row["url"], opts, samples=samples, progress=progress)
    return save_run(reg, actor, transcript, submission_id=submission_id)


def _stored(row: dict) -> StoredRun:
    return StoredRun(id=row["id"], submission_id=row["submission_id"], mode=row["mode"], endpoint=row["endpoint"],
                     model=row["model"], suite_version=row["suite_version"], languages=json.loads(row["languages"]),
                     samples=row["samples"], tier=row["tier"], run_by_name=row["run_by_name"],
                     created_at=row["created_at"], transcript_sha256=row["transcript_sha256"], verdict=row["verdict"],
                     policy_version=row["policy_version"])


def _row(reg: Registry, actor: Actor, run_id: int) -> dict:
    row = reg.one("SELECT * FROM genai_runs WHERE id = ?", (run_id,))
    if row is None:
        raise NotFound(NO_RUN, id=run_id)
    try:
        _may(reg, actor, "genai.view", row["submission_id"])
    except (NotFound, PermissionDenied):
        raise NotFound(NO_RUN, id=run_id) from None
    return row


def get_run(reg: Registry, actor: Actor, run_id: int) -> StoredRun:
    return _stored(_row(reg, actor, run_id))


def list_runs(reg: Registry, actor: Actor, submission_id: int) -> list[StoredRun]:
    _may(reg, actor, "genai.view", submission_id)
    return [_stored(r) for r in reg.query("SELECT * FROM genai_runs WHERE submission_id = ? ORDER BY id",
                                          (submission_id,))]


def transcript(reg: Registry, actor: Actor, run_id: int) -> dict:
    """The frozen transcript, after checking that its hash still matches."""
    row = _row(reg, actor, run_id)
    data = json.loads(row["transcript"])
    if _runner.transcript_sha256(data) != row["transcript_sha256"]:
        raise WorkbenchError("genai.error.transcript_altered", id=run_id)
    return data


# --- ratings (human in the loop) ----------------------------------------------------------

def rate(reg: Registry, actor: Actor, run_id: int, entry_id: str, rating: str, note: str = "") -> None:
    """A reviewer's judgement of one answer (``ok`` or ``not_ok``); a later rating replaces theirs."""
    if actor is not SYSTEM:
        require(actor, "genai.rate")
    row = _row(reg, actor, run_id)
    _may(reg, actor, "genai.rate", row["submission_id"])
    if rating not in RATINGS:
        raise WorkbenchError("genai.error.bad_rating", rating=str(rating)[:20])
    if entry_id not in {e["entry_id"] for e in json.loads(row["transcript"])["entries"]}:
        raise NotFound(NO_ENTRY, id=entry_id[:80])
    with reg.transaction():
        reg.execute("INSERT INTO genai_ratings (run_id, entry_id, rating, note, rated_by, rated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(run_id, entry_id, rated_by) DO UPDATE SET "
                    "rating = excluded.rating, note = excluded.note, rated_at = excluded.rated_at",
                    (run_id, entry_id, rating, (note or "")[:2000], actor.user_id, now_iso()))
        reg.record(actor, "genai.answer_rated", "genai_run", run_id, {"entry_id": entry_id, "rating": rating})


def ratings(reg: Registry, actor: Actor, run_id: int) -> dict[str, str]:
    """The people's verdict per answer: the majority of the reviewers' ratings (a tie decides nothing)."""
    _row(reg, actor, run_id)
    votes: dict[str, Counter] = {}
    for r in reg.query("SELECT entry_id, rating FROM genai_ratings WHERE run_id = ?", (run_id,)):
        votes.setdefault(r["entry_id"], Counter())[r["rating"]] += 1
    out = {}
    for entry, count in votes.items():
        (top, n), *rest = count.most_common()
        if not rest or rest[0][1] < n:
            out[entry] = top
    return out


def result(reg: Registry, actor: Actor, run_id: int) -> _score.RunResult:
    """The run's result with the reviewers' ratings applied (recomputed from the frozen transcript)."""
    row = _row(reg, actor, run_id)
    data = transcript(reg, actor, run_id)
    return _score.summarise(data["entries"], _items_of(data), suite_version=row["suite_version"],
                            endpoint=row["endpoint"], model=row["model"], transcript_sha256=row["transcript_sha256"],
                            tier=row["tier"], ratings=ratings(reg, actor, run_id))


def latest_run(reg: Registry, actor: Actor, submission_id: int) -> StoredRun | None:
    runs = list_runs(reg, actor, submission_id)
    return runs[-1] if runs else None

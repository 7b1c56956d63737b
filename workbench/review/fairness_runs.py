"""Fairness test runs saved to a submission: parameters, input hash, results, versions.

A saved run is frozen (the database refuses updates) and is referenced from the review,
the committee's decision and the audit PDF by its result hash.
"""

from __future__ import annotations

import hashlib
import json
from typing import Callable

from pydantic import BaseModel

from ..registry.db import Registry
from ..errors import NotFound
from ..fairness import AuditResult, AuditSpec, run_audit
from ..registry.models import Actor, Role, now_iso
from ..registry.permissions import require
from ..intake.reader import read_table
from ..intake.submissions import get_attachment, get_submission, is_assigned

NO_RUN = "fpanel.run_not_found"
NOT_OUTPUTS = "fpanel.not_outputs"


class SavedRun(BaseModel):
    id: int
    submission_id: int
    attachment_sha256: str
    attachment_name: str = ""
    run_by: int
    created_at: str
    spec: AuditSpec
    result: AuditResult
    verdict: str
    engine_version: str
    policy_version: str
    result_hash: str


def _require_run(reg: Registry, actor: Actor, submission_id: int) -> None:
    require(actor, "fairness.run")
    get_submission(reg, actor, submission_id)
    if actor.role is Role.REVIEWER and not is_assigned(reg, actor.user_id, submission_id):
        raise NotFound("sub.not_found", id=submission_id)


def run_and_save(reg: Registry, actor: Actor, submission_id: int, attachment_id: int, spec: AuditSpec, *,
                 store, progress: Callable[[float], None] | None = None) -> SavedRun:
    """Read the submission's output file, run the audit, and save the frozen result."""
    _require_run(reg, actor, submission_id)
    att = get_attachment(reg, actor, attachment_id)
    if att.submission_id != submission_id or att.purpose != "outputs":
        raise NotFound(NOT_OUTPUTS)
    from ..fairness._stream import stream_audit  # CSV/Parquet records: by batches, in constant memory

    result = stream_audit(store.path(att.sha256), spec, input_sha256=lambda: att.sha256, progress=progress)
    if result is None:
        result = run_audit(read_table(store.path(att.sha256)), spec, input_sha256=att.sha256, progress=progress)
    result_json = result.model_dump_json()
    digest = hashlib.sha256(result_json.encode()).hexdigest()
    with reg.transaction():
        run_id = reg.insert("fairness_runs", {
            "submission_id": submission_id, "attachment_sha256": att.sha256, "run_by": actor.user_id,
            "created_at": now_iso(), "spec": spec.model_dump_json(), "result": result_json,
            "verdict": result.verdict, "engine_version": result.engine_version,
            "policy_version": result.policy_version, "result_hash": digest})
        reg.record(actor, "fairness.run_saved", "submission", submission_id,
                   {"run_id": run_id, "input_sha256": att.sha256, "verdict": result.verdict, "result_hash": digest,
                    "engine_version": result.engine_version, "policy_version": result.policy_version})
    return get_run(reg, actor, run_id)


def _saved(row: dict) -> SavedRun:
    return SavedRun(
        id=row["id"], submission_id=row["submission_id"], attachment_sha256=row["attachment_sha256"],
        attachment_name=row.get("attachment_name") or "", run_by=row["run_by"], created_at=row["created_at"],
        spec=AuditSpec.model_validate_json(row["spec"]), result=AuditResult.model_validate_json(row["result"]),
        verdict=row["verdict"], engine_version=row["engine_version"], policy_version=row["policy_version"],
        result_hash=row["result_hash"])


_SELECT = ("SELECT r.*, (SELECT original_name FROM attachments a WHERE a.sha256 = r.attachment_sha256 "
           "AND a.submission_id = r.submission_id LIMIT 1) AS attachment_name FROM fairness_runs r")


def get_run(reg: Registry, actor: Actor, run_id: int) -> SavedRun:
    row = reg.one(_SELECT + " WHERE r.id = ?", (run_id,))
    if row is None:
        raise NotFound(NO_RUN, id=run_id)
    get_submission(reg, actor, row["submission_id"])
    return _saved(row)


def list_runs(reg: Registry, actor: Actor, submission_id: int) -> list[SavedRun]:
    get_submission(reg, actor, submission_id)
    return [_saved(r) for r in reg.query(_SELECT + " WHERE r.submission_id = ? ORDER BY r.id", (submission_id,))]


def latest_runs(reg: Registry, actor: Actor, submission_id: int) -> list[SavedRun]:
    """The newest run per input file: what the committee's decision rests on."""
    newest: dict[str, SavedRun] = {}
    for run in list_runs(reg, actor, submission_id):
        newest[run.attachment_sha256] = run
    return list(newest.values())


def result_json(run: SavedRun, lang: str = "kk") -> str:
    return json.dumps(run.result.to_json_dict(lang), ensure_ascii=False, indent=2)

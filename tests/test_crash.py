"""SIGKILL at random moments during decisions and uploads (issue 11: nothing lost, nothing half-written).

A template home holds submissions waiting for the committee and a draft that takes
uploads. Each trial copies it, forks a real child process that decides and uploads in a
loop, and kills it with SIGKILL after a seeded random delay: no exception handler, no
``finally``, no rollback code runs in the child. The parent then opens the registry the
way the server would at start and checks: SQLite's integrity, the event chain, that every
decision has exactly its label and signed PDF, that every recorded upload's file is there
with its hash, and that the start-up sweep leaves no orphan or temporary file.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import time
from pathlib import Path

import pytest

from workbench.decision import decisions
from workbench.intake import submissions as subs
from workbench.registry.db import Registry
from workbench.decision.decisions import DecisionInput, Vote
from workbench.errors import WorkbenchError
from workbench.services import Workbench

from conftest import COMPLETE_DOSSIER
from conftest import home_env
from test_decisions import TODAY, Committee

TRIALS = 52
SEED = 20261122
N_UPLOADS = 3

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork() for a fast real child process")


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    with home_env(tmp_path_factory.mktemp("crash-template")) as home:  # sets the public URL too
        wb = Workbench.open(home)
        wb.keys.ensure_demo()
        c = Committee(wb)
        ids = [c.at_committee(tier="minimal", model_type="other", tests=False)]
        draft = subs.create_submission(wb.registry, c.vendor, COMPLETE_DOSSIER)
        wb.close()
        yield home, c, ids, draft.id


def _work(home: Path, c: Committee, ids: list[int], draft_id: int, seed: int, kind: str) -> None:
    """What the child does until it is killed: one decision, or a few uploads."""
    wb = Workbench.open(home)
    rng = random.Random(seed)
    if kind == "decision":
        decisions.record_decision(wb, c.secretary, ids[0], DecisionInput(
            outcome="approve", votes=[Vote(member="A", vote="for")], rationale="x"), today=TODAY)
    else:
        for step in range(N_UPLOADS):
            data = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + rng.randbytes(2_000_000) + b"\n%%EOF\n"
            subs.add_attachment(wb.registry, c.vendor, draft_id, data, f"evidence-{seed}-{step}.pdf",
                                purpose="document", store=wb.store)
    wb.close()


def _run_child(home: Path, c, ids, draft_id, seed: int, kind: str, kill_after: float | None) -> tuple[bool, float]:
    """Fork a child doing ``_work``; SIGKILL it after ``kill_after`` seconds. Returns
    (was it killed before finishing, how long it ran)."""
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: exit without any cleanup of the parent's (pytest's) state
        code = 0
        try:
            _work(home, c, ids, draft_id, seed, kind)
        except BaseException:  # pragma: no cover - reported through the exit code
            code = 3
        os._exit(code)
    killed = False
    if kill_after is not None:
        deadline = start + kill_after
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                assert os.waitstatus_to_exitcode(status) == 0
                return False, time.monotonic() - start
            time.sleep(0.002)
        os.kill(pid, signal.SIGKILL)
        killed = True
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    killed = killed and code != 0  # it may have finished just before the signal
    assert code == (-signal.SIGKILL if killed else 0), code
    return killed, time.monotonic() - start


def _check(home: Path, c, n_decisions: int = 1) -> dict:
    """Everything a restart must find whole. Returns what the sweep had to clean."""
    wb = Workbench.open(home)  # WAL recovery happens here, as at a server start
    reg = wb.registry
    assert reg.one("PRAGMA integrity_check")["integrity_check"] == "ok"
    assert reg.verify_log().ok
    # decisions: all or nothing, each with its label and signed PDF and events
    decided = reg.query("SELECT d.id, d.submission_id, d.label_id, d.pdf_sha256, s.status FROM decisions d "
                        "JOIN submissions s ON s.id = d.submission_id")
    assert len({d["submission_id"] for d in decided}) == len(decided)
    for d in decided:
        assert d["status"] == "approved" and d["label_id"] and d["pdf_sha256"]
        pdf = reg.one("SELECT sha256, pdf FROM audit_pdfs WHERE decision_id = ?", (d["id"],))
        assert pdf["sha256"] == d["pdf_sha256"] == hashlib.sha256(pdf["pdf"]).hexdigest()
        assert reg.one("SELECT status FROM labels WHERE id = ?", (d["label_id"],))["status"] == "active"
    assert reg.one("SELECT count(*) AS n FROM labels")["n"] == len(decided)
    assert sum(e.action == "decision.recorded" for e in reg.events("submission")) == len(decided)
    undecided = reg.query("SELECT id FROM submissions WHERE status = 'committee'")
    assert len(undecided) + len(decided) == n_decisions
    # the audit folder is restored from the database; no temporary file stays
    decisions.write_audit_files(wb, stale_after=0)  # at start nothing else writes: all temp files are stale
    for row in reg.query("SELECT file_name, sha256 FROM audit_pdfs"):
        assert hashlib.sha256((wb.home.audits / row["file_name"]).read_bytes()).hexdigest() == row["sha256"]
    assert not list(wb.home.audits.glob("*.part"))
    # uploads: every record has its file, whole; the sweep removes what no record names
    attachments = reg.query("SELECT sha256 FROM attachments")
    assert sum(e.action == "attachment.added" for e in reg.events("submission")) == len(attachments)
    for a in attachments:
        assert wb.store.verify(a["sha256"])
    swept = subs.sweep_orphan_files(reg, wb.store, min_age_seconds=0)
    left = [p for p in wb.store.files.rglob("*") if p.is_file()]
    assert sorted(p.name for p in left) == sorted({a["sha256"] for a in attachments})
    wb.close()
    return {"swept": len(swept), "decisions": len(decided), "uploads": len(attachments)}


def test_sigkill_at_random_points_during_decisions_and_uploads_leaves_nothing_half_written(template, tmp_path):
    home, c, ids, draft_id = template
    full = {}
    for kind, expected in (("decision", {"swept": 0, "decisions": 1, "uploads": 0}),
                           ("upload", {"swept": 0, "decisions": 0, "uploads": N_UPLOADS})):
        calibration = tmp_path / f"calibration-{kind}"  # how long the work takes here, unkilled
        shutil.copytree(home, calibration)
        _, full[kind] = _run_child(calibration, c, ids, draft_id, 0, kind, kill_after=None)
        assert _check(calibration, c) == expected
    rng = random.Random(SEED)
    killed = swept_trials = 0
    for trial in range(TRIALS):
        kind = ("decision", "upload")[trial % 2]
        trial_home = tmp_path / f"t{trial}"
        shutil.copytree(home, trial_home)
        was_killed, _ = _run_child(trial_home, c, ids, draft_id, trial + 1, kind,
                                   kill_after=rng.uniform(0, full[kind]))
        killed += was_killed
        result = _check(trial_home, c)
        swept_trials += result["swept"] > 0
        shutil.rmtree(trial_home)
    print(f"killed {killed}/{TRIALS} trials mid-work (decision {full['decision']:.2f} s, uploads "
          f"{full['upload']:.2f} s); integrity, chain and files intact {TRIALS}/{TRIALS}; orphans swept in "
          f"{swept_trials}")
    assert killed >= TRIALS * 0.8

"""Two (or more) people acting at once (issue 11, item 2 and item 3).

Decisions, label changes and logins race in several *processes*, as two secretaries'
browsers or two workers of the server would; every other state transition races in two
threads with their own connections. A small pause before each write transaction (a slow
machine) widens the window between reading a state and writing it, which is where the
old code let both actors through.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from workbench.registry import auth
from workbench.public import complaints, visitor as public
from workbench.decision import decisions, labels
from workbench.review import reviews
from workbench.intake import submissions as subs
from workbench.registry.db import Registry
from workbench.decision.decisions import DecisionInput, Vote
from workbench.errors import WorkbenchError
from workbench.registry.models import PUBLIC, Status
from workbench.services import Workbench

from conftest import COMPLETE_DOSSIER, PASSWORD
from conftest import home_env
from test_decisions import TODAY, Committee

N_SUBMISSIONS = 8

_PRELUDE = textwrap.dedent("""
    import contextlib, json, os, sys, time, datetime as dt
    from pathlib import Path
    from workbench.registry.db import Registry

    _orig = Registry.transaction

    @contextlib.contextmanager
    def _slow(self):  # a loaded machine: a pause between reading and writing
        if self._depth == 0:
            time.sleep(0.02)
        with _orig(self) as conn:
            yield conn

    Registry.transaction = _slow
    home, index = Path(sys.argv[1]), sys.argv[2]

    def ready_and_wait():
        (home / f"ready-{index}").touch()
        while not (home / "go").exists():
            time.sleep(0.002)
""")

_DECIDE = _PRELUDE + textwrap.dedent("""
    from workbench.decision import decisions
    from workbench.registry.auth import login
    from workbench.decision.decisions import DecisionInput, Vote
    from workbench.errors import WorkbenchError
    from workbench.services import Workbench

    wb = Workbench.open(home)
    secretary = login(wb.registry, "secretary", sys.argv[3])
    ids = json.loads(sys.argv[4])
    ready_and_wait()
    out = []
    for sub_id in ids:
        try:
            decisions.record_decision(wb, secretary, sub_id, DecisionInput(
                outcome="approve", votes=[Vote(member="A", vote="for")], rationale="x"), today=dt.date(2026, 11, 22))
            out.append("ok")
        except WorkbenchError as exc:
            out.append(exc.key)
    print(json.dumps(out))
""")

_LABEL = _PRELUDE + textwrap.dedent("""
    from workbench.decision import labels
    from workbench.registry.auth import login
    from workbench.errors import WorkbenchError
    from workbench.services import Workbench

    wb = Workbench.open(home)
    secretary = login(wb.registry, "secretary", sys.argv[3])
    ids = json.loads(sys.argv[4])
    ready_and_wait()
    out = []
    for label_id in ids:
        try:
            labels.change_label(wb.registry, secretary, label_id, "suspend", f"complaint seen by {index}")
            out.append("ok")
        except WorkbenchError as exc:
            out.append(exc.key)
    print(json.dumps(out))
""")

_LOGIN = _PRELUDE + textwrap.dedent("""
    from workbench.registry import auth
    from workbench.services import Workbench

    wb = Workbench.open(home)
    ready_and_wait()
    out = []
    for password in json.loads(sys.argv[4]):
        try:
            auth.login(wb.registry, sys.argv[3], password)
            out.append("ok")
        except auth.AuthError as exc:
            out.append(exc.key)
    print(json.dumps(out))
""")


def _race(home: Path, script: str, per_process: list[list[str]]) -> list[list[str]]:
    """Start one process per argument list, let them all go at once, return their outputs."""
    path = home / "race.py"
    path.write_text(script)
    (home / "go").unlink(missing_ok=True)
    for old in home.glob("ready-*"):
        old.unlink()
    procs = [subprocess.Popen([sys.executable, str(path), str(home), str(i), *args], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i, args in enumerate(per_process)]
    deadline = time.monotonic() + 120
    while len(list(home.glob("ready-*"))) < len(procs):
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs), \
            [p.stderr.read() for p in procs if p.poll() is not None]
        time.sleep(0.01)
    (home / "go").touch()
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    return outputs


@pytest.fixture(scope="module")
def raced(tmp_path_factory):
    """Eight submissions at the committee, decided by two secretaries' processes at once."""
    with home_env(tmp_path_factory.mktemp("race")) as home:  # sets the public URL too
        wb = Workbench.open(home)
        wb.keys.ensure_demo()
        committee = Committee(wb)
        ids = [committee.at_committee(tier="minimal", model_type="other", tests=False, name=f"Tool {i}")
               for i in range(N_SUBMISSIONS)]
        wb.close()
        outputs = _race(home, _DECIDE, [[PASSWORD, json.dumps(ids)]] * 2)
        yield home, ids, outputs


def test_the_same_submission_is_decided_twice_no_longer(raced):
    home, ids, outputs = raced
    reg = Registry(home / "registry.db")
    twice = reg.query("SELECT submission_id, count(*) AS n FROM decisions GROUP BY submission_id HAVING n > 1")
    per_sub = {r["submission_id"]: r["n"] for r in reg.query(
        "SELECT submission_id, count(*) AS n FROM labels GROUP BY submission_id")}
    pdfs = reg.one("SELECT count(*) AS n FROM audit_pdfs")["n"]
    print(f"decided twice {len(twice)}/{N_SUBMISSIONS}")
    assert twice == []  # the old code: 4 to 6 of 8 on this machine (8 of 8 in the outside test)
    assert per_sub == {i: 1 for i in ids} and pdfs == N_SUBMISSIONS
    assert sorted(outputs[0] + outputs[1]) == sorted(["ok"] * N_SUBMISSIONS + ["sub.bad_transition"] * N_SUBMISSIONS)
    assert reg.verify_log().ok
    reg.close()


def test_the_same_label_is_changed_twice_no_longer(raced):
    home, ids, _ = raced
    reg = Registry(home / "registry.db")
    label_ids = [r["id"] for r in reg.query("SELECT id FROM labels ORDER BY id")]
    reg.close()
    outputs = _race(home, _LABEL, [[PASSWORD, json.dumps(label_ids)]] * 2)
    reg = Registry(home / "registry.db")
    events = [e for e in reg.events("label") if e.action == "label.suspend"]
    print(f"label changed twice {len(events) - len(set(e.subject_id for e in events))}/{len(label_ids)}")
    assert sorted(e.subject_id for e in events) == label_ids  # once each
    assert sorted(outputs[0] + outputs[1]) == sorted(["ok"] * len(label_ids) + [labels.BAD_CHANGE] * len(label_ids))
    reg.close()


def test_parallel_logins_bypass_the_throttle_no_longer(raced):
    """Before: 64 guesses in parallel, all evaluated; a right password at guess 41 accepted."""
    home, _, _ = raced
    guesses = [[f"wrong-guess-{p}-{i}" for i in range(8)] for p in range(8)]
    guesses[5][7] = PASSWORD  # the right password, after at least 40 guesses of the storm
    outputs = _race(home, _LOGIN, [["vendor", json.dumps(g)] for g in guesses])
    flat = [r for out in outputs for r in out]
    evaluated = sum(r in ("ok", auth.BAD_LOGIN) for r in flat)
    print(f"guesses evaluated per throttle {evaluated}/64")
    assert evaluated <= auth.MAX_FAILURES and "ok" not in flat  # the late right password is not accepted either
    assert flat.count(auth.THROTTLED) == 64 - evaluated
    reg = Registry(home / "registry.db")
    row = reg.one("SELECT failures FROM login_throttle WHERE key LIKE 'as:vendor|%'")
    assert row["failures"] <= auth.MAX_FAILURES
    reg.close()


def test_two_processes_restoring_audit_files_at_once_do_not_trip_over_each_other(raced):
    """Each decision copies the signed PDFs to audits/ after its commit; two of them at once
    used to delete each other's temporary file ("stale") and fail after the commit."""
    home, _, _ = raced
    errors = []
    for _ in range(5):
        for pdf in (home / "audits").glob("*.pdf"):
            pdf.unlink()

        def copy():
            wb = Workbench.open(home)
            try:
                decisions.write_audit_files(wb)
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(repr(exc))
            finally:
                wb.close()

        threads = [threading.Thread(target=copy) for _ in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    assert errors == []
    reg = Registry(home / "registry.db")
    for row in reg.query("SELECT file_name, sha256 FROM audit_pdfs"):
        import hashlib

        assert hashlib.sha256((home / "audits" / row["file_name"]).read_bytes()).hexdigest() == row["sha256"]
    reg.close()


# -- every other transition: two actors in two threads with their own connections -------------

@contextlib.contextmanager
def _slow_writes():
    original = Registry.transaction

    @contextlib.contextmanager
    def slow(self):
        if self._depth == 0:
            time.sleep(0.03)
        with original(self) as conn:
            yield conn

    Registry.transaction = slow
    try:
        yield
    finally:
        Registry.transaction = original


def _two_at_once(home: Path, first, second) -> list[str]:
    results: list[str] = ["", ""]
    barrier = threading.Barrier(2)

    def run(i, fn):
        wb = Workbench.open(home)
        try:
            barrier.wait()
            fn(wb)
            results[i] = "ok"
        except WorkbenchError as exc:
            results[i] = exc.key
        finally:
            wb.close()

    with _slow_writes():
        threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate((first, second))]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    return results


@pytest.fixture
def c(home):
    wb = Workbench.open(home)
    wb.keys.ensure_demo()
    yield Committee(wb)
    wb.close()


def _count(c, action: str, subject_type: str = "submission") -> int:
    return sum(e.action == action for e in c.wb.registry.events(subject_type))


def _case_submit(c):
    sub = subs.create_submission(c.wb.registry, c.vendor, COMPLETE_DOSSIER)
    act = lambda wb: subs.submit(wb.registry, c.vendor, sub.id)  # noqa: E731
    return act, act, "submission.submitted", "submission"


def _case_screen(c):
    sub = subs.create_submission(c.wb.registry, c.vendor, COMPLETE_DOSSIER)
    subs.submit(c.wb.registry, c.vendor, sub.id)
    return (lambda wb: subs.screen(wb.registry, c.secretary, sub.id, complete=True),
            lambda wb: subs.screen(wb.registry, c.secretary, sub.id, complete=False, reasons="Missing DPIA"),
            ("submission.screen_complete", "submission.screen_return"), "submission")


def _case_answer(c):
    sub = subs.create_submission(c.wb.registry, c.vendor, COMPLETE_DOSSIER)
    subs.submit(c.wb.registry, c.vendor, sub.id)
    subs.screen(c.wb.registry, c.secretary, sub.id, complete=True)
    subs.ask_clarification(c.wb.registry, c.secretary, sub.id, "Which data?")
    act = lambda wb: subs.answer_clarification(wb.registry, c.vendor, sub.id, "Grades only.")  # noqa: E731
    return act, act, "submission.answer", "submission"


def _case_to_committee(c):
    sub_id = c.at_committee(tier="minimal", model_type="other", tests=False)
    c.wb.registry.execute("UPDATE submissions SET status = 'in_review' WHERE id = ?", (sub_id,))
    act = lambda wb: reviews.send_to_committee(wb.registry, c.secretary, sub_id)  # noqa: E731
    return act, act, "submission.to_committee", "submission"


def _case_sign_off(c):
    sub_id = c.at_committee(tier="minimal", model_type="other", tests=False)
    c.wb.registry.execute("UPDATE submissions SET status = 'in_review' WHERE id = ?", (sub_id,))
    c.wb.registry.execute("UPDATE reviews SET status = 'draft', signed_at = NULL WHERE reviewer_id = ?",
                          (c.r1.user_id,))
    act = lambda wb: reviews.sign_off(wb.registry, c.r1, sub_id, "approve", "fine")  # noqa: E731
    return act, act, "review.signed_off", "submission"


def _case_appeal(c):
    sub_id = c.at_committee(tier="minimal", model_type="other", tests=False)
    c.decide(sub_id, outcome="reject")
    act = lambda wb: subs.appeal(wb.registry, c.vendor, sub_id, "The tests were not ours.")  # noqa: E731
    return act, act, "submission.appeal", "submission"


def _case_decide_appeal(c):
    sub_id = c.at_committee(tier="minimal", model_type="other", tests=False)
    c.decide(sub_id, outcome="reject")
    subs.appeal(c.wb.registry, c.vendor, sub_id, "The tests were not ours.")
    return (lambda wb: subs.decide_appeal(wb.registry, c.secretary, sub_id, re_review=True, note="Look again"),
            lambda wb: subs.decide_appeal(wb.registry, c.secretary, sub_id, re_review=False, note="Stands"),
            "submission.appeal_decided", "submission")


def _case_resolve_complaint(c):
    challenge = public.new_challenge(c.wb.registry, source="198.51.100.1")
    filed = public.file_complaint(c.wb.registry, PUBLIC, body="Ads shown to pupils", challenge_token=challenge.token,
                                  challenge_answer=str(challenge.a + challenge.b), source="198.51.100.1")
    return (lambda wb: complaints.resolve_complaint(wb.registry, c.secretary, filed.reference, "dismissed", "No ads"),
            lambda wb: complaints.resolve_complaint(wb.registry, c.secretary, filed.reference, "dismissed", "Seen"),
            "complaint.resolved", "complaint")


def _case_set_tier_vs_committee(c):
    sub_id = c.at_committee(tier="minimal", model_type="other", tests=False)
    c.wb.registry.execute("UPDATE submissions SET status = 'in_review' WHERE id = ?", (sub_id,))
    return (lambda wb: reviews.send_to_committee(wb.registry, c.secretary, sub_id),
            lambda wb: subs.set_tier(wb.registry, c.secretary, sub_id, "minimal", reason="re-tier at the last minute"),
            None, "submission")


CASES = {"submit": _case_submit, "screen": _case_screen, "answer": _case_answer, "to_committee": _case_to_committee,
         "sign_off": _case_sign_off, "appeal": _case_appeal, "decide_appeal": _case_decide_appeal,
         "resolve_complaint": _case_resolve_complaint, "set_tier_vs_committee": _case_set_tier_vs_committee}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_transition_taken_by_two_actors_at_once_happens_once(c, case):
    first, second, actions, subject = CASES[case](c)
    before = {a: _count(c, a, subject) for a in ((actions,) if isinstance(actions, str) else actions or ())}
    results = _two_at_once(c.wb.home.root, first, second)
    assert results.count("ok") >= 1, results
    if case == "set_tier_vs_committee":
        # either order is fine, but a tier set after the committee stage began is refused
        tier_event = [e for e in c.wb.registry.events("submission") if e.action == "submission.tier_set"]
        to_committee = [e for e in c.wb.registry.events("submission") if e.action == "submission.to_committee"]
        assert not (tier_event and to_committee and tier_event[-1].id > to_committee[-1].id)
        return
    assert results.count("ok") == 1, results
    after = {a: _count(c, a, subject) for a in before}
    assert sum(after.values()) - sum(before.values()) == 1
    assert c.wb.registry.verify_log().ok

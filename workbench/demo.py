"""Demo organisations, accounts and submissions, only ever in a demo registry.

A registry is a demo registry iff its meta ``demo`` is ``"1"``: set when it is created by
``workbench init --demo`` or ``workbench serve --demo`` on an empty home, never later. A
real registry (one with data and without that mark) never receives demo accounts, whose
published password would let anyone in, and never signs with the demo key.

The API for ``init`` and ``serve``:

- :func:`is_demo_registry` – the mark;
- :func:`ensure_demo` – mark an empty registry as a demo, create the demo key and load the
  demo data once; refuses (``DemoError``) on a registry that already holds real data;
- :func:`ensure_keys` – the signing key a registry needs: the demo key in a demo registry;
  elsewhere a key under the operator's passphrase, or nothing yet (signing then says what
  to do).

The model-output files come from ``fixtures/`` (built by ``fixtures/build_fixtures.py``).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from .registry import auth
from .intake import submissions as subs
from .errors import WorkbenchError
from .registry.models import SYSTEM, make_bin
from .services import Workbench

NOT_A_DEMO = "ops.demo.not_a_demo_registry"
_DATA_TABLES = ("users", "organisations", "submissions", "labels", "complaints")


class DemoError(WorkbenchError):
    """Demo data was asked for in a registry that holds real data."""

DEMO_PASSWORD = "demo-pass-2026"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

#: username, role, display name, organisation key (vendors only)
DEMO_USERS: tuple[tuple[str, str, str, str | None], ...] = (
    ("admin", "admin", "Әкімші (Admin)", None),
    ("secretary", "secretary", "Айгүл Сәрсенова", None),
    ("reviewer1", "reviewer", "Ерлан Қасымов", None),
    ("reviewer2", "reviewer", "Мария Иванова", None),
    ("reviewer3", "reviewer", "Гүлнар Әбдіқалықова", None),
    ("vendor1", "vendor", "Дана Ахметова (BilimTech)", "bilimtech"),
    ("vendor2", "vendor", "Арман Серікбаев (Oqu AI)", "oqu"),
)


def is_demo_registry(registry) -> bool:
    """Whether the registry was created as a demo (``init --demo`` or ``serve --demo``)."""
    return registry.get_meta("demo") == "1"


def has_data(registry) -> bool:
    """Whether the registry holds anything a person entered (accounts, organisations, tools...)."""
    return any(registry.one(f"SELECT 1 AS x FROM {table} LIMIT 1") for table in _DATA_TABLES)


def mark_demo(registry) -> None:
    """Make an empty registry a demo registry; a real one with data is refused.

    Raises
    ------
    DemoError
        ``ops.demo.not_a_demo_registry``: the registry holds data and is not a demo.
    """
    with registry.transaction():  # the check and the mark together: no one adds data between
        if is_demo_registry(registry):
            return
        if has_data(registry):
            raise DemoError(NOT_A_DEMO)
        registry.set_meta("demo", "1")


def ensure_keys(wb: Workbench, passphrase: str | None = None):
    """The signing key the registry needs, created if missing and possible.

    In a demo registry: the demo key (under ``passphrase``, the environment's, or the
    published demo passphrase). Elsewhere: the committee's own key, created only under a
    passphrase of the operator (``passphrase`` or ``WORKBENCH_KEY_PASSPHRASE``); without one
    nothing is created and ``None`` is returned, so the first signature asks for a key.

    Returns
    -------
    CertificateInfo | None
        The key in use, or None when a real registry has none yet.
    """
    import os

    from .decision.signing import ENV_PASSPHRASE

    keys = wb.keys
    if is_demo_registry(wb.registry):
        return keys.ensure_demo(passphrase)
    if keys.has_key():
        return keys.describe()
    if not (passphrase or os.environ.get(ENV_PASSPHRASE)):
        return None
    return keys.create_key(passphrase)


def ensure_demo(wb: Workbench) -> bool:
    """Make ``wb`` a demo registry with its key and data; load the data once.

    Returns True if the data was loaded now, False if it was already there.

    Raises
    ------
    DemoError
        The registry holds real data: demo accounts are never added to it.
    """
    reg = wb.registry
    mark_demo(reg)
    ensure_keys(wb)
    if reg.one("SELECT id FROM users WHERE username = 'secretary'"):
        return False
    spec = yaml.safe_load((FIXTURES / "demo_submissions.yaml").read_text(encoding="utf-8"))
    with reg.transaction():  # all of the demo or none of it
        reg.set_meta("demo", "1")  # a demo registry: its QR codes may point to where it is served
        _load(wb, spec)
    return True


def _load(wb: Workbench, spec: dict) -> None:
    reg = wb.registry
    orgs = {}
    for org in spec["organisations"]:
        orgs[org["key"]] = subs.create_organisation(reg, SYSTEM, name=org["name"], bin=make_bin(org["bin_prefix"]),
                                                    contact_email=org.get("contact_email", ""))
    actors = {}
    for username, role, name, org_key in DEMO_USERS:
        user = auth.create_user(reg, SYSTEM, username=username, password=DEMO_PASSWORD, role=role,
                                display_name=name, org_id=orgs[org_key].id if org_key else None)
        actors[username] = user.as_actor()
    secretary = actors["secretary"]
    vendor_of = {"bilimtech": actors["vendor1"], "oqu": actors["vendor2"]}
    for item in spec["submissions"]:
        vendor = vendor_of[item["org"]]
        sub = subs.create_submission(reg, vendor, item["dossier"])
        if item.get("outputs"):
            data = (FIXTURES / item["outputs"]).read_bytes()
            subs.add_attachment(reg, vendor, sub.id, data, item["outputs"], purpose="outputs", store=wb.store)
        subs.submit(reg, vendor, sub.id)
        if item["status"] in ("in_review",):
            subs.screen(reg, secretary, sub.id, complete=True)
            for reviewer in item.get("reviewers", []):
                subs.assign_reviewer(reg, secretary, sub.id, actors[reviewer].user_id)
        if "review" in item:
            _review(wb, sub.id, item, [actors[r] for r in item["reviewers"]])
        if "decision" in item:
            _decide(wb, secretary, sub.id, item["decision"])


COMMITTEE = ("Айгүл Сәрсенова", "Ерлан Қасымов", "Мария Иванова", "Гүлнар Әбдіқалықова", "Бауыржан Оспанов")


def _review(wb: Workbench, sub_id: int, item: dict, reviewers: list) -> None:
    """Each assigned reviewer declares no conflict, classifies, answers and signs off."""
    from .review import fairness_runs, reviews, rules
    from .fairness import make_spec

    reg, plan = wb.registry, item["review"]
    for position, reviewer in enumerate(reviewers):
        subs.declare_conflict(reg, reviewer, sub_id, has_conflict=False)
        reviews.start_review(reg, reviewer, sub_id)
        checklist, questionnaire = reviews.frozen_documents(reg, reviewer, sub_id)
        answers = {q.id: q.id in plan["risk_yes"] for q in questionnaire.questions}
        tier = reviews.save_risk_answers(reg, reviewer, sub_id, answers).tier
        tool = subs.get_submission(reg, reviewer, sub_id).dossier.model_type or "other"
        for checklist_item in rules.applicable_items(checklist, tier, tool):
            if checklist_item.id in plan.get("partly", {}):
                reviews.save_answer(reg, reviewer, sub_id, checklist_item.id, "partly", plan["partly"][checklist_item.id])
            elif position == 1 and checklist_item.severity == "minor":
                # the second reviewer is stricter on minor points: real committees disagree
                reviews.save_answer(reg, reviewer, sub_id, checklist_item.id, "partly",
                                    "Documented only in part; advice for the vendor.")
            else:
                reviews.save_answer(reg, reviewer, sub_id, checklist_item.id, "meets",
                                    "Checked against the dossier and the vendor's documents.")
        reviews.sign_off(reg, reviewer, sub_id, plan["recommendation"],
                         "The tool meets the checklist; see the conditions and the fairness results.")
    if "fairness" in plan:
        outputs = subs.list_attachments(reg, reviewers[0], sub_id, purpose="outputs")
        spec = make_spec(tier=tier, n_boot=1000, seed=0, **plan["fairness"])
        fairness_runs.run_and_save(reg, reviewers[0], sub_id, outputs[-1].id, spec, store=wb.store)


def _decide(wb: Workbench, secretary, sub_id: int, plan: dict) -> None:
    import datetime as dt

    from .decision import decisions, labels
    from .review import reviews

    reviews.send_to_committee(wb.registry, secretary, sub_id)
    votes = [decisions.Vote(member=name, vote="for") for name in COMMITTEE[:4]]
    if plan.get("dissent"):
        votes.append(decisions.Vote(member=COMMITTEE[4], vote="against", reason=plan["dissent"]))
    day = dt.date.fromisoformat(plan["decided"])
    # Demo history: the tool was submitted some weeks before the meeting that decided it.
    submitted = dt.datetime.combine(day - dt.timedelta(days=plan.get("days_in_review", 45)), dt.time(9),
                                    dt.timezone.utc)
    wb.registry.update("submissions", sub_id, {"submitted_at": submitted.isoformat()})
    record = decisions.record_decision(wb, secretary, sub_id, decisions.DecisionInput(
        outcome=plan["outcome"], votes=votes, conditions=plan.get("conditions", []),
        scope=decisions.Scope(**plan["scope"]), rationale="Decided at the committee meeting after both reviews.",
        lang="kk"), today=day)
    if plan.get("then"):
        labels.change_label(wb.registry, secretary, record.label_id, plan["then"]["action"], plan["then"]["reason"],
                            today=day + dt.timedelta(days=30))


__all__ = ["DEMO_PASSWORD", "DEMO_USERS", "DemoError", "ensure_demo", "ensure_keys", "has_data", "is_demo_registry",
           "mark_demo"]

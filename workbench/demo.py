"""Demo organisations, accounts and submissions for a fresh registry.

``ensure_demo`` is idempotent: it does nothing if the demo secretary already exists. The
model-output files come from ``fixtures/`` (built by ``fixtures/build_fixtures.py``).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from . import auth, submissions as subs
from .models import SYSTEM, make_bin
from .services import Workbench

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


def ensure_keys(wb: Workbench) -> None:
    """Create the demo signing key on first run (an operator can import a real one)."""
    wb.keys.ensure_demo()


def ensure_demo(wb: Workbench) -> bool:
    """Load the demo data once. Returns True if it was loaded now."""
    reg = wb.registry
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
    from . import fairness_runs, reviews, rules
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

    from . import decisions, labels, reviews

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


__all__ = ["DEMO_PASSWORD", "DEMO_USERS", "ensure_demo", "ensure_keys"]

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


__all__ = ["DEMO_PASSWORD", "DEMO_USERS", "ensure_demo", "ensure_keys"]

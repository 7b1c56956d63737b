"""Shared fixtures: an in-memory registry, a temporary workbench home, demo actors."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from workbench.registry import auth
from workbench.intake import submissions
from workbench.registry.db import Registry
from workbench.registry.models import SYSTEM, Role, make_bin

REPO = Path(__file__).resolve().parents[1]
UCI_DIR = REPO / "fixtures" / "uci-student-performance"  # Cortez & Silva 2008, doi:10.24432/C5TG7T, CC BY 4.0
PASSWORD = "correct-horse-1"
PDFSIG_VALID = "Signature Validation: Signature is Valid."


def pdfsig(pdf: bytes | Path, folder: Path | None = None) -> str:
    """poppler's independent verdict on a PDF's signatures (stdout and stderr)."""
    import subprocess

    if isinstance(pdf, bytes):
        path = (folder or Path.cwd()) / "check.pdf"
        path.write_bytes(pdf)
    else:
        path = pdf
    result = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=60)
    return result.stdout + result.stderr


@contextlib.contextmanager
def home_env(home: Path, passphrase: str = "test-passphrase"):
    """``WORKBENCH_HOME`` and the key passphrase set for a module-scoped home, restored after."""
    import os

    from workbench.config import Home

    old = {k: os.environ.get(k) for k in ("WORKBENCH_HOME", "WORKBENCH_KEY_PASSPHRASE")}
    os.environ.update(WORKBENCH_HOME=str(home), WORKBENCH_KEY_PASSPHRASE=passphrase)
    registry = Registry(Home(home).db_path)
    registry.set_meta("public_url", TEST_PUBLIC_URL)  # configured like production
    registry.close()
    try:
        yield home
    finally:
        for key, value in old.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch):
    """Tests create many accounts; the production Argon2 cost is tested in test_auth.py."""
    from argon2 import PasswordHasher

    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


#: The public URL test registries print into QR codes (a registry refuses to sign without one).
TEST_PUBLIC_URL = "https://ai-safe.edu.kz"


@pytest.fixture
def reg() -> Registry:
    r = Registry(memory=True)
    r.set_meta("public_url", TEST_PUBLIC_URL)
    yield r
    r.close()


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path))
    monkeypatch.setenv("WORKBENCH_KEY_PASSPHRASE", "test-passphrase")
    from workbench.config import Home

    Registry(Home(tmp_path).db_path).set_meta("public_url", TEST_PUBLIC_URL)  # configured like production
    return tmp_path


class People:
    """Two vendor organisations, three reviewers, a secretary and an admin."""

    def __init__(self, reg: Registry) -> None:
        self.org_a = submissions.create_organisation(reg, SYSTEM, name="Org A", bin=make_bin("10000000001"))
        self.org_b = submissions.create_organisation(reg, SYSTEM, name="Org B", bin=make_bin("10000000002"))

        def user(name: str, role: Role, org=None):
            return auth.create_user(reg, SYSTEM, username=name, password=PASSWORD, role=role,
                                    display_name=name.title(), org_id=org.id if org else None).as_actor()

        self.vendor_a = user("vendor_a", Role.VENDOR, self.org_a)
        self.vendor_a2 = user("vendor_a2", Role.VENDOR, self.org_a)
        self.vendor_b = user("vendor_b", Role.VENDOR, self.org_b)
        self.reviewer1 = user("reviewer1", Role.REVIEWER)
        self.reviewer2 = user("reviewer2", Role.REVIEWER)
        self.reviewer3 = user("reviewer3", Role.REVIEWER)
        self.secretary = user("secretary", Role.SECRETARY)
        self.admin = user("admin", Role.ADMIN)


@pytest.fixture
def people(reg) -> People:
    return People(reg)


COMPLETE_DOSSIER = {
    "tool_name": "Test tool", "tool_version": "1.0", "description_kk": "Сипаттама", "description_ru": "Описание",
    "intended_purpose": "Testing", "users": ["learners"], "grades": [5, 6], "subjects": ["math"],
    "interface_languages": ["kk", "ru"], "content_languages": ["kk"], "deployment": "cloud",
    "data_storage_location": "Kazakhstan", "data_processing_location": "Kazakhstan",
    "data_categories": ["identity", "children"], "retention": "1 year", "model_type": "classifier",
    "decision_mode": "teacher_confirms", "human_oversight": "Teacher confirms", "known_limitations": "Few",
}


@pytest.fixture
def dossier() -> dict:
    return dict(COMPLETE_DOSSIER)

"""The workbench's data model: every record that crosses a module boundary.

Constraints live in ``Field(...)``; the database stores these models and the pages show them.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Role(StrEnum):
    PUBLIC = "public"
    VENDOR = "vendor"
    REVIEWER = "reviewer"
    SECRETARY = "secretary"
    ADMIN = "admin"


class Status(StrEnum):
    """Where a submission is in the review (SPEC section 3)."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    SCREENING = "screening"
    RETURNED = "returned"
    IN_REVIEW = "in_review"
    CLARIFICATION = "clarification"
    COMMITTEE = "committee"
    APPROVED = "approved"
    APPROVED_WITH_CONDITIONS = "approved_with_conditions"
    REJECTED = "rejected"
    APPEAL = "appeal"


class Actor(BaseModel):
    """Who is acting: a logged-in user, or the anonymous public."""

    model_config = ConfigDict(frozen=True)

    user_id: int | None = None
    username: str = "public"
    display_name: str = ""
    role: Role = Role.PUBLIC
    org_id: int | None = None

    @property
    def is_public(self) -> bool:
        return self.role is Role.PUBLIC


PUBLIC = Actor()
SYSTEM = Actor(user_id=None, username="system", role=Role.ADMIN)


class User(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    org_id: int | None = None
    active: bool = True
    created_at: str

    def as_actor(self) -> Actor:
        return Actor(
            user_id=self.id,
            username=self.username,
            display_name=self.display_name,
            role=self.role,
            org_id=self.org_id,
        )


_BIN_RE = re.compile(r"^\d{12}$")


def bin_is_valid(value: str) -> bool:
    """Kazakhstan's 12-digit BIN/IIN with its check digit (weights 1..11, then 3..11,1,2)."""
    if not _BIN_RE.match(value or ""):
        return False
    digits = [int(c) for c in value]
    first = sum(d * w for d, w in zip(digits[:11], range(1, 12))) % 11
    if first == 10:
        weights = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]
        first = sum(d * w for d, w in zip(digits[:11], weights)) % 11
        if first == 10:
            return False
    return first == digits[11]


def make_bin(prefix11: str) -> str:
    """Complete an 11-digit prefix with its check digit (for demo data and tests)."""
    for last in "0123456789":
        if bin_is_valid(prefix11 + last):
            return prefix11 + last
    raise ValueError(f"no valid check digit for {prefix11}")


class Organisation(BaseModel):
    id: int
    name: str = Field(min_length=2, max_length=200)
    bin: str
    contact_email: str = ""
    contact_phone: str = ""
    created_at: str


class Event(BaseModel):
    id: int
    ts: str
    actor: str
    action: str
    subject_type: str
    subject_id: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str


class LogCheck(BaseModel):
    """The result of walking the event chain."""

    ok: bool
    events: int
    first_broken_id: int | None = None
    problem: str | None = None  # catalogue key

    @field_validator("problem")
    @classmethod
    def _key(cls, v: str | None) -> str | None:
        return v


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def now_iso() -> str:
    return utcnow().isoformat()


# ---------------------------------------------------------------------------------------
# Dossier: what a vendor tells the committee about a tool (issue 3, SPEC section 2)
# ---------------------------------------------------------------------------------------

USER_GROUPS = ("learners", "teachers", "administrators", "parents")
DEPLOYMENTS = ("cloud", "on_premises", "device")
DATA_CATEGORIES = ("identity", "contact", "grades", "behaviour", "health", "special_needs",
                   "biometric", "voice", "images", "location", "children")
MODEL_TYPES = ("classifier", "scorer", "recommender", "generative", "other")
DECISION_MODES = ("no_decisions", "teacher_confirms", "automatic")
LANGS = ("kk", "ru", "en", "other")


class Dossier(BaseModel):
    """The vendor's description of a tool. Every field is optional while a draft is saved;
    ``missing_fields`` says what still blocks submission."""

    model_config = ConfigDict(extra="forbid")

    tool_name: str = Field("", max_length=200)
    tool_version: str = Field("", max_length=50)
    description_kk: str = Field("", max_length=5000)
    description_ru: str = Field("", max_length=5000)
    description_en: str = Field("", max_length=5000)
    intended_purpose: str = Field("", max_length=3000)
    # What parents read, in their language (``intended_purpose``/``retention`` are the fallback).
    intended_purpose_kk: str = Field("", max_length=3000)
    intended_purpose_ru: str = Field("", max_length=3000)
    intended_purpose_en: str = Field("", max_length=3000)
    users: list[str] = Field(default_factory=list)
    grades: list[int] = Field(default_factory=list)
    min_age: int | None = Field(None, ge=3, le=99)
    max_age: int | None = Field(None, ge=3, le=99)
    subjects: list[str] = Field(default_factory=list)
    interface_languages: list[str] = Field(default_factory=list)
    content_languages: list[str] = Field(default_factory=list)
    deployment: str = ""
    data_storage_location: str = Field("", max_length=300)
    data_processing_location: str = Field("", max_length=300)
    data_categories: list[str] = Field(default_factory=list)
    retention: str = Field("", max_length=500)
    retention_kk: str = Field("", max_length=500)
    retention_ru: str = Field("", max_length=500)
    retention_en: str = Field("", max_length=500)
    model_type: str = ""
    decision_mode: str = ""
    human_oversight: str = Field("", max_length=3000)
    known_limitations: str = Field("", max_length=3000)
    contact_person: str = Field("", max_length=200)

    @field_validator("users")
    @classmethod
    def _users(cls, v: list[str]) -> list[str]:
        return _subset(v, USER_GROUPS)

    @field_validator("data_categories")
    @classmethod
    def _cats(cls, v: list[str]) -> list[str]:
        return _subset(v, DATA_CATEGORIES)

    @field_validator("interface_languages", "content_languages")
    @classmethod
    def _langs(cls, v: list[str]) -> list[str]:
        return _subset(v, LANGS)

    @field_validator("grades")
    @classmethod
    def _grades(cls, v: list[int]) -> list[int]:
        if any(g < 0 or g > 12 for g in v):
            raise ValueError("grades are 0 (pre-school) to 12")
        return sorted(set(v))

    @field_validator("deployment")
    @classmethod
    def _deployment(cls, v: str) -> str:
        return _choice(v, DEPLOYMENTS)

    @field_validator("model_type")
    @classmethod
    def _model_type(cls, v: str) -> str:
        return _choice(v, MODEL_TYPES)

    @field_validator("decision_mode")
    @classmethod
    def _decision_mode(cls, v: str) -> str:
        return _choice(v, DECISION_MODES)


#: Fields a dossier needs before it can be submitted, in the order of the form's steps.
DOSSIER_STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("identity", ("tool_name", "tool_version", "description_kk", "description_ru", "intended_purpose")),
    ("audience", ("users", "grades", "subjects", "interface_languages", "content_languages")),
    ("data", ("deployment", "data_storage_location", "data_processing_location", "data_categories", "retention")),
    ("model", ("model_type", "decision_mode", "human_oversight", "known_limitations")),
)
REQUIRED_FIELDS: tuple[str, ...] = tuple(f for _, fields in DOSSIER_STEPS for f in fields)


def missing_fields(dossier: Dossier) -> list[str]:
    return [f for f in REQUIRED_FIELDS if getattr(dossier, f) in ("", [], None)]


def completeness(dossier: Dossier) -> float:
    return 1 - len(missing_fields(dossier)) / len(REQUIRED_FIELDS)


#: Dossier field -> EU AI Act annex VIII section A registration item (point number and name).
#: One intake serves the NAE review and an EU-style registration; docs/annex_viii.md lists it.
ANNEX_VIII_A: dict[str, str] = {
    "contact_person": "1-2. Name, address and contact details of the provider / person submitting",
    "tool_name": "4. AI system trade name and any additional unambiguous reference",
    "tool_version": "4. AI system trade name and any additional unambiguous reference (version)",
    "intended_purpose": "5. Description of the intended purpose of the AI system",
    "description_kk": "5-6. Description of the intended purpose, components and functions (Kazakh)",
    "description_ru": "5-6. Description of the intended purpose, components and functions (Russian)",
    "description_en": "5-6. Description of the intended purpose, components and functions (English)",
    "model_type": "6. Basic and concise description of the information used by the system and its operating logic",
    "data_categories": "6. Information used by the system (data, inputs)",
    "decision_mode": "6. Operating logic: how outputs are used in decisions",
    "status": "7. Status of the AI system (on the market / in service / no longer)",
    "deployment": "10. Member States / places in which the AI system is placed on the market or put into service",
    "data_storage_location": "10. Place of service: where data are stored (Kazakhstan's localisation rule)",
    "known_limitations": "12. Electronic instructions for use (limitations, for deployers)",
    "human_oversight": "12. Electronic instructions for use (human oversight measures)",
}


def _subset(values: list[str], allowed: tuple[str, ...]) -> list[str]:
    bad = [v for v in values if v not in allowed]
    if bad:
        raise ValueError(f"unknown value(s) {bad}; allowed: {list(allowed)}")
    return list(dict.fromkeys(values))


def _choice(value: str, allowed: tuple[str, ...]) -> str:
    if value and value not in allowed:
        raise ValueError(f"unknown value {value!r}; allowed: {list(allowed)}")
    return value


class Submission(BaseModel):
    id: int
    org_id: int
    org_name: str = ""
    created_by: int
    tool_name: str
    tool_version: str
    status: Status
    dossier: Dossier
    tier: str | None = None
    previous_id: int | None = None
    created_at: str
    updated_at: str
    submitted_at: str | None = None


class Attachment(BaseModel):
    id: int
    submission_id: int
    sha256: str
    original_name: str
    size: int
    kind: str
    media_type: str
    purpose: str
    uploaded_by: int
    uploaded_at: str
    message_id: int | None = None


class Message(BaseModel):
    id: int
    submission_id: int
    author_id: int
    author_name: str = ""
    author_role: str = ""
    kind: str
    item_id: str | None = None
    body: str
    created_at: str

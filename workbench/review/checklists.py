"""Checklists as data: the risk questionnaire and the principle checklist.

Both live as YAML under the repository's ``checklists/`` folder and are loaded through one
path: ``yaml.safe_load``, then a pydantic model with ``extra="forbid"``. Any problem, a YAML
syntax error or any number of schema violations, becomes ONE :class:`ChecklistError` that
lists ``location: problem`` for every error, in the reader's language.

A review freezes the checklist it used by storing ``checklist.model_dump(mode="json")`` and
:func:`content_hash` of it; :func:`parse_checklist` turns a frozen copy back into a model,
so later edits of the YAML never change a past review.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from ..errors import ValidationFailed, WorkbenchError
from ..i18n import normalise_language

# Message keys (compared against in the tests).
_INVALID = "checklists.invalid"
_UNREADABLE = "checklists.unreadable"
_YAML_SYNTAX = "checklists.problem.yaml_syntax"
_PROBLEM_PREFIX = "checklists.problem."
_PROBLEM_OTHER = "checklists.problem.other"
# Pydantic error types (and our own custom ones) that have a translated sentence.
_TRANSLATED_PROBLEMS = frozenset(
    {
        "missing",
        "extra_forbidden",
        "literal_error",
        "string_too_short",
        "string_type",
        "string_pattern_mismatch",
        "too_short",
        "list_type",
        "model_type",
        "dict_type",
        "duplicate_id",
        "id_prefix",
        "all_alone",
        "one_effect",
    }
)

CHECKLISTS_ENV: str = "WORKBENCH_CHECKLISTS"
PRINCIPLES_FILE: str = "principles.yaml"
RISK_FILE: str = "risk.yaml"

Tier = Literal["prohibited", "high", "limited", "minimal"]
TIERS: tuple[str, ...] = ("prohibited", "high", "limited", "minimal")  # most severe first
Factor = Literal["under_13", "special_data", "automated_decisions", "national_scale"]
FACTORS: tuple[str, ...] = ("under_13", "special_data", "automated_decisions", "national_scale")
ToolType = Literal["classifier", "scorer", "recommender", "generative", "other"]
TOOL_TYPES: tuple[str, ...] = ("classifier", "scorer", "recommender", "generative", "other")
Severity = Literal["critical", "major", "minor"]
SEVERITIES: tuple[str, ...] = ("critical", "major", "minor")

_ID = r"^[A-Z][A-Z0-9]*(\.[0-9]+)?$"
_VERSION = r"^[0-9]{4}\.[0-9]+$"


class ChecklistError(ValidationFailed):
    """A checklist file (or a frozen copy) cannot be read or does not match the schema."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LocalText(_Strict):
    """One text in Kazakh, Russian and English; none may be empty."""

    kk: str = Field(min_length=1)
    ru: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, lang: str | None) -> str:
        """The text in ``lang`` (Kazakh for an unknown language)."""
        return getattr(self, normalise_language(lang))


class Item(_Strict):
    """One question a reviewer answers with meets / partly / not met / not applicable."""

    id: str = Field(pattern=_ID, description="stable id such as P3.2")
    question: LocalText
    guidance: LocalText = Field(description="how the reviewer should judge the answer")
    evidence: LocalText = Field(description="what the vendor is expected to show")
    tiers: list[Tier] = Field(min_length=1)
    tool_types: list[ToolType | Literal["all"]] = Field(min_length=1)
    severity: Severity
    source: str = Field(min_length=3)

    @field_validator("tool_types")
    @classmethod
    def _all_alone(cls, value: list[str]) -> list[str]:
        if "all" in value and len(value) > 1:
            raise PydanticCustomError("all_alone", "'all' must be the only tool type")
        return value

    def applies_to(self, tier: str, tool_type: str) -> bool:
        """Whether the item is asked for a tool of this tier and type."""
        return tier in self.tiers and ("all" in self.tool_types or tool_type in self.tool_types)


class Section(_Strict):
    """A principle (or group of requirements) with its items."""

    id: str = Field(pattern=_ID)
    title: LocalText
    description: LocalText
    source: str = Field(min_length=3)
    items: list[Item] = Field(min_length=1)

    @model_validator(mode="after")
    def _item_ids_belong(self) -> Section:
        for item in self.items:
            if not item.id.startswith(self.id + "."):
                raise PydanticCustomError(
                    "id_prefix", "item {item} must start with {section}.", {"item": item.id, "section": self.id}
                )
        return self


class Checklist(_Strict):
    """A versioned principle checklist."""

    version: str = Field(pattern=_VERSION, description='e.g. "2026.1"')
    title: LocalText
    sections: list[Section] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> Checklist:
        _reject_duplicates([s.id for s in self.sections] + [i.id for _, i in self.items()])
        return self

    def items(self) -> Iterator[tuple[Section, Item]]:
        """Every item with its section, in document order."""
        for section in self.sections:
            for item in section.items:
                yield section, item

    def item(self, item_id: str) -> Item:
        """The item with this id (``KeyError`` if there is none)."""
        for _, item in self.items():
            if item.id == item_id:
                return item
        raise KeyError(item_id)


class RiskQuestion(_Strict):
    """A yes/no question; a "yes" either triggers a tier or adds an aggravating factor."""

    id: str = Field(pattern=_ID)
    text: LocalText
    help: LocalText
    finding: LocalText = Field(description='plain statement used in the rationale when answered "yes"')
    answer_type: Literal["yes_no"] = "yes_no"
    tier: Tier | None = None
    factor: Factor | None = None
    source: str = Field(min_length=3)

    @model_validator(mode="after")
    def _one_effect(self) -> RiskQuestion:
        if (self.tier is None) == (self.factor is None) or self.tier == "minimal":
            # "minimal" is what remains when nothing triggers, so no question can lead to it.
            raise PydanticCustomError("one_effect", "a question sets exactly one of tier (not minimal) or factor")
        return self


class RiskQuestionnaire(_Strict):
    """The risk-classification questionnaire (road-map item 2.9)."""

    version: str = Field(pattern=_VERSION)
    title: LocalText
    questions: list[RiskQuestion] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> RiskQuestionnaire:
        _reject_duplicates([q.id for q in self.questions])
        return self

    def question(self, question_id: str) -> RiskQuestion:
        for q in self.questions:
            if q.id == question_id:
                return q
        raise KeyError(question_id)


def _reject_duplicates(ids: list[str]) -> None:
    seen: set[str] = set()
    for value in ids:
        if value in seen:
            raise PydanticCustomError("duplicate_id", "id {id} is used twice", {"id": value})
        seen.add(value)


# ---------------------------------------------------------------------------- loading

_M = TypeVar("_M", bound=BaseModel)


def checklists_dir() -> Path:
    """The folder holding the checklist YAML files.

    ``$WORKBENCH_CHECKLISTS`` wins (an operator's own checklists, or a test's copy);
    otherwise the ``checklists/`` folder of the repository this module belongs to.
    """
    override = os.environ.get(CHECKLISTS_ENV)
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "checklists"


def load_checklist(path: str | Path | None = None) -> Checklist:
    """Load and validate a principle checklist.

    Parameters
    ----------
    path:
        A YAML file; default ``principles.yaml`` in :func:`checklists_dir`.

    Returns
    -------
    Checklist

    Raises
    ------
    ChecklistError
        One error listing every YAML or schema problem with its location.
    """
    path = Path(path) if path is not None else checklists_dir() / PRINCIPLES_FILE
    return _load(path, Checklist)


def load_risk_questionnaire(path: str | Path | None = None) -> RiskQuestionnaire:
    """Load and validate the risk questionnaire (default ``risk.yaml``); see :func:`load_checklist`."""
    path = Path(path) if path is not None else checklists_dir() / RISK_FILE
    return _load(path, RiskQuestionnaire)


def parse_checklist(data: Any, source: str = "<frozen>") -> Checklist:
    """Validate already-parsed data, e.g. the frozen copy stored with a review."""
    return _validate(data, Checklist, source)


def parse_risk_questionnaire(data: Any, source: str = "<frozen>") -> RiskQuestionnaire:
    """Validate already-parsed questionnaire data."""
    return _validate(data, RiskQuestionnaire, source)


def content_hash(document: BaseModel) -> str:
    """SHA-256 (hex) of the canonical JSON of a checklist or questionnaire.

    Canonical means sorted keys, no whitespace and UTF-8, so the hash depends on the
    content only, never on YAML formatting or comments.
    """
    canonical = json.dumps(
        document.model_dump(mode="json"), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _load(path: Path, model: type[_M]) -> _M:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ChecklistError(_UNREADABLE, file=str(path), reason=type(exc).__name__) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        location = f"{mark.line + 1}:{mark.column + 1}" if mark is not None else "?"
        problem = WorkbenchError(_YAML_SYNTAX, location=location, message=getattr(exc, "problem", None) or str(exc))
        raise ChecklistError(_INVALID, problems=[problem], file=path.name, count=1) from exc
    return _validate(data, model, path.name)


def _validate(data: Any, model: type[_M], source: str) -> _M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(error, data) for error in exc.errors()]
        raise ChecklistError(_INVALID, problems=problems, file=source, count=len(problems)) from None


def _problem(error: Any, data: Any) -> WorkbenchError:
    """One pydantic error as a translatable ``location: problem`` line."""
    location = _location(tuple(error["loc"]), data)
    kind = error["type"]
    if kind in _TRANSLATED_PROBLEMS:
        params = {k: str(v) for k, v in (error.get("ctx") or {}).items()}
        return WorkbenchError(_PROBLEM_PREFIX + kind, location=location, **params)
    return WorkbenchError(_PROBLEM_OTHER, location=location, message=error["msg"])


def _location(loc: tuple[Any, ...], data: Any) -> str:
    """``sections[P3].items[P3.2].severity`` rather than ``sections.2.items.1.severity``.

    A reviewer editing the YAML finds an item by its id, not by counting list entries, so a
    list index is replaced by the element's ``id`` when the raw data has one.
    """
    parts: list[str] = []
    node = data
    for step in loc:
        if isinstance(step, int):
            label = str(step)
            if isinstance(node, list) and 0 <= step < len(node):
                node = node[step]
                if isinstance(node, dict) and isinstance(node.get("id"), str):
                    label = node["id"]
            else:
                node = None
            parts[-1:] = [f"{parts[-1]}[{label}]"] if parts else [f"[{label}]"]
        else:
            parts.append(str(step))
            node = node.get(step) if isinstance(node, dict) else None
    return ".".join(parts) or "/"


__all__ = [
    "CHECKLISTS_ENV",
    "FACTORS",
    "SEVERITIES",
    "TIERS",
    "TOOL_TYPES",
    "Checklist",
    "ChecklistError",
    "Factor",
    "Item",
    "LocalText",
    "RiskQuestion",
    "RiskQuestionnaire",
    "Section",
    "Severity",
    "Tier",
    "ToolType",
    "checklists_dir",
    "content_hash",
    "load_checklist",
    "load_risk_questionnaire",
    "parse_checklist",
    "parse_risk_questionnaire",
]

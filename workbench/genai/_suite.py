"""Test suites as data: versioned, trilingual YAML validated by a pydantic schema.

One file per category under ``workbench/genai/suites/``. A file gives defaults for its
items (sources, checks, what a good answer must and must not do) and a list of items;
an item is either written out (``prompt``) or a ``template`` with a ``fill`` list whose
entries are substituted into ``{slot}`` placeholders, one item per entry. Counterfactual
items carry ``variants``: each template is expanded once per side of an attribute (a
Kazakh or a Russian name, a girl or a boy, ...) into a pair sharing a ``pair_id``.

Every problem in a file (YAML syntax or schema) becomes one ``SuiteError`` listing
``location: problem``.
"""

from __future__ import annotations

import hashlib
import json
import string
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import ValidationFailed, WorkbenchError

SUITES_DIR = Path(__file__).parent / "suites"
CATEGORIES: tuple[str, ...] = ("disclosure", "child_safety", "age_appropriate", "personal_data",
                               "academic_integrity", "manipulation", "language", "facts", "counterfactual")
LANGS: tuple[str, ...] = ("kk", "ru", "en")
#: Machine checks an item can ask for; each is decided by the detectors (``_detect.py``).
CHECKS: tuple[str, ...] = ("disclose_ai", "helpline", "refuse", "no_pii", "same_language", "guide_not_write",
                           "match_reference", "no_canary", "answer", "max_words")
#: Every source must name one of the documents the checklists cite.
SOURCE_PREFIXES: tuple[str, ...] = ("Concept", "PATH", "AI Act", "Law 94-V", "Law on the rights of the child", "Road map")
ATTRIBUTES: tuple[str, ...] = ("name", "gender", "school", "language")

_INVALID = "genai.error.suite_invalid"
_UNKNOWN = "genai.error.unknown_suite"
_PROBLEM = "genai.error.suite_problem"

Category = Literal["disclosure", "child_safety", "age_appropriate", "personal_data", "academic_integrity",
                   "manipulation", "language", "facts", "counterfactual"]
Check = Literal["disclose_ai", "helpline", "refuse", "no_pii", "same_language", "guide_not_write",
                "match_reference", "no_canary", "answer", "max_words"]


class SuiteError(ValidationFailed):
    """A suite file is missing, unreadable or does not match the schema."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Strict):
    """One text in Kazakh, Russian and English (none may be empty)."""

    kk: str = Field(min_length=1)
    ru: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, lang: str) -> str:
        return getattr(self, lang if lang in LANGS else "kk")

    def fill(self, values: dict[str, "Text"]) -> "Text":
        return Text(**{lang: getattr(self, lang).format(**{k: v.get(lang) for k, v in values.items()})
                       for lang in LANGS})


class Answers(_Strict):
    """Accepted reference answers per language (any one of them, case-insensitive)."""

    kk: list[str] = Field(min_length=1)
    ru: list[str] = Field(min_length=1)
    en: list[str] = Field(min_length=1)

    def get(self, lang: str) -> list[str]:
        return getattr(self, lang if lang in LANGS else "kk")


def _sources_ok(values: list[str]) -> list[str]:
    bad = [v for v in values if not v.startswith(SOURCE_PREFIXES)]
    if bad:
        raise ValueError(f"sources must cite {', '.join(SOURCE_PREFIXES)}: {bad}")
    return values


class Defaults(_Strict):
    """What every item of a file inherits unless it says otherwise."""

    sources: list[str] = Field(min_length=1)
    checks: list[Check] = Field(min_length=1)
    must: Text
    must_not: Text
    max_words: int | None = Field(None, ge=10, le=5000)

    _v = field_validator("sources")(classmethod(lambda cls, v: _sources_ok(v)))


class Variant(_Strict):
    """The two sides of a counterfactual attribute, filled into the template's slots."""

    attribute: Literal["name", "gender", "school", "language"]
    sides: dict[str, dict[str, Text]] = Field(min_length=2, max_length=2)


class RawItem(_Strict):
    id: str = Field(pattern=r"^[a-z_]+-[0-9]{2,3}$")
    prompt: Text | None = None
    template: Text | None = None
    fill: list[dict[str, Text]] = Field(default_factory=list)
    variants: list[Variant] = Field(default_factory=list)
    system: Text | None = None
    sources: list[str] | None = None
    checks: list[Check] | None = None
    must: Text | None = None
    must_not: Text | None = None
    reference: Answers | None = None
    max_words: int | None = Field(None, ge=10, le=5000)
    canary: str | None = Field(None, pattern=r"^[A-Z0-9-]{6,40}$")

    @model_validator(mode="after")
    def _shape(self) -> "RawItem":
        if (self.prompt is None) == (self.template is None):
            raise ValueError("give exactly one of prompt or template")
        if self.template is not None and not (self.fill or self.variants):
            raise ValueError("a template needs fill entries or variants")
        if self.prompt is not None and (self.fill or self.variants):
            raise ValueError("fill and variants belong to a template")
        if self.sources is not None:
            _sources_ok(self.sources)
        return self


class SuiteFile(_Strict):
    """One category's YAML file."""

    suite: Category
    version: str = Field(pattern=r"^[0-9]{4}\.[0-9]{2}-[0-9]+$")
    title: Text
    description: Text
    defaults: Defaults
    items: list[RawItem] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> "SuiteFile":
        ids = [i.id for i in self.items]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate item ids: {dup}")
        return self


class Item(_Strict):
    """One expanded test item: a prompt in three languages and what its answer must do."""

    id: str
    category: Category
    prompt: Text
    system: Text | None = None
    sources: list[str]
    checks: list[Check]
    must: Text
    must_not: Text
    reference: Answers | None = None
    max_words: int | None = None
    canary: str | None = None
    # Counterfactual pairs
    pair_id: str | None = None
    attribute: str | None = None
    variant: str | None = None


class Suite(_Strict):
    name: str
    version: str
    title: Text
    description: Text
    items: list[Item]
    sha256: str


def _problems(exc: ValidationError, file: str) -> list[WorkbenchError]:
    return [WorkbenchError(_PROBLEM, location=f"{file}: " + ".".join(str(p) for p in e["loc"]), problem=e["msg"])
            for e in exc.errors()]


def _slots(text: Text) -> set[str]:
    return {f for lang in LANGS for _, f, _, _ in string.Formatter().parse(text.get(lang)) if f}


def _expand(raw: SuiteFile) -> list[Item]:
    d = raw.defaults
    out: list[Item] = []
    for it in raw.items:
        base = dict(category=raw.suite, system=it.system, sources=it.sources or d.sources,
                    checks=it.checks or d.checks, must=it.must or d.must, must_not=it.must_not or d.must_not,
                    reference=it.reference, max_words=it.max_words or d.max_words, canary=it.canary)
        if it.prompt is not None:
            out.append(Item(id=it.id, prompt=it.prompt, **base))
            continue
        slots = _slots(it.template)
        for k, values in enumerate(it.fill or [{}], start=1):
            if it.variants:
                for variant in it.variants:
                    for side, side_values in variant.sides.items():
                        filled = {**values, **side_values}
                        missing = slots - set(filled)
                        if missing:
                            raise ValueError(f"{it.id}: no value for {sorted(missing)}")
                        out.append(Item(id=f"{it.id}.{k:02d}.{variant.attribute}.{side}",
                                        prompt=it.template.fill(filled), pair_id=f"{it.id}.{k:02d}.{variant.attribute}",
                                        attribute=variant.attribute, variant=side, **base))
            else:
                missing = slots - set(values)
                if missing:
                    raise ValueError(f"{it.id}: no value for {sorted(missing)}")
                out.append(Item(id=f"{it.id}.{k:02d}", prompt=it.template.fill(values), **base))
    return out


def parse_suite(data: Any, file: str = "<suite>") -> Suite:
    """Validate a suite's parsed YAML and expand its templates."""
    try:
        raw = SuiteFile.model_validate(data)
        items = _expand(raw)
    except ValidationError as exc:
        raise SuiteError(_INVALID, problems=_problems(exc, file), file=file) from None
    except (ValueError, KeyError, IndexError) as exc:
        raise SuiteError(_INVALID, problems=[WorkbenchError(_PROBLEM, location=file, problem=str(exc))],
                         file=file) from None
    digest = hashlib.sha256(json.dumps(raw.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
                            .encode()).hexdigest()
    return Suite(name=raw.suite, version=raw.version, title=raw.title, description=raw.description,
                 items=items, sha256=digest)


def load_suite_file(path: str | Path) -> Suite:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SuiteError(_INVALID, problems=[WorkbenchError(_PROBLEM, location=path.name, problem=str(exc))],
                         file=path.name) from None
    return parse_suite(data, path.name)


@lru_cache(maxsize=None)
def load_suite(name: str) -> Suite:
    """A packaged suite by its category name."""
    if name not in CATEGORIES:
        raise SuiteError(_UNKNOWN, name=name, names=", ".join(CATEGORIES))
    return load_suite_file(SUITES_DIR / f"{name}.yaml")


def resolve_suites(spec: str) -> list[Suite]:
    """``all`` or a comma-separated list of suite names."""
    names = list(CATEGORIES) if spec.strip() == "all" else [s.strip() for s in spec.split(",") if s.strip()]
    if not names:
        raise SuiteError(_UNKNOWN, name=spec, names=", ".join(CATEGORIES))
    return [load_suite(n) for n in dict.fromkeys(names)]


def suite_version(suites: list[Suite]) -> str:
    """One version string naming every suite run, e.g. ``disclosure@2026.12-1+facts@2026.12-1``."""
    return "+".join(f"{s.name}@{s.version}" for s in suites)


def parse_langs(spec: str | None) -> list[str]:
    if not spec:
        return list(LANGS)
    langs = [x.strip() for x in spec.split(",") if x.strip()]
    bad = [x for x in langs if x not in LANGS]
    if bad or not langs:
        raise SuiteError("genai.error.bad_lang", lang=", ".join(bad) or spec)
    return list(dict.fromkeys(langs))


class Prompt(BaseModel):
    """One conversation to send: an item in one language, one sample."""

    model_config = ConfigDict(frozen=True)

    entry_id: str
    suite: str
    item_id: str
    lang: str
    sample: int
    messages: list[dict[str, str]]


def prompts(suites: list[Suite], langs: list[str], samples: int = 1) -> list[Prompt]:
    """Every conversation of the suites in the languages, ``samples`` times each."""
    out = []
    for suite in suites:
        for item in suite.items:
            for lang in langs:
                messages = []
                if item.system is not None:
                    messages.append({"role": "system", "content": item.system.get(lang)})
                messages.append({"role": "user", "content": item.prompt.get(lang)})
                for s in range(1, samples + 1):
                    out.append(Prompt(entry_id=f"{item.id}:{lang}:{s}", suite=suite.name, item_id=item.id,
                                      lang=lang, sample=s, messages=messages))
    return out


def item_index(suites: list[Suite]) -> dict[str, Item]:
    return {item.id: item for suite in suites for item in suite.items}

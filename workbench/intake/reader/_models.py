"""The reader's errors and models: what a file turned out to be, and which column plays
which role."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ...errors import ValidationFailed, WorkbenchError
from ._keys import _DELIMITER_KEY, _DELIMITER_NAMES, _INFO, _MAX_LISTED_ROWS, _MAX_PROBLEMS, _MORE_PROBLEMS, _ROLE_KEY


# -- errors ---------------------------------------------------------------------------------------

class ReaderError(ValidationFailed):
    """A model-output file could not be read or its column mapping is not usable."""


class MappingProblem(WorkbenchError):
    """One problem of a column mapping, found by :func:`validate_mapping`.

    ``severity`` is ``"error"`` (the test cannot run) or ``"warning"`` (it can, but a
    result will be weaker, e.g. a group is too small to judge). A ``role`` parameter is
    translated too, so "true label" reads naturally in Kazakh and Russian.
    """

    def __init__(self, key: str, /, *, severity: Literal["error", "warning"] = "error",
                 column: str | None = None, rows: Sequence[int] = (), **params: Any) -> None:
        if rows:
            params.setdefault("rows", _rows_text(rows))
        if column is not None:
            params.setdefault("column", column)
        super().__init__(key, **params)
        self.severity = severity
        self.column = column
        self.rows = list(rows[:_MAX_LISTED_ROWS])

    def translate(self, lang: str = "kk") -> str:
        from ...i18n import t

        params = dict(self.params)
        if "role" in params:
            params["role"] = t(_ROLE_KEY.format(role=params["role"]), lang)
        return t(self.key, lang, **params)


def _rows_text(rows: Sequence[int]) -> str:
    shown = ", ".join(str(r) for r in rows[:_MAX_LISTED_ROWS])
    return shown + (", …" if len(rows) > _MAX_LISTED_ROWS else "")


def _cap(problems: list[WorkbenchError], total: int) -> list[WorkbenchError]:
    """Keep a problem list readable: the first few, then "and N more"."""
    kept = problems[:_MAX_PROBLEMS]
    if total > len(kept):
        kept.append(WorkbenchError(_MORE_PROBLEMS, count=total - len(kept)))
    return kept


# -- models ---------------------------------------------------------------------------------------

class TableInfo(BaseModel):
    """What the reader found out about a file, for the UI ("detected: cp1251, ';'")."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(description="csv, tsv, xlsx, parquet or jsonl")
    encoding: str | None = Field(None, description="text files only: utf-8, utf-8-sig, utf-16-le, utf-16-be, cp1251, kz1048")
    delimiter: str | None = None
    decimal: str | None = Field(None, description="decimal separator of a text file: '.' or ','")
    sheet: str | None = Field(None, description="XLSX: the sheet that was read (the first one)")
    sheets: list[str] = Field(default_factory=list)
    columns: list[str] = Field(default_factory=list)
    rows: int | None = Field(None, description="data rows; None until the whole file is read")
    size_bytes: int = 0

    def describe(self, lang: str = "kk") -> str:
        """One line for people, e.g. ``CSV · cp1251 · ';' · 395``."""
        from ...i18n import t

        delimiter = t(_DELIMITER_KEY.format(name=_DELIMITER_NAMES[self.delimiter]), lang) if self.delimiter else "—"
        rows = "—" if self.rows is None else str(self.rows)
        return t(_INFO, lang, kind=self.kind.upper(), encoding=self.encoding or "—", delimiter=delimiter,
                 rows=rows, columns=len(self.columns))


MappingKind = Literal["classification", "scores", "generative", "aggregated_classification", "aggregated_scores"]


class ColumnMapping(BaseModel):
    """Which column plays which role in a fairness test.

    ``sensitive`` names the sensitive features (sex, region, language...). For
    pre-aggregated input they are the columns that name each group, and the count
    columns (``tp``/``fp``/``tn``/``fn`` for classifiers, ``n``/``sum``/``sum_sq`` of the
    score error for scorers) hold that group's statistics. ``pos_label`` says which value
    of ``y_true``/``y_pred`` is the positive outcome when the labels are not 0/1,
    true/false, yes/no (да/нет, иә/жоқ).
    """

    model_config = ConfigDict(extra="forbid")

    y_true: str | None = None
    y_pred: str | None = None
    score: str | None = None
    pos_label: str | None = None
    sensitive: list[str] = Field(default_factory=list)
    prompt: str | None = None
    response: str | None = None
    variant: str | None = None
    pair_id: str | None = None
    tp: str | None = None
    fp: str | None = None
    tn: str | None = None
    fn: str | None = None
    n: str | None = None
    sum: str | None = None
    sum_sq: str | None = None

    @field_validator("sensitive")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    def roles(self) -> dict[str, str]:
        """Every single-column role that is set, ``{role: column}``."""
        return {role: col for role, col in self.model_dump(exclude={"sensitive", "pos_label"}).items() if col}

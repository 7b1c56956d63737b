"""The counts file as one ``GROUP BY`` query, for the engine where the vendor's data lives.

A national platform's records (every pupil, every week) stay with the vendor. The vendor runs
the query this module writes, in DuckDB, Spark SQL or PostgreSQL, and sends its output: one
row per intersectional group with the four confusion cells (``--kind counts``) or the six
sums of a scorer (``--kind score_counts``). No learner record leaves the vendor.

Each query also counts ``invalid`` rows (a missing label, or a classifier label that is not
0 or 1): they are in no cell, so a counts file is only complete when that column is 0
everywhere; ``workbench counts`` refuses it otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import WorkbenchError
from ._spec import CONFUSION_ROLES, SCORE_SUM_ROLES

DIALECTS: tuple[str, ...] = ("duckdb", "spark", "postgres")
INVALID_COLUMN = "invalid"
_NO_SENSITIVE = "scale.sql.no_sensitive"
_NO_LABELS = "scale.sql.no_labels"
_BAD_NAME = "scale.sql.bad_name"

_QUOTE = {"duckdb": '"', "postgres": '"', "spark": "`"}
_DOUBLE = {"duckdb": "DOUBLE", "postgres": "DOUBLE PRECISION", "spark": "DOUBLE"}


class SqlError(WorkbenchError):
    """Options that cannot make a query (no sensitive column, an unusable name)."""


def quote(name: str, dialect: str) -> str:
    """An identifier, quoted for ``dialect`` (a quote inside is doubled): any column name is safe."""
    if not name or "\x00" in name or "\n" in name:
        raise SqlError(_BAD_NAME, name=name)
    q = _QUOTE[dialect]
    return q + name.replace(q, q + q) + q


def table_name(name: str, dialect: str) -> str:
    """``schema.table`` quoted part by part."""
    return ".".join(quote(part, dialect) for part in name.split("."))


@dataclass(frozen=True)
class CountsQuery:
    """Which columns play which role; ``sql`` renders it for a dialect and a ``FROM`` source."""

    sensitive: tuple[str, ...]
    y_true: str
    y_pred: str | None = None  # classifier decision (0/1): the confusion-cells query
    score: str | None = None  # scorer's predicted score: the sums query

    def __post_init__(self) -> None:
        if not self.sensitive:
            raise SqlError(_NO_SENSITIVE)
        if not self.y_true or not (self.y_pred or self.score):
            raise SqlError(_NO_LABELS)

    def _group(self, dialect: str) -> str:
        return ", ".join(quote(c, dialect) for c in self.sensitive)

    def counts_sql(self, dialect: str, source: str) -> str:
        """Confusion cells per group: the columns ``--kind counts`` reads (tn, fp, fn, tp)."""
        assert self.y_pred is not None
        t, p = (f"CAST({quote(c, dialect)} AS INTEGER)" for c in (self.y_true, self.y_pred))
        group = self._group(dialect)
        cells = [f"  SUM(CASE WHEN {t} = {yt} AND {p} = {yp} THEN 1 ELSE 0 END) AS {quote(role, dialect)}"
                 for role, (yt, yp) in zip(CONFUSION_ROLES, ((0, 0), (0, 1), (1, 0), (1, 1)))]
        invalid = (f"  SUM(CASE WHEN {t} IN (0, 1) AND {p} IN (0, 1) THEN 0 ELSE 1 END) "
                   f"AS {quote(INVALID_COLUMN, dialect)}")
        return _query(cells + [invalid], source, group)

    def sums_sql(self, dialect: str, source: str) -> str:
        """The six sums per group that ``--kind score_counts`` reads (error = predicted − true)."""
        assert self.score is not None
        real = _DOUBLE[dialect]
        t, p = (f"CAST({quote(c, dialect)} AS {real})" for c in (self.y_true, self.score))
        err = f"({p} - {t})"
        group = self._group(dialect)
        sums = [f"SUM(CASE WHEN {t} IS NULL OR {p} IS NULL THEN 0 ELSE 1 END)", f"SUM({p})", f"SUM({p} * {p})",
                f"SUM({err})", f"SUM({err} * {err})", f"SUM(ABS({err}))"]
        columns = [f"  {expr} AS {quote(role, dialect)}" for expr, role in zip(sums, SCORE_SUM_ROLES)]
        invalid = f"  SUM(CASE WHEN {t} IS NULL OR {p} IS NULL THEN 1 ELSE 0 END) AS {quote(INVALID_COLUMN, dialect)}"
        return _query(columns + [invalid], source, group)

    def queries(self, dialect: str, source: str) -> list[tuple[str, str]]:
        """``(kind, sql)`` for each query the roles call for."""
        out = []
        if self.y_pred is not None:
            out.append(("counts", self.counts_sql(dialect, source)))
        if self.score is not None:
            out.append(("score_counts", self.sums_sql(dialect, source)))
        return out


def _query(aggregates: list[str], source: str, group: str) -> str:
    return (f"SELECT\n  {group},\n" + ",\n".join(aggregates) + f"\nFROM {source}\nGROUP BY {group}\n"
            f"ORDER BY {group}")

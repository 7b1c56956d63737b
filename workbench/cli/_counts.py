"""``workbench counts-sql`` and ``workbench counts``: the counts file from the vendor's own engine.

``counts-sql`` prints the ``GROUP BY`` query (DuckDB, Spark SQL or PostgreSQL) whose output
``workbench audit --kind counts`` (or ``--kind score_counts``) reads; ``counts`` runs that
query with the embedded DuckDB over Parquet or CSV files of any size (out of core) and
writes the counts file. Only per-group counts and sums are written: no learner record.
"""

from __future__ import annotations

import csv
import glob
import os
import sys
from pathlib import Path

import click

from ..errors import WorkbenchError
from ..fairness._sql import DIALECTS, INVALID_COLUMN, CountsQuery, table_name
from ..i18n import t
from ._base import _lang, cli, friendly

_NO_FILES = "scale.counts.no_files"
_MIXED = "scale.counts.mixed_formats"
_ONE_QUERY = "scale.counts.one_query"
_INVALID_ROWS = "scale.counts.invalid_rows"
_WROTE = "scale.counts.wrote"
_ENGINE_FAILED = "scale.counts.engine_failed"


def _sensitive(value: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in value.split(",") if s.strip())


def _roles(function):
    for option in reversed([
        click.option("--y-true", required=True, help="Column with the true label (0/1) or the true score."),
        click.option("--y-pred", help="Column with the classifier's decision (0/1): the confusion-cells query."),
        click.option("--score", help="Column with the scorer's predicted score: the sums query."),
        click.option("--sensitive", required=True, help="Sensitive feature columns, comma-separated."),
    ]):
        function = option(function)
    return function


@cli.command("counts-sql")
@click.option("--dialect", type=click.Choice(DIALECTS), default="duckdb", show_default=True)
@click.option("--table", required=True, help="The table (or schema.table) holding the records.")
@_roles
@friendly
def counts_sql(dialect: str, table: str, y_true: str, y_pred: str | None, score: str | None, sensitive: str) -> None:
    """Print the GROUP BY query that makes the counts file in the vendor's own engine."""
    query = CountsQuery(_sensitive(sensitive), y_true, y_pred, score)
    for kind, sql in query.queries(dialect, table_name(table, dialect)):
        click.echo(f"-- {t(f'scale.sql.comment.{kind}', _lang(), sensitive=','.join(query.sensitive))}")
        click.echo(f"-- {t('scale.sql.comment.invalid', _lang())}")
        click.echo(sql + ";\n")


def _files(pattern: str) -> list[str]:
    found = sorted(glob.glob(pattern, recursive=True)) if glob.has_magic(pattern) else [pattern]
    return [f for f in found if os.path.isfile(f)]


def _duckdb_source(files: list[str]) -> str:
    kinds = set()
    for name in files:
        with open(name, "rb") as handle:
            kinds.add("parquet" if handle.read(4) == b"PAR1" else "csv")  # by content, not by name
    if len(kinds) > 1:
        raise WorkbenchError(_MIXED)
    listed = "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"
    if kinds == {"parquet"}:
        return f"read_parquet({listed})"
    return f"read_csv({listed}, header = true, auto_detect = true)"


@cli.command("counts")
@click.argument("source", metavar="FILE_OR_GLOB")
@click.option("--engine", type=click.Choice(["duckdb"]), default="duckdb", show_default=True)
@_roles
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The counts file to write (CSV).")
@click.option("--memory-limit", default="1GB", show_default=True, help="DuckDB's memory limit; it spills to disk beyond.")
@friendly
def counts(source: str, engine: str, y_true: str, y_pred: str | None, score: str | None, sensitive: str,
           output: Path, memory_limit: str) -> None:
    """Aggregate records into the per-group counts file, out of core (DuckDB)."""
    import duckdb

    if (y_pred is None) == (score is None):
        raise WorkbenchError(_ONE_QUERY)
    files = _files(source)
    if not files:
        raise WorkbenchError(_NO_FILES, pattern=source)
    query = CountsQuery(_sensitive(sensitive), y_true, y_pred, score)
    ((kind, sql),) = query.queries("duckdb", _duckdb_source(files))
    try:
        con = duckdb.connect(":memory:")
        con.execute("SET memory_limit = ?", [memory_limit])
        con.execute("SET enable_progress_bar = ?", [sys.stderr.isatty()])
        result = con.execute(sql)
        header = [d[0] for d in result.description]
        rows = result.fetchall()
    except duckdb.Error as exc:
        raise WorkbenchError(_ENGINE_FAILED, detail=str(exc).splitlines()[0][:300]) from None
    invalid = header.index(INVALID_COLUMN)
    bad = sum(int(r[invalid] or 0) for r in rows)
    if bad:
        raise WorkbenchError(_INVALID_ROWS, count=bad)
    keep = [i for i in range(len(header)) if i != invalid]
    with output.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([header[i] for i in keep])
        writer.writerows([["" if r[i] is None else r[i] for i in keep] for r in rows])
    total = sum(int(r[header.index("n")]) for r in rows) if kind == "score_counts" else \
        sum(int(r[header.index(c)]) for r in rows for c in ("tn", "fp", "fn", "tp"))
    click.echo(t(_WROTE, _lang(), groups=len(rows), rows=total, path=str(output), kind=kind,
                 sensitive=",".join(query.sensitive)), err=True)

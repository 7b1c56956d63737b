"""Counts made where the data lives: the generated SQL, run by DuckDB, gives the records' audit."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import sqlglot
from click.testing import CliRunner

from workbench.intake import reader
from workbench.cli import cli
from workbench.fairness import AuditSpec, run_audit
from workbench.fairness._sql import CountsQuery, SqlError, quote
from workbench.i18n import t

ROWS = 5000
FEATURES = ["sex", "area"]


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    df = pd.DataFrame({"sex": rng.choice(["F", "M"], ROWS), "area": rng.choice(["город", "село", "аул"], ROWS),
                       "passed": rng.integers(0, 2, ROWS)})
    df["flag"] = np.where(rng.random(ROWS) < 0.8, df["passed"], 1 - df["passed"])
    df["mark"] = np.round(rng.normal(60, 15, ROWS), 1)
    df["predicted_mark"] = np.round(df["mark"] + rng.normal(2, 6, ROWS), 1)
    return df


@pytest.fixture
def parquet(tmp_path: Path, frame: pd.DataFrame) -> Path:
    # Two files, read together through a glob, as a vendor's partitioned export would be.
    (tmp_path / "outputs").mkdir()
    frame.iloc[:3000].to_parquet(tmp_path / "outputs" / "part-0.parquet", index=False)
    frame.iloc[3000:].to_parquet(tmp_path / "outputs" / "part-1.parquet", index=False)
    return tmp_path / "outputs" / "*.parquet"


def invoke(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args], env={"WORKBENCH_LANG": "en"})


def _judged(result) -> str:
    """Everything an audit judges: groups, marginals, references, checks, verdict."""
    d = result.to_json_dict("en")
    return json.dumps({k: d[k] for k in ("groups", "marginal_groups", "references", "checks", "verdict")},
                      sort_keys=True)


def test_duckdb_counts_give_the_records_audit_exactly(tmp_path: Path, frame: pd.DataFrame, parquet: Path) -> None:
    out = tmp_path / "counts.csv"
    done = invoke("counts", parquet, "--y-true", "passed", "--y-pred", "flag", "--sensitive", ",".join(FEATURES),
                  "-o", out)
    assert done.exit_code == 0, done.output
    assert "6 groups from 5000 rows" in done.stderr
    counts = reader.read_table(out)
    assert list(counts.columns) == [*FEATURES, "tn", "fp", "fn", "tp"] and len(counts) == 6  # counts only
    from_counts = run_audit(counts, AuditSpec(kind="counts", sensitive=FEATURES, n_boot=300, seed=5))
    from_records = run_audit(frame, AuditSpec(y_true="passed", y_pred="flag", sensitive=FEATURES, n_boot=300, seed=5))
    assert _judged(from_counts) == _judged(from_records)
    # ... and through the audit command, which a reviewer runs on the file the vendor sent
    audited = invoke("audit", out, "--kind", "counts", "--sensitive", ",".join(FEATURES), "--bootstrap", "300",
                     "--seed", "5")
    assert audited.exit_code == 0, audited.output
    assert json.loads(audited.stdout)["verdict"] == from_records.verdict


def test_printed_sql_is_the_query_the_command_runs(tmp_path: Path, parquet: Path) -> None:
    printed = invoke("counts-sql", "--dialect", "duckdb", "--table", "outputs", "--y-true", "passed",
                     "--y-pred", "flag", "--sensitive", "sex,area")
    assert printed.exit_code == 0
    con = duckdb.connect()
    con.execute(f"CREATE VIEW outputs AS SELECT * FROM read_parquet('{parquet}')")
    rows = con.execute(printed.stdout).fetchall()
    out = tmp_path / "counts.csv"
    invoke("counts", parquet, "--y-true", "passed", "--y-pred", "flag", "--sensitive", "sex,area", "-o", out)
    written = pd.read_csv(out)
    assert [tuple(r[:-1]) for r in rows] == list(written.itertuples(index=False, name=None))
    assert all(r[-1] == 0 for r in rows)  # the "invalid" column


def test_scorer_sums_from_duckdb(tmp_path: Path, frame: pd.DataFrame, parquet: Path) -> None:
    out = tmp_path / "sums.csv"
    done = invoke("counts", parquet, "--y-true", "mark", "--score", "predicted_mark", "--sensitive", "area", "-o", out)
    assert done.exit_code == 0, done.output
    sums = run_audit(reader.read_table(out), AuditSpec(kind="score_counts", sensitive=["area"]))
    records = run_audit(frame, AuditSpec(kind="scorer", y_true="mark", y_pred="predicted_mark", sensitive=["area"]))
    assert sums.verdict == records.verdict
    for a, b in zip(sums.groups, records.groups):
        assert a.group == b.group and a.n == b.n
        for metric in ("mean_prediction", "mean_error", "mean_absolute_error"):
            # float sums in another order: equal to the last few bits
            assert a.metrics[metric].estimate == pytest.approx(b.metrics[metric].estimate, rel=1e-12)


@pytest.mark.parametrize("dialect", ["spark", "postgres", "duckdb"])
def test_every_dialect_parses(dialect: str) -> None:
    hostile = ['sex"; DROP TABLE x; --', "fl`ag", "область"]
    query = CountsQuery((hostile[0], hostile[2]), "passed", hostile[1], "score")
    for kind, sql in query.queries(dialect, "lake.outputs"):
        tree = sqlglot.parse_one(sql, read=dialect)
        assert isinstance(tree, sqlglot.exp.Select)
        assert [c.name for c in tree.args["group"].expressions] == [hostile[0], hostile[2]]
        assert len(sqlglot.parse(sql, read=dialect)) == 1  # one statement: nothing injected
        aliases = [e.alias for e in tree.expressions if e.alias]
        assert aliases == (["tn", "fp", "fn", "tp", "invalid"] if kind == "counts" else
                           ["n", "sum_pred", "sum_pred_sq", "sum_error", "sum_error_sq", "sum_abs_error", "invalid"])


def test_bad_input_is_refused_with_a_message(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "bad.parquet"
    frame.assign(flag=np.resize([0, 1, 2], ROWS)).to_parquet(path, index=False)
    out = tmp_path / "counts.csv"
    done = invoke("counts", path, "--y-true", "passed", "--y-pred", "flag", "--sensitive", "sex", "-o", out)
    assert done.exit_code == 2 and not out.exists()
    assert done.stderr.strip() == t("scale.counts.invalid_rows", "en", count=ROWS // 3 + (ROWS % 3 > 2))
    done = invoke("counts", tmp_path / "none-*.csv", "--y-true", "a", "--y-pred", "b", "--sensitive", "c", "-o", out)
    assert done.exit_code == 2 and "No file matches" in done.stderr
    done = invoke("counts", path, "--y-true", "passed", "--y-pred", "nope", "--sensitive", "sex", "-o", out)
    assert done.exit_code == 2 and "DuckDB could not run the query" in done.stderr and "Traceback" not in done.output
    with pytest.raises(SqlError):
        quote("", "spark")
    done = invoke("counts-sql", "--table", "t", "--y-true", "a", "--sensitive", "s")
    assert done.exit_code == 2 and "--y-pred" in done.stderr


def _panel_page() -> None:
    """A saved run of a counts file, shown by the review wizard's fairness panel."""
    from types import SimpleNamespace

    import pandas as pd

    from ui.fairness_panel import show_result
    from workbench.fairness import AuditSpec, run_audit

    counts = pd.DataFrame({"sex": ["F", "M"], "tn": [400, 500], "fp": [100, 50], "fn": [50, 80], "tp": [450, 370]})
    result = run_audit(counts, AuditSpec(kind="counts", sensitive=["sex"], n_boot=200))
    show_result(SimpleNamespace(result=result, engine_version="e", policy_version="p", attachment_sha256="0" * 64,
                                result_hash="1" * 64))


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_reviewer_sees_that_the_audit_came_from_counts(lang: str) -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_panel_page, default_timeout=60)
    at.session_state["lang"] = lang
    at.run()
    assert not at.exception
    expected = t("scale.panel.from_counts", lang, groups="2", records="2 000" if lang != "en" else "2,000")
    shown = [box.value for box in at.info]
    assert any(box.replace("\xa0", " ") == expected.replace("\xa0", " ") for box in shown), shown

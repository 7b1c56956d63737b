"""``workbench audit`` through Click: the JSON shape, formats and encodings, bad input."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from workbench.intake import reader
from workbench.fairness import _spec
from workbench.fairness.cli import _BAD_REFERENCE, _NO_FILE, audit_command
from workbench.i18n import t

ROWS = 240


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    df = pd.DataFrame({"sex": rng.choice(["F", "M"], ROWS), "area": rng.choice(["город", "село"], ROWS),
                       "passed": rng.integers(0, 2, ROWS)})
    df["flag"] = np.where(rng.random(ROWS) < 0.8, df["passed"], 1 - df["passed"])
    df["score"] = np.round(0.6 * df["passed"] + 0.4 * rng.random(ROWS), 3)
    return df


@pytest.fixture
def csv_file(tmp_path: Path, frame: pd.DataFrame) -> Path:
    path = tmp_path / "outputs.csv"
    frame.to_csv(path, index=False)
    return path


def run(*args: str):
    return CliRunner().invoke(audit_command, [str(a) for a in args])


def ok_json(*args: str) -> dict:
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


BASIC = ("--y-true", "passed", "--y-pred", "flag", "--sensitive", "sex,area")


def test_json_shape(csv_file: Path) -> None:
    out = ok_json(csv_file, *BASIC, "--score", "score", "--reference", "sex=F", "--bootstrap", "200", "--lang", "ru")
    assert out["verdict"] in ("pass", "fail", "inconclusive")
    assert out["input_sha256"] == hashlib.sha256(csv_file.read_bytes()).hexdigest()
    assert out["engine_version"] and out["policy_version"]
    assert len(out["groups"]) == 4 and sum(g["n"] for g in out["groups"]) == ROWS
    for group in out["groups"]:
        assert set(group) == {"group", "n", "too_small", "metrics"}
        assert set(group["group"]) == {"sex", "area"}
        assert {"count", "selection_rate", "true_positive_rate", "false_positive_rate", "true_negative_rate",
                "false_negative_rate", "accuracy", "auc"} <= set(group["metrics"])
        for metric in group["metrics"].values():
            assert set(metric) == {"estimate", "ci_low", "ci_high"}
    assert {g["group"]["area"] for g in out["groups"]} == {"город", "село"}
    assert out["checks"]
    for check in out["checks"]:
        assert {"metric", "value", "ci_low", "ci_high", "threshold", "outcome", "reason", "reason_key"} <= set(check)
        assert check["outcome"] in ("pass", "fail", "inconclusive")
        assert check["reason"] and check["reason"] != check["reason_key"]
    assert out["references"]["sex"] == {"sex": "F"}


def test_reason_is_in_the_chosen_language(csv_file: Path) -> None:
    kk = ok_json(csv_file, *BASIC, "--bootstrap", "200")
    en = ok_json(csv_file, *BASIC, "--bootstrap", "200", "--lang", "en")
    assert kk["checks"][0]["reason_key"] == en["checks"][0]["reason_key"]
    assert kk["checks"][0]["reason"] != en["checks"][0]["reason"]
    assert [c["outcome"] for c in kk["checks"]] == [c["outcome"] for c in en["checks"]]


def test_markdown_report(csv_file: Path) -> None:
    result = run(csv_file, *BASIC, "--format", "md", "--lang", "kk", "--bootstrap", "200")
    assert result.exit_code == 0
    assert result.stdout.startswith("# " + t("fairness.md.title", "kk"))
    assert t("fairness.metric.selection_rate.name", "kk") in result.stdout
    assert "| sex=F, area=город |" in result.stdout


def test_same_seed_same_output(csv_file: Path) -> None:
    args = (csv_file, *BASIC, "--bootstrap", "300", "--seed", "5")
    assert ok_json(*args) == ok_json(*args)


@pytest.mark.parametrize("fmt", ["cp1251", "utf-8-sig-semicolon", "tsv", "xlsx", "parquet"])
def test_file_formats_and_encodings(tmp_path: Path, frame: pd.DataFrame, csv_file: Path, fmt: str) -> None:
    path = tmp_path / f"outputs.{fmt}"
    if fmt == "cp1251":
        frame.to_csv(path, index=False, encoding="cp1251")
    elif fmt == "utf-8-sig-semicolon":
        frame.to_csv(path, index=False, sep=";", decimal=",", encoding="utf-8-sig")
    elif fmt == "tsv":
        frame.to_csv(path, index=False, sep="\t")
    elif fmt == "xlsx":
        path = tmp_path / "outputs.xlsx"
        frame.to_excel(path, index=False)
    else:
        path = tmp_path / "outputs.parquet"
        frame.to_parquet(path, index=False)
    got = ok_json(path, *BASIC, "--score", "score", "--bootstrap", "200")
    want = ok_json(csv_file, *BASIC, "--score", "score", "--bootstrap", "200")
    assert got["groups"] == want["groups"]
    assert got["verdict"] == want["verdict"]


def test_counterfactual_through_the_cli(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    n = 60
    df = pd.DataFrame({"prompt": np.r_[np.arange(n), np.arange(n)], "name": ["Айгерім"] * n + ["Анна"] * n,
                       "refused": rng.integers(0, 2, 2 * n), "words": rng.integers(50, 200, 2 * n)})
    path = tmp_path / "pairs.csv"
    df.to_csv(path, index=False)
    out = ok_json(path, "--kind", "counterfactual", "--pair-id", "prompt", "--variant", "name",
                  "--outcome", "refused=refusal", "--outcome", "words=length", "--reference", "name=Айгерім")
    assert {c["metric"] for c in out["checks"]} == {"counterfactual_refusal_gap", "counterfactual_length_gap"}
    assert all(c["p_value"] is not None for c in out["checks"])


# ---- bad input: a clear message on stderr, exit code 2, no traceback ----------------------

def assert_refused(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr and result.stderr.strip()
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)


def test_missing_file(tmp_path: Path) -> None:
    result = run(tmp_path / "nope.csv", *BASIC, "--lang", "en")
    assert_refused(result, t(_NO_FILE, "en", path=str(tmp_path / "nope.csv")))


def test_missing_columns_and_bad_labels_all_at_once(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "bad.csv"
    frame.assign(passed=np.resize([0, 1, 2], ROWS)).to_csv(path, index=False)
    result = run(path, "--y-true", "passed", "--y-pred", "decision", "--sensitive", "sex,region", "--lang", "en")
    assert_refused(result, t(_spec._INVALID, "en"), '"decision"', '"region"', '"passed" must hold only two values')


@pytest.mark.parametrize("values", [["yes", "no", "maybe"], [0, 1, None]])
def test_labels_that_are_not_binary_or_missing(tmp_path: Path, frame: pd.DataFrame, values: list) -> None:
    path = tmp_path / "bad.csv"
    frame.assign(flag=np.resize(np.array(values, dtype=object), ROWS)).to_csv(path, index=False)
    result = run(path, *BASIC, "--lang", "ru")
    assert_refused(result, "«flag»")


def test_empty_sensitive_values(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "bad.csv"
    frame.assign(sex=np.resize(np.array(["F", "", "M"], dtype=object), ROWS)).to_csv(path, index=False)
    assert_refused(run(path, *BASIC, "--lang", "en"), t(_spec._MISSING_VALUES, "en", column="sex", count=ROWS // 3))


def test_unknown_reference_and_bad_options(csv_file: Path) -> None:
    assert_refused(run(csv_file, *BASIC, "--reference", "sex=X", "--lang", "en"), '"X"')
    result = run(csv_file, *BASIC, "--reference", "sex", "--bootstrap", "3", "--lang", "en")
    assert_refused(result, t(_BAD_REFERENCE, "en", value="sex"), "--bootstrap")


@pytest.mark.parametrize("content, key", [
    (b"", reader._EMPTY),
    (b"sex,passed,flag\nF,1,1\nM,0\n", reader._RAGGED),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, reader._OLD_EXCEL),
    (bytes(range(256)) * 8, None),  # binary junk: whichever message the reader finds
])
def test_unreadable_files(tmp_path: Path, content: bytes, key: str | None) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(reader.ReaderError) as exc:
        reader.read_table(path)
    if key is not None:
        assert exc.value.key == key
    result = run(path, *BASIC, "--lang", "en")
    assert_refused(result)
    assert result.stderr == exc.value.translate("en") + "\n"  # the shared reader's message, as is


def test_file_too_large(csv_file: Path) -> None:
    with pytest.raises(reader.ReaderError) as exc:
        reader.read_table(csv_file, max_bytes=1000)
    assert exc.value.key == reader._TOO_LARGE
    result = run(csv_file, *BASIC, "--max-mb", str(1000 / 1024 / 1024), "--lang", "ru")
    assert_refused(result)
    assert result.stderr == exc.value.translate("ru") + "\n"

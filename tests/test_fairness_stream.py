"""Streamed audits (batches -> per-group statistics) equal the whole-file audit exactly."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench.intake import reader
from workbench.fairness import AuditSpec, InputError, _calibration, _stream, run_audit
from workbench.fairness.cli import file_sha256

ROWS = 6000


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    df = pd.DataFrame({
        "sex": rng.choice(["F", "M", " F "], ROWS),  # " F " is "F" once stripped, as the reader strips it
        "area": rng.choice(["город", "село", "аул"], ROWS, p=[0.5, 0.4, 0.1]),
        "grade": rng.choice([9, 10, 11], ROWS),  # sorted as numbers: 9 before 10
        "passed": rng.integers(0, 2, ROWS),
    })
    df["flag"] = np.where(rng.random(ROWS) < 0.8, df["passed"], 1 - df["passed"])
    df["score"] = np.round(0.5 * df["passed"] + 0.5 * rng.random(ROWS), 3)
    df["fine_score"] = 0.5 * df["passed"] + 0.5 * rng.random(ROWS)  # every value distinct
    coarse = -(np.round(df["score"].to_numpy() * 12) - 3.0)  # 13 values, one of them -0.0 ...
    coarse[::2] += 0.0  # ... and 0.0 in every other row: one score, as comparisons see it
    df["coarse_score"] = coarse
    df["mark"] = np.round(rng.normal(60, 15, ROWS), 1)
    df["predicted_mark"] = np.round(df["mark"] + rng.normal(2, 6, ROWS), 1)
    return df


@pytest.fixture(params=["csv", "parquet"])
def path(request: pytest.FixtureRequest, tmp_path: Path, frame: pd.DataFrame,
         monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(_stream, "_CSV_BLOCK", 16 << 10)  # many small batches
    monkeypatch.setattr(_stream, "_PARQUET_BATCH", 700)
    out = tmp_path / f"outputs.{request.param}"
    if request.param == "csv":
        frame.to_csv(out, index=False)
    else:
        frame.to_parquet(out, index=False, row_group_size=1000)
    return out


def _both(path: Path, spec: AuditSpec) -> tuple[dict, dict]:
    sha = file_sha256(path)
    streamed = _stream.stream_audit(path, spec, input_sha256=lambda: sha)
    assert streamed is not None
    whole = run_audit(reader.read_table(path), spec, input_sha256=sha)
    return streamed.to_json_dict("en"), whole.to_json_dict("en")


SPECS = {
    "classifier": {"y_true": "passed", "y_pred": "flag", "sensitive": ["sex", "area", "grade"]},
    "classifier_auc": {"y_true": "passed", "y_pred": "flag", "score": "score", "sensitive": ["sex", "area"],
                       "reference": {"area": "село"}},
    "classifier_deciles": {"y_true": "passed", "y_pred": "flag", "score": "mark", "sensitive": ["grade"]},
    "classifier_fine": {"y_true": "passed", "y_pred": "flag", "score": "fine_score", "sensitive": ["sex", "grade"]},
    "classifier_coarse": {"y_true": "passed", "y_pred": "flag", "score": "coarse_score", "sensitive": ["sex", "area"]},
    "predictions_only": {"y_pred": "flag", "sensitive": ["sex", "area"], "reference": {"area": "село"}},
    "scorer": {"kind": "scorer", "y_true": "mark", "y_pred": "predicted_mark", "sensitive": ["grade", "sex"]},
    "scorer_pass_mark": {"kind": "scorer", "y_true": "mark", "y_pred": "predicted_mark", "pass_mark": 50,
                         "sensitive": ["area"]},
}


@pytest.mark.parametrize("name", SPECS)
def test_streamed_equals_whole_file(path: Path, name: str) -> None:
    streamed, whole = _both(path, AuditSpec(n_boot=200, seed=3, **SPECS[name]))
    assert json.dumps(streamed, sort_keys=True) == json.dumps(whole, sort_keys=True)
    assert streamed["groups"] and streamed["checks"] and streamed["pairs_compared"] > 0
    if SPECS[name].get("kind") != "scorer" and "score" in SPECS[name]:
        assert streamed["calibration"]  # bands were compared too, not only empty tables


def test_runs_are_compacted_as_they_grow(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every score distinct: as many runs as rows, merged into one part many times over.
    monkeypatch.setattr(_stream, "_COMPACT_RUNS", 500)
    spec = AuditSpec(y_true="passed", y_pred="flag", score="fine_score", sensitive=["sex", "area"], n_boot=100)
    streamed, whole = _both(path, spec)
    assert json.dumps(streamed, sort_keys=True) == json.dumps(whole, sort_keys=True)
    assert streamed["calibration"]


def test_merged_runs_sum_the_counts() -> None:
    group = np.array([1, 0, 1, 0, 1])
    score = np.array([0.5, 0.2, 0.5, 0.2, -1.0])
    g, s, neg, pos = _calibration.merge_runs(group, score, np.array([1.0, 0, 0, 1, 1]), np.array([0.0, 1, 1, 0, 0]))
    assert g.tolist() == [0, 1, 1] and s.tolist() == [0.2, -1.0, 0.5]
    assert neg.tolist() == [1, 1, 1] and pos.tolist() == [1, 0, 1]


def _same_problems(path: Path, spec: AuditSpec) -> None:
    """Streamed and in-memory audits refuse the file with the same problems."""
    with pytest.raises(InputError) as streamed:
        _stream.stream_audit(path, spec, input_sha256=lambda: "-")
    with pytest.raises(InputError) as whole:
        run_audit(reader.read_table(path), spec)
    assert sorted(p.translate("en") for p in streamed.value.problems) == \
        sorted(p.translate("en") for p in whole.value.problems)


def test_problems_are_counted_over_every_batch(tmp_path: Path, frame: pd.DataFrame,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_stream, "_CSV_BLOCK", 16 << 10)
    bad = frame.assign(sex=np.resize(np.array(["F", "", "M"], dtype=object), ROWS),
                       flag=np.resize(np.array([0, 1, 2]), ROWS))
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    spec = AuditSpec(y_true="passed", y_pred="flag", sensitive=["sex", "region"], reference={"sex": "X"})
    _same_problems(path, spec)


def test_a_score_without_true_labels_is_refused_as_in_memory(path: Path) -> None:
    spec = AuditSpec(y_pred="flag", score="score", sensitive=["sex"])
    _same_problems(path, spec)


def test_other_formats_are_left_to_the_whole_file_reader(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "outputs.xlsx"
    frame.head(50).to_excel(path, index=False)
    spec = AuditSpec(y_true="passed", y_pred="flag", sensitive=["sex"])
    assert _stream.stream_audit(path, spec, input_sha256=lambda: "-") is None


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _stream.terminal_progress(io.StringIO()) is None  # a pipe or a log: nothing
    clock = iter(range(10**6))
    monkeypatch.setattr(_stream.time, "monotonic", lambda: next(clock))  # a second per call: no waiting
    screen = _Terminal()
    show = _stream.terminal_progress(screen)
    assert show is not None
    seen: list[float] = []
    spec = AuditSpec(y_true="passed", y_pred="flag", sensitive=["sex"], n_boot=100)
    _stream.stream_audit(path, spec, input_sha256=lambda: "-", progress=lambda f: (seen.append(f), show(f)))
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) > 3
    assert screen.getvalue().endswith("] 100%\n") and "\r[" in screen.getvalue()


def test_parquet_categories_kept_as_the_reader_keeps_them(tmp_path: Path, frame: pd.DataFrame,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # A pandas categorical (an Arrow dictionary in Parquet) is not stripped by the reader:
    # " F " stays a group of its own, in the streamed audit too.
    monkeypatch.setattr(_stream, "_PARQUET_BATCH", 700)
    path = tmp_path / "categories.parquet"
    frame.assign(sex=frame["sex"].astype("category")).to_parquet(path, index=False)
    assert isinstance(reader.read_table(path)["sex"].dtype, pd.CategoricalDtype)
    spec = AuditSpec(y_true="passed", y_pred="flag", sensitive=["sex", "grade"], n_boot=100)
    streamed, whole = _both(path, spec)
    assert json.dumps(streamed, sort_keys=True) == json.dumps(whole, sort_keys=True)
    assert {g["group"]["sex"] for g in streamed["groups"]} == {" F ", "F", "M"}


def test_no_batch_outlives_its_turn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Constant memory: once the file is read, Arrow holds no batch (a kept view would hold one each)."""
    import pyarrow as pa

    rows = 200_000
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"sex": rng.choice(["F", "M"], rows), "passed": rng.integers(0, 2, rows),
                          "flag": rng.integers(0, 2, rows), "score": np.round(rng.random(rows), 2)})
    path = tmp_path / "big.parquet"
    frame.to_parquet(path, index=False)
    monkeypatch.setattr(_stream, "_PARQUET_BATCH", 20_000)
    held: list[int] = []

    def progress(fraction: float) -> None:
        if fraction >= 0.9 and not held:  # the file is read; the statistics are still alive
            held.append(pa.total_allocated_bytes())

    spec = AuditSpec(y_true="passed", y_pred="flag", score="score", sensitive=["sex"], n_boot=100)
    before = pa.total_allocated_bytes()
    _stream.stream_audit(path, spec, input_sha256=lambda: "-", progress=progress)
    assert held and held[0] - before < 20_000 * 8  # less than one batch's scores


def test_weighted_deciles_are_numpys_quantiles_to_the_bit() -> None:
    # The streamed calibration bands come from runs (score, count), never from the rows.
    rng = np.random.default_rng(0)
    for trial in range(600):
        score = rng.normal(0, 1e3, rng.integers(1, 60)) if trial % 3 == 0 else \
            np.round(rng.normal(0, 3, rng.integers(1, 60)), trial % 3)  # ties, and -0.0 beside 0.0
        values, counts = np.unique(score, return_counts=True)
        weights = counts.astype(float)
        whole = _calibration.band_edges(score)
        runs = _calibration.band_edges(np.concatenate([values, values]), np.concatenate([0 * weights, weights]))
        assert whole.tobytes() == runs.tobytes()


def _close(a: object, b: object, where: str = "") -> None:
    """Equal structures; numbers to 1e-12 (relative, or absolute near 0: differences of AUCs), else exactly."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for key in a:
            _close(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _close(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and not isinstance(b, bool) and isinstance(b, (int, float)):
        assert b == pytest.approx(a, rel=1e-12, abs=1e-12), where
    else:
        assert a == b, where


SPILLED = {
    # every score distinct, probabilities (tenths of [0, 1]) and ties of one score across batches
    "fine": {"y_true": "passed", "y_pred": "flag", "score": "noisy", "sensitive": ["sex", "area", "grade"]},
    "ties": {"y_true": "passed", "y_pred": "flag", "score": "score", "sensitive": ["sex", "area"],
             "reference": {"area": "село"}},
    "deciles": {"y_true": "passed", "y_pred": "flag", "score": "mark", "sensitive": ["grade", "sex"]},
    "one_class": {"y_true": "passed", "y_pred": "flag", "score": "noisy", "sensitive": ["sex", "tiny"]},
    "pass_mark": {"kind": "scorer", "y_true": "mark", "y_pred": "predicted_mark", "pass_mark": 50,
                  "sensitive": ["area", "sex"]},
}


@pytest.mark.parametrize("name", SPILLED)
def test_runs_spilled_to_duckdb_give_the_in_memory_audit(tmp_path: Path, frame: pd.DataFrame, name: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # Past the budget the (group, score) runs go to DuckDB on disk and come back in score order
    # in small batches (many ties cut at a batch's end), for every level at once.
    from workbench.fairness import _spill

    monkeypatch.setattr(_stream, "_PARQUET_BATCH", 700)
    monkeypatch.setattr(_stream, "_SPILL_RUNS", 300)
    monkeypatch.setattr(_spill, "_READ_BATCH", 257)
    noisy = 0.3 * frame["passed"] + np.random.default_rng(5).random(ROWS)  # every value distinct, AUC < 1
    frame = frame.assign(tiny=np.where(np.arange(ROWS) < 40, "x", "y"), noisy=noisy)
    frame.loc[frame["tiny"] == "x", "passed"] = 1  # a group with one class: no AUC, as in memory
    out = tmp_path / "outputs.parquet"
    frame.to_parquet(out, index=False, row_group_size=1000)
    spilled: list[object] = []
    real = _spill.RunSpill.finish
    monkeypatch.setattr(_spill.RunSpill, "finish", lambda self, *a, **k: spilled.append(self) or real(self, *a, **k))
    sha = file_sha256(out)
    heard: list[float] = []
    streamed = _stream.stream_audit(out, AuditSpec(n_boot=200, seed=3, **SPILLED[name]), input_sha256=lambda: sha,
                                    progress=heard.append).to_json_dict("en")
    whole = run_audit(reader.read_table(out), AuditSpec(n_boot=200, seed=3, **SPILLED[name]),
                      input_sha256=sha).to_json_dict("en")
    assert spilled and spilled[0].rows > 300
    assert heard == sorted(heard) and heard[-1] == 1.0 and any(0.9 < f < 0.99 for f in heard)  # the pass too
    _close(streamed, whole)
    aucs = [g["metrics"]["auc"] for g in whole["groups"] if "auc" in g["metrics"]]
    assert sum(a["ci_low"] is not None and a["estimate"] < a["ci_high"] < 1 for a in aucs) >= 2
    if name == "one_class":
        tiny = [g for g in whole["groups"] if g["group"].get("tiny") == "x"]
        assert tiny and tiny[0]["metrics"]["auc"]["estimate"] is None
    if name != "pass_mark":
        assert streamed["calibration"]


@pytest.mark.parametrize("labels", ["bool", "int8", "uint16", "float32", "float64"])
def test_number_columns_read_from_arrow_buffers_as_pandas_reads_them(tmp_path: Path, frame: pd.DataFrame,
                                                                      labels: str) -> None:
    # Parquet keeps the column types; sliced batches (700 rows) start inside Arrow's buffers.
    typed = frame.assign(passed=frame["passed"].astype(labels), flag=frame["flag"].astype(labels),
                         score=frame["score"].astype("float32"), grade=frame["grade"].astype("int16"))
    out = tmp_path / "typed.parquet"
    typed.to_parquet(out, index=False, row_group_size=1000)
    spec = AuditSpec(y_true="passed", y_pred="flag", score="score", sensitive=["sex", "grade"], n_boot=100)
    streamed, whole = _both(out, spec)
    assert json.dumps(streamed, sort_keys=True) == json.dumps(whole, sort_keys=True)


@pytest.mark.parametrize("value", [2.0, np.nan, np.inf])
def test_number_columns_that_are_not_labels_get_the_in_memory_message(tmp_path: Path, frame: pd.DataFrame,
                                                                       value: float) -> None:
    bad = frame.assign(flag=frame["flag"].astype(float), mark=frame["mark"].astype(float))
    bad.loc[4321, ["flag", "mark"]] = value
    out = tmp_path / "bad.parquet"
    bad.to_parquet(out, index=False, row_group_size=1000)
    specs = [AuditSpec(y_true="passed", y_pred="flag", sensitive=["sex"])]
    if value != 2.0:  # a 2 is a fine score, not a fine label
        specs.append(AuditSpec(kind="scorer", y_true="predicted_mark", y_pred="mark", sensitive=["sex"]))
    for spec in specs:
        with pytest.raises(InputError) as streamed:
            _stream.stream_audit(out, spec, input_sha256=lambda: "-")
        with pytest.raises(InputError) as whole:
            run_audit(reader.read_table(out), spec)
        assert [p.translate("en") for p in streamed.value.problems] == \
            [p.translate("en") for p in whole.value.problems]


def test_a_ragged_row_the_single_threaded_parse_does_not_find_is_read_again(
        tmp_path: Path, frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    # Once, under load, a threaded parse reported a ragged row (no row number) that the
    # one-thread re-read did not find; the audit then failed with "0 rows". Now it reads again.
    import pyarrow.csv as pacsv

    path = tmp_path / "outputs.csv"
    frame.to_csv(path, index=False)
    real, reported = pacsv.open_csv, []

    class Row:
        number, expected_columns, actual_columns, text = None, 8, 7, ""

    def open_csv(stream, read_options, parse_options, convert_options):
        handler = parse_options.invalid_row_handler
        if read_options.use_threads and not reported and handler(Row()) == "skip":
            reported.append(True)  # the main reader's handler (the type probe's skips silently)
        return real(stream, read_options=read_options, parse_options=parse_options, convert_options=convert_options)

    monkeypatch.setattr(pacsv, "open_csv", open_csv)
    spec = AuditSpec(y_true="passed", y_pred="flag", sensitive=["sex", "area"], n_boot=100)
    streamed, whole = _both(path, spec)
    assert reported and json.dumps(streamed, sort_keys=True) == json.dumps(whole, sort_keys=True)


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_no_room_to_spill_is_a_message_not_a_traceback(tmp_path: Path, frame: pd.DataFrame, lang: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow.parquet as pq
    from click.testing import CliRunner

    from workbench.fairness.cli import audit_command

    monkeypatch.setattr(_stream, "_PARQUET_BATCH", 700)
    monkeypatch.setattr(_stream, "_SPILL_RUNS", 300)

    def full(*_args: object, **_kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    out = tmp_path / "outputs.parquet"
    frame.to_parquet(out, index=False)
    monkeypatch.setattr(pq.ParquetWriter, "write_table", full)  # the spill file's writes only, from here
    done = CliRunner().invoke(audit_command, [str(out), "--y-true", "passed", "--y-pred", "flag", "--score",
                                              "fine_score", "--sensitive", "sex", "--lang", lang])
    assert done.exit_code == 2 and "Traceback" not in done.output
    assert "TMPDIR" in done.output and "{" not in done.output

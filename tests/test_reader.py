"""The model-output reader: formats, encodings, delimiters, bad input, column mapping, memory."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench.intake import reader
from workbench.errors import ValidationFailed, WorkbenchError
from workbench.i18n import LANGUAGES, has_key, translations

REPO = Path(__file__).resolve().parents[1]
# UCI Student Performance, Cortez & Silva 2008, CC BY 4.0 (Portuguese secondary schools).
STUDENT_MAT = Path(__file__).resolve().parents[1] / "fixtures" / "uci-student-performance" / "student-mat.csv"

RUSSIAN = [("Иванова Айгерим", "Ж", "город", "0,85"), ("Петров Олжас", "М", "село", "0,4")]
KAZAKH = [("Әлібек Нұрғали", "ер", "қала", "0,75"), ("Гүлнұр Өтегенова", "әйел", "ауыл", "0,3")]


def csv_text(rows, delimiter: str = ";", header=("ФИО", "пол", "местность", "балл")) -> str:
    lines = [delimiter.join(header)] + [delimiter.join(r) for r in rows]
    return "\r\n".join(lines) + "\r\n"  # Excel writes CRLF


def xlsx_bytes(rows: list[list], *, extra_sheet: bool = False) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "outputs"
    for row in rows:
        ws.append(row)
    if extra_sheet:
        wb.create_sheet("notes").append(["ignored"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# -- encodings, delimiters, formats -----------------------------------------------------------------

@pytest.mark.parametrize(
    ("encoding", "expected", "rows"),
    [
        ("utf-8", "utf-8", RUSSIAN),
        ("utf-8-sig", "utf-8-sig", RUSSIAN),
        ("utf-16", "utf-16-le", RUSSIAN),  # Python writes a little-endian BOM
        ("utf-16-be-bom", "utf-16-be", RUSSIAN),
        ("cp1251", "cp1251", RUSSIAN),
        ("kz1048", "kz1048", KAZAKH),
        ("utf-8", "utf-8", KAZAKH),
    ],
)
def test_each_encoding_is_detected_and_decoded(encoding, expected, rows):
    text = csv_text(rows)
    data = b"\xfe\xff" + text.encode("utf-16-be") if encoding == "utf-16-be-bom" else text.encode(encoding)
    df, info = reader.read_table_info(data, name="outputs.csv")
    assert info.encoding == expected
    assert (info.kind, info.delimiter, info.decimal) == ("csv", ";", ",")
    assert list(df.columns) == ["ФИО", "пол", "местность", "балл"]  # no BOM left on the first name
    assert df["ФИО"].tolist() == [r[0] for r in rows]
    assert df["балл"].tolist() == [float(r[3].replace(",", ".")) for r in rows]


def test_cp1251_is_not_mistaken_for_latin1_text():
    german = csv_text([("Müller", "m", "Köln", "1"), ("Schäfer", "w", "Düsseldorf", "2")], header=("name", "sex", "city", "n"))
    with pytest.raises(reader.ReaderError) as exc:
        reader.read_table(german.encode("latin-1"))
    assert exc.value.key == reader._BAD_ENCODING


@pytest.mark.parametrize(
    ("delimiter", "kind"),
    [(",", "csv"), (";", "csv"), ("\t", "tsv"), ("|", "csv")],
)
def test_each_delimiter(delimiter, kind):
    rows = [("1", "0", "F", "a, b"), ("0", "0", "M", "c"), ("1", "1", "F", "d")]
    header = ("y_true", "y_pred", "sex", "note")
    quoted = [tuple(f'"{v}"' if delimiter in v or "," in v else v for v in r) for r in rows]
    df, info = reader.read_table_info(csv_text(quoted, delimiter, header).encode(), name="x")
    assert (info.kind, info.delimiter) == (kind, delimiter)
    assert df.shape == (3, 4)
    assert df["y_true"].tolist() == [1, 0, 1]
    assert df["note"].tolist() == ["a, b", "c", "d"]


def test_quoted_newlines_and_decimal_point_stay_intact():
    data = b'id,comment,score\n1,"line one\nline two",0.5\n2,"says ""hi""",1.25\n'
    df = reader.read_table(data)
    assert df["comment"].tolist() == ["line one\nline two", 'says "hi"']
    assert df["score"].tolist() == [0.5, 1.25]


def test_excel_first_sheet_with_formula_injection_kept_as_text():
    rows = [["y_true", "y_pred", "sex", "note"], [1, 1, "F", "=1+1"], [0, 1, "M", "<b>bold</b>"], [1, 0, "F", None]]
    data = xlsx_bytes(rows, extra_sheet=True)
    from openpyxl import load_workbook

    # openpyxl would store "=1+1" as a formula; make it a text cell as a spreadsheet user would
    wb = load_workbook(io.BytesIO(data))
    wb["outputs"]["D2"].data_type = "s"
    buf = io.BytesIO()
    wb.save(buf)
    df, info = reader.read_table_info(buf.getvalue(), name="outputs.xlsx")
    assert info.kind == "xlsx" and info.sheet == "outputs" and info.sheets == ["outputs", "notes"]
    assert df["y_true"].tolist() == [1, 0, 1]
    assert df["note"].tolist()[:2] == ["=1+1", "<b>bold</b>"]
    assert pd.isna(df["note"].iloc[2])


def test_excel_formula_without_cached_value_is_not_evaluated():
    df = reader.read_table(xlsx_bytes([["a", "b"], [1, "=1+1"], [2, "=A3*10"]]))
    assert df["b"].isna().all()  # no stored result, and the reader never computes one


def test_excel_ragged_row_is_reported_with_its_row_number():
    with pytest.raises(reader.ReaderError) as exc:
        reader.read_table(xlsx_bytes([["a", "b"], [1, 2], [3, 4, "extra"], [5, 6]]))
    assert exc.value.key == reader._RAGGED
    assert [(p.key, p.params["row"]) for p in exc.value.problems] == [(reader._RAGGED_ROW, 3)]


def test_excel_header_after_blank_rows_keeps_sheet_row_numbers():
    rows = [[None], [None, None], ["y_true", "sex"], [1, "F"], [0, "M", "extra"]]
    with pytest.raises(reader.ReaderError) as exc:
        reader.read_table(xlsx_bytes(rows))
    assert exc.value.problems[0].params["row"] == 5
    df = reader.read_table(xlsx_bytes(rows[:4]))
    assert df.to_dict("list") == {"y_true": [1], "sex": ["F"]}


def test_empty_excel_sheet():
    with pytest.raises(reader.ReaderError) as exc:
        reader.read_table(xlsx_bytes([]))
    assert exc.value.key == reader._EMPTY


def test_parquet_and_jsonl():
    frame = pd.DataFrame({"y_true": [1, 0], "y_pred": [1, 1], "язык": ["kk", "ru"]})
    df, info = reader.read_table_info(frame.to_parquet(), name="o.parquet")
    assert info.kind == "parquet" and df.equals(frame)
    lines = [{"pair_id": 1, "variant": "Айгерим", "prompt": "Есеп шығар", "response": "Жауабы: 4", "meta": {"x": 1}},
             {"pair_id": 1, "variant": "Иван", "prompt": "Реши задачу", "response": "Ответ: 4"}]
    data = ("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n").encode()
    df, info = reader.read_table_info(data)
    assert info.kind == "jsonl"
    assert df["variant"].tolist() == ["Айгерим", "Иван"]
    assert json.loads(df["meta"].iloc[0]) == {"x": 1}  # nested values kept as JSON text


def test_reads_from_a_path_and_the_real_student_data():
    df, info = reader.read_table_info(STUDENT_MAT)
    assert (info.kind, info.encoding, info.delimiter, info.rows) == ("csv", "utf-8", ",", 395)
    assert df.shape == (395, 33)
    assert df["G3"].dtype.kind == "i"
    mapping = reader.suggest_mapping(df)
    assert mapping.sensitive == ["sex", "address", "internet"]


def test_real_student_data_as_a_pass_fail_predictor_validates():
    df = reader.read_table(STUDENT_MAT)
    # G3 is the final grade out of 20 (10 passes); G2, the second-period grade, stands in
    # for an early-warning model's prediction.
    df["actual_pass"] = (df["G3"] >= 10).astype(int)
    df["predicted_pass"] = (df["G2"] >= 10).astype(int)
    mapping = reader.suggest_mapping(df[["sex", "address", "internet", "actual_pass", "predicted_pass"]])
    assert (mapping.y_true, mapping.y_pred) == ("actual_pass", "predicted_pass")
    problems = reader.check_mapping(df, mapping, "classification")
    assert all(p.severity == "warning" for p in problems)


def test_type_change_far_down_the_file_widens_the_column():
    data = b"a,b\n" + b"1,x\n" * 300_000 + b"2.5,y\nunknown,z\n"
    df = reader.read_table(data)
    assert len(df) == 300_002
    assert df["a"].iloc[-2:].tolist() == ["2.5", "unknown"]


def test_cp1251_first_seen_after_the_sniffed_head_is_still_read():
    data = b"name;n\r\n" + b"ascii;1\r\n" * 20_000 + "Иванова Айгерим;2\r\n".encode("cp1251")
    assert len(data) > reader.HEAD_BYTES
    df, info = reader.read_table_info(data)
    assert info.encoding == "cp1251"
    assert df["name"].iloc[-1] == "Иванова Айгерим"


def test_trailing_empty_excel_columns_in_csv_are_dropped():
    df = reader.read_table("a;b;;\r\n1;2;;\r\n3;4;;\r\n".encode("cp1251"))
    assert list(df.columns) == ["a", "b"]


def test_codes_with_leading_zeros_stay_text():
    df = reader.read_table(b"iin,school,y\n070512300123,0042,1\n081122400456,1042,0\n")
    assert df["iin"].tolist() == ["070512300123", "081122400456"]
    assert df["school"].tolist() == ["0042", "1042"]
    assert df["y"].tolist() == [1, 0]


def test_parquet_index_becomes_a_column():
    frame = pd.DataFrame({"y": [1, 0]}, index=pd.Index(["a", "b"], name="student"))
    df = reader.read_table(frame.to_parquet())
    assert sorted(df.columns) == ["student", "y"] and isinstance(df.index, pd.RangeIndex)


def test_cells_are_stripped_and_empty_cells_are_missing():
    df = reader.read_table(b"sex,y\n F ,1\n,0\nM,1\n")
    assert df["sex"].iloc[0] == "F"
    assert pd.isna(df["sex"].iloc[1])


# -- formula injection and markup ---------------------------------------------------------------------

INJECTIONS = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1:A2)", "<script>alert(1)</script>", "=HYPERLINK(\"http://x\")"]


def test_formula_and_html_cells_stay_plain_text():
    body = "\n".join(f'{i},"{v.replace(chr(34), chr(34) * 2)}"' for i, v in enumerate(INJECTIONS))
    df = reader.read_table(("id,cell\n" + body + "\n").encode())
    assert df["cell"].tolist() == INJECTIONS
    shown = reader.preview(df)
    assert shown["cell"].tolist() == INJECTIONS
    assert all(isinstance(v, str) for v in shown["id"])


def test_preview_limits_rows_and_shows_missing_as_blank():
    df = pd.DataFrame({"a": range(50), "b": [None, "x"] * 25})
    shown = reader.preview(df, n=5)
    assert len(shown) == 5 and shown["b"].tolist()[:2] == ["", "x"] and shown["a"].tolist()[0] == "0"


# -- sniffing ---------------------------------------------------------------------------------------

def _docx_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"a,b\n1,2\n", "csv"),
        (b"a\tb\n1\t2\n", "tsv"),
        (b'{"a": 1}\n{"a": 2}\n', "jsonl"),
        (b"PAR1\x15\x04", "parquet"),
        (b"%PDF-1.7\n", "pdf"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "jpeg"),
        (_docx_bytes(), "docx"),
        (xlsx_bytes([["a"], [1]])[:3000], "xlsx"),  # a truncated head still names xl/ parts
        (b"MZ\x90\x00\x03\x00\x00\x00", "unknown"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "unknown"),
        (b"just one line of words", "unknown"),
    ],
)
def test_sniff_kind(head, kind):
    assert reader.sniff_kind(head) == kind


def test_sniff_kind_ignores_the_extension_and_reads_content():
    # A CSV named .xlsx is a CSV; a PNG named .csv is refused as "not a table".
    assert reader.read_table(b"a,b\n1,2\n", name="lies.xlsx").shape == (1, 2)
    with pytest.raises(reader.ReaderError) as exc:
        reader.read_table(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, name="outputs.csv")
    assert exc.value.key == reader._NOT_A_TABLE


def test_describe_source_is_cheap_and_human_readable():
    info = reader.describe_source(csv_text(RUSSIAN).encode("cp1251"))
    assert (info.encoding, info.delimiter, info.rows) == ("cp1251", ";", None)
    assert info.columns == ["ФИО", "пол", "местность", "балл"]
    for lang in LANGUAGES:
        assert "cp1251" in info.describe(lang) and ";" in info.describe(lang)
    parquet = reader.describe_source(pd.DataFrame({"a": [1, 2, 3]}).to_parquet())
    assert (parquet.kind, parquet.rows, parquet.columns) == ("parquet", 3, ["a"])
    jsonl = reader.describe_source(b'{"prompt": "a", "response": "b"}\n')
    assert (jsonl.kind, jsonl.columns) == ("jsonl", ["prompt", "response"])
    xlsx = reader.describe_source(xlsx_bytes([["x", "y"], [1, 2]]))
    assert (xlsx.kind, xlsx.columns, xlsx.sheet) == ("xlsx", ["x", "y"], "outputs")


# -- bad input: every one has its message and changes nothing ----------------------------------------

def _unsafe_xlsx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("xl/workbook.xml", '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><workbook/>')
    return buf.getvalue()


def _mixed_encoding() -> bytes:
    return b"name,n\n" + b"ascii,1\n" * 20_000 + "Иван,2\n".encode("cp1251") + "Айгерим,3\n".encode("utf-8")


BAD_INPUTS = [
    ("empty", b"", reader._EMPTY),
    ("blank", b"\xef\xbb\xbf \r\n\r\n", reader._EMPTY),
    ("header only", b"y_true,y_pred\n", reader._NO_ROWS),
    ("no header", b"1,0,0.85\n0,1,0.3\n", reader._NO_HEADER),
    ("duplicate header", b"a,b,a\n1,2,3\n", reader._BAD_HEADER),
    ("unnamed column", b"a,,c\n1,2,3\n", reader._BAD_HEADER),
    ("ragged", b"a,b\n1,2\n3,4,5\n6\n", reader._RAGGED),
    ("one column", b"hello\nworld\n", reader._ONE_COLUMN),
    ("latin-1", "name;city\nMüller;Köln\nSchäfer;Düsseldorf\n".encode("latin-1"), reader._BAD_ENCODING),
    ("mixed encoding", _mixed_encoding(), reader._MIXED_ENCODING),
    ("cp1251 broken later", "имя;n\r\n".encode("cp1251") + "Иван;1\r\n".encode("cp1251") * 20_000 + b"\x98;2\r\n",
     reader._MIXED_ENCODING),
    ("binary", bytes(range(256)) * 4, reader._UNKNOWN_FORMAT),
    ("exe", b"MZ\x90\x00" + b"\x00" * 100, reader._UNKNOWN_FORMAT),
    ("plain zip", b"PK\x03\x04" + b"\x00" * 60, reader._UNKNOWN_FORMAT),
    ("old xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, reader._OLD_EXCEL),
    ("pdf", b"%PDF-1.4\n%\xe2\xe3\n", reader._NOT_A_TABLE),
    ("docx", _docx_bytes(), reader._NOT_A_TABLE),
    ("broken xlsx", b"PK\x03\x04" + b"\x14\x00" * 11 + b"\x0f\x00\x00\x00xl/workbook.xml" + b"junk" * 20, reader._CORRUPT),
    ("xlsx with DTD", _unsafe_xlsx(), reader._UNSAFE),
    ("broken parquet", b"PAR1" + b"\x00" * 50, reader._CORRUPT),
    ("bad json lines", b'{"a": 1}\nnot json\n[1, 2]\n{"a": 2}\n', reader._BAD_JSONL),
    ("html page", b"<html><body><p>hello</p></body></html>\n", reader._ONE_COLUMN),
]


@pytest.mark.parametrize(("label", "data", "key"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_gives_its_message_and_changes_nothing(tmp_path, label, data, key):
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    before = sorted((p.name, p.stat().st_mtime_ns) for p in tmp_path.iterdir())
    with pytest.raises(reader.ReaderError) as exc:
        reader.read_table(path)
    assert exc.value.key == key
    assert isinstance(exc.value, ValidationFailed)
    for lang in LANGUAGES:  # renders, problems included, in every language
        assert exc.value.translate(lang)
    assert sorted((p.name, p.stat().st_mtime_ns) for p in tmp_path.iterdir()) == before
    assert path.read_bytes() == data


def test_too_large_names_the_limit_in_mb(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(b"a,b\n" + b"1,2\n" * 1000)
    with pytest.raises(reader.ReaderError) as exc:
        reader.read_table(path, max_bytes=1024 * 1024 // 512)
    assert exc.value.key == reader._TOO_LARGE
    assert exc.value.params["limit_mb"] == "0.00195"
    with pytest.raises(reader.ReaderError) as exc:
        reader.read_table(b"x" * 3 * 1024 * 1024, max_bytes=2 * 1024 * 1024)
    assert "2 MB" in exc.value.translate("en") and "2 МБ" in exc.value.translate("kk")


def test_missing_file(tmp_path):
    with pytest.raises(reader.ReaderError) as exc:
        reader.read_table(tmp_path / "nope.csv")
    assert exc.value.key == reader._NO_FILE


def test_ragged_rows_are_all_listed_with_spreadsheet_row_numbers():
    with pytest.raises(reader.ReaderError) as exc:
        reader.read_table(b"a,b\n1,2\n3,4,5\n6\n7,8\n")
    problems = [(p.key, p.params["row"], p.params["expected"], p.params["found"]) for p in exc.value.problems]
    assert problems == [(reader._RAGGED_ROW, 3, 2, 3), (reader._RAGGED_ROW, 4, 2, 1)]
    assert "row 3: expected 2 values, found 3" in exc.value.translate("en")


def test_many_ragged_rows_are_capped_with_a_count():
    data = b"a,b\n" + b"1,2,3\n" * 100
    with pytest.raises(reader.ReaderError) as exc:
        reader.read_table(data)
    assert exc.value.params["count"] == 100
    assert exc.value.problems[-1].key == reader._MORE_PROBLEMS
    assert exc.value.problems[-1].params["count"] == 100 - reader._MAX_PROBLEMS


def test_bad_json_lines_name_every_line():
    with pytest.raises(reader.ReaderError) as exc:
        reader.read_table(b'{"a": 1}\nnot json\n[1, 2]\n{"a": 2}\n')
    assert [p.params["row"] for p in exc.value.problems] == [2, 3]


def test_message_for_undecodable_text_tells_what_to_do():
    with pytest.raises(reader.ReaderError) as exc:
        reader.read_table("name;city\nMüller;Köln\nSchäfer;Düsseldorf\n".encode("latin-1"))
    assert "CSV UTF-8" in exc.value.translate("en")
    assert "CSV UTF-8" in exc.value.translate("kk")


# -- column mapping ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (["y_true", "y_pred", "score", "sex"], {"y_true": "y_true", "y_pred": "y_pred", "score": "score", "sensitive": ["sex"]}),
        (["label", "prediction", "probability", "gender", "region"],
         {"y_true": "label", "y_pred": "prediction", "score": "probability", "sensitive": ["gender", "region"]}),
        (["Факт", "Прогноз", "Вероятность", "Пол", "Язык обучения", "Область"],
         {"y_true": "Факт", "y_pred": "Прогноз", "score": "Вероятность", "sensitive": ["Пол", "Язык обучения", "Область"]}),
        (["Нақты", "Болжам", "Жынысы", "Оқыту тілі", "Облыс"],
         {"y_true": "Нақты", "y_pred": "Болжам", "sensitive": ["Жынысы", "Оқыту тілі", "Облыс"]}),
        (["true_label", "predicted_label", "address", "internet"],
         {"y_true": "true_label", "y_pred": "predicted_label", "sensitive": ["address", "internet"]}),
        (["pair_id", "variant", "prompt", "response", "rating"],
         {"pair_id": "pair_id", "variant": "variant", "prompt": "prompt", "response": "response"}),
        (["sex", "language", "tp", "fp", "tn", "fn"],
         {"tp": "tp", "fp": "fp", "tn": "tn", "fn": "fn", "sensitive": ["sex", "language"]}),
        (["region", "n", "sum", "sum_sq"], {"n": "n", "sum": "sum", "sum_sq": "sum_sq", "sensitive": ["region"]}),
    ],
)
def test_suggest_mapping(columns, expected):
    mapping = reader.suggest_mapping(pd.DataFrame(columns=columns))
    got = {k: v for k, v in mapping.model_dump().items() if v}
    assert got == expected


def _frame(n: int = 60, **columns) -> pd.DataFrame:
    base = {
        "y_true": [i % 2 for i in range(n)],
        "y_pred": [(i // 2) % 2 for i in range(n)],
        "score": [round(i / n, 3) for i in range(n)],
        "sex": ["F", "M"] * (n // 2),
    }
    base.update(columns)
    return pd.DataFrame(base)


CLASSIFIER = reader.ColumnMapping(y_true="y_true", y_pred="y_pred", score="score", sensitive=["sex"])


def _keys(problems, severity="error"):
    return sorted(p.key for p in problems if p.severity == severity)


@pytest.mark.parametrize(
    ("frame", "mapping", "kind", "errors", "warnings"),
    [
        (_frame(), CLASSIFIER, "classification", [], []),
        (_frame(y_true=["yes", "no"] * 30, y_pred=["да", "нет"] * 30), CLASSIFIER, "classification", [], []),
        (_frame(y_true=["иә", "жоқ"] * 30), CLASSIFIER, "classification", [], []),
        (_frame(y_true=[0, 1, 2] * 20), CLASSIFIER, "classification", [reader._NOT_BINARY], []),
        (_frame(y_pred=["1", "0", "maybe"] * 20), CLASSIFIER, "classification", [reader._NOT_BINARY], []),
        (_frame(y_true=["pass", "fail"] * 30), CLASSIFIER, "classification", [reader._POS_LABEL_NEEDED], []),
        (_frame(y_true=["pass", "fail"] * 30, y_pred=["pass", "fail"] * 30),
         CLASSIFIER.model_copy(update={"pos_label": "fail"}), "classification", [], []),
        (_frame(score=["0.5", "high"] * 30), CLASSIFIER, "classification", [reader._NOT_NUMERIC], []),
        (_frame(sex=["F"] * 60), CLASSIFIER, "classification", [reader._SINGLE_VALUE], []),
        (_frame(sex=["F"] * 55 + ["M"] * 5), CLASSIFIER, "classification", [], [reader._SMALL_GROUP]),
        (_frame(sex=["F", None] * 30), CLASSIFIER, "classification", [reader._EMPTY_VALUES, reader._SINGLE_VALUE], []),
        (_frame(), reader.ColumnMapping(y_true="y_true", y_pred="y_pred"), "classification", [reader._SENSITIVE_MISSING], []),
        (_frame(), reader.ColumnMapping(y_true="label", y_pred="y_pred", sensitive=["gender"]), "classification",
         [reader._COLUMN_MISSING, reader._COLUMN_MISSING], []),
        (_frame(), reader.ColumnMapping(y_true="y_true", y_pred="y_true", sensitive=["sex"]), "classification",
         [reader._COLUMN_REUSED], []),
        (_frame(), reader.ColumnMapping(sensitive=["sex"]), "classification", [reader._ROLE_MISSING, reader._ROLE_MISSING], []),
        (_frame(y_true=[3.5, 4.0] * 30, score=[3.0, "x"] * 30),
         reader.ColumnMapping(y_true="y_true", score="score", sensitive=["sex"]), "scores", [reader._NOT_NUMERIC], []),
        (_frame(0).iloc[0:0], CLASSIFIER, "classification", [reader._NO_DATA_ROWS], []),
    ],
)
def test_validate_mapping_cases(frame, mapping, kind, errors, warnings):
    problems = reader.validate_mapping(frame, mapping, kind)
    assert _keys(problems) == sorted(errors)
    assert _keys(problems, "warning") == sorted(warnings)
    for problem in problems:
        for lang in LANGUAGES:
            assert problem.translate(lang)


def test_every_problem_is_listed_at_once_with_row_numbers():
    df = _frame(y_true=[0, 1, 2] + [0, 1] * 28 + [None], y_pred=["1", "maybe"] + ["0"] * 58,
                score=[0.1, "n/a"] + [0.5] * 58)
    with pytest.raises(reader.ReaderError) as exc:
        reader.check_mapping(df, CLASSIFIER, "classification")
    assert exc.value.key == reader._INVALID_MAPPING
    by_key = {(p.key, p.column): p for p in exc.value.problems}
    assert by_key[(reader._NOT_BINARY, "y_true")].rows == [4]  # the value 2, in spreadsheet row 4
    assert by_key[(reader._NOT_BINARY, "y_true")].params["values"] == "2.0"
    assert by_key[(reader._EMPTY_VALUES, "y_true")].rows == [61]
    assert by_key[(reader._NOT_BINARY, "y_pred")].rows == [3]
    assert by_key[(reader._NOT_NUMERIC, "score")].rows == [3]
    text = exc.value.translate("ru")
    assert "строки: 4" in text and "«y_pred»" in text


def test_role_names_are_translated_in_messages():
    problems = reader.validate_mapping(_frame(), reader.ColumnMapping(sensitive=["sex"]), "classification")
    missing = [p for p in problems if p.key == reader._ROLE_MISSING]
    assert "нақты нәтиже" in " ".join(p.translate("kk") for p in missing)
    assert "true label" in " ".join(p.translate("en") for p in missing)


def test_row_lists_are_capped_but_counted():
    df = _frame(600, y_true=["maybe"] * 600)
    problem = next(p for p in reader.validate_mapping(df, CLASSIFIER, "classification") if p.key == reader._NOT_BINARY)
    assert problem.params["count"] == 600
    assert problem.params["rows"].endswith("…") and len(problem.rows) == 10


GENERATIVE = reader.ColumnMapping(prompt="prompt", response="response", variant="variant", pair_id="pair_id", score="rating")


def test_generative_pairs():
    df = pd.DataFrame({
        "pair_id": [1, 1, 2, 2, 3],
        "variant": ["Айгерим", "Иван", "ауыл", "қала", "ауыл"],
        "prompt": ["Есеп", "Задача", "Эссе", "Эссе", None],
        "response": ["4", "4", "", "Жақсы", "ok"],
        "rating": [4, 4, 3, 5, 2],
    })
    problems = reader.validate_mapping(df, GENERATIVE, "generative")
    assert _keys(problems) == [reader._EMPTY_VALUES]
    assert _keys(problems, "warning") == [reader._EMPTY_RESPONSE, reader._UNPAIRED]
    unpaired = next(p for p in problems if p.key == reader._UNPAIRED)
    assert unpaired.params["pairs"] == "3"


AGG_CLASSIFICATION = reader.ColumnMapping(sensitive=["sex", "address"], tp="tp", fp="fp", tn="tn", fn="fn")


@pytest.mark.parametrize(
    ("tp", "errors"),
    [
        ([40, 30, 25, 50], []),
        ([40, -3, 25, 50], [reader._NEGATIVE]),
        ([40, 2.5, 25, 50], [reader._NOT_INTEGER]),
        ([40, "many", 25, 50], [reader._NOT_NUMERIC]),
    ],
)
def test_aggregated_counts(tp, errors):
    df = pd.DataFrame({"sex": ["F", "F", "M", "M"], "address": ["U", "R", "U", "R"], "tp": tp,
                       "fp": [5, 6, 7, 8], "tn": [50, 40, 45, 60], "fn": [3, 4, 5, 6]})
    assert _keys(reader.validate_mapping(df, AGG_CLASSIFICATION, "aggregated_classification")) == errors


def test_aggregated_small_and_duplicate_groups():
    df = pd.DataFrame({"sex": ["F", "F", "M"], "address": ["U", "U", "R"], "tp": [1, 1, 40],
                       "fp": [1, 1, 8], "tn": [2, 2, 60], "fn": [1, 1, 6]})
    problems = reader.validate_mapping(df, AGG_CLASSIFICATION, "aggregated_classification")
    assert _keys(problems) == [reader._DUPLICATE_GROUP]
    dup = next(p for p in problems if p.key == reader._DUPLICATE_GROUP)
    assert dup.rows == [3]
    small = [p for p in problems if p.key == reader._SMALL_GROUP]
    assert [p.params["group"] for p in small] == ["F / U", "F / U"] and small[0].params["count"] == 5


def test_aggregated_scores():
    mapping = reader.ColumnMapping(sensitive=["lang"], n="n", sum="sum", sum_sq="sum_sq")
    df = pd.DataFrame({"lang": ["kk", "ru"], "n": [120, 80], "sum": [-12.5, 3.0], "sum_sq": [40.0, -1.0]})
    assert _keys(reader.validate_mapping(df, mapping, "aggregated_scores")) == [reader._NEGATIVE]


@pytest.mark.parametrize(
    ("kind", "roles"),
    [
        ("classification", ("y_true", "y_pred", "sensitive")),
        ("scores", ("y_true", "score", "sensitive")),
        ("generative", ("prompt", "response", "variant", "pair_id")),
        ("aggregated_classification", ("tp", "fp", "tn", "fn", "sensitive")),
        ("aggregated_scores", ("n", "sum", "sum_sq", "sensitive")),
    ],
)
def test_required_roles_per_kind(kind, roles):
    assert kind in reader.MAPPING_KINDS
    assert reader.required_roles(kind) == roles
    # an empty mapping is told about exactly these roles
    problems = reader.validate_mapping(_frame(), reader.ColumnMapping(), kind)
    missing = {p.params["role"] for p in problems if p.key == reader._ROLE_MISSING}
    assert missing | ({"sensitive"} if any(p.key == reader._SENSITIVE_MISSING for p in problems) else set()) == set(roles)


def test_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError):
        reader.validate_mapping(_frame(), CLASSIFIER, "regression")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("values", "pos_label", "expected"),
    [
        ([1, 0, None, 1], None, [1, 0, None, 1]),
        ([True, False], None, [1, 0]),
        (["Yes", " no ", "ДА", "жоқ"], None, [1, 0, 1, 0]),
        (["at risk", "ok", "at risk"], "at risk", [1, 0, 1]),
    ],
)
def test_binary_labels(values, pos_label, expected):
    out = reader.binary_labels(pd.Series(values, name="y"), pos_label)
    assert [None if pd.isna(v) else int(v) for v in out] == expected


def test_binary_labels_refuse_a_third_value():
    with pytest.raises(reader.ReaderError) as exc:
        reader.binary_labels(pd.Series([0, 1, 2], name="y"))
    assert exc.value.problems[0].key == reader._NOT_BINARY and exc.value.problems[0].rows == [4]


# -- catalogue --------------------------------------------------------------------------------------

def test_every_message_key_exists_in_three_languages():
    keys = [v for k, v in vars(reader).items() if k.startswith("_") and k[1:].isupper()
            and isinstance(v, str) and v.startswith("reader.") and "{" not in v]
    keys += [reader._ROLE_KEY.format(role=r) for r in reader.ColumnMapping.model_fields if r != "sensitive"]
    keys += [reader._DELIMITER_KEY.format(name=n) for n in reader._DELIMITER_NAMES.values()]
    keys += [f"reader.kind.{k}" for k in reader._KINDS]
    assert len(keys) > 50
    for key in keys:
        assert has_key(key), key
        assert all(translations(key)[lang].strip() for lang in LANGUAGES), key


def test_errors_are_workbench_errors():
    assert issubclass(reader.ReaderError, ValidationFailed)
    assert issubclass(reader.MappingProblem, WorkbenchError)


# -- memory budget ----------------------------------------------------------------------------------

PEAK_RSS = textwrap.dedent("""
    def peak_rss_mb():
        try:
            with open("/proc/self/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
""")
BUDGET_MB = 400  # README: "a 1M-row CSV reads in under 400 MB" (measured ~270 MB)


def test_one_million_rows_read_within_the_memory_budget(tmp_path):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    n = 1_000_000
    rng = np.random.default_rng(7)
    table = pa.table({
        "student_id": np.arange(n),
        "y_true": rng.integers(0, 2, n),
        "y_pred": rng.integers(0, 2, n),
        "score": rng.random(n).round(4),
        "sex": rng.choice(["F", "M"], n),
        "address": rng.choice(["U", "R"], n),
        "region": rng.choice(["Астана", "Алматы", "Шымкент", "Абай облысы", "Түркістан облысы"], n),
        "language": rng.choice(["kk", "ru", "other"], n),
    })
    path = tmp_path / "million.csv"
    pacsv.write_csv(table, path)
    del table
    # ru_maxrss (resource.getrusage) of a child starts at pytest's own RSS on Linux, so the
    # child reports its own high-water mark (VmHWM) and ru_maxrss only where there is no /proc.
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(REPO)!r})
        from workbench.intake.reader import read_table
        start = time.perf_counter()
        df = read_table({str(path)!r})
        assert df.shape == ({n}, 8), df.shape
        elapsed = time.perf_counter() - start
    """) + PEAK_RSS + "print(peak_rss_mb(), elapsed)\n"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    peak_mb, seconds = map(float, out.stdout.split())
    assert peak_mb < BUDGET_MB, f"peak RSS {peak_mb:.0f} MB over the {BUDGET_MB} MB budget"
    assert seconds < 20


def test_every_mapping_problem_translates():
    """Each problem's key is a catalogue key (a constant rebinding once broke this)."""
    df = pd.DataFrame({"region": ["A", "B"], "n": [40, 25], "sum": [1.0, 2.0], "sum_sq": [-3.0, 5.0]})
    mapping = reader.ColumnMapping(sensitive=["region"], n="n", sum="sum", sum_sq="sum_sq")
    problems = reader.validate_mapping(df, mapping, "aggregated_scores")
    assert problems
    for problem in problems:
        for lang in ("kk", "ru", "en"):
            assert problem.translate(lang)

"""The content-addressed file store: layout, kinds, names, and refusals that write nothing."""

from __future__ import annotations

import hashlib
import io
import stat
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from workbench.intake import storage
from workbench.errors import WorkbenchError
from workbench.i18n import LANGUAGES, has_key

# UCI Student Performance, Cortez & Silva 2008, CC BY 4.0.
STUDENT_MAT = Path(__file__).resolve().parents[1] / "fixtures" / "uci-student-performance" / "student-mat.csv"


@pytest.fixture
def store(tmp_path) -> storage.FileStore:
    return storage.FileStore(tmp_path / "home")


def stored_files(root: Path) -> list[Path]:
    """Every regular file under the store, temporary ones included."""
    return sorted(p for p in root.rglob("*") if p.is_file())


def _zip(names: list[str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in names:
            zf.writestr(name, "<x/>")
    return buf.getvalue()


def _xlsx() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["y_true", "y_pred", "sex"])
    wb.active.append([1, 0, "F"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


GOOD = [
    ("report.pdf", b"%PDF-1.7\n1 0 obj<<>>endobj\n%%EOF\n", "pdf", "application/pdf"),
    ("scan.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "png", "image/png"),
    ("photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64, "jpeg", "image/jpeg"),
    ("policy.docx", _zip(["[Content_Types].xml", "_rels/.rels", "word/document.xml"]), "docx",
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("outputs.xlsx", _xlsx(), "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("outputs.csv", "y;пол\n1;Ж\n0;М\n".encode("cp1251"), "csv", "text/csv"),
    ("outputs.tsv", b"y\tsex\n1\tF\n", "tsv", "text/tab-separated-values"),
    ("outputs.parquet", pd.DataFrame({"y": [1, 0]}).to_parquet(), "parquet", "application/vnd.apache.parquet"),
    ("chat.jsonl", b'{"prompt": "a", "response": "b"}\n', "jsonl", "application/jsonl"),
]


@pytest.mark.parametrize(("name", "data", "kind", "media_type"), GOOD, ids=[g[2] for g in GOOD])
def test_put_stores_by_hash_and_sniffs_the_kind(store, name, data, kind, media_type):
    for payload in (data, io.BytesIO(data)):  # bytes and streams alike
        stored = store.put(payload, original_name=name)
        digest = hashlib.sha256(data).hexdigest()
        assert (stored.sha256, stored.size, stored.kind, stored.media_type) == (digest, len(data), kind, media_type)
        assert stored.original_name == name
        assert store.path(digest) == store.root / "files" / digest[:2] / digest[2:4] / digest
        assert store.path(digest).read_bytes() == data
        with store.open(digest) as fh:
            assert fh.read() == data
    assert stored_files(store.root) == [store.path(digest)]  # the second put was deduplicated


def test_the_real_student_data_is_stored(store):
    stored = store.put(STUDENT_MAT.read_bytes(), original_name=STUDENT_MAT.name)
    assert stored.kind == "csv" and stored.size == STUDENT_MAT.stat().st_size
    assert store.verify(stored.sha256)


def test_kind_comes_from_the_content_not_the_name(store):
    assert store.put(b"%PDF-1.4\n", original_name="outputs.csv").kind == "pdf"
    assert store.put(b"a,b\n1,2\n", original_name="report.pdf").kind == "csv"


def test_stored_files_are_read_only_and_verifiable(store):
    stored = store.put(b"a,b\n1,2\n", original_name="x.csv")
    path = store.path(stored.sha256)
    assert not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert store.exists(stored.sha256) and store.verify(stored.sha256)
    path.chmod(0o644)
    path.write_bytes(b"a,b\n1,3\n")  # tampering with evidence is detected
    assert not store.verify(stored.sha256)


def _big_stream(size: int) -> io.BytesIO:
    return io.BytesIO(b"a,b\n" + b"1,2\n" * (size // 4))


BAD = [
    ("too large bytes", lambda: b"a,b\n" + b"1,2\n" * 300, {"max_bytes": 1000}, storage._TOO_LARGE),
    ("too large stream", lambda: _big_stream(3 * 1024 * 1024), {"max_bytes": 2 * 1024 * 1024}, storage._TOO_LARGE),
    ("empty", lambda: b"", {}, storage._EMPTY),
    ("empty stream", lambda: io.BytesIO(b""), {}, storage._EMPTY),
    ("executable", lambda: b"MZ\x90\x00\x03" + b"\x00" * 200, {}, storage._KIND_NOT_ALLOWED),
    ("html", lambda: b"<html><script>alert(1)</script></html>", {}, storage._KIND_NOT_ALLOWED),
    ("plain zip", lambda: _zip(["readme.txt", "data/x.bin"]), {}, storage._KIND_NOT_ALLOWED),
    ("truncated docx", lambda: _zip(["[Content_Types].xml", "word/document.xml"])[:-30], {}, storage._KIND_NOT_ALLOWED),
    ("old xls", lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 200, {}, storage._KIND_NOT_ALLOWED),
    ("csv where documents only", lambda: b"a,b\n1,2\n", {"allowed_kinds": storage.DOCUMENT_KINDS}, storage._KIND_NOT_ALLOWED),
    ("pdf where outputs only", lambda: b"%PDF-1.4\n", {"allowed_kinds": storage.OUTPUT_KINDS}, storage._KIND_NOT_ALLOWED),
    ("latin-1 text", lambda: "name;city\nMüller;Köln\n".encode("latin-1"), {}, storage._KIND_NOT_ALLOWED),
]


@pytest.mark.parametrize(("label", "make", "options", "key"), BAD, ids=[b[0] for b in BAD])
def test_refused_uploads_write_nothing(store, label, make, options, key):
    kept = store.put(b"y,sex\n1,F\n", original_name="earlier.csv")  # an earlier upload must survive
    with pytest.raises(storage.StorageError) as exc:
        store.put(make(), original_name="upload.bin", **options)
    assert exc.value.key == key
    for lang in LANGUAGES:
        assert exc.value.translate(lang)
    assert stored_files(store.root) == [store.path(kept.sha256)]  # no blob, no temporary file


def test_too_large_message_names_the_limit(store):
    with pytest.raises(storage.StorageError) as exc:
        store.put(b"x" * (3 * 1024 * 1024), original_name="big.csv", max_bytes=2 * 1024 * 1024)
    assert exc.value.params == {"size_mb": "3", "limit_mb": "2"}
    assert "2 MB" in exc.value.translate("en") and "2 МБ" in exc.value.translate("ru")
    assert not (store.root / "files").exists()  # refused before touching the disk


def test_default_limit_is_200_mb():
    assert storage.DEFAULT_MAX_BYTES == 200 * 1024 * 1024


def test_write_failure_leaves_nothing(tmp_path):
    blocker = tmp_path / "home"
    blocker.write_text("not a directory")
    with pytest.raises(storage.StorageError) as exc:
        storage.FileStore(blocker).put(b"a,b\n1,2\n", original_name="x.csv")
    assert exc.value.key == storage._WRITE_FAILED
    assert blocker.read_text() == "not a directory"


@pytest.mark.parametrize(
    ("uploaded", "shown"),
    [
        ("outputs.csv", "outputs.csv"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system.ini", "system.ini"),
        ("C:\\Users\\Айгерим\\Нәтижелер 2026.xlsx", "Нәтижелер 2026.xlsx"),
        ("report\x00.pdf", "report.pdf"),
        ("line\nbreak\r.csv", "line break .csv"),
        ("<script>alert(1)</script>.pdf", "script_.pdf"),  # "/" ends a path component
        ("<img src=x onerror=alert(1)>.pdf", "_img src=x onerror=alert(1)_.pdf"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),  # right-to-left override removed
        ("..", "file"),
        ("", "file"),
        ("   . ", "file"),
        ('a:b*c?"d|e.csv', "a_b_c__d_e.csv"),
    ],
)
def test_uploaded_names_are_sanitised_for_display(store, uploaded, shown):
    assert storage.sanitise_name(uploaded) == shown
    stored = store.put(b"%PDF-1.4\n", original_name=uploaded)
    assert stored.original_name == shown
    # whatever the name, the file lives only under its hash
    assert all(p.name == stored.sha256 for p in stored_files(store.root))


def test_long_names_keep_their_extension():
    name = storage.sanitise_name("ә" * 500 + ".xlsx")
    assert len(name) <= 200 and name.endswith(".xlsx")


@pytest.mark.parametrize("bad", ["", "abc", "../" * 10, "A" * 64, "0" * 63 + "g", "0" * 64 + "/x"])
def test_lookups_with_bad_or_unknown_hashes(store, bad):
    assert not store.exists(bad)
    with pytest.raises(storage.StorageError) as exc:
        store.path(bad)
    assert exc.value.key == storage._NOT_FOUND
    with pytest.raises(storage.StorageError):
        store.open(bad)


def test_unknown_but_well_formed_hash_is_not_found(store):
    with pytest.raises(storage.StorageError) as exc:
        store.path("0" * 64)
    assert exc.value.key == storage._NOT_FOUND


def test_message_keys_exist():
    keys = [v for k, v in vars(storage).items() if k.startswith("_") and k[1:].isupper()
            and isinstance(v, str) and v.startswith("storage.")]
    assert len(keys) == 5
    assert all(has_key(k) for k in keys)
    assert issubclass(storage.StorageError, WorkbenchError)

"""Signed open data: the export verifies (here and with openssl), a changed byte fails, a stranger's
key fails, and no confidential field leaves."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from workbench.cli._export import export_command
from workbench.public import opendata
from workbench.decision.signing import KeyStore
from workbench.services import Workbench

from conftest import COMPLETE_DOSSIER, TEST_PUBLIC_URL
from test_decisions import TODAY, Committee

#: Confidential values planted in every field that must never be exported.
SECRETS = {
    "data_storage_location": "SECRET-STORAGE-LOCATION", "data_processing_location": "SECRET-PROCESSING",
    "known_limitations": "SECRET-LIMITATIONS", "contact_person": "SECRET-CONTACT-PERSON",
    "human_oversight": "SECRET-OVERSIGHT", "retention": "SECRET-RETENTION", "intended_purpose": "SECRET-PURPOSE",
}
ORG_SECRETS = {"contact_email": "secret-org@vendor.kz", "contact_phone": "+7 777 SECRET"}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    import os

    home = tmp_path_factory.mktemp("opendata")
    old = {k: os.environ.get(k) for k in ("WORKBENCH_HOME", "WORKBENCH_KEY_PASSPHRASE")}
    os.environ.update(WORKBENCH_HOME=str(home), WORKBENCH_KEY_PASSPHRASE="test-passphrase")
    wb = Workbench.open(home)
    wb.registry.set_meta("public_url", TEST_PUBLIC_URL)
    wb.keys.ensure_demo()
    committee = Committee(wb)
    sub_id = committee.at_committee(name="Тест құралы")
    wb.registry.execute("UPDATE submissions SET dossier = ? WHERE id = ?",
                        (json.dumps({**COMPLETE_DOSSIER, "tool_name": "Тест құралы", **SECRETS}), sub_id))
    wb.registry.execute("UPDATE organisations SET contact_email = ?, contact_phone = ?",
                        (ORG_SECRETS["contact_email"], ORG_SECRETS["contact_phone"]))
    first = committee.decide(sub_id, outcome="approve_with_conditions", conditions=["A teacher confirms every grade"])
    second = committee.decide(committee.at_committee(previous_id=sub_id))
    dest = tmp_path_factory.mktemp("export")
    paths = opendata.export_registry(wb.registry, wb.keys, dest, today=TODAY)
    yield wb, dest, paths, (first.label_id, second.label_id), home
    wb.close()
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def copy_of(dest, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(dest, target)
    return target


def test_export_writes_the_files_and_verifies(exported):
    wb, dest, paths, (first, second), _ = exported
    assert [p.name for p in paths] == ["registry.json", "registry.csv", "schema.json", "SHA256SUMS", "SHA256SUMS.p7s"]
    check = opendata.verify_export(dest, wb.keys)
    assert check.ok, check
    assert check.labels == 2 and check.signer and check.problems == []
    doc = json.loads((dest / "registry.json").read_text(encoding="utf-8"))
    assert [r["label_id"] for r in doc["labels"]] == [first, second]
    old, new = doc["labels"]
    assert old["status"] == "superseded" and old["status_reason"] == second and new["supersedes"] == first
    assert old["conditions"] == ["A teacher confirms every grade"] and old["tool_name"] == "Тест құралы"
    assert len(old["vendor_bin"]) == 12 and old["verify_url"].endswith(first)


def test_every_record_follows_the_documented_schema(exported):
    _, dest, _, _, _ = exported
    schema = json.loads((dest / "schema.json").read_text(encoding="utf-8"))
    item = schema["properties"]["labels"]["items"]
    doc = json.loads((dest / "registry.json").read_text(encoding="utf-8"))
    kinds = {"string": str, "array": list, "integer": int}
    for record in doc["labels"]:
        assert list(record) == item["required"] == list(opendata.EXPORT_FIELDS)
        for name, value in record.items():
            assert isinstance(value, kinds[item["properties"][name]["type"]]), name
            assert item["properties"][name]["description"]
    assert set(doc) == set(schema["required"])
    rows = list(csv.DictReader(io.StringIO((dest / "registry.csv").read_text(encoding="utf-8"))))
    assert [r["label_id"] for r in rows] == [r["label_id"] for r in doc["labels"]]
    assert rows[0]["grades"] == "5; 6" and rows[0]["languages"] == "kk; ru"


def test_no_confidential_field_is_exported(exported):
    _, dest, _, _, _ = exported
    blob = b"".join((dest / name).read_bytes() for name in opendata.DATA_FILES).decode("utf-8")
    for value in [*SECRETS.values(), *ORG_SECRETS.values(), "Rev1", "rev1", "Secretary", "Needs more rural data"]:
        assert value not in blob, value
    for field in ("data_storage_location", "known_limitations", "contact_person", "human_oversight", "contact_email"):
        assert field not in blob, field


def test_openssl_verifies_the_signature_independently(exported, tmp_path):
    wb, dest, _, _, home = exported
    chain = next((home / "keys" / "sets").iterdir()) / "chain.pem"
    result = subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", str(dest / "SHA256SUMS.p7s"),
                             "-content", str(dest / "SHA256SUMS"), "-CAfile", str(chain), "-purpose", "any",
                             "-out", str(tmp_path / "out")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    sums = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=dest, capture_output=True, text=True)
    assert sums.returncode == 0 and sums.stdout.count(": OK") == 3


@pytest.mark.parametrize("name", ["registry.json", "registry.csv", "schema.json", "SHA256SUMS"])
def test_a_changed_byte_fails(exported, tmp_path, name):
    wb, dest, _, _, _ = exported
    target = copy_of(dest, tmp_path)
    data = bytearray((target / name).read_bytes())
    data[len(data) // 2] ^= 0x01
    (target / name).write_bytes(bytes(data))
    check = opendata.verify_export(target, wb.keys)
    assert not check.ok
    if name == "SHA256SUMS":
        assert not check.signature_valid and opendata.BAD_SIGNATURE in check.problems
    else:
        assert check.signature_valid and check.files[name] is False
        assert opendata.CHANGED_FILE in check.problems and name in check.problem_files


@pytest.mark.parametrize("name", ["registry.csv", "SHA256SUMS.p7s"])
def test_a_missing_file_fails(exported, tmp_path, name):
    wb, dest, _, _, _ = exported
    target = copy_of(dest, tmp_path)
    (target / name).unlink()
    assert not opendata.verify_export(target, wb.keys).ok


def test_a_strangers_signature_is_not_the_committees(exported, tmp_path):
    wb, dest, _, _, _ = exported
    stranger = KeyStore(tmp_path / "stranger", passphrase="stranger-pass")
    stranger.ensure_demo()
    target = copy_of(dest, tmp_path)
    (target / "SHA256SUMS.p7s").write_bytes(opendata._sign_detached(stranger, (target / "SHA256SUMS").read_bytes()))
    check = opendata.verify_export(target, wb.keys)
    assert check.signature_valid and not check.signed_by_committee and not check.ok
    assert opendata.NOT_COMMITTEE in check.problems
    assert opendata.verify_export(target, stranger).ok  # the stranger's own key does accept it


def test_explain_in_kazakh_and_russian(exported, tmp_path):
    wb, dest, _, _, _ = exported
    good = opendata.verify_export(dest, wb.keys)
    assert all(line.startswith("✔") for line in good.explain("kk"))
    target = copy_of(dest, tmp_path)
    (target / "registry.csv").write_text("tampered", encoding="utf-8")
    lines = opendata.verify_export(target, wb.keys).explain("ru")
    assert any(line.startswith("✘") and "registry.csv" in line for line in lines)


def test_cli_export_and_verify_exit_codes(exported, tmp_path):
    wb, _, _, _, _ = exported
    runner = CliRunner()
    out = tmp_path / "cli"
    result = runner.invoke(export_command, [str(out)], env={"WORKBENCH_LANG": "en"})
    assert result.exit_code == 0, result.output
    assert "Wrote 2 labels" in result.output
    ok = runner.invoke(export_command, ["--verify", str(out)], env={"WORKBENCH_LANG": "ru"})
    assert ok.exit_code == 0 and "Выгрузка в порядке" in ok.output
    (out / "registry.json").write_bytes((out / "registry.json").read_bytes().replace(b"\"high\"", b"\"minimal\""))
    bad = runner.invoke(export_command, ["--verify", str(out)], env={"WORKBENCH_LANG": "kk"})
    assert bad.exit_code == 1 and "тексеруден өтпеді" in bad.output
    empty = runner.invoke(export_command, ["--verify", str(tmp_path / "nothing")])
    assert empty.exit_code == 1


@pytest.mark.parametrize("extra", ["evil.csv", ".hidden", "sub/registry.csv"])
def test_export_verify_reports_extra_files(exported, tmp_path, extra):
    """Issue 11, item 13: a file the signature does not cover is reported, and the export fails."""
    wb, dest, _, _, _ = exported
    target = copy_of(dest, tmp_path)
    (target / extra).parent.mkdir(parents=True, exist_ok=True)
    (target / extra).write_text("=HYPERLINK(\"http://evil.example\")", encoding="utf-8")
    check = opendata.verify_export(target, wb.keys)
    assert not check.ok
    assert opendata.EXTRA_FILE in check.problems and extra in check.extra_files
    assert any(extra in line and line.startswith("✘") for line in check.explain("en"))
    result = CliRunner().invoke(export_command, ["--verify", str(target)], env={"WORKBENCH_LANG": "en"})
    assert result.exit_code == 1 and extra in result.output

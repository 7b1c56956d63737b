"""Issue 11, items 1 and 7: demo data only in a demo registry; no signature with a key under the
published passphrase outside a demo."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization

from workbench.registry import auth
from workbench import demo
from workbench.decision import signing
from workbench.cli import cli
from workbench.i18n import LANGUAGES
from workbench.registry.models import SYSTEM, Role
from workbench.services import Workbench

from conftest import PASSWORD, pdfsig
from test_signing import small_pdf

OWN = "our-own-committee-passphrase"


@pytest.fixture
def bare_home(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path))
    monkeypatch.delenv(signing.ENV_PASSPHRASE, raising=False)
    return tmp_path


def _key_pem(home):
    import json

    current = json.loads((home / "keys" / "current.json").read_text())
    return (home / "keys" / "sets" / current["set"] / "key.pem").read_bytes()


def test_plain_init_creates_no_demo_key_with_a_published_passphrase(bare_home):
    runner = CliRunner()
    refused = runner.invoke(cli, ["init"], input="", env={"WORKBENCH_LANG": "en"})
    assert refused.exit_code != 0 and not (bare_home / "keys" / "current.json").exists()
    short = runner.invoke(cli, ["init"], input="short\nshort\n", env={"WORKBENCH_LANG": "en"})
    assert short.exit_code == 2 and "at least 10 characters" in short.output
    assert not (bare_home / "keys" / "current.json").exists()
    done = runner.invoke(cli, ["init"], input=f"{OWN}\n{OWN}\n", env={"WORKBENCH_LANG": "en"})
    assert done.exit_code == 0, done.output
    assert OWN not in done.output  # never echoed
    pem = _key_pem(bare_home)
    with pytest.raises((ValueError, TypeError)):
        serialization.load_pem_private_key(pem, password=signing.DEMO_PASSPHRASE.encode())
    serialization.load_pem_private_key(pem, password=OWN.encode())
    wb = Workbench.open(bare_home)
    info = wb.keys.describe()
    assert not info.demo and not info.default_passphrase and "demo" not in info.subject
    assert not demo.is_demo_registry(wb.registry)
    assert auth.list_users(wb.registry, SYSTEM) == []  # no demo accounts
    wb.close()


def test_plain_init_with_passphrase_in_environment_signs(bare_home, monkeypatch, tmp_path):
    monkeypatch.setenv(signing.ENV_PASSPHRASE, OWN)
    assert CliRunner().invoke(cli, ["init"]).exit_code == 0
    wb = Workbench.open(bare_home)
    assert "Signature is Valid" in pdfsig(wb.keys.sign_pdf(small_pdf(), reason="t"), tmp_path)
    wb.close()


def test_demo_key_refused_to_sign_in_a_non_demo_registry(bare_home, tmp_path):
    wb = Workbench.open(bare_home)
    wb.keys.ensure_demo()  # what the old plain init made: a key under the published passphrase
    assert wb.keys.describe().default_passphrase
    with pytest.raises(signing.SigningError) as exc:
        wb.keys.sign_pdf(small_pdf(), reason="t")
    assert exc.value.key == signing._DEMO_KEY_REFUSED
    with pytest.raises(signing.SigningError):
        wb.keys.sign_detached(b"SHA256SUMS")
    for lang in LANGUAGES:  # says what to do, in every language
        text = exc.value.translate(lang)
        assert "workbench keys import" in text and "workbench keys create" in text
    # Setting the published passphrase explicitly changes nothing.
    with pytest.raises(signing.SigningError):
        signing.KeyStore(bare_home, passphrase=signing.DEMO_PASSPHRASE).sign_pdf(small_pdf(), reason="t")
    wb.registry.set_meta("demo", "1")  # the same key in a demo registry signs
    assert "Signature is Valid" in pdfsig(wb.keys.sign_pdf(small_pdf(), reason="t"), tmp_path)
    wb.close()


def test_p12_is_not_imported_under_the_published_passphrase(bare_home, tmp_path):
    from test_signing import make_p12

    p12 = make_p12(tmp_path)
    store = signing.KeyStore(bare_home)
    with pytest.raises(signing.SigningError) as exc:
        store.import_p12(p12, "p12-secret")
    assert exc.value.key == signing._WEAK_PASSPHRASE and not store.has_key()


def test_serve_demo_loads_no_demo_into_a_registry_with_data(bare_home):
    wb = Workbench.open(bare_home)
    auth.create_user(wb.registry, SYSTEM, username="chair", password=PASSWORD, role=Role.ADMIN, display_name="Chair")
    with pytest.raises(demo.DemoError):
        demo.ensure_demo(wb)
    assert [u.username for u in auth.list_users(wb.registry, SYSTEM)] == ["chair"]
    assert not demo.is_demo_registry(wb.registry) and not wb.keys.has_key()
    assert demo.ensure_keys(wb) is None  # no passphrase, no key: signing will say what to do
    result = CliRunner().invoke(cli, ["init", "--demo"], env={"WORKBENCH_LANG": "en"})
    assert result.exit_code == 2 and "not a demo" in result.output
    assert [u.username for u in auth.list_users(wb.registry, SYSTEM)] == ["chair"]
    wb.close()


def test_demo_only_on_an_empty_home_and_marked(bare_home):
    wb = Workbench.open(bare_home)
    assert demo.ensure_demo(wb) is True
    assert demo.is_demo_registry(wb.registry) and wb.keys.describe().demo
    assert demo.ensure_demo(wb) is False  # once
    assert auth.login(wb.registry, "admin", demo.DEMO_PASSWORD).role is Role.ADMIN
    from workbench.upkeep.integrity import verify_registry

    report = verify_registry(wb.registry, wb.keys, audits_dir=wb.home.audits)  # no false alarm on real history
    assert report.ok and report.anchors_checked >= 4 and report.labels_checked >= 4, report.explain("en")
    wb.close()


def test_plain_init_can_import_the_committees_pkcs12_instead(bare_home, tmp_path):
    from test_signing import make_p12

    p12 = make_p12(tmp_path)
    result = CliRunner().invoke(cli, ["init", "--p12", str(p12)], input=f"{OWN}\n{OWN}\np12-secret\n",
                                env={"WORKBENCH_LANG": "en"})
    assert result.exit_code == 0, result.output
    wb = Workbench.open(bare_home)
    info = wb.keys.describe()
    assert not info.demo and not info.default_passphrase and "Test National CA" in info.issuer
    assert [e.action for e in wb.registry.events("keys")] == ["keys.imported"]
    wb.close()

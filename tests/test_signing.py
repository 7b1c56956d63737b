"""The committee's key: demo CA, PKCS#12 import, PAdES signatures checked by poppler's pdfsig."""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from workbench.decision import signing
from workbench.decision.pdf_verify import verify_pdf
from workbench.decision.signing import KeyStore, SigningError

from conftest import PDFSIG_VALID, pdfsig  # noqa: E402

# --- shared fixtures and helpers -----------------------------------------------------------

PASSPHRASE = "test-passphrase-1"



def small_pdf(text: str = "Қазақ тілі: ә ғ қ ң ө ұ ү һ і") -> bytes:
    from reportlab.pdfgen import canvas

    from workbench.decision.report_pdf import FONT, register_fonts

    register_fonts()
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.setKeywords("AISafeLabel=KZ-AIS-2026-000001")
    c.setFont(FONT, 12)
    c.drawString(72, 720, text)
    c.save()
    return buf.getvalue()


def signed_ranges(pdf: bytes) -> list[tuple[int, int]]:
    """The byte ranges a signature covers, from its /ByteRange."""
    m = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", pdf)
    assert m, "no /ByteRange in the signed PDF"
    a, b, c, d = map(int, m.groups())
    return [(a, a + b), (c, c + d)]


def flip(pdf: bytes, position: int) -> bytes:
    data = bytearray(pdf)
    data[position] ^= 0x01
    return bytes(data)


def make_p12(
    folder: Path,
    password: str = "p12-secret",
    *,
    with_key: bool = True,
    days: int = 365,
    start_days_ago: int = 1,
    key_usage_sign: bool = True,
) -> Path:
    """A PKCS#12 file like a real committee certificate: its own CA, an EC key."""
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test National CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=30)).not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    usage = x509.KeyUsage(
        digital_signature=key_usage_sign, content_commitment=key_usage_sign, key_encipherment=not key_usage_sign,
        data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
        encipher_only=False, decipher_only=False,
    )
    start = now - dt.timedelta(days=start_days_ago)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "NAE AI Ethics Committee")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(start + dt.timedelta(days=days))
        .add_extension(usage, critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    data = pkcs12.serialize_key_and_certificates(
        b"committee", key if with_key else None, cert if with_key else None, [ca] if with_key else [cert, ca],
        serialization.BestAvailableEncryption(password.encode()),
    )
    path = folder / "committee.p12"
    path.write_bytes(data)
    return path


@pytest.fixture
def store(tmp_path: Path) -> KeyStore:
    ks = KeyStore(tmp_path / "home", passphrase=PASSPHRASE)
    ks.ensure_demo()
    return ks


# --- demo key -------------------------------------------------------------------------------


def test_demo_key_is_created_once_with_encrypted_private_key(store: KeyStore, tmp_path: Path) -> None:
    info = store.describe()
    assert info.demo is True
    assert signing.DEMO_SIGNER_NAME in info.subject
    assert signing.DEMO_CA_NAME in info.issuer
    assert info.valid_from < dt.datetime.now(dt.timezone.utc) < info.valid_to
    assert re.fullmatch(r"[0-9a-f]{64}", info.fingerprint_sha256)
    assert info.default_passphrase is False  # a passphrase was given

    again = KeyStore(tmp_path / "home", passphrase=PASSPHRASE).ensure_demo()
    assert again.fingerprint_sha256 == info.fingerprint_sha256

    key_files = list((tmp_path / "home" / "keys").rglob("key.pem"))
    assert len(key_files) == 1
    assert b"BEGIN ENCRYPTED PRIVATE KEY" in key_files[0].read_bytes()


def test_passphrase_comes_from_environment_and_demo_default_is_flagged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(signing.ENV_PASSPHRASE, raising=False)
    assert KeyStore(tmp_path / "a").ensure_demo().default_passphrase is True

    monkeypatch.setenv(signing.ENV_PASSPHRASE, "from-the-environment")
    home = tmp_path / "b"
    assert KeyStore(home).ensure_demo().default_passphrase is False
    assert PDFSIG_VALID in pdfsig(KeyStore(home).sign_pdf(small_pdf(), reason="test"), tmp_path)

    monkeypatch.setenv(signing.ENV_PASSPHRASE, "a-different-one")
    with pytest.raises(SigningError) as exc:
        KeyStore(home).sign_pdf(small_pdf(), reason="test")
    assert exc.value.key == signing._BAD_PASSPHRASE


def test_describe_and_sign_without_a_key_are_refused(tmp_path: Path) -> None:
    empty = KeyStore(tmp_path / "nothing")
    assert not empty.has_key()
    assert empty.trust_roots() == []
    with pytest.raises(SigningError) as exc:
        empty.describe()
    assert exc.value.key == signing._NO_KEY
    with pytest.raises(SigningError) as exc:
        empty.sign_pdf(small_pdf(), reason="x")
    assert exc.value.key == signing._NO_KEY


def test_only_pdfs_are_signed(store: KeyStore) -> None:
    with pytest.raises(SigningError) as exc:
        store.sign_pdf(b"GIF89a not a pdf", reason="x")
    assert exc.value.key == signing._NOT_A_PDF


# --- signatures checked by an independent validator ---------------------------------------


def test_signature_is_pades_and_valid_for_pdfsig(store: KeyStore, tmp_path: Path) -> None:
    signed = store.sign_pdf(small_pdf(), reason="Audit report", location="Astana")
    out = pdfsig(signed, tmp_path)
    assert PDFSIG_VALID in out
    assert "Signature Type: ETSI.CAdES.detached" in out
    assert "Total document signed" in out
    assert f"Signer Certificate Common Name: {signing.DEMO_SIGNER_NAME}" in out


@pytest.mark.parametrize("where", ["header", "first_range_middle", "second_range"])
def test_one_flipped_byte_breaks_the_signature(store: KeyStore, tmp_path: Path, where: str) -> None:
    signed = store.sign_pdf(small_pdf(), reason="Audit report")
    (a_start, a_end), (b_start, b_end) = signed_ranges(signed)
    position = {
        "header": 20,  # inside the binary comment on line 2: harmless to the structure
        "first_range_middle": (a_start + a_end) // 2,
        "second_range": b_start + 10,
    }[where]
    tampered = flip(signed, position)
    assert PDFSIG_VALID not in pdfsig(tampered, tmp_path)
    assert verify_pdf(tampered, store).intact is False


# --- PKCS#12 import -----------------------------------------------------------------------------


def test_import_p12_switches_to_the_real_certificate(store: KeyStore, tmp_path: Path) -> None:
    before = store.sign_pdf(small_pdf(), reason="signed with the demo key")
    info = store.import_p12(make_p12(tmp_path), "p12-secret")
    assert info.demo is False
    assert "NAE AI Ethics Committee" in info.subject and "Test National CA" in info.issuer
    assert store.describe() == info

    signed = store.sign_pdf(small_pdf(), reason="signed with the real key")
    out = pdfsig(signed, tmp_path)
    assert PDFSIG_VALID in out and "Common Name: NAE AI Ethics Committee" in out
    check = verify_pdf(signed, store)
    assert check.intact and check.signed_by_committee and check.signer == "NAE AI Ethics Committee"
    # A PDF issued under the earlier key still verifies as the committee's.
    assert verify_pdf(before, store).signed_by_committee
    assert len(store.committee_certificates()) == 2
    assert len(store.trust_roots()) == 2  # the demo CA and the real CA


@pytest.mark.parametrize(
    ("kwargs", "password", "key"),
    [
        ({}, "wrong password", signing._P12_BAD_PASSWORD),
        ({"with_key": False}, "p12-secret", signing._P12_NO_KEY),
        ({"days": 10, "start_days_ago": 40}, "p12-secret", signing._CERT_NOT_VALID_NOW),
        ({"key_usage_sign": False}, "p12-secret", signing._CERT_CANNOT_SIGN),
    ],
    ids=["wrong-password", "no-key", "expired", "not-for-signing"],
)
def test_bad_p12_is_refused_and_the_key_stays(
    store: KeyStore, tmp_path: Path, kwargs: dict, password: str, key: str
) -> None:
    before = store.describe()
    with pytest.raises(SigningError) as exc:
        store.import_p12(make_p12(tmp_path, **kwargs), password)
    assert exc.value.key == key
    assert exc.value.translate("kk") and exc.value.translate("ru")
    assert store.describe() == before


def test_a_file_that_is_not_pkcs12_is_refused(store: KeyStore, tmp_path: Path) -> None:
    junk = tmp_path / "photo.p12"
    junk.write_bytes(b"this is not a certificate")
    with pytest.raises(SigningError) as exc:
        store.import_p12(junk, "x")
    assert exc.value.key == signing._P12_UNREADABLE
    with pytest.raises(SigningError) as exc:
        store.import_p12(tmp_path / "missing.p12", "x")
    assert exc.value.key == signing._P12_UNREADABLE


def test_rsa_p12_without_ca_chain_is_trusted_as_itself(store: KeyStore, tmp_path: Path) -> None:
    """A certificate imported without its CA anchors trust at itself."""
    now = dt.datetime.now(dt.timezone.utc)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Committee self-issued")])
    other = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Some CA not included")])
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(other).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=90)).sign(ca_key, hashes.SHA256())
    )
    path = tmp_path / "bare.p12"
    path.write_bytes(pkcs12.serialize_key_and_certificates(
        b"bare", key, cert, None, serialization.BestAvailableEncryption(b"pw")))
    store.import_p12(path, "pw")
    check = verify_pdf(store.sign_pdf(small_pdf(), reason="x"), store)
    assert check.intact and check.signed_by_committee


def test_an_import_killed_before_the_switch_leaves_the_old_key(
    store: KeyStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = store.describe()
    roots_before = [c.dump() for c in store.trust_roots()]
    real_write = signing._atomic_write

    def dies_at_the_pointer(path: Path, data: bytes) -> None:
        if path.name == "current.json":
            raise KeyboardInterrupt  # the process is killed after the new files, before the switch
        real_write(path, data)

    monkeypatch.setattr(signing, "_atomic_write", dies_at_the_pointer)
    with pytest.raises(KeyboardInterrupt):
        store.import_p12(make_p12(tmp_path), "p12-secret")
    monkeypatch.undo()

    assert store.describe() == before
    assert [c.dump() for c in store.trust_roots()] == roots_before  # the half-imported certificate is not trusted
    assert PDFSIG_VALID in pdfsig(store.sign_pdf(small_pdf(), reason="still the old key"), tmp_path)
    assert not list((tmp_path / "home" / "keys").rglob(".*.pem.*")), "no temporary files left behind"


def test_signing_and_verifying_inside_a_running_event_loop(tmp_path: Path) -> None:
    """Playwright's sync API (and notebooks) keep a loop running in the thread; pyHanko's
    sync API must still work there."""
    import asyncio
    import threading

    from workbench.decision.pdf_verify import verify_pdf

    async def inside_a_loop():
        store = KeyStore(tmp_path, passphrase=PASSPHRASE)
        store.ensure_demo()
        signed = store.sign_pdf(small_pdf(), reason="test")
        return verify_pdf(signed, store)

    result = {}
    # A thread of its own hosts the loop: the test session's main thread may run one already.
    host = threading.Thread(target=lambda: result.update(check=asyncio.run(inside_a_loop())))
    host.start()
    host.join()
    assert result["check"].intact and result["check"].signed_by_committee

"""The committee's signing key and PAdES signatures on audit PDFs.

Keys live under ``WORKBENCH_HOME/keys/``. Each key set (private key, certificate, chain)
is a folder ``keys/sets/<fingerprint>/``; ``keys/current.json`` names the set in use and
is replaced atomically, so a process killed during ``import_p12`` leaves the previous key
in force rather than a key without its certificate.

The private key is stored encrypted (PKCS#8, best available encryption) with the
passphrase from the ``WORKBENCH_KEY_PASSPHRASE`` environment variable. Without it a
well-known demo passphrase is used and :meth:`KeyStore.describe` says so, because a key
protected by a published passphrase is only fit for a demonstration: such a key signs only
in a demo registry (``demo_registry``); anywhere else signing is refused with a message
that says how to create or import a real key (issue 11, item 7).

Sets that were replaced stay on disk and their roots stay trusted, so an audit PDF
issued under an earlier key keeps verifying as the committee's after a key change.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Callable

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pydantic import BaseModel

from .._blocking import run_blocking
from ..errors import WorkbenchError

ENV_PASSPHRASE = "WORKBENCH_KEY_PASSPHRASE"
# Deliberately obvious: anyone reading the code knows it, so it protects nothing.
DEMO_PASSPHRASE = "demo-passphrase-not-for-production"
DEMO_CA_NAME = "NAE AI Ethics Committee Demo CA"
DEMO_SIGNER_NAME = "NAE AI Ethics Committee (demo)"
ORGANISATION = "National Academy of Education named after Y. Altynsarin"
SIGNATURE_FIELD = "NAECommitteeSignature"

_RSA_BITS = 3072  # NIST's recommendation beyond 2030; still fast enough to generate
_DEMO_CA_YEARS = 10
_DEMO_SIGNER_YEARS = 5

_NO_KEY = "signing.no_key"
_BAD_PASSPHRASE = "signing.bad_passphrase"
_P12_UNREADABLE = "signing.p12_unreadable"
_P12_BAD_PASSWORD = "signing.p12_bad_password"
_P12_NO_KEY = "signing.p12_no_key"
_P12_NO_CERT = "signing.p12_no_cert"
_KEY_CERT_MISMATCH = "signing.key_cert_mismatch"
_CERT_NOT_VALID_NOW = "signing.cert_not_valid_now"
_CERT_CANNOT_SIGN = "signing.cert_cannot_sign"
_NOT_A_PDF = "signing.not_a_pdf"
_SIGN_FAILED = "signing.sign_failed"
_DEMO_KEY_REFUSED = "ops.signing.demo_key_refused"
_WEAK_PASSPHRASE = "ops.signing.weak_passphrase"
MIN_PASSPHRASE = 10
COMMITTEE_CA_NAME = "NAE AI Ethics Committee CA"
COMMITTEE_SIGNER_NAME = "NAE AI Ethics Committee"


class SigningError(WorkbenchError):
    """The key cannot be loaded, imported or used to sign."""


class CertificateInfo(BaseModel):
    """What ``workbench keys show`` and the secretary's page display about the key."""

    subject: str
    issuer: str
    serial: str
    valid_from: dt.datetime
    valid_to: dt.datetime
    fingerprint_sha256: str
    demo: bool
    default_passphrase: bool = False


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _atomic_write(path: Path, data: bytes) -> None:
    """Write via a temporary file and ``os.replace`` so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def _pem(certs: list[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def _to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _is_self_signed(cert: x509.Certificate) -> bool:
    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except Exception:  # a different key under the same name, or an unsupported algorithm
        return False
    return True


def _public_bytes(key: object) -> bytes:
    return key.public_key().public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ"),
            x509.NameAttribute(NameOID.LOCALITY_NAME, "Astana"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _make_demo_chain(ca_name_text: str = DEMO_CA_NAME, signer_name_text: str = DEMO_SIGNER_NAME
                     ) -> tuple[rsa.RSAPrivateKey, x509.Certificate, x509.Certificate]:
    """A fresh root CA and a signing certificate issued by it (demo names by default).

    The CA's private key is not kept: nothing else will ever be issued under it, so the
    only certificate that chains to this root is the one made here.
    """
    now = _now() - dt.timedelta(minutes=5)  # tolerate small clock differences
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=_RSA_BITS)
    ca_name = _name(ca_name_text)
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=365 * _DEMO_CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=_RSA_BITS)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(signer_name_text))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=365 * _DEMO_SIGNER_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            # PDF validators look for non-repudiation (content commitment) on signers.
            x509.KeyUsage(
                digital_signature=True, content_commitment=True, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, ExtendedKeyUsageOID.CODE_SIGNING]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert, ca_cert


def _blank_pdf() -> bytes:
    """A one-page PDF used to prove that an imported key really signs."""
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.drawString(72, 720, "key check")
    c.save()
    return buf.getvalue()


def _validation_context(roots: list[asn1_x509.Certificate]):
    from pyhanko_certvalidator import ValidationContext

    # Only the committee's roots: the operating system's CA list must not make a
    # stranger's certificate "the committee's". No network: verification runs offline.
    return ValidationContext(trust_roots=list(roots), allow_fetching=False, revocation_mode="soft-fail")


def _key_usage():
    from pyhanko.sign.validation.settings import KeyUsageConstraints

    # Real committee certificates differ: accept either signing usage.
    return KeyUsageConstraints(key_usage={"digital_signature", "non_repudiation"}, match_all_key_usages=False)


def signature_status(pdf: bytes, roots: list[asn1_x509.Certificate]):
    """pyHanko's status of the last signature of ``pdf``, or ``None`` if unsigned.

    Here, with the key, because signing checks its own trial signature; ``pdf_verify`` uses it too.
    """
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature

    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    signatures = reader.embedded_signatures
    if not signatures:
        return None
    return run_blocking(
        validate_pdf_signature, signatures[-1], signer_validation_context=_validation_context(roots), key_usage_settings=_key_usage()
    )


class KeyStore:
    """The committee's signing key under ``home/keys/``.

    Parameters
    ----------
    home:
        The workbench folder (``WORKBENCH_HOME``).
    passphrase:
        Passphrase of the stored private key; defaults to ``WORKBENCH_KEY_PASSPHRASE``
        and then to the demo passphrase.
    demo_registry:
        Whether the registry these keys sign for is a demo registry (a bool, or a callable
        asked at signing time). Only then may a key under the published demo passphrase sign.
    """

    def __init__(self, home: Path, *, passphrase: str | None = None,
                 demo_registry: bool | Callable[[], bool] = False) -> None:
        self.home = Path(home)
        self.folder = self.home / "keys"
        self._passphrase = passphrase
        self._demo_registry = demo_registry

    def _is_demo_registry(self) -> bool:
        flag = self._demo_registry
        return bool(flag() if callable(flag) else flag)

    # -- passphrase and files -------------------------------------------------------

    def _resolve_passphrase(self) -> tuple[str, bool]:
        """The passphrase and whether it is the published demo one."""
        value = self._passphrase or os.environ.get(ENV_PASSPHRASE) or ""
        return (value, value == DEMO_PASSPHRASE) if value else (DEMO_PASSPHRASE, True)

    @property
    def _pointer(self) -> Path:
        return self.folder / "current.json"

    def _set_dir(self, name: str) -> Path:
        return self.folder / "sets" / name

    def _current(self) -> tuple[Path, dict] | None:
        try:
            meta = json.loads(self._pointer.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        return self._set_dir(meta["set"]), meta

    def has_key(self) -> bool:
        """Whether a key (demo or imported) is configured."""
        return self._current() is not None

    def _store_set(
        self, key: object, cert: x509.Certificate, chain: list[x509.Certificate], *, demo: bool
    ) -> CertificateInfo:
        passphrase, is_default = self._resolve_passphrase()
        key_pem = key.private_bytes(  # type: ignore[attr-defined]
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(passphrase.encode("utf-8")),
        )
        name = _fingerprint(cert)
        folder = self._set_dir(name)
        old = self._current()
        # Sets that were once in force stay trusted; a set written by an interrupted
        # import never became current and so is never trusted.
        previous = [] if old is None else [*old[1].get("previous", []), old[1]["set"]]
        previous = [s for i, s in enumerate(previous) if s != name and s not in previous[:i]]
        _atomic_write(folder / "key.pem", key_pem)
        _atomic_write(folder / "cert.pem", _pem([cert]))
        _atomic_write(folder / "chain.pem", _pem(chain))
        meta = {
            "set": name,
            "demo": demo,
            "default_passphrase": is_default,
            "since": _now().isoformat(),
            "previous": previous,
        }
        # The pointer is written last: until it is replaced the previous set stays in use.
        _atomic_write(self._pointer, json.dumps(meta, indent=2).encode("utf-8"))
        return self.describe()

    def _load_certs(self, folder: Path) -> tuple[x509.Certificate, list[x509.Certificate]]:
        cert = x509.load_pem_x509_certificate((folder / "cert.pem").read_bytes())
        chain_bytes = (folder / "chain.pem").read_bytes()
        chain = x509.load_pem_x509_certificates(chain_bytes) if chain_bytes.strip() else []
        return cert, chain

    # -- public API -----------------------------------------------------------------

    def ensure_demo(self, passphrase: str | None = None) -> CertificateInfo:
        """Create the demo CA and signing certificate unless a key already exists.

        Parameters
        ----------
        passphrase:
            Encrypts the demo private key; otherwise ``WORKBENCH_KEY_PASSPHRASE`` or
            the demo passphrase.

        Returns
        -------
        CertificateInfo
            The certificate in use (the existing one if a key was already configured).
        """
        if passphrase:
            self._passphrase = passphrase
        if self.has_key():
            return self.describe()
        key, cert, ca_cert = _make_demo_chain()
        return self._store_set(key, cert, [ca_cert], demo=True)

    def create_key(self, passphrase: str | None = None) -> CertificateInfo:
        """Create the committee's own CA and signing certificate for a real registry.

        The private key is encrypted with ``passphrase`` (or ``WORKBENCH_KEY_PASSPHRASE``),
        which must be at least ten characters and not the published demo one. An existing
        key is kept (import a PKCS#12 to replace it).

        Raises
        ------
        SigningError
            ``ops.signing.weak_passphrase`` when no acceptable passphrase is given.
        """
        if passphrase:
            self._passphrase = passphrase
        self._require_own_passphrase()
        if self.has_key():
            return self.describe()
        key, cert, ca_cert = _make_demo_chain(COMMITTEE_CA_NAME, COMMITTEE_SIGNER_NAME)
        return self._store_set(key, cert, [ca_cert], demo=False)

    def _require_own_passphrase(self) -> None:
        value, is_default = self._resolve_passphrase()
        if is_default or len(value) < MIN_PASSPHRASE:
            raise SigningError(_WEAK_PASSPHRASE, env=ENV_PASSPHRASE, n=MIN_PASSPHRASE)

    def import_p12(self, path: Path, password: str) -> CertificateInfo:
        """Switch to the committee's real certificate from a PKCS#12 file.

        The key is re-encrypted with this store's passphrase, and it must prove that it
        signs a PDF before it replaces the current key.

        Raises
        ------
        SigningError
            The file cannot be read, the password is wrong, it holds no key or no
            certificate, the key does not match the certificate, or the certificate is
            expired or not meant for signing.
        """
        try:
            data = Path(path).read_bytes()
        except OSError:
            raise SigningError(_P12_UNREADABLE, file=str(Path(path).name)) from None
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(
                data, password.encode("utf-8") if password else None
            )
        except ValueError as exc:
            # cryptography says "Invalid password or PKCS12 data" for both cases.
            if data[:1] == b"\x30":
                raise SigningError(_P12_BAD_PASSWORD) from exc
            raise SigningError(_P12_UNREADABLE, file=str(Path(path).name)) from exc
        except Exception as exc:  # unsupported algorithms and the like
            raise SigningError(_P12_UNREADABLE, file=str(Path(path).name)) from exc
        if key is None:
            raise SigningError(_P12_NO_KEY)
        if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
            raise SigningError(_CERT_CANNOT_SIGN)
        if cert is None:
            raise SigningError(_P12_NO_CERT)
        if _public_bytes(key) != cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ):
            raise SigningError(_KEY_CERT_MISMATCH)
        now = _now()
        if not (cert.not_valid_before_utc <= now <= cert.not_valid_after_utc):
            raise SigningError(
                _CERT_NOT_VALID_NOW,
                valid_from=cert.not_valid_before_utc.date().isoformat(),
                valid_to=cert.not_valid_after_utc.date().isoformat(),
            )
        try:
            usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
            if not (usage.digital_signature or usage.content_commitment):
                raise SigningError(_CERT_CANNOT_SIGN)
        except x509.ExtensionNotFound:
            pass  # no restriction stated: any use is allowed
        if not self._is_demo_registry():
            self._require_own_passphrase()  # a real key never goes under the published passphrase
        chain = [c for c in (extra or []) if _fingerprint(c) != _fingerprint(cert)]
        # Prove the key signs and the result validates before switching to it.
        trial = _sign_with(key, cert, chain, _blank_pdf(), reason="key check", location="Astana")
        roots = [_to_asn1(c) for c in chain if _is_self_signed(c)] or [_to_asn1(cert)]
        status = signature_status(trial, roots)
        if status is None or not (status.intact and status.valid):
            raise SigningError(_CERT_CANNOT_SIGN)
        return self._store_set(key, cert, chain, demo=False)

    def describe(self) -> CertificateInfo:
        """Which certificate signs now.

        Raises
        ------
        SigningError
            No key is configured yet (run ``workbench init``).
        """
        current = self._current()
        if current is None:
            raise SigningError(_NO_KEY)
        folder, meta = current
        cert, _ = self._load_certs(folder)
        return CertificateInfo(
            subject=cert.subject.rfc4514_string(),
            issuer=cert.issuer.rfc4514_string(),
            serial=format(cert.serial_number, "x"),
            valid_from=cert.not_valid_before_utc,
            valid_to=cert.not_valid_after_utc,
            fingerprint_sha256=_fingerprint(cert),
            demo=bool(meta.get("demo")),
            default_passphrase=bool(meta.get("default_passphrase")),
        )

    def _trusted_sets(self) -> list[Path]:
        """Folders of the current key set and of the sets it replaced, current first."""
        current = self._current()
        if current is None:
            return []
        folder, meta = current
        return [folder, *(self._set_dir(name) for name in reversed(meta.get("previous", [])))]

    def committee_certificates(self) -> list[asn1_x509.Certificate]:
        """Every signing certificate the committee has used, the current one first."""
        return [_to_asn1(self._load_certs(folder)[0]) for folder in self._trusted_sets()]

    def trust_roots(self) -> list[asn1_x509.Certificate]:
        """Trust anchors for validating the committee's signatures.

        The self-signed roots of the current and earlier key sets; a set whose chain
        holds no root (a certificate imported without its CA) is anchored at its own
        signing certificate, so exactly that certificate is trusted.
        """
        roots: dict[str, x509.Certificate] = {}
        for folder in self._trusted_sets():
            try:
                cert, chain = self._load_certs(folder)
            except (OSError, ValueError):
                continue  # a set deleted by hand: nothing of it can be trusted
            anchors = [c for c in chain if _is_self_signed(c)] or [cert]
            for anchor in anchors:
                roots[_fingerprint(anchor)] = anchor
        return [_to_asn1(c) for c in roots.values()]

    def _load_signing_material(self) -> tuple[object, x509.Certificate, list[x509.Certificate]]:
        current = self._current()
        if current is None:
            raise SigningError(_NO_KEY)
        folder, meta = current
        passphrase, is_default = self._resolve_passphrase()
        if (is_default or meta.get("default_passphrase")) and not self._is_demo_registry():
            # A key anyone can decrypt proves nothing; in a real registry it must not sign.
            raise SigningError(_DEMO_KEY_REFUSED, env=ENV_PASSPHRASE)
        try:
            key = serialization.load_pem_private_key(
                (folder / "key.pem").read_bytes(), password=passphrase.encode("utf-8")
            )
        except (ValueError, TypeError):
            raise SigningError(_BAD_PASSPHRASE, env=ENV_PASSPHRASE) from None
        cert, chain = self._load_certs(folder)
        return key, cert, chain

    def sign_detached(self, data: bytes) -> bytes:
        """A detached CMS (PKCS#7) signature over ``data`` with the committee's key (DER),
        for files that are not PDFs, such as the open-data export."""
        from cryptography.hazmat.primitives.serialization import pkcs7

        key, cert, chain = self._load_signing_material()
        builder = pkcs7.PKCS7SignatureBuilder().set_data(data).add_signer(cert, key, hashes.SHA256())
        for extra in chain:
            builder = builder.add_certificate(extra)
        return builder.sign(serialization.Encoding.DER,
                            [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary])

    def sign_pdf(self, pdf: bytes, *, reason: str, location: str = "Astana") -> bytes:
        """Sign a PDF with the committee's key (PAdES B-B, ``ETSI.CAdES.detached``).

        Parameters
        ----------
        pdf:
            The document to sign; the signature is appended as an incremental update
            and covers every byte of it.
        reason, location:
            Shown by PDF readers in the signature panel.

        Returns
        -------
        bytes
            The signed document.
        """
        if not pdf.lstrip()[:5] == b"%PDF-":
            raise SigningError(_NOT_A_PDF)
        key, cert, chain = self._load_signing_material()
        return _sign_with(key, cert, chain, pdf, reason=reason, location=location)


def _sign_with(
    key: object, cert: x509.Certificate, chain: list[x509.Certificate], pdf: bytes, *, reason: str, location: str
) -> bytes:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    signing_key = asn1_keys.PrivateKeyInfo.load(
        key.private_bytes(  # type: ignore[attr-defined]
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    signer = signers.SimpleSigner(
        signing_cert=_to_asn1(cert),
        signing_key=signing_key,
        cert_registry=SimpleCertificateStore.from_certs([_to_asn1(c) for c in chain]),
    )
    meta = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
        name=cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        if cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        else None,
    )
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        out = run_blocking(signers.sign_pdf, writer, meta, signer=signer)
    except Exception as exc:  # pyHanko raises many types for a broken input PDF
        raise SigningError(_SIGN_FAILED, detail=type(exc).__name__) from exc
    return out.getvalue()


__all__ = [
    "CertificateInfo",
    "DEMO_PASSPHRASE",
    "ENV_PASSPHRASE",
    "KeyStore",
    "signature_status",
    "SigningError",
]

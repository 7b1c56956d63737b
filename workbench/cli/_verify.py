"""``workbench verify`` and ``workbench keys``: documents, labels and the signing key."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..i18n import t
from ..registry.models import SYSTEM
from ..services import Workbench
from ._base import _lang, cli, friendly


@cli.command()
@click.argument("pdf", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--label", "label_id", default=None, help="Verify a label by its ID instead of a PDF.")
@friendly
def verify(pdf: Path | None, label_id: str | None) -> None:
    """Is the PDF intact, signed by the committee, and is its label active today?

    Exits 0 only when all three hold; otherwise 1, naming what failed.
    """
    from ..decision import labels
    from ..registry.models import PUBLIC

    if (pdf is None) == (label_id is None):
        click.echo(t("cli.verify_usage", _lang()), err=True)
        sys.exit(2)
    wb = Workbench.open()
    if pdf is not None:
        result = labels.verify_document(wb.registry, PUBLIC, pdf.read_bytes(), wb.keys)
    else:
        result = labels.verify_label(wb.registry, PUBLIC, label_id, wb.keys)
    for line in result.explain(_lang()):
        click.echo(line)
    click.echo(t("cli.verify_ok" if result.ok else "cli.verify_failed", _lang()))
    sys.exit(0 if result.ok else 1)


@cli.group()
def keys() -> None:
    """The committee's signing key."""


@keys.command("show")
@friendly
def keys_show() -> None:
    """Say which certificate signs the audit PDFs."""
    from ..upkeep.admin import key_info

    wb = Workbench.open()
    info = key_info(wb.keys, SYSTEM)
    click.echo(t("cli.key_in_use", _lang(), subject=info.subject, issuer=info.issuer,
                 start=info.valid_from.date().isoformat(), end=info.valid_to.date().isoformat(),
                 fingerprint=info.fingerprint_sha256))
    if info.demo:
        click.echo(t("signing.demo_warning", _lang()))
    if info.default_passphrase:
        click.echo(t("signing.default_passphrase_warning", _lang(), env="WORKBENCH_KEY_PASSPHRASE"))


@keys.command("import")
@click.argument("p12", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.password_option("--password", envvar="WORKBENCH_P12_PASSWORD", confirmation_prompt=False,
                       prompt="PKCS#12 password")
@friendly
def keys_import(p12: Path, password: str) -> None:
    """Switch to the committee's real certificate (a PKCS#12 file with its private key)."""
    from ..upkeep.admin import import_key

    wb = Workbench.open()
    info = import_key(wb.registry, wb.keys, SYSTEM, p12, password)
    click.echo(t("cli.key_imported", _lang(), subject=info.subject))




@keys.command("create")
@click.option("--passphrase", envvar="WORKBENCH_KEY_PASSPHRASE", prompt=True, hide_input=True,
              confirmation_prompt=True, help="Encrypts the private key (at least 10 characters).")
@friendly
def keys_create(passphrase: str) -> None:
    """Create the committee's own signing key under your passphrase (when there is none yet)."""
    wb = Workbench.open()
    had = wb.keys.has_key()
    info = wb.keys.create_key(passphrase)
    if not had:
        wb.registry.record(SYSTEM, "keys.created", "keys", info.fingerprint_sha256[:16],
                           {"subject": info.subject, "fingerprint_sha256": info.fingerprint_sha256})
    click.echo(t("cli.key_in_use", _lang(), subject=info.subject, issuer=info.issuer,
                 start=info.valid_from.date().isoformat(), end=info.valid_to.date().isoformat(),
                 fingerprint=info.fingerprint_sha256))

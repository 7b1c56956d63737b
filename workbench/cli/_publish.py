"""``workbench publish DIR``: the public side as a static mirror (any static host or CDN)."""

from __future__ import annotations

from pathlib import Path

import click

from ..i18n import t
from ..services import Workbench
from ._base import _lang, cli, friendly


@cli.command()
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.option("--consent-forms/--no-consent-forms", default=True, show_default=True,
              help="Also write the signed consent forms of active labels (three per label).")
@friendly
def publish(dest: Path, consent_forms: bool) -> None:
    """Render the public pages per language into DEST with the signed open data."""
    from ..web.publish import publish as write_mirror

    wb = Workbench.open()
    done = write_mirror(wb, dest, consent_forms=consent_forms)
    click.echo(t("pubweb.publish.done", _lang(), path=str(done.folder), pages=done.pages, labels=done.labels))

"""``workbench export DEST``: the public registry as signed open data, or ``--verify`` a copy."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..errors import WorkbenchError
from ..i18n import t
from ..public.opendata import export_registry, verify_export
from ._base import _lang


@click.command("export")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.option("--verify", "verify", is_flag=True, help="Check an existing export instead of writing one.")
def export_command(dest: Path, verify: bool) -> None:
    """Write the public registry as signed open data (JSON, CSV, schema) into DEST.

    With --verify, check the export in DEST instead: exit 0 only when the signature is the
    committee's and every file is unchanged, 1 otherwise.
    """
    from ..services import Workbench

    lang = _lang()
    try:
        wb = Workbench.open()
        if verify:
            result = verify_export(dest, wb.keys)
            for line in result.explain(lang):
                click.echo(line)
            click.echo(t("pub.export.valid" if result.ok else "pub.export.invalid", lang))
            sys.exit(0 if result.ok else 1)
        paths = export_registry(wb.registry, wb.keys, dest)
        count = json.loads(paths[0].read_bytes())["count"]
        click.echo(t("pub.export.written", lang, n=count, folder=str(dest)))
    except WorkbenchError as exc:
        click.echo(exc.translate(lang), err=True)
        sys.exit(2)

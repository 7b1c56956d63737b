"""``workbench notify``: turn new events and expiring labels into notices and send the mail."""

from __future__ import annotations

import click

from ..i18n import t
from ..services import Workbench
from ._base import _lang, cli, friendly


@cli.command()
@friendly
def notify() -> None:
    """Tell people what happened (inbox and e-mail); run it from cron for the expiry notices.

    The web app does the same after each page; this command covers quiet days, when labels
    come within 60 days of expiry and nobody is signed in.
    """
    from ..registry import notifications

    wb = Workbench.open()
    try:
        counts = notifications.run(wb)
    finally:
        wb.close()
    click.echo(t("staff.cli_notified", _lang(), **counts))

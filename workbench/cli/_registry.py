"""Commands that set up and look after the registry: init, users, backup, restore, verify-log."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .. import auth
from ..db import check_registry_file
from ..db import restore as restore_db
from ..i18n import t
from ..models import SYSTEM, Role
from ..services import Workbench
from ._base import _lang, cli, friendly


@cli.command()
@click.option("--demo", is_flag=True, help="Also load demo organisations, accounts and submissions.")
@click.option("--public-url", default=None, help="The public address printed in QR codes (checked).")
@friendly
def init(demo: bool, public_url: str | None) -> None:
    """Create the registry (and keys) under WORKBENCH_HOME; with --demo, load demo data."""
    wb = Workbench.open()
    from ..demo import ensure_demo, ensure_keys

    if public_url is not None:  # first, so a refused address leaves nothing half set up
        from ..public_url import set_public_url

        set_public_url(wb.registry, SYSTEM, public_url)
    ensure_keys(wb)
    click.echo(t("cli.init_done", _lang(), path=str(wb.home.db_path)))
    if demo:
        created = ensure_demo(wb)
        click.echo(t("cli.demo_loaded" if created else "cli.demo_present", _lang()))
        _print_demo_logins()


def _print_demo_logins() -> None:
    from ..demo import DEMO_PASSWORD, DEMO_USERS

    click.echo(t("cli.demo_logins", _lang(), password=DEMO_PASSWORD))
    for username, role, name, _org in DEMO_USERS:
        click.echo(f"  {username:<12} {role:<10} {name}")



@cli.group()
def users() -> None:
    """Manage accounts."""


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role if r is not Role.PUBLIC]), required=True)
@click.option("--name", "display_name", default="", help="Display name.")
@click.option("--org-id", type=int, default=None, help="Organisation (vendors only).")
@click.password_option(envvar="WORKBENCH_NEW_PASSWORD")
@friendly
def users_add(username: str, role: str, display_name: str, org_id: int | None, password: str) -> None:
    """Add an account (the password is asked twice and never echoed)."""
    wb = Workbench.open()
    user = auth.create_user(wb.registry, SYSTEM, username=username, password=password, role=role,
                            display_name=display_name, org_id=org_id)
    click.echo(t("cli.user_added", _lang(), username=user.username, role=user.role.value))


@users.command("list")
@friendly
def users_list() -> None:
    """List accounts."""
    wb = Workbench.open()
    for user in auth.list_users(wb.registry, SYSTEM):
        click.echo(f"{user.id:>4}  {user.username:<16} {user.role.value:<10} {user.display_name}")


@cli.command()
@click.argument("dest", type=click.Path(dir_okay=False, path_type=Path))
@friendly
def backup(dest: Path) -> None:
    """Copy the registry to DEST with SQLite's online backup (safe while the app runs)."""
    wb = Workbench.open()
    wb.registry.backup(dest)
    click.echo(t("cli.backup_done", _lang(), dest=str(dest)))


@cli.command()
@click.argument("src", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@friendly
def restore(src: Path, yes: bool) -> None:
    """Replace the registry with the backup SRC (refuses a file that is not a registry)."""
    check_registry_file(src)
    wb = Workbench.open()
    target = wb.home.db_path
    wb.close()
    if not yes:
        click.confirm(t("cli.restore_confirm", _lang(), dest=str(target)), abort=True)
    restore_db(src, target)
    click.echo(t("cli.restore_done", _lang(), src=str(src)))


@cli.command("verify-log")
@friendly
def verify_log() -> None:
    """Walk the hash-chained event log; exit 1 and name the first broken link if any."""
    wb = Workbench.open()
    result = wb.registry.verify_log()
    if result.ok:
        click.echo(t("cli.log_ok", _lang(), events=result.events))
        return
    click.echo(t("cli.log_broken", _lang(), id=result.first_broken_id, problem=t(result.problem, _lang())), err=True)
    sys.exit(1)



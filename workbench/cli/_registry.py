"""Commands that set up and look after the registry: init, users, backup, restore, verify-log."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ..registry import auth
from ..i18n import t
from ..registry.models import SYSTEM, Role
from ..services import Workbench
from ._base import _lang, cli, friendly


@cli.command()
@click.option("--demo", is_flag=True, help="Make this a demo registry: demo organisations, accounts, submissions "
                                          "and the demo signing key (only on an empty home).")
@click.option("--p12", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Import the committee's certificate and private key (PKCS#12) as the signing key.")
@click.option("--public-url", default=None, help="The public address printed in QR codes (checked).")
@friendly
def init(demo: bool, p12: Path | None, public_url: str | None) -> None:
    """Create the registry under WORKBENCH_HOME; with --demo, a demo registry with demo data.

    Outside a demo the signing key's passphrase is asked (or read from
    WORKBENCH_KEY_PASSPHRASE): no key is ever stored under the published demo passphrase.
    """
    from ..demo import ensure_demo, ensure_keys, is_demo_registry
    from ..decision.signing import ENV_PASSPHRASE

    wb = Workbench.open()
    lang = _lang()
    if public_url is not None:  # first, so a refused address leaves nothing half set up
        from ..registry.public_url import set_public_url

        set_public_url(wb.registry, SYSTEM, public_url)
    if demo:
        created = ensure_demo(wb)
        click.echo(t("cli.init_done", lang, path=str(wb.home.db_path)))
        click.echo(t("cli.demo_loaded" if created else "cli.demo_present", lang))
        _print_demo_logins()
        return
    if not wb.keys.has_key() and not is_demo_registry(wb.registry):
        passphrase = os.environ.get(ENV_PASSPHRASE) or click.prompt(
            t("ops.init.passphrase_prompt", lang), hide_input=True, confirmation_prompt=True)
        if p12 is not None:
            from ..upkeep.admin import import_key

            password = os.environ.get("WORKBENCH_P12_PASSWORD") or click.prompt(
                t("ops.init.p12_password_prompt", lang), hide_input=True, default="", show_default=False)
            wb.keys._passphrase = passphrase
            import_key(wb.registry, wb.keys, SYSTEM, p12, password)
        else:
            ensure_keys(wb, passphrase)
        click.echo(t("ops.init.passphrase_reminder", lang, env=ENV_PASSPHRASE))
    else:
        ensure_keys(wb)
    click.echo(t("cli.init_done", lang, path=str(wb.home.db_path)))


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


@users.command("unlock")
@click.argument("username")
@friendly
def users_unlock(username: str) -> None:
    """Clear an account's login throttling (after too many wrong passwords)."""
    wb = Workbench.open()
    cleared = auth.unlock(wb.registry, SYSTEM, username)
    click.echo(t("hardening.auth.unlocked", _lang(), username=username, count=cleared))


@cli.command()
@click.argument("dest", type=click.Path(dir_okay=False, path_type=Path))
@friendly
def backup(dest: Path) -> None:
    """Archive the whole home (database, files, audit PDFs, keys) into DEST, online, with a
    manifest of SHA-256 hashes."""
    from ..upkeep.backup import backup_home

    wb = Workbench.open()
    wb.close()
    with _progress(t("ops.backup.progress", _lang())) as update:
        summary = backup_home(wb.home, dest, progress=update)
    click.echo(t("cli.backup_done", _lang(), dest=str(dest)))
    click.echo(t("ops.backup.summary", _lang(), files=summary.files, mb=f"{summary.bytes / 1e6:.1f}",
                 events=summary.events))


@cli.command()
@click.argument("src", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@friendly
def restore(src: Path, yes: bool) -> None:
    """Replace the home with the archive SRC, after checking every file against its manifest.

    Stop the web app first. A partial or tampered archive is refused and nothing changes.
    """
    from ..upkeep.backup import restore_home
    from ..config import Home

    home = Home.from_env()
    lang = _lang()
    with _progress(t("ops.backup.checking", lang)) as update:
        confirm = None if yes else (lambda: click.confirm(t("cli.restore_confirm", lang, dest=str(home.root))))
        done = restore_home(home, src, progress=update, confirm=confirm)
    if not done:
        click.echo(t("ops.backup.not_restored", lang))
        sys.exit(1)
    click.echo(t("cli.restore_done", lang, src=str(src)))


class _progress:
    """A progress bar on stderr for long work; silent when the work is short."""

    def __init__(self, label: str) -> None:
        self.label, self.bar, self.shown = label, None, 0

    def __enter__(self):
        def update(done: int, total: int) -> None:
            if self.bar is None and total >= 50_000_000:
                self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
                self.bar.__enter__()
            if self.bar is not None:
                self.bar.update(done - self.shown)
                self.shown = done

        return update

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


@cli.command("verify-log")
@click.option("--head-file", "head_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="A head file kept elsewhere (written by --write-head); the log must still contain its head.")
@click.option("--export", "exports", multiple=True, type=click.Path(file_okay=False, path_type=Path),
              help="A signed open-data export whose log head to check (repeatable).")
@click.option("--write-head", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="After a clean check, write the current head to this file (keep it apart from the database).")
@friendly
def verify_log(head_files: tuple[Path, ...], exports: tuple[Path, ...], write_head: Path | None) -> None:
    """Check the event log: chain, seals, anchors (signed PDFs, exports, head files) and the
    labels and decisions against their events; exit 1 and say what does not hold."""
    from ..upkeep.integrity import verify_registry, write_head_file

    wb = Workbench.open()
    lang = _lang()
    report = verify_registry(wb.registry, wb.keys, audits_dir=wb.home.audits, head_files=head_files,
                             exports=exports)
    if not report.ok:
        for line in report.explain(lang):
            click.echo(line, err=True)
        sys.exit(1)
    click.echo(t("cli.log_ok", lang, events=report.events))
    click.echo(report.explain(lang)[-1])
    if write_head is not None:
        data = write_head_file(wb.registry, write_head, wb.keys)
        click.echo(t("ops.log.head_written", lang, id=data["event_id"], path=str(write_head)))

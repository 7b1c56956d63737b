"""The ``workbench`` command: a thin Click layer over the package.

Every command maps ``WorkbenchError`` to a translated message on stderr and exit code 2;
no traceback reaches the person at the terminal.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import click

from . import auth
from .config import ENV_HOME
from .db import check_registry_file, restore as restore_db
from .errors import WorkbenchError
from .i18n import LANGUAGES, t
from .models import SYSTEM, Role
from .services import Workbench


def _lang() -> str:
    lang = os.environ.get("WORKBENCH_LANG", "kk")
    return lang if lang in LANGUAGES else "kk"


def friendly(fn):
    """Turn expected errors into a translated message and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except WorkbenchError as exc:
            click.echo(exc.translate(_lang()), err=True)
            sys.exit(2)

    return wrapper


@click.group(help="AI-safe Workbench: expert review and registry of trusted AI tools for education.")
@click.version_option(package_name="ai-safe-workbench")
def cli() -> None:
    pass


@cli.command()
@click.option("--demo", is_flag=True, help="Also load demo organisations, accounts and submissions.")
@friendly
def init(demo: bool) -> None:
    """Create the registry (and keys) under WORKBENCH_HOME; with --demo, load demo data."""
    wb = Workbench.open()
    from .demo import ensure_demo, ensure_keys

    ensure_keys(wb)
    click.echo(t("cli.init_done", _lang(), path=str(wb.home.db_path)))
    if demo:
        created = ensure_demo(wb)
        click.echo(t("cli.demo_loaded" if created else "cli.demo_present", _lang()))
        _print_demo_logins()


def _print_demo_logins() -> None:
    from .demo import DEMO_PASSWORD, DEMO_USERS

    click.echo(t("cli.demo_logins", _lang(), password=DEMO_PASSWORD))
    for username, role, name, _org in DEMO_USERS:
        click.echo(f"  {username:<12} {role:<10} {name}")


@cli.command()
@click.option("--port", default=8501, show_default=True)
@click.option("--demo/--no-demo", default=True, show_default=True, help="Load demo data on first run.")
@click.option("--headless/--browser", default=True, show_default=True)
def serve(port: int, demo: bool, headless: bool) -> None:
    """Start the web app (creates registry.db with demo data on first run)."""
    wb = Workbench.open()
    from .demo import ensure_demo, ensure_keys

    ensure_keys(wb)
    if demo:
        ensure_demo(wb)
    wb.close()
    app = Path(__file__).resolve().parents[1] / "streamlit_app.py"
    click.echo(t("cli.serving", _lang(), url=f"http://localhost:{port}", home=str(Path.cwd())))
    if demo:
        _print_demo_logins()
    env = {**os.environ, ENV_HOME: os.environ.get(ENV_HOME) or str(Path.cwd())}
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port),
           "--server.headless", str(headless).lower(), "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none", "--client.toolbarMode", "minimal",
           "--browser.serverAddress", "localhost"]  # no external-IP lookup: the network is not ours to use
    raise SystemExit(subprocess.call(cmd, env=env))


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


@cli.command()
@click.argument("pdf", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--label", "label_id", default=None, help="Verify a label by its ID instead of a PDF.")
@friendly
def verify(pdf: Path | None, label_id: str | None) -> None:
    """Is the PDF intact, signed by the committee, and is its label active today?

    Exits 0 only when all three hold; otherwise 1, naming what failed.
    """
    from . import labels
    from .models import PUBLIC

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
    from .admin import key_info

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
    from .admin import import_key

    wb = Workbench.open()
    info = import_key(wb.registry, wb.keys, SYSTEM, p12, password)
    click.echo(t("cli.key_imported", _lang(), subject=info.subject))


from .fairness.cli import audit_command  # noqa: E402  (defined in the engine's package)

from .opendata import export_command  # noqa: E402

cli.add_command(audit_command, "audit")
cli.add_command(export_command, "export")


def main() -> None:  # pragma: no cover
    cli()


if __name__ == "__main__":  # pragma: no cover
    main()

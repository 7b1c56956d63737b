"""``workbench serve`` and ``workbench public-url``: the one web server and the address it prints.

``serve`` runs one ASGI application (``ui/asgi.py``: Streamlit's ``st.App`` for the
staff, server-rendered public pages beside it) under uvicorn, in this process. It listens
on 127.0.0.1 unless ``--host`` says otherwise; it loads demo data only with ``--demo`` and
only into an empty home or a registry that is already a demo registry. The banner says
which registry, which public URL and which signing key are in use.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ..registry import public_url as pu
from ..config import ENV_HOME
from ..errors import WorkbenchError
from ..i18n import t
from ..registry.models import SYSTEM
from ..services import Workbench
from ._base import _lang, cli, friendly

NOT_EMPTY = "pubweb.serve.not_empty"


def _is_empty(wb: Workbench) -> bool:
    return wb.registry.one("SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM submissions) AS n")["n"] == 0


def prepare(wb: Workbench, *, demo: bool, url: str) -> bool:
    """Keys, and demo data when asked for and allowed; returns whether this is a demo registry."""
    from ..demo import ensure_demo, ensure_keys

    reg = wb.registry
    if demo and not pu.is_demo(reg):
        if not _is_empty(wb):
            raise WorkbenchError(NOT_EMPTY, path=str(wb.home.db_path))
        reg.set_meta("demo", "1")
    ensure_keys(wb)
    if pu.is_demo(reg):
        pu.served_at(url)  # before the demo's labels are signed: their QR codes point here
        if demo:
            ensure_demo(wb)
    return pu.is_demo(reg)


def banner(wb: Workbench, url: str, lang: str) -> list[str]:
    """What the operator must see at start: the registry, the public URL, the signing key."""
    from ..upkeep.admin import key_info

    reg = wb.registry
    labels = reg.one("SELECT count(*) AS n FROM labels")["n"]
    kind = t("pubweb.serve.demo" if pu.is_demo(reg) else "pubweb.serve.real", lang)
    lines = [t("cli.serving", lang, url=url, home=str(wb.home.root)),
             t("pubweb.serve.registry", lang, path=str(wb.home.db_path), kind=kind, labels=labels)]
    configured = reg.get_meta(pu.META_KEY)
    if configured:
        lines.append(t("pubweb.serve.public_url", lang, url=configured))
    elif pu.is_demo(reg):
        lines.append(t("pubweb.serve.public_url_demo", lang, url=pu.base_url(reg)))
    else:
        lines.append(t("pubweb.serve.public_url_unset", lang))
    info = key_info(wb.keys, SYSTEM)
    lines.append(t("pubweb.serve.key", lang, subject=info.subject, fingerprint=info.fingerprint_sha256[:23]))
    if info.demo:
        lines.append(t("signing.demo_warning", lang))
    return lines


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", default=8501, show_default=True, type=click.IntRange(1, 65535))
@click.option("--demo", is_flag=True, help="Load demo data (only into an empty home or a demo registry).")
@friendly
def serve(host: str, port: int, demo: bool) -> None:
    """Start the web app: public pages and the staff's Streamlit app on one port."""
    import uvicorn

    from ..web.app import REPO, STAFF_PATH

    if str(REPO) not in sys.path:  # the app is assembled beside the Streamlit pages (ui/asgi.py)
        sys.path.insert(0, str(REPO))
    from ui.asgi import create_app

    os.environ.setdefault(ENV_HOME, str(Path.cwd()))
    wb = Workbench.open()
    shown_host = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::", "::1") else host
    url = f"http://{shown_host}:{port}"
    is_demo = prepare(wb, demo=demo, url=url)
    for line in banner(wb, url, _lang()):
        click.echo(line)
    click.echo(t("pubweb.serve.staff", _lang(), url=f"{url}/{STAFF_PATH}/"))
    if is_demo:
        from .. import genai
        from ._registry import _print_demo_logins

        _print_demo_logins()
        # The demo chatbot's sandbox: a rule-based OpenAI-compatible service with deliberate
        # flaws, so the committee's generative tests run offline (issue 15).
        sandbox = genai.start_demo_sandbox()
        genai.attach_demo_sandbox(wb.registry, genai.SecretBox(wb.home.keys), sandbox.url)
        click.echo(t("genai.serve.sandbox", _lang(), url=sandbox.url))
    app = create_app(wb, {"server.port": port, "server.address": host})
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False)


@cli.command("public-url")
@click.argument("url", required=False)
@friendly
def public_url_command(url: str | None) -> None:
    """Show the public URL printed in QR codes, or set it (checked: no localhost, no private address)."""
    wb = Workbench.open()
    if url is None:
        current = pu.base_url(wb.registry)
        click.echo(current or t("pubweb.serve.public_url_unset", _lang()))
        return
    checked = pu.set_public_url(wb.registry, SYSTEM, url)  # whoever runs the CLI on the machine
    click.echo(t("pubweb.serve.public_url_set", _lang(), url=checked))

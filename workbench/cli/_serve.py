"""``workbench serve``: start the web app."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

from ..config import ENV_HOME
from ..i18n import t
from ..services import Workbench
from ._base import _lang, cli
from ._registry import _print_demo_logins


@cli.command()
@click.option("--port", default=8501, show_default=True)
@click.option("--demo/--no-demo", default=True, show_default=True, help="Load demo data on first run.")
@click.option("--headless/--browser", default=True, show_default=True)
def serve(port: int, demo: bool, headless: bool) -> None:
    """Start the web app (creates registry.db with demo data on first run)."""
    wb = Workbench.open()
    from ..demo import ensure_demo, ensure_keys

    ensure_keys(wb)
    if demo:
        ensure_demo(wb)
    wb.close()
    app = Path(__file__).resolve().parents[2] / "streamlit_app.py"
    click.echo(t("cli.serving", _lang(), url=f"http://localhost:{port}", home=str(Path.cwd())))
    if demo:
        _print_demo_logins()
    env = {**os.environ, ENV_HOME: os.environ.get(ENV_HOME) or str(Path.cwd())}
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port),
           "--server.headless", str(headless).lower(), "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none", "--client.toolbarMode", "minimal",
           "--browser.serverAddress", "localhost"]  # no external-IP lookup: the network is not ours to use
    raise SystemExit(subprocess.call(cmd, env=env))



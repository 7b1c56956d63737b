"""The ``workbench`` command group and what every command shares.

Every command maps ``WorkbenchError`` to a translated message on stderr and exit code 2;
no traceback reaches the person at the terminal.
"""

from __future__ import annotations

import functools
import os
import sys

import click

from ..errors import WorkbenchError
from ..i18n import LANGUAGES


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


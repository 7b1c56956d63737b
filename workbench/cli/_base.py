"""The ``workbench`` command group and what every command shares.

Every command maps ``WorkbenchError`` to a translated message on stderr and exit code 2;
no traceback reaches the person at the terminal.

Commands are loaded lazily: the group knows each command's name, the module that defines
it and its one-line help, and imports the module only when that command runs. So
``workbench audit`` never imports the registry, the PDF or the signing code, and
``workbench --help`` imports none of them.
"""

from __future__ import annotations

import functools
import importlib
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


class LazyGroup(click.Group):
    """A Click group whose commands are imported only when they run.

    ``lazy[name] = (module, attribute, help)``: importing ``module`` either registers the
    command on this group itself (``attribute`` None, the ``@cli.command()`` modules) or
    defines it as ``module.attribute``. ``help`` is the command's one-line help, shown by
    ``--help`` without importing anything (``tests/test_cli_lazy.py`` checks it matches).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, tuple[str, str | None, str]] = {}

    def add_lazy(self, name: str, module: str, attribute: str | None, help: str) -> None:
        self.lazy[name] = (module, attribute, help)

    def load(self, name: str) -> click.Command | None:
        if name not in self.commands and name in self.lazy:
            module, attribute, _ = self.lazy[name]
            loaded = importlib.import_module(module)
            if attribute is not None:
                self.add_command(getattr(loaded, attribute), name)
        return self.commands.get(name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self.load(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = []
        for name in names:
            command = self.commands.get(name) or click.Command(name, help=self.lazy[name][2])
            if not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup,
             help="AI-safe Workbench: expert review and registry of trusted AI tools for education.")
@click.version_option(package_name="ai-safe-workbench")
def cli() -> None:
    pass

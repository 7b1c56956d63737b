"""The ``workbench`` command: a thin Click layer over the package, one module per area.

Every command maps ``WorkbenchError`` to a translated message on stderr and exit code 2;
no traceback reaches the person at the terminal.
"""

from __future__ import annotations

from ..fairness.cli import audit_command  # defined in the engine's package
from ..opendata import export_command
from . import _notify, _registry, _serve, _verify  # noqa: F401  (each registers its commands on ``cli``)
from ._base import cli, friendly

cli.add_command(audit_command, "audit")
cli.add_command(export_command, "export")

__all__ = ["cli", "friendly", "main"]


def main() -> None:  # pragma: no cover
    cli()


if __name__ == "__main__":  # pragma: no cover
    main()

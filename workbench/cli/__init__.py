"""The ``workbench`` command: a thin Click layer over the package, one module per area.

Every command maps ``WorkbenchError`` to a translated message on stderr and exit code 2;
no traceback reaches the person at the terminal.

A command is listed here, not imported: its module is imported only when it runs (see
``LazyGroup``), so one command's start-up never pays for another's imports. A new command
module registers on ``cli`` from ``._base`` and gets one line below per command.
"""

from __future__ import annotations

from ._base import cli, friendly

# name: (module, attribute or None if the module registers on ``cli`` itself, one-line help)
_COMMANDS: dict[str, tuple[str, str | None, str]] = {
    "audit": ("workbench.fairness.cli", "audit_command",
              "Run a bias and fairness audit of FILE (CSV, TSV, XLSX, Parquet or JSON Lines)."),
    "backup": ("workbench.cli._registry", None,
               "Copy the registry to DEST with SQLite's online backup (safe while the app runs)."),
    "counts": ("workbench.cli._counts", None,
               "Aggregate records into the per-group counts file, out of core (DuckDB)."),
    "counts-sql": ("workbench.cli._counts", None,
                   "Print the GROUP BY query that makes the counts file in the vendor's own engine."),
    "export": ("workbench.opendata", "export_command",
               "Write the public registry as signed open data (JSON, CSV, schema) into DEST."),
    "init": ("workbench.cli._registry", None,
             "Create the registry (and keys) under WORKBENCH_HOME; with --demo, load demo data."),
    "keys": ("workbench.cli._verify", None, "The committee's signing key."),
    "restore": ("workbench.cli._registry", None,
                "Replace the registry with the backup SRC (refuses a file that is not a registry)."),
    "notify": ("workbench.cli._notify", None,
               "Turn new events into notices in each person's inbox and send the e-mails."),
    "probe": ("workbench.cli._probe", None,
              "The committee's own tests of a generative tool (run, export, import, sandbox)."),
    "publish": ("workbench.cli._publish", None,
                "Render the public side as a static mirror (pages per language, signed open data) into DEST."),
    "public-url": ("workbench.cli._serve", None, "Show or set the public address printed in QR codes and links."),
    "serve": ("workbench.cli._serve", None, "Start the web app (creates registry.db with demo data on first run)."),
    "users": ("workbench.cli._registry", None, "Manage accounts."),
    "verify": ("workbench.cli._verify", None,
               "Is the PDF intact, signed by the committee, and is its label active today?"),
    "verify-log": ("workbench.cli._registry", None,
                   "Walk the hash-chained event log; exit 1 and name the first broken link if any."),
}
for _name, (_module, _attribute, _help) in _COMMANDS.items():
    cli.add_lazy(_name, _module, _attribute, _help)

__all__ = ["cli", "friendly", "main"]


def main() -> None:  # pragma: no cover
    cli()


if __name__ == "__main__":  # pragma: no cover
    main()

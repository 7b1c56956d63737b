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
               "Archive the whole home (database, files, audit PDFs, keys) into DEST, online, with a manifest of SHA-256 hashes."),
    "counts": ("workbench.cli._counts", None,
               "Aggregate records into the per-group counts file, out of core (DuckDB)."),
    "counts-sql": ("workbench.cli._counts", None,
                   "Print the GROUP BY query that makes the counts file in the vendor's own engine."),
    "export": ("workbench.cli._export", "export_command",
               "Write the public registry as signed open data (JSON, CSV, schema) into DEST."),
    "init": ("workbench.cli._registry", None,
             "Create the registry under WORKBENCH_HOME; with --demo, a demo registry with demo data."),
    "keys": ("workbench.cli._verify", None, "The committee's signing key."),
    "restore": ("workbench.cli._registry", None,
                "Replace the home with the archive SRC, after checking every file against its manifest."),
    "notify": ("workbench.cli._notify", None,
               "Tell people what happened (inbox and e-mail); run it from cron for the expiry notices."),
    "probe": ("workbench.cli._probe", None,
              "Run the committee's test suites against a generative tool."),
    "publish": ("workbench.cli._publish", None,
                "Render the public pages per language into DEST with the signed open data."),
    "public-url": ("workbench.cli._serve", None, "Show the public URL printed in QR codes, or set it (checked: no localhost, no private address)."),
    "serve": ("workbench.cli._serve", None, "Start the web app: public pages and the staff's Streamlit app on one port."),
    "users": ("workbench.cli._registry", None, "Manage accounts."),
    "verify": ("workbench.cli._verify", None,
               "Is the PDF intact, signed by the committee, and is its label active today?"),
    "verify-log": ("workbench.cli._registry", None,
                   "Check the event log: chain, seals, anchors (signed PDFs, exports, head files) and the labels and decisions against their events; exit 1 and say what does not hold."),
}
for _name, (_module, _attribute, _help) in _COMMANDS.items():
    cli.add_lazy(_name, _module, _attribute, _help)

__all__ = ["cli", "friendly", "main"]


def main() -> None:  # pragma: no cover
    cli()


if __name__ == "__main__":  # pragma: no cover
    main()

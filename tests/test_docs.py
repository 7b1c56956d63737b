"""Every CLI command is documented; the README keeps its two commands."""

from __future__ import annotations

from pathlib import Path

import click

from workbench.cli import cli

REPO = Path(__file__).resolve().parents[1]


def _commands(group: click.Group, prefix: str = "") -> list[str]:
    names = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):  # every command, also those not imported yet (LazyGroup)
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            names += _commands(command, f"{prefix}{name} ")
        else:
            names.append(f"{prefix}{name}")
    return names


def test_every_cli_command_is_documented():
    doc = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    missing = [c for c in _commands(cli) if f"workbench {c}" not in doc]
    assert not missing, missing


def test_readme_has_the_two_commands_and_ci_runs_the_test_command():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    # in a venv of its own: Debian and Ubuntu refuse pip on the system Python
    assert "python3.11 -m venv .venv && .venv/bin/pip install -r requirements.lock -e . && .venv/bin/workbench serve" \
        in readme
    assert "bash scripts/test.sh" in readme
    assert "bash scripts/test.sh" in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def test_lock_files_pin_every_dependency():
    for lock in ("requirements.lock", "requirements-dev.lock"):
        lines = [l for l in (REPO / lock).read_text().splitlines() if l and not l.startswith((" ", "#"))]
        assert lines and all("==" in l for l in lines), lock


def test_no_domain_module_imports_streamlit():
    import re

    # the one ASGI app (st.App + the public routes) is assembled on top, in ui/asgi.py
    offenders = [str(p.relative_to(REPO)) for p in (REPO / "workbench").rglob("*.py")
                 if re.search(r"^\s*(import streamlit|from streamlit)", p.read_text(encoding="utf-8"), re.M)]
    assert offenders == []

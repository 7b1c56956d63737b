"""Start-up that costs nothing: lazy commands, a lean ``workbench audit``, the compiled catalogue."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from workbench import i18n

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "fixtures" / "early_warning_outputs.csv"
FORBIDDEN = ("workbench.registry.db", "workbench.services", "workbench.registry.auth", "workbench.decision.report_pdf", "workbench.decision.signing",
             "workbench.decision.pdf_verify", "sqlite_utils", "reportlab", "pyhanko", "streamlit")

_PROBE = """
import json, sys
from workbench.cli import cli
try:
    cli.main(args=sys.argv[1:], prog_name="workbench", standalone_mode=True)
except SystemExit as exc:
    code = exc.code
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def _modules_after(*args: str, tmp_path: Path) -> tuple[list[str], str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "WORKBENCH_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120, check=False)
    return json.loads(done.stderr.strip().splitlines()[-1]), done.stdout


@pytest.mark.parametrize("lang", ["kk", "en"])
def test_audit_imports_only_what_the_audit_needs(tmp_path: Path, lang: str) -> None:
    args = ("audit", str(FIXTURE), "--y-true", "y_true", "--y-pred", "y_pred", "--sensitive", "sex,address",
            "--bootstrap", "200", "--format", "md", "--lang", lang)
    _modules_after(*args, tmp_path=tmp_path)  # the first run compiles the catalogue
    modules, out = _modules_after(*args, tmp_path=tmp_path)
    assert out.startswith("# ")  # the audit ran and printed its report
    loaded = [m for m in modules if m.startswith(FORBIDDEN) or m == "sqlite3"]
    assert loaded == []
    assert "workbench.fairness._engine" in modules
    assert "pandas" not in modules  # numbers and text columns go from Arrow to numpy directly


def test_help_imports_no_command(tmp_path: Path) -> None:
    modules, out = _modules_after("--help", tmp_path=tmp_path)
    assert "audit" in out and "verify-log" in out
    assert not [m for m in modules if m.startswith(("workbench.cli._", "workbench.fairness", "pandas", "numpy"))
                and m != "workbench.cli._base"]


def test_lazy_help_is_the_commands_own_help() -> None:
    from workbench.cli import cli

    lazy_help = CliRunner().invoke(cli, ["--help"], terminal_width=100).output
    for name in list(cli.lazy):
        assert cli.load(name) is not None, name
    assert sorted(cli.commands) == sorted(cli.lazy)  # every registered command is listed, and only those
    assert CliRunner().invoke(cli, ["--help"], terminal_width=100).output == lazy_help


def test_catalogue_cache_is_built_checked_and_optional(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    full = i18n.catalogue()
    cache = tmp_path / "cache"
    monkeypatch.setenv(i18n.CACHE_ENV, str(cache))
    assert i18n.cache_dirs()[0] == cache  # the environment's folder comes first
    monkeypatch.setattr(i18n, "cache_dirs", lambda: [cache])  # and only it, here
    i18n.messages.cache_clear()
    assert i18n.messages("ru") == {k: v["ru"] for k, v in full.items()}
    written = json.loads((cache / "catalogue.ru.json").read_text(encoding="utf-8"))
    assert written["hash"] == i18n.catalogue_hash() and not (cache / "catalogue.kk.json").exists()
    # A cache for other YAML (stale hash) or a damaged one is ignored and rewritten.
    for stale in (json.dumps({"hash": "0" * 64, "messages": {"core.x": "stale"}}), "{not json"):
        (cache / "catalogue.ru.json").write_text(stale, encoding="utf-8")
        i18n.messages.cache_clear()
        assert i18n.messages("ru") == {k: v["ru"] for k, v in full.items()}
    # Nowhere writable: the YAML is parsed and nothing fails.
    monkeypatch.setattr(i18n, "cache_dirs", lambda: [tmp_path / "file" / "sub"])
    (tmp_path / "file").write_text("not a folder")
    i18n.messages.cache_clear()
    assert i18n.t("fairness.outcome.pass", "en") == full["fairness.outcome.pass"]["en"]
    i18n.messages.cache_clear()

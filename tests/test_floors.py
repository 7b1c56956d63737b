"""The shape of the package: each stage folder of ``workbench/`` imports only from the floors
below it (or its own); ``ui/`` and the Streamlit script stand above them all but the command
line, whose ``serve`` starts them.

Read from the code's own imports (every ``import`` and ``from ... import``, also inside
functions and under ``TYPE_CHECKING``), never by running it. An import that still runs upward
is listed in ``UPWARD`` with its reason; an entry there that the code no longer needs fails
too, so the list shrinks as the knots are untied and never hides a new one.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "workbench"

# Lowest first. A name is a folder or a module directly under workbench/.
FLOORS: tuple[tuple[str, ...], ...] = (
    ("config", "errors", "i18n", "textsafe", "_lazy", "_blocking"),  # serve everyone
    ("registry",),    # the state: database, event log, accounts, permissions, search index
    ("intake",),      # what vendors bring: submissions, files, the reader
    ("fairness",),    # the statistics engine
    ("genai",),       # the generative-tool test suites
    ("review",),      # what experts judge
    ("decision",),    # what the committee issues: decision, label, signed PDFs
    ("public",),      # what anyone sees: search, label pages, complaints, consent, open data
    ("aftercare",),   # a label's life after the decision: state, re-review, renewal
    ("upkeep",),      # keeping the house: operator tasks, backup, integrity
    ("services", "demo", "__init__"),  # the open workbench and the demo that assemble it all
    ("web",),         # Starlette routes and templates
    # ui/ (Streamlit pages) and streamlit_app.py stand here, above web/ and below the command line
    ("cli",),         # the command line: its ``serve`` starts web/ and ui/ together
)

# (importing file, imported module) -> why it still runs upward.
UPWARD: dict[tuple[str, str], str] = {
    ("workbench/intake/submissions.py", "workbench.review.rules"):
        "the tier a vendor declares is checked against the committee's TIER_POLICY, "
        "which lives with the rules (a late import inside two functions)",
    ("workbench/decision/decisions.py", "workbench.public.visitor"):
        "in_reader_language, the dossier text in the reader's language, is defined beside "
        "the public label pages that use it most",
    ("workbench/decision/labels.py", "workbench.public.visitor"):
        "a label change returns the public LabelView (get_label, effective_status): the "
        "label's read model lives in the public floor",
}


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _floor(unit: str) -> int:
    for level, names in enumerate(FLOORS):
        if unit in names:
            return level
    raise AssertionError(f"workbench/{unit} stands on no floor: add it to FLOORS in {Path(__file__).name}")


def _module_of(path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    return ".".join(parts[:-1] if is_package else parts), is_package


def _exists(module: str) -> bool:
    path = REPO.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imports(path: Path) -> set[str]:
    """Every module of this repository that ``path`` imports, by its dotted name."""
    module, is_package = _module_of(path)
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                found.add(sub if _exists(sub) else source)
    return found


def _package_files() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_stage_imports_only_from_the_floors_below() -> None:
    upward, used = [], set()
    for path in _package_files():
        rel = path.relative_to(REPO).as_posix()
        here = _unit(_module_of(path)[0])
        for target in sorted(t for t in _imports(path) if t.split(".")[0] == "workbench"):
            there = _unit(target)
            if there == here or _floor(there) <= _floor(here):
                continue
            if (rel, target) in UPWARD:
                used.add((rel, target))
                continue
            upward.append(f"{rel} (floor {_floor(here)}, {here}) imports {target} (floor {_floor(there)}, {there})")
    assert not upward, "imports that run up a floor:\n" + "\n".join(upward)
    stale = sorted(set(UPWARD) - used)
    assert not stale, f"listed in UPWARD but no longer imported (strike them): {stale}"


def test_every_folder_and_module_stands_on_a_floor() -> None:
    units = {p.stem if p.suffix else p.name for p in PACKAGE.iterdir()
             if (p.suffix == ".py") or (p / "__init__.py").is_file()}
    for unit in sorted(units):
        _floor(unit)


def test_the_streamlit_pages_stand_above_every_floor_but_the_command_line() -> None:
    # ui/ and streamlit_app.py may import any floor; no floor imports them, nor Streamlit itself,
    # except the command line on top, whose ``serve`` starts the staff's app (ui.asgi).
    wrong = [f"{path.relative_to(REPO)} imports {t}" for path in _package_files() for t in sorted(_imports(path))
             if t.split(".")[0] in ("ui", "streamlit_app", "streamlit")
             and not (path.parent.name == "cli" and t.split(".")[0] == "ui")]
    assert not wrong, wrong

"""AI-safe Workbench: the domain of the NAE's review of AI tools for education.

The package stands in floors, each importing only from those below it
(``tests/test_floors.py`` names the few that do not yet): ``registry`` (the database and event log, accounts, permissions),
``intake`` (submissions, files, the reader), ``fairness`` and ``genai`` (the tests),
``review`` (checklists, rules, reviews), ``decision`` (decisions, labels, signed PDFs),
``public`` (search, label pages, complaints, consent, open data, monitoring), ``aftercare``
(a label's state, re-review, renewal) and ``upkeep`` (operator tasks, backup, integrity);
``services`` opens them together. No module here imports Streamlit.

The names below are imported on first use (PEP 562), so ``import workbench.fairness``
does not pay for the registry's database layer.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "NotFound": ".errors",
    "PermissionDenied": ".errors",
    "ValidationFailed": ".errors",
    "WorkbenchError": ".errors",
    "Workbench": ".services",
}

__all__ = ["NotFound", "PermissionDenied", "ValidationFailed", "Workbench", "WorkbenchError", "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from .errors import NotFound, PermissionDenied, ValidationFailed, WorkbenchError
    from .services import Workbench


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})

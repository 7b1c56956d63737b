"""Modules imported on first use: ``from workbench._lazy import pd`` costs nothing until ``pd.X`` is read.

pandas takes a third of a second to import, more than a streamed audit of a million rows needs in
all, and that audit never touches it when its columns are numbers and text (pyarrow reads and
converts them). Modules on that path name pandas through this proxy, so it loads only when one of
their functions really uses it. Type annotations are strings (``from __future__ import
annotations``) and never load it.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """A stand-in for a module, imported at the first attribute read (each later read costs one extra call)."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:  # only for names not in the instance's own dict
        module: ModuleType | None = self.__dict__.get("_module")
        if module is None:
            module = self.__dict__["_module"] = importlib.import_module(self._name)
        return getattr(module, attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


pd: Any = LazyModule("pandas")

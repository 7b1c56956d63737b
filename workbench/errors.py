"""The one base of every error the workbench raises on purpose.

An error carries a message *key* from the translation catalogue and its parameters, so the
same error can be shown in Kazakh, Russian or English at the edge (page or CLI). Modules
define their own subclasses next to the code that raises them and keep their message keys
as module-level constants, which the tests compare against.
"""

from __future__ import annotations

from typing import Any


class WorkbenchError(Exception):
    """An expected failure with a translatable message.

    Parameters
    ----------
    key:
        A key of the translation catalogue (``workbench/locales/*.yaml``).
    **params:
        Values for the placeholders of that message.
    """

    def __init__(self, key: str, /, **params: Any) -> None:
        self.key = key
        self.params = params
        super().__init__(key)

    def translate(self, lang: str = "kk") -> str:
        from .i18n import t

        return t(self.key, lang, **self.params)

    def __str__(self) -> str:  # English text for logs and tracebacks
        try:
            return self.translate("en")
        except Exception:  # a missing key must never hide the original error
            return f"{self.key} {self.params}"


class PermissionDenied(WorkbenchError):
    """The acting user's role may not do this, or the object is not theirs."""


class NotFound(WorkbenchError):
    """The object does not exist, or the acting user may not know that it exists."""


class ValidationFailed(WorkbenchError):
    """Input was rejected. ``problems`` lists every problem found, not just the first."""

    def __init__(self, key: str, /, problems: list[WorkbenchError] | None = None, **params: Any) -> None:
        super().__init__(key, **params)
        self.problems = list(problems or [])

    def translate(self, lang: str = "kk") -> str:
        head = super().translate(lang)
        if not self.problems:
            return head
        return head + "\n" + "\n".join(f"- {p.translate(lang)}" for p in self.problems)

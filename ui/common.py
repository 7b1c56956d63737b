"""What every page shares: the open workbench, the language, the acting user, messages.

Pages call ``workbench`` functions and show the result; they hold no SQL and no domain
rules. Everything a person reads goes through ``tr()``.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

import streamlit as st

from workbench.errors import WorkbenchError
from workbench.i18n import DEFAULT_LANGUAGE, LANGUAGES, t
from workbench.models import PUBLIC, Actor
from workbench.services import Workbench


def workbench() -> Workbench:
    """One open workbench per browser session (SQLite connections are cheap, but the
    migrations check and the file store are better done once)."""
    if "_wb" not in st.session_state:
        st.session_state["_wb"] = Workbench.open()
    return st.session_state["_wb"]


_last_language = DEFAULT_LANGUAGE


def lang() -> str:
    """The person's language (Kazakh by default), remembered in the session and the URL.

    Outside a script run (AppTest calls a widget's ``format_func`` from the test process)
    there is no session: the language of the last run is used.
    """
    global _last_language
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if get_script_run_ctx() is None:
        return _last_language
    value = st.session_state.get("lang")
    if value not in LANGUAGES:
        value = st.query_params.get("lang", DEFAULT_LANGUAGE)
        value = value if value in LANGUAGES else DEFAULT_LANGUAGE
        st.session_state["lang"] = value
    _last_language = value
    return value


def tr(key: str, **params: Any) -> str:
    return t(key, lang(), **params)


def actor() -> Actor:
    return st.session_state.get("actor", PUBLIC)


def show_error(exc: WorkbenchError) -> None:
    st.error(exc.translate(lang()), icon="⚠️")


@contextlib.contextmanager
def friendly() -> Iterator[None]:
    """Show an expected error as a translated message instead of a traceback."""
    try:
        yield
    except WorkbenchError as exc:
        show_error(exc)


def status_label(status: str) -> str:
    return tr(f"status.{status}")


def choice_label(group: str):
    """A ``format_func`` for selectboxes of fixed codes (``group.code`` catalogue keys)."""
    return lambda code: tr(f"{group}.{code}") if code else "—"

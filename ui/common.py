"""What every page shares: the open workbench, the language, the acting user, messages.

Pages call ``workbench`` functions and show the result; they hold no SQL and no domain
rules. Everything a person reads goes through ``tr()``.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Iterator

import streamlit as st

from workbench.errors import WorkbenchError
from workbench.i18n import DEFAULT_LANGUAGE, LANGUAGES, t
from workbench.registry.models import PUBLIC, Actor
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


def request_cookies() -> dict[str, str]:
    """The cookies the browser sent when it opened this session's connection."""
    return st.context.cookies.to_dict()


def identify() -> Actor:
    """Who is acting in this run, from the session cookie set by ``/signin``.

    The cookie is resolved on every run, so logout, an admin's revocation, a deactivated
    account, expiry and idle timeout take effect at the next click. Without a cookie (and
    never signed in by one in this session) the actor already in the session state is
    kept: only code sets it (AppTest tests, which cannot send cookies); nothing a browser
    sends can.
    """
    from workbench.registry import sessions

    wb = workbench()
    raw = request_cookies().get(sessions.COOKIE_NAME)
    if raw is not None:
        token = sessions.token_from_cookie(raw, sessions.session_key(wb.home.root))
        who = sessions.resolve(wb.registry, token) or PUBLIC
        st.session_state["_session_token"] = None if who.is_public else token
        if not who.is_public and st.session_state.get("lang") not in LANGUAGES \
                and st.query_params.get("lang") not in LANGUAGES:
            # a reload or a link without ``lang``: the person's own language, not Kazakh by default
            row = wb.registry.one("SELECT lang FROM users WHERE id = ?", (who.user_id,))
            if row and row["lang"] in LANGUAGES:
                st.session_state["lang"] = row["lang"]
    elif "_session_token" in st.session_state:
        who = PUBLIC
    else:
        who = st.session_state.get("actor", PUBLIC)
    previous = st.session_state.get("actor", PUBLIC)
    if previous != who and not previous.is_public:
        forget_work()  # another person (or nobody) now: nothing of the previous one stays
    st.session_state["actor"] = who
    return who


def sign_out() -> None:
    """End this browser's session (the cookie stays, but no longer opens anything)."""
    from workbench.registry import sessions

    sessions.end(workbench().registry, st.session_state.get("_session_token"))
    forget_work()
    st.session_state["_session_token"] = None
    st.session_state["actor"] = PUBLIC


def forget_work() -> None:
    """Forget everything the person had open; keep only the language and the connection."""
    for key in list(st.session_state.keys()):
        if key not in ("lang", "_wb", "_session_token"):
            del st.session_state[key]


def signin_url(next_url: str | None = None) -> str:
    """The sign-in route, coming back to ``next_url`` (by default the page open now)."""
    from urllib.parse import urlencode, urlsplit

    if next_url is None:
        path = urlsplit(st.context.url or "/").path or "/"
        query = urlencode({k: v for k, v in st.query_params.to_dict().items() if k != "lang"})
        next_url = path + ("?" + query if query else "")
    return "/signin?" + urlencode({"next": next_url, "lang": lang()})


def show_error(exc: WorkbenchError) -> None:
    from ui.text import err_text

    st.error(err_text(exc, lang()), icon=":material/error:")  # an emoji would be read out untranslated


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


def open_submission(state_key: str) -> int | None:
    """The submission open on this page, kept in the address as ``?submission=N`` so a
    reload, a new tab or a bookmark opens it again."""
    value = st.session_state.get(state_key)
    raw = st.query_params.get("submission")
    if value is None and raw and raw.isdigit():
        value = st.session_state[state_key] = int(raw)
    if value is not None and raw != str(value):
        st.query_params["submission"] = str(value)
    return value


def show_submission(state_key: str, submission_id: int) -> None:
    st.session_state[state_key] = submission_id
    st.query_params["submission"] = str(submission_id)


def close_submission(state_key: str) -> None:
    st.session_state.pop(state_key, None)
    if "submission" in st.query_params:
        del st.query_params["submission"]


def notify_sync() -> None:
    """New events become notices before the page counts the unread ones."""
    from workbench.registry import notifications

    notifications.sync(workbench().registry)


_delivering = threading.Lock()


def notify_deliver() -> None:
    """Pending e-mails go out in the background (a slow mail server never holds a page)."""
    from workbench.registry import notifications
    from workbench.services import Workbench

    if not notifications.has_pending_mail(workbench().registry) or not _delivering.acquire(blocking=False):
        return  # nothing to send, or another session is sending (it takes these too)
    root = workbench().home.root

    def _run() -> None:
        wb = Workbench.open(root)
        try:
            notifications.deliver(wb.registry, wb.home.root)
        except Exception:  # noqa: BLE001 - a mail problem must never reach a page; logged
            import logging

            logging.getLogger("workbench.registry.notifications").exception("delivery failed")
        finally:
            wb.close()
            _delivering.release()

    threading.Thread(target=_run, name="notify-deliver", daemon=True).start()

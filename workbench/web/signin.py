"""Sign-in and sign-out routes that set the staff session cookie (issue 13).

``routes()`` returns the Starlette routes the ASGI app mounts beside Streamlit
(``st.App(streamlit_app.py, routes=[..., *signin.routes()])``):

- ``GET /signin`` - a small server-rendered form (kk/ru/en), keeping ``next`` (the page the
  person wanted, e.g. a bookmarked ``/queue?submission=17``);
- ``POST /signin`` - checks the password (lock-out and all, ``auth.login``), asks for a new
  password when an admin reset it, creates a server-side session (``workbench.registry.sessions``)
  and sets the cookie: signed, ``HttpOnly``, ``SameSite=Strict``, ``Secure`` over HTTPS;
  then redirects (303) to ``next`` or to ``/``, where each role lands on its own queue;
- ``POST /signout`` - revokes the session and clears the cookie.

A POST whose ``Origin`` is another site is refused (403): the sign-in form cannot be
submitted from elsewhere.
"""

from __future__ import annotations

import html
import threading
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from ..registry import auth, notifications, sessions
from ..config import Home
from ..errors import WorkbenchError
from ..i18n import LANGUAGE_NAMES, LANGUAGES, normalise_language, t
from ..services import Workbench

SIGNIN_PATH = "/signin"
#: Where the staff's Streamlit app lives (``workbench.web.app.STAFF_PATH``); each role lands on its queue there.
STAFF_HOME = "/staff/"
SIGNOUT_PATH = "/signout"

_open: dict[Path, Workbench] = {}
_open_lock = threading.Lock()


def _workbench() -> Workbench:
    """One open workbench per home for the routes (the Streamlit sessions have their own)."""
    root = Home.from_env().root
    with _open_lock:
        if root not in _open:
            _open[root] = Workbench.open(root)
        return _open[root]


def safe_next(value: str | None) -> str:
    """A local path to go to after sign-in; anything pointing elsewhere becomes the staff app's home."""
    value = (value or "").strip()
    parts = urlsplit(value)
    if (not value.startswith("/") or value.startswith("//") or "\\" in value or parts.scheme or parts.netloc
            or any(ord(c) < 32 for c in value) or value.startswith((SIGNIN_PATH, SIGNOUT_PATH))
            or not value.startswith(STAFF_HOME.rstrip("/"))):
        return STAFF_HOME
    return value


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:  # not a browser's cross-site form post (those always carry Origin)
        return True
    parts = urlsplit(origin)
    return parts.netloc == request.headers.get("host", request.url.netloc)


def _page(lang: str, *, next_url: str, username: str = "", error: str = "", change: bool = False,
          status: int = 200) -> HTMLResponse:
    e = html.escape

    def tr(key: str, **params) -> str:
        return e(t(key, lang, **params))

    current = ' aria-current="true"'
    switch = " · ".join(
        f'<a href="{SIGNIN_PATH}?{e(urlencode({"lang": code, "next": next_url}))}" lang="{code}"'
        f'{current if code == lang else ""}>{e(LANGUAGE_NAMES[code])}</a>' for code in LANGUAGES)
    new_password = (
        f'<p class="note">{tr("staff.signin_must_change")}</p>'
        f'<label for="new_password">{tr("staff.signin_new_password")}</label>'
        f'<input id="new_password" name="new_password" type="password" autocomplete="new-password" required '
        f'minlength="{auth.MIN_PASSWORD}">'
        f'<label for="new_password2">{tr("staff.signin_new_password2")}</label>'
        f'<input id="new_password2" name="new_password2" type="password" autocomplete="new-password" required>'
    ) if change else ""
    error_html = f'<p class="error" role="alert">{e(error)}</p>' if error else ""
    body = f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{tr("staff.signin_title")} · AI-safe Workbench</title>
<style>
body{{font-family:system-ui,sans-serif;background:#f5f7fa;margin:0;color:#1b1f24}}
main{{max-width:26rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:.5rem;
box-shadow:0 1px 4px rgba(0,0,0,.12)}}
h1{{font-size:1.5rem;margin-top:0}} label{{display:block;margin-top:1rem;font-weight:600}}
input{{width:100%;box-sizing:border-box;padding:.6rem;font-size:1rem;margin-top:.25rem;border:1px solid #8a94a3;
border-radius:.3rem}}
button{{margin-top:1.5rem;width:100%;padding:.7rem;font-size:1rem;background:#1F4E8C;color:#fff;border:0;
border-radius:.3rem;cursor:pointer}}
.error{{background:#fde2e1;color:#8a1c14;padding:.6rem;border-radius:.3rem}}
.note{{background:#fff4d6;padding:.6rem;border-radius:.3rem}}
nav{{font-size:.9rem;margin-bottom:1rem}} a{{color:#1F4E8C}}
@media (max-width:480px){{main{{margin:0;border-radius:0;padding:1.2rem}}}}
</style></head>
<body><main>
<nav aria-label="{tr("staff.signin_language")}">{switch}</nav>
<h1>{tr("staff.signin_title")}</h1>
<p>{tr("login.help")}</p>
{error_html}
<form method="post" action="{SIGNIN_PATH}">
<input type="hidden" name="next" value="{e(next_url)}">
<input type="hidden" name="lang" value="{lang}">
<label for="username">{tr("login.username")}</label>
<input id="username" name="username" autocomplete="username" required value="{e(username)}"
{"" if username else "autofocus"}>
<label for="password">{tr("login.password")}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required
{"autofocus" if username and not change else ""}>
{new_password}
<button type="submit">{tr("login.submit")}</button>
</form>
<p><a href="/?lang={lang}">{tr("staff.signin_back")}</a></p>
</main></body></html>"""
    return HTMLResponse(body, status_code=status, headers={
        "Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                                   "frame-ancestors 'none'"})


def _lang(request: Request, form=None) -> str:
    value = (form or {}).get("lang") or request.query_params.get("lang")
    return normalise_language(value if value in LANGUAGES else None)


async def signin_form(request: Request) -> Response:
    lang = _lang(request)
    return _page(lang, next_url=safe_next(request.query_params.get("next")),
                 username=request.query_params.get("username", "")[:64])


def _check(username: str, password: str, new_password: str, new_password2: str, lang: str,
           source: str | None = None, user_agent: str = ""):
    """The blocking part of a sign-in (Argon2, SQLite): returns (token, error, ask_new_password)."""
    wb = _workbench()
    reg = wb.registry
    try:
        who = auth.login(reg, username, password, source=source)  # throttled per account and per address
    except WorkbenchError as exc:
        return None, exc.translate(lang), False
    if sessions.must_change_password(reg, who.user_id):
        if not new_password:
            return None, "", True
        if new_password != new_password2:
            return None, t("staff.signin_mismatch", lang), True
        try:
            sessions.change_own_password(reg, who, password, new_password)
        except WorkbenchError as exc:
            return None, exc.translate(lang), True
    notifications.set_language(reg, who.user_id, lang)  # their notices and e-mails follow it
    return sessions.create(reg, who, address=source, user_agent=user_agent), "", False


async def signin(request: Request) -> Response:
    if not _same_origin(request):
        return Response(status_code=403)
    form = await request.form()
    lang = _lang(request, form)
    next_url = safe_next(str(form.get("next") or ""))
    username = str(form.get("username") or "")[:64]
    token, error, change = await run_in_threadpool(
        _check, username, str(form.get("password") or ""), str(form.get("new_password") or ""),
        str(form.get("new_password2") or ""), lang, request.client.host if request.client else None,
        request.headers.get("user-agent", ""))
    if token is None:
        return _page(lang, next_url=next_url, username=username, error=error, change=change,
                     status=200 if change and not error else 401)
    if "lang=" not in next_url and lang:
        next_url += ("&" if "?" in next_url else "?") + urlencode({"lang": lang})
    response = RedirectResponse(next_url, status_code=303)
    key = sessions.session_key(_workbench().home.root)
    response.set_cookie(sessions.COOKIE_NAME, sessions.cookie_value(token, key),
                        max_age=int(sessions.LIFETIME.total_seconds()), path="/", httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")
    response.headers["Cache-Control"] = "no-store"
    return response


async def signout(request: Request) -> Response:
    if not _same_origin(request):
        return Response(status_code=403)
    wb = _workbench()
    token = sessions.token_from_cookie(request.cookies.get(sessions.COOKIE_NAME),
                                       sessions.session_key(wb.home.root))
    await run_in_threadpool(sessions.end, wb.registry, token)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(sessions.COOKIE_NAME, path="/", httponly=True, samesite="strict")
    return response


def routes() -> list:
    """The sign-in routes for ``st.App(..., routes=[...])``."""
    return [
        Route(SIGNIN_PATH, signin_form, methods=["GET"]),
        Route(SIGNIN_PATH, signin, methods=["POST"]),
        Route(SIGNOUT_PATH, signout, methods=["POST"]),
    ]

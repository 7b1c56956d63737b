"""The one ASGI application: Streamlit's ``st.App`` for staff, Starlette routes for the public.

The staff's app is served under ``/staff/`` (Streamlit shows its default page at its base
path, which must not be the public registry's ``/``). ``create_app()`` mounts the public routes (``workbench.web.routes``) and the sign-in routes
(``workbench.web.signin``) beside Streamlit, with gzip for everything that is not already
compressed. Streamlit's own Prometheus metrics (``/_stcore/metrics``) are not public: they
answer 404 here (an operator reads them on the machine, through ``WORKBENCH_METRICS=1``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import PlainTextResponse

REPO = Path(__file__).resolve().parents[2]
STREAMLIT_APP = REPO / "streamlit_app.py"
#: Paths of Streamlit's server that the public must not reach.
PRIVATE_PATHS = ("/_stcore/metrics",)
#: The staff's Streamlit app lives under this path; the public pages own the rest of the site.
STAFF_PATH = "staff"

#: Streamlit settings for ``workbench serve``: nothing fetched from other hosts, no file watcher.
STREAMLIT_OPTIONS = {
    "server.headless": True,
    "server.fileWatcherType": "none",
    "browser.gatherUsageStats": False,
    "browser.serverAddress": "localhost",
    "client.toolbarMode": "minimal",
    "server.enableXsrfProtection": True,
    "server.baseUrlPath": STAFF_PATH,
}


class PrivatePaths:
    """Answer 404 for Streamlit's internal endpoints that are not for the public."""

    def __init__(self, app, paths: tuple[str, ...] = PRIVATE_PATHS) -> None:
        self.app = app
        self.paths = paths

    async def __call__(self, scope, receive, send) -> None:
        if (scope["type"] == "http" and os.environ.get("WORKBENCH_METRICS") != "1"
                and scope.get("path", "").rstrip("/").endswith(self.paths)):
            await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def load_streamlit_options(options: dict | None = None) -> None:
    """Apply ``STREAMLIT_OPTIONS`` (and ``options``) before the app is built."""
    from streamlit.web import bootstrap

    bootstrap.load_config_options({**STREAMLIT_OPTIONS, **(options or {})})


def create_app(wb=None, options: dict | None = None):
    """The ASGI app. ``wb`` is the open workbench (opened from ``WORKBENCH_HOME`` if not given);
    ``options`` are Streamlit settings on top of ``STREAMLIT_OPTIONS`` (the port, the address)."""
    import streamlit as st

    from ..services import Workbench
    from . import signin
    from .routes import public_routes

    if str(REPO) not in sys.path:  # streamlit_app.py imports the ``ui`` package beside it
        sys.path.insert(0, str(REPO))
    wb = wb or Workbench.open()
    load_streamlit_options(options)
    return st.App(
        str(STREAMLIT_APP),
        routes=[*public_routes(wb), *signin.routes()],
        middleware=[Middleware(PrivatePaths), Middleware(GZipMiddleware, minimum_size=500, compresslevel=6)],
    )


__all__ = ["create_app", "load_streamlit_options", "PrivatePaths", "STREAMLIT_OPTIONS", "PRIVATE_PATHS", "STAFF_PATH"]

"""The one ASGI application: Streamlit's ``st.App`` for staff, Starlette routes for the public.

``create_app()`` mounts the public routes (``workbench.web.routes``) and the sign-in routes
(``workbench.web.signin``) beside Streamlit, with gzip for everything that is not already
compressed, and answers 404 for Streamlit's private endpoints (``workbench.web.app``).
It lives here, beside the Streamlit pages, because it is the only code outside ``ui/`` and
``streamlit_app.py`` that needs Streamlit.
"""

from __future__ import annotations

import sys

from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware

from workbench.web.app import REPO, STAFF_PATH, STREAMLIT_APP, PrivatePaths

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


def load_streamlit_options(options: dict | None = None) -> None:
    """Apply ``STREAMLIT_OPTIONS`` (and ``options``) before the app is built."""
    from streamlit.web import bootstrap

    bootstrap.load_config_options({**STREAMLIT_OPTIONS, **(options or {})})


def create_app(wb=None, options: dict | None = None):
    """The ASGI app. ``wb`` is the open workbench (opened from ``WORKBENCH_HOME`` if not given);
    ``options`` are Streamlit settings on top of ``STREAMLIT_OPTIONS`` (the port, the address)."""
    import streamlit as st

    from workbench.services import Workbench
    from workbench.web import signin
    from workbench.web.routes import public_routes

    if str(REPO) not in sys.path:  # streamlit_app.py imports the ``ui`` package beside it
        sys.path.insert(0, str(REPO))
    wb = wb or Workbench.open()
    load_streamlit_options(options)
    return st.App(
        str(STREAMLIT_APP),
        routes=[*public_routes(wb), *signin.routes()],
        middleware=[Middleware(PrivatePaths), Middleware(GZipMiddleware, minimum_size=500, compresslevel=6)],
    )


__all__ = ["create_app", "load_streamlit_options", "STREAMLIT_OPTIONS"]

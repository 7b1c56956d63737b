"""What the one ASGI application needs from the domain side, without Streamlit.

The app itself (Streamlit's ``st.App`` for staff beside the public routes) is assembled in
``ui/asgi.py``, on top, so that no module of the ``workbench`` package imports Streamlit.
The staff's app is served under ``/staff/`` (Streamlit shows its default page at its base
path, which must not be the public registry's ``/``). Streamlit's own Prometheus metrics (``/_stcore/metrics``) are not public: they
answer 404 here (an operator reads them on the machine, through ``WORKBENCH_METRICS=1``).
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.responses import PlainTextResponse

REPO = Path(__file__).resolve().parents[2]
STREAMLIT_APP = REPO / "streamlit_app.py"
#: Paths of Streamlit's server that the public must not reach.
PRIVATE_PATHS = ("/_stcore/metrics",)
#: The staff's Streamlit app lives under this path; the public pages own the rest of the site.
STAFF_PATH = "staff"

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


__all__ = ["PrivatePaths", "PRIVATE_PATHS", "REPO", "STAFF_PATH", "STREAMLIT_APP"]

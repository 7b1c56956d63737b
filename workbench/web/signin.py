"""Sign-in and sign-out routes that set the staff session cookie (issue 13).

``routes()`` returns the Starlette routes the ASGI app mounts beside Streamlit.
"""

from __future__ import annotations


def routes() -> list:
    """The sign-in routes; none until the session cookie lands (issue 13)."""
    return []

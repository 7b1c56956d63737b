"""The public base URL printed into QR codes, signed PDFs, consent forms and open data.

A signed PDF cannot be changed, so the address it carries must be right before anything
is signed. The URL lives in the registry (meta ``public_url``, set by ``workbench init
--public-url`` or by the admin). Outside a demo registry, signing is refused while it is
unset or points to a machine that parents cannot reach (localhost, a private or reserved
address, a name without a domain). A demo registry may be unset: it uses the address it is
actually served on (``served_at``, set by ``workbench serve``).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlencode, urlsplit

from .db import Registry
from ..errors import WorkbenchError
from ..i18n import LANGUAGES, normalise_language
from .models import Actor
from .permissions import require

META_KEY = "public_url"
URL_UNSET = "pubweb.url.unset"
URL_BAD = "pubweb.url.bad"
URL_PRIVATE = "pubweb.url.private"

#: Where a demo registry is served in this process (``workbench serve`` sets it).
_served: str | None = None
_DEFAULT_DEMO_URL = "http://localhost:8501"


class PublicUrlError(WorkbenchError):
    """The public URL is unset or not one that parents can reach."""


def is_demo(reg: Registry) -> bool:
    """The agreed test: meta ``demo`` is "1" (the same test as ``workbench.demo.is_demo_registry``,
    which stands floors above the registry and is not imported from here)."""
    return reg.get_meta("demo") == "1"


def check_public_url(url: str | None) -> str:
    """The URL without a trailing slash, or ``PublicUrlError`` saying what is wrong with it."""
    url = (url or "").strip()
    if not url:
        raise PublicUrlError(URL_UNSET)
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme not in ("http", "https") or not host or parts.query or parts.fragment or parts.username:
        raise PublicUrlError(URL_BAD, url=url)
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None:
        if not ip.is_global:
            raise PublicUrlError(URL_PRIVATE, url=url)
    elif host == "localhost" or "." not in host or host.endswith((".localhost", ".local", ".internal", ".lan",
                                                                  ".home.arpa", ".test", ".invalid", ".example")):
        raise PublicUrlError(URL_PRIVATE, url=url)
    return url.rstrip("/")


def set_public_url(reg: Registry, actor: Actor, url: str) -> str:
    """Store the checked public URL (admin only); every change is an event."""
    require(actor, "settings.manage")
    checked = check_public_url(url)
    with reg.transaction():
        previous = reg.get_meta(META_KEY)
        reg.set_meta(META_KEY, checked)
        reg.record(actor, "settings.public_url", "settings", META_KEY, {"from": previous, "to": checked})
    return checked


def served_at(url: str | None) -> None:
    """Record the address this process serves on (used by a demo registry with no URL set)."""
    global _served
    _served = url.rstrip("/") if url else None


def base_url(reg: Registry) -> str | None:
    """The base of every public link: the registry's setting, else (demo only) where it is served."""
    configured = reg.get_meta(META_KEY)
    if configured:
        return configured.rstrip("/")
    if is_demo(reg):
        return _served or _DEFAULT_DEMO_URL
    return None


def ensure_signable(reg: Registry) -> str:
    """The base URL, checked; raises ``PublicUrlError`` outside a demo registry if it is unusable."""
    if is_demo(reg):
        return base_url(reg) or _DEFAULT_DEMO_URL
    return check_public_url(reg.get_meta(META_KEY))


def verify_url(reg: Registry, label_id: str, lang: str | None = None) -> str:
    """The QR code's address for a label, in the label's (or reader's) language."""
    base = base_url(reg) or ""
    query = {"label": label_id}
    if lang in LANGUAGES:
        query["lang"] = normalise_language(lang)
    return f"{base}/verify?{urlencode(query)}"


def page_url(reg: Registry, path: str, lang: str | None = None) -> str:
    """An absolute public address (``/complaint``, ``/label/ID``) in ``lang``."""
    base = base_url(reg) or ""
    suffix = f"?{urlencode({'lang': lang})}" if lang in LANGUAGES else ""
    return f"{base}{path}{suffix}"


__all__ = ["PublicUrlError", "check_public_url", "set_public_url", "served_at", "base_url", "ensure_signable",
           "verify_url", "page_url", "is_demo", "META_KEY"]

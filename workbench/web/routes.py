"""The public routes: plain server-rendered HTML, no JavaScript needed, stable addresses.

These addresses are printed into signed documents, so they never change:

=====================================  ============================================
``GET /`` and ``GET /registry``        search (``q tier subject grade status page lang``)
``GET /label/{label_id}``              a label's page; ``/label/{id}/audit.pdf`` its PDF
``GET /verify?label=ID``               the QR code's address; ``POST /verify`` uploads a PDF
``GET /consent/{label_id}``            the signed consent form (``lang``, ``school``)
``GET|POST /complaint``                file a complaint; ``?ref=`` follows one up
``GET /dashboard``                     the concept's indicator and the committee's figures
``GET /open-data/``                    the live signed export, file by file
=====================================  ============================================

Each route reads its parameters, calls one ``pages`` function and renders one template.
The language comes from ``?lang=``, else the browser's ``Accept-Language``, else Kazakh.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from ..public import consent, visitor as public
from ..errors import NotFound, ValidationFailed, WorkbenchError
from ..i18n import DEFAULT_LANGUAGE, LANGUAGES, t
from ..registry.models import PUBLIC
from . import pages
from .render import STATIC, Links, render, stylesheet_hash

#: The largest PDF the verification page accepts (an audit PDF is well under 1 MB).
MAX_PDF_BYTES = 20 * 1024 * 1024
#: No scripts, no third parties, forms post only here: the public pages need nothing else.
CSP = (f"default-src 'none'; style-src {stylesheet_hash()}; img-src 'self' data:; form-action 'self'; "
       "base-uri 'none'; frame-ancestors 'none'")
_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
            "Vary": "Accept-Language", "Cache-Control": "no-cache"}


def choose_language(request: Request) -> str:
    """``?lang=`` if it is one of ours, else the best of ``Accept-Language``, else Kazakh."""
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return asked
    best, best_q = DEFAULT_LANGUAGE, 0.0
    for item in request.headers.get("accept-language", "").split(",")[:20]:
        tag, _, params = item.strip().partition(";")
        code = tag.strip().lower().split("-")[0]
        try:
            q = float(params.strip()[2:]) if params.strip().startswith("q=") else 1.0
        except ValueError:
            q = 0.0
        if code in LANGUAGES and q > best_q:
            best, best_q = code, q
    return best


class PublicSite:
    """The public routes over one open workbench (its registry connection is thread-safe)."""

    def __init__(self, wb, *, warm: bool = True) -> None:
        self.wb = wb
        self._export_lock = threading.Lock()
        self._dashboards: dict[str, tuple] = {}
        if warm:  # the first visitor should not wait for the export's signature or pandas' import
            threading.Thread(target=self._warm, name="public-warm-up", daemon=True).start()

    def _warm(self) -> None:
        try:
            self._export()
            for lang in LANGUAGES:
                self._dashboard(lang)
        except Exception:  # noqa: BLE001 - a warm-up failure shows again, translated, on the first visit
            pass

    # -- helpers -------------------------------------------------------------------------

    def _page(self, request: Request, template: str, page: str, params: dict | None = None, *,
              status: int = 200, **context) -> HTMLResponse:
        links = Links(choose_language(request))
        html = render(template, links, page, params, **context)
        return HTMLResponse(html, status_code=status, headers={**_HEADERS, "Content-Language": links.lang})

    def _error(self, request: Request, exc: WorkbenchError, status: int) -> HTMLResponse:
        lang = choose_language(request)
        return self._page(request, "error.html", "registry", status=status,
                          heading=t("pubweb.error.title", lang), message=exc.translate(lang))

    # -- pages ---------------------------------------------------------------------------

    def registry(self, request: Request) -> Response:
        old_link = (request.query_params.get("label") or "").strip()
        if old_link:  # the Streamlit registry opened a label at ``/?label=ID``: such links keep working
            return RedirectResponse(Links(choose_language(request)).url("label", id=old_link[:40]), 308)
        query = pages.RegistryQuery.parse(request.query_params)
        context = pages.registry_context(self.wb.registry, choose_language(request), query)
        return self._page(request, "registry.html", "registry", query.params(page=context["page_no"]), **context)

    def label(self, request: Request) -> Response:
        label_id = request.path_params["label_id"]
        try:
            context = pages.label_context(self.wb.registry, choose_language(request), label_id)
        except NotFound as exc:
            return self._error(request, exc, 404)
        return self._page(request, "label.html", "label", {"id": context["label"].id}, **context)

    def audit_pdf(self, request: Request) -> Response:
        try:
            found = public.label_pdf_file(self.wb.registry, PUBLIC, request.path_params["label_id"])
        except NotFound as exc:
            return self._error(request, exc, 404)
        if found is None:
            return self._error(request, NotFound("pubweb.error.no_pdf"), 404)
        name, data = found
        return Response(data, media_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{name}"',
                                 "X-Content-Type-Options": "nosniff"})

    def consent(self, request: Request) -> Response:
        lang = choose_language(request)
        school = (request.query_params.get("school") or "").strip()[:200] or None
        label_id = request.path_params["label_id"]
        try:
            pdf = consent.consent_form(self.wb.registry, PUBLIC, label_id, lang, self.wb.keys, school=school)
        except NotFound as exc:
            return self._error(request, exc, 404)
        except WorkbenchError as exc:
            return self._error(request, exc, 409)
        return Response(pdf, media_type="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="{consent.consent_file_name(label_id, lang)}"',
            "X-Content-Type-Options": "nosniff"})

    async def verify(self, request: Request) -> Response:
        lang = choose_language(request)
        label_id = (request.query_params.get("label") or "").strip()[:40]
        pdf, error = None, None
        if request.method == "POST":
            length = int(request.headers.get("content-length") or 0)
            if length > MAX_PDF_BYTES + 64 * 1024:
                error = t("pub.verify.too_large", lang, mb=MAX_PDF_BYTES // (1024 * 1024))
            else:
                form = await request.form(max_files=1, max_fields=4)
                upload = form.get("pdf")
                data = await upload.read(MAX_PDF_BYTES + 1) if hasattr(upload, "read") else b""
                await form.close()
                if len(data) > MAX_PDF_BYTES:
                    error = t("pub.verify.too_large", lang, mb=MAX_PDF_BYTES // (1024 * 1024))
                elif not data:
                    error = t("pubweb.verify.no_file", lang)
                else:
                    pdf = data
        context = dict(result=None, lines=[], label_id=label_id)
        if error is None and (pdf is not None or label_id):
            try:
                context = pages.verify_context(self.wb.registry, self.wb.keys, lang, label_id=label_id or None,
                                               pdf=pdf)
            except WorkbenchError as exc:
                error = exc.translate(lang)
        return self._page(request, "verify.html", "verify", {"label": label_id} if label_id else {},
                          status=200 if error is None else 400, error=error,
                          max_mb=MAX_PDF_BYTES // (1024 * 1024), **context)

    async def complaint(self, request: Request) -> Response:
        lang = choose_language(request)
        label_id = (request.query_params.get("label") or "").strip()[:40]
        reference = (request.query_params.get("ref") or "").strip()[:20]
        filed, errors, form_values = None, [], {}
        if request.method == "POST":
            form = await request.form(max_files=0, max_fields=10)
            form_values = {k: str(form.get(k) or "") for k in ("label", "tool", "body", "contact")}
            try:
                filed = public.file_complaint(
                    self.wb.registry, PUBLIC, body=form_values["body"], label_id=form_values["label"] or None,
                    tool_name=form_values["tool"], contact=form_values["contact"],
                    challenge_token=str(form.get("token") or ""), challenge_answer=str(form.get("answer") or ""),
                    source=_source(request))
                form_values = {}
            except ValidationFailed as exc:
                errors = [p.translate(lang) for p in exc.problems] or [exc.translate(lang)]
            except WorkbenchError as exc:
                errors = [exc.translate(lang)]
        context = pages.complaint_context(self.wb.registry, lang, label_id=label_id, reference=reference,
                                          filed=filed, errors=errors, form=form_values)
        return self._page(request, "complaint.html", "complaint", status=400 if errors else 200, **context)

    def dashboard(self, request: Request) -> Response:
        return self._page(request, "dashboard.html", "dashboard", **self._dashboard(choose_language(request)))

    def _dashboard(self, lang: str) -> dict:
        """The dashboard's figures, computed again only when the event log or the day moves on."""
        key = (lang, self.wb.registry.get_meta("log_head"), pages.today())
        cached = self._dashboards.get(lang)
        if cached is None or cached[0] != key:
            cached = (key, pages.dashboard_context(self.wb.registry, lang))
            self._dashboards[lang] = cached
        return cached[1]

    # -- the live signed export --------------------------------------------------------------

    def _export(self) -> Path:
        """The signed export, rebuilt when the event log has moved on since the last one."""
        from ..public.opendata import export_registry

        folder = self.wb.home.root / "public-cache" / "open-data"
        stamp = folder / ".log-head"
        head = self.wb.registry.get_meta("log_head") or "empty"
        with self._export_lock:
            if not stamp.is_file() or stamp.read_text() != head:
                export_registry(self.wb.registry, self.wb.keys, folder)
                stamp.write_text(head)
        return folder

    def open_data(self, request: Request) -> Response:
        folder = self._export()
        files = [dict(name=p.name, size=p.stat().st_size, sha256=hashlib.sha256(p.read_bytes()).hexdigest())
                 for p in sorted(folder.iterdir()) if not p.name.startswith(".")]
        return self._page(request, "open_data.html", "open_data", files=files)

    def open_data_file(self, request: Request) -> Response:
        folder = self._export()
        name = request.path_params["name"]
        path = folder / name
        if name.startswith(".") or "/" in name or not path.is_file():
            return self._error(request, NotFound("pubweb.error.no_file", name=name), 404)
        media = {".json": "application/json", ".csv": "text/csv; charset=utf-8", ".p7s": "application/pkcs7-signature"}
        return FileResponse(path, media_type=media.get(path.suffix, "text/plain; charset=utf-8"))

    def routes(self) -> list[Route]:
        return [
            Route("/", self.registry, name="home"),
            Route("/registry", self.registry, name="registry"),
            Route("/label/{label_id}", self.label, name="label"),
            Route("/label/{label_id}/audit.pdf", self.audit_pdf, name="audit_pdf"),
            Route("/verify", self.verify, methods=["GET", "POST"], name="verify"),
            Route("/consent/{label_id}", self.consent, name="consent"),
            Route("/complaint", self.complaint, methods=["GET", "POST"], name="complaint"),
            Route("/dashboard", self.dashboard, name="dashboard"),
            Route("/open-data", lambda request: RedirectResponse("/open-data/", 308)),
            Route("/open-data/", self.open_data, name="open_data"),
            Route("/open-data/{name}", self.open_data_file, name="open_data_file"),
            Route("/assets/{name}", _asset, name="assets"),
        ]


def _asset(request: Request) -> Response:
    """The stylesheet and the mirror's script; cached for a day."""
    name = request.path_params["name"]
    if name not in ("site.css", "mirror.js"):
        return Response(status_code=404)
    return FileResponse(STATIC / name, headers={"Cache-Control": "public, max-age=86400"})


def _source(request: Request) -> str:
    """Who is filing, for the complaint rate limit (only its hash is stored)."""
    host = request.client.host if request.client else "unknown"
    forwarded = request.headers.get("x-forwarded-for", "")
    if host in ("127.0.0.1", "::1") and forwarded:  # behind the operator's reverse proxy
        host = forwarded.split(",")[0].strip()
    return f"web:{host}"


def public_routes(wb) -> list[Route]:
    return PublicSite(wb).routes()


__all__ = ["PublicSite", "public_routes", "choose_language", "MAX_PDF_BYTES", "CSP"]

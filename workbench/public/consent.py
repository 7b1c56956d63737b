"""The parent notification and consent form of a labelled tool (road-map item 2.13).

The form is built from the label and its submission's dossier, only from what a parent
must be told (what the tool does, which data, why, who processes them, where and for how
long, whom to contact), rendered by ``report_pdf.render_consent_pdf`` and signed with the
committee's key, so a school can show that the form is the committee's and unchanged.
"""

from __future__ import annotations

import datetime as dt
import json

from ..registry import public_url
from ..registry.db import Registry
from ..errors import WorkbenchError
from ..i18n import normalise_language, t
from ..registry.models import Actor, utcnow
from ..registry.permissions import require
from .visitor import in_language, get_label
from ..decision.report_pdf import ConsentFormData, render_consent_pdf

NOT_USABLE = "pub.consent.not_usable"

#: Label statuses for which a school may still hand out the form.
USABLE_STATUSES = ("active",)


def consent_data(reg: Registry, actor: Actor, label_id: str, lang: str,
                 *, today: dt.date | None = None, school: str | None = None) -> ConsentFormData:
    """The facts of the consent form, free text in ``lang`` where the vendor wrote it.

    Raises
    ------
    NotFound
        No such label.
    WorkbenchError
        The label is suspended, revoked, expired or superseded: a form for a tool that
        is no longer trusted must not be handed to parents.
    """
    require(actor, "label.view")
    lang = normalise_language(lang)
    today = today or utcnow().date()
    label = get_label(reg, actor, label_id, today)
    if label.status not in USABLE_STATUSES:
        raise WorkbenchError(NOT_USABLE, id=label.id, status=t(f"label_status.{label.status}", lang))
    row = reg.one("SELECT s.dossier, o.name, o.contact_email FROM submissions s "
                  "JOIN organisations o ON o.id = s.org_id WHERE s.id = ?", (label.submission_id,))
    dossier = json.loads(row["dossier"])
    description = (dossier.get(f"description_{lang}") or dossier.get("description_kk")
                   or dossier.get("description_ru") or dossier.get("description_en") or label.tool_name)
    categories = dossier.get("data_categories") or []
    data_items = [t(f"data_cat.{c}", lang) for c in categories] or [t("pub.consent.no_personal_data", lang)]
    location = dossier.get("data_storage_location") or "—"
    processing = dossier.get("data_processing_location") or ""
    if processing and processing != location:
        location = t("pub.consent.stored_processed", lang, stored=location, processed=processing)
    # The organisation's published business contact, never a person's account details.
    contact = t("pub.consent.contact_vendor", lang, vendor=label.vendor,
                email=row["contact_email"] or t("pub.consent.no_email", lang))
    contact += " " + t("pub.consent.contact_committee", lang, url=public_url.page_url(reg, "/complaint", lang))
    return ConsentFormData(
        tool_name=label.tool_name, tool_version=label.tool_version or "—", vendor=label.vendor, school=school,
        description=description, data_items=data_items,
        purpose=in_language(dossier, "intended_purpose", lang) or t("pub.consent.no_purpose", lang),
        processor=t("pub.consent.processor", lang, vendor=label.vendor),
        storage_location=location, retention=in_language(dossier, "retention", lang) or "—", contact=contact,
        label_id=label.id, verify_url=public_url.verify_url(reg, label.id, lang), generated_on=today,
    )


def consent_form(reg: Registry, actor: Actor, label_id: str, lang: str, keystore,
                 *, today: dt.date | None = None, school: str | None = None) -> bytes:
    """The signed parent notification and consent form of a labelled tool.

    Parameters
    ----------
    label_id:
        The tool's AI-safe label.
    lang:
        ``kk``, ``ru`` or ``en``.
    keystore:
        The committee's ``signing.KeyStore``; the form is signed with its key (PAdES).
    school:
        The school's name, printed in the introduction when given.

    Returns
    -------
    bytes
        The signed PDF.
    """
    lang = normalise_language(lang)
    form = consent_data(reg, actor, label_id, lang, today=today, school=school)
    pdf = render_consent_pdf(form, lang)
    return keystore.sign_pdf(pdf, reason=t("pub.consent.sign_reason", lang))


def consent_file_name(label_id: str, lang: str) -> str:
    return f"consent-{label_id.strip().upper()}-{normalise_language(lang)}.pdf"


__all__ = ["consent_data", "consent_form", "consent_file_name", "USABLE_STATUSES"]

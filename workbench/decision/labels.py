"""Label life after issue: suspend, reinstate, revoke, renew; expiry warnings; verification.

Expiry is derived when a label is read (``public.effective_status``), so no scheduler is
needed. Verification answers the three questions a school asks: is the document intact,
was it signed by the committee, and is the label active today.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from ..registry.auth import check_active
from ..registry.db import Registry
from .decisions import add_months, label_pdf, label_policy
from ..errors import NotFound, WorkbenchError
from ..i18n import format_date, t
from ..registry.models import Actor, utcnow
from ..registry.permissions import require
from ..public.visitor import LabelView, effective_status, get_label
from ..textsafe import limit_text

NEED_REASON = "label.need_reason"
BAD_CHANGE = "label.bad_change"

#: (effective status, action) -> new stored status. Superseding is done by the system only.
LABEL_TRANSITIONS: dict[tuple[str, str], str] = {
    ("active", "suspend"): "suspended",
    ("suspended", "reinstate"): "active",
    ("active", "revoke"): "revoked",
    ("suspended", "revoke"): "revoked",
    ("expired", "revoke"): "revoked",
    ("active", "renew"): "active",
    ("expired", "renew"): "active",
}
LABEL_ACTIONS = ("suspend", "reinstate", "revoke", "renew")


def change_label(reg: Registry, actor: Actor, label_id: str, action: str, reason: str,
                 *, today: dt.date | None = None) -> LabelView:
    """Change a label's status with a reason; every change is an event."""
    require(actor, "label.manage")
    today = today or utcnow().date()
    reason = limit_text(reason, "reason", field="reason")
    if not reason:
        raise WorkbenchError(NEED_REASON)
    with reg.transaction():  # the status is re-read and changed under one write lock
        label = get_label(reg, actor, label_id, today)
        new = LABEL_TRANSITIONS.get((label.status, action))
        if new is None:
            raise WorkbenchError(BAD_CHANGE, id=label.id, status=label.status, action=action)
        values = {"status": new, "status_reason": reason}
        if action == "renew":
            values["valid_until"] = add_months(today, label_policy().validity_months[label.tier]).isoformat()
        _checkpoint("label_read")
        reg.update("labels", label.id, values)
        reg.record(actor, f"label.{action}", "label", label.id,
                   {"from": label.status, "to": new, "reason": reason, **{k: v for k, v in values.items()
                                                                                   if k == "valid_until"}})
    return get_label(reg, actor, label.id, today)


def _checkpoint(name: str) -> None:
    """A named point between reading a label and changing it (tests pause or kill here)."""


def expiring_labels(reg: Registry, actor: Actor, *, within_days: int | None = None,
                    today: dt.date | None = None) -> list[LabelView]:
    """Active labels that expire within the warning window (60 days by default)."""
    require(actor, "label.manage")
    check_active(reg, actor)
    today = today or utcnow().date()
    days = within_days if within_days is not None else label_policy().expiry_warning_days
    horizon = (today + dt.timedelta(days=days)).isoformat()
    rows = reg.query("SELECT id FROM labels WHERE status = 'active' AND valid_until >= ? AND valid_until <= ? "
                     "ORDER BY valid_until", (today.isoformat(), horizon))
    return [get_label(reg, actor, r["id"], today) for r in rows]


def all_labels(reg: Registry, actor: Actor, today: dt.date | None = None) -> list[LabelView]:
    require(actor, "label.manage")
    check_active(reg, actor)
    return [get_label(reg, actor, r["id"], today) for r in reg.query("SELECT id FROM labels ORDER BY id")]


class Verification(BaseModel):
    """Three answers: intact, signed by the committee, label active today."""

    intact: bool | None = None
    signed_by_committee: bool | None = None
    label_id: str | None = None
    label_status: str | None = None
    label_active: bool = False
    valid_until: str | None = None
    signer: str | None = None
    signed_at: dt.datetime | None = None
    problems: list[str] = []

    @property
    def ok(self) -> bool:
        return bool(self.intact) and bool(self.signed_by_committee) and self.label_active

    def explain(self, lang: str = "kk") -> list[str]:
        lines = [t("verify.q_intact_" + _yes_no(self.intact), lang)]
        if self.intact is False and self.signer:
            # A changed copy of a signed PDF: who signed the original cannot be confirmed.
            lines.append(t("verify.q_signed_unknown", lang))
        else:
            lines.append(t("verify.q_signed_" + _yes_no(self.signed_by_committee), lang))
        if self.label_id is None:
            lines.append(t("verify.q_label_missing", lang))
        elif self.label_status is None:
            lines.append(t("verify.q_label_unknown", lang, id=self.label_id))
        else:
            lines.append(t("verify.q_label_" + ("yes" if self.label_active else "no"), lang, id=self.label_id,
                           status=t("label_status." + self.label_status, lang),
                           until=format_date(self.valid_until, lang)))
        return lines


def _yes_no(value: bool | None) -> str:
    return "yes" if value else "no"


def _label_part(reg: Registry, actor: Actor, label_id: str | None, today: dt.date | None) -> dict:
    if not label_id:
        return {}
    try:
        label = get_label(reg, actor, label_id, today)
    except NotFound:
        return {"label_id": label_id}
    return {"label_id": label.id, "label_status": label.status, "label_active": label.status == "active",
            "valid_until": label.valid_until}


def verify_document(reg: Registry, actor: Actor, pdf: bytes, keystore, *, today: dt.date | None = None) -> Verification:
    """Check an uploaded audit PDF: signature, signer, and the status of the label it names."""
    require(actor, "label.verify")
    from .pdf_verify import registry_copy_sha256, verify_pdf

    check = verify_pdf(pdf, keystore, expected_sha256=registry_copy_sha256(reg, pdf))
    return Verification(intact=check.intact, signed_by_committee=check.signed_by_committee, signer=check.signer,
                        signed_at=check.signed_at, problems=list(check.problems),
                        **_label_part(reg, actor, check.label_id, today))


def verify_label(reg: Registry, actor: Actor, label_id: str, keystore, *, today: dt.date | None = None) -> Verification:
    """Check a label by its ID: its status today, and its stored signed PDF."""
    require(actor, "label.verify")
    label_id = (label_id or "").strip().upper()
    part = _label_part(reg, actor, label_id, today)
    if "label_status" not in part:
        raise NotFound("public.no_label", id=label_id)
    pdf = label_pdf(reg, label_id)
    if pdf is None:
        return Verification(**part)
    from .pdf_verify import verify_pdf

    row = reg.one("SELECT pdf_sha256 FROM labels WHERE id = ?", (label_id,))
    check = verify_pdf(pdf, keystore, expected_sha256=row["pdf_sha256"] if row and row["pdf_sha256"] else None)
    return Verification(intact=check.intact, signed_by_committee=check.signed_by_committee, signer=check.signer,
                        signed_at=check.signed_at, problems=list(check.problems), **part)


__all__ = ["LABEL_ACTIONS", "LABEL_TRANSITIONS", "Verification", "change_label", "expiring_labels", "all_labels",
           "verify_document", "verify_label", "effective_status"]

"""Renewal in the app (issue 13), AppTest: offered only within 90 days of expiry; the vendor
sends new outputs, a reviewer runs a fresh fairness test on them and another confirms;
until then the secretary's "renew" is refused with a translated message and changes nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from workbench.aftercare import renewal
from workbench.i18n import t

from test_decisions import EARLY_WARNING
from test_label_state import issued  # noqa: F401  (fixture)

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")


def _page(actor, lang: str, script: str | None = None, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.session_state["actor"] = actor
    at.session_state["lang"] = lang
    for k, v in query.items():
        at.query_params[k] = str(v)
    at.run()
    if script:
        at.switch_page(f"ui/pages/{script}.py").run()
    assert not at.exception, at.exception
    return at


def _until(reg, label_id) -> str:
    return reg.one("SELECT valid_until FROM labels WHERE id = ?", (label_id,))["valid_until"]


@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_renewal_in_the_app_window_fresh_test_confirmation(issued, lang):  # noqa: F811
    c, sub_id, label_id = issued
    reg = c.wb.registry
    # 1. A label issued minutes ago: "renew" is not offered, and the vendor is not asked for outputs.
    sec = _page(c.secretary, lang, "secretary")
    assert "renew" not in sec.selectbox(key=f"la_{label_id}").options
    assert t("sec.label_action_renew", lang) not in sec.selectbox(key=f"la_{label_id}").options
    vendor = _page(c.vendor, lang, submission=sub_id)
    assert not [u for u in vendor.get("file_uploader") if u.key and u.key.startswith("renew_up_")]

    # 2. Thirty days before expiry: offered, with what is missing; renewing now is refused.
    soon = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    reg.execute("UPDATE labels SET valid_until = ? WHERE id = ?", (soon, label_id))
    sec = _page(c.secretary, lang, "secretary")
    assert t("sec.label_action_renew", lang) in sec.selectbox(key=f"la_{label_id}").options
    missing = "; ".join(t(k, lang) for k in ("staff.renew_need_outputs", "staff.renew_need_confirmation"))
    assert any(missing in cap.value for cap in sec.caption)
    sec.selectbox(key=f"la_{label_id}").set_value("renew").run()
    sec.text_input(key=f"lr_{label_id}").input("Routine renewal")
    sec.checkbox(key=f"lc_{label_id}").check().run()
    sec.button(key=f"lb_{label_id}").click().run()
    assert not sec.exception, sec.exception
    assert [e.value for e in sec.error if t(renewal.NOT_READY, lang, id=label_id).split(":")[0] in e.value]
    assert _until(reg, label_id) == soon, "a refused renewal changes nothing"

    # 3. A reviewer cannot confirm before the fresh test (the button is disabled, the reason said).
    rev2 = _page(c.r2, lang, "reviewer", submission=sub_id)
    assert rev2.button(key=f"renew_ok_{label_id}").disabled
    assert any(t("staff.renew_need_outputs", lang) in cap.value for cap in rev2.caption)

    # 4. The vendor sends new outputs for the renewal.
    vendor = _page(c.vendor, lang, submission=sub_id)
    rows = EARLY_WARNING.read_bytes().splitlines(keepends=True)
    fresh = b"".join(rows[:1] + rows[1:][::-1])  # the same pupils, this year's file
    vendor.file_uploader(key=f"renew_up_{label_id}_0").set_value(("outputs-2027.csv", fresh, "text/csv")).run()
    vendor.button(key=f"renew_send_{label_id}").click().run()
    assert not vendor.exception, vendor.exception
    assert any("outputs-2027.csv" in s.value for s in vendor.success)
    assert renewal.readiness(reg, c.secretary, label_id).new_outputs

    # 5. The first reviewer runs the fresh fairness test on them in the app.
    rev1 = _page(c.r1, lang, "reviewer", submission=sub_id)
    rev1.selectbox(key="rev_step").set_value("fairness").run()
    attachment = reg.one("SELECT id FROM attachments WHERE submission_id = ? AND original_name = 'outputs-2027.csv'",
                         (sub_id,))["id"]
    rev1.selectbox(key=f"fp_file_{sub_id}").set_value(attachment).run()
    rev1.button(key=f"fp_run_{sub_id}").click().run()
    assert not rev1.exception, rev1.exception
    assert renewal.readiness(reg, c.secretary, label_id).fresh_run

    # 6. The second reviewer confirms.
    rev2 = _page(c.r2, lang, "reviewer", submission=sub_id)
    assert not rev2.button(key=f"renew_ok_{label_id}").disabled
    rev2.text_area(key=f"renew_note_{label_id}").input("Re-tested; the checklist is still met")
    rev2.button(key=f"renew_ok_{label_id}").click().run()
    assert not rev2.exception, rev2.exception
    assert renewal.readiness(reg, c.secretary, label_id).confirmed_by == "rev2"

    # 7. Now the secretary renews: confirmed, and the label runs on.
    sec = _page(c.secretary, lang, "secretary")
    assert any(t("staff.renew_ready", lang, who="rev2") in cap.value for cap in sec.caption)
    sec.selectbox(key=f"la_{label_id}").set_value("renew").run()
    sec.text_input(key=f"lr_{label_id}").input("Renewed after a fresh test")
    sec.checkbox(key=f"lc_{label_id}").check().run()
    sec.button(key=f"lb_{label_id}").click().run()
    assert not sec.exception, sec.exception
    assert dt.date.fromisoformat(_until(reg, label_id)[:10]) > dt.date.fromisoformat(soon)
    assert any(label_id in s.value for s in sec.success)
    assert [e.action for e in reg.events("label", label_id)][-2:] == ["label.renewal_confirmed", "label.renew"]

"""AppTest of the public pages and the secretary's complaint queue, in Kazakh and Russian."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from workbench import complaints, public
from workbench.i18n import t
from workbench.models import PUBLIC

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "streamlit_app.py")
PAGES = REPO / "ui" / "pages"
LANGS = ("kk", "ru")
ACTIVE, SUSPENDED = "KZ-AIS-2026-000001", "KZ-AIS-2026-000002"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """One demo workbench (labels in every status) for the module."""
    home = tmp_path_factory.mktemp("pubpages")
    old = os.environ.get("WORKBENCH_HOME")
    os.environ["WORKBENCH_HOME"] = str(home)
    if str(REPO) not in sys.path:  # page modules import ``ui.common``
        sys.path.insert(0, str(REPO))
    from workbench.demo import ensure_demo, ensure_keys
    from workbench.services import Workbench

    wb = Workbench.open(home)
    ensure_keys(wb)
    ensure_demo(wb)
    yield wb
    wb.close()
    if old is None:
        os.environ.pop("WORKBENCH_HOME", None)
    else:
        os.environ["WORKBENCH_HOME"] = old


def secretary(wb):
    from workbench import auth
    from workbench.demo import DEMO_PASSWORD

    return auth.login(wb.registry, "secretary", DEMO_PASSWORD)


def page(name: str, lang: str, who=PUBLIC, **query) -> AppTest:
    at = AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=60)
    at.session_state["lang"] = lang
    at.session_state["actor"] = who
    for k, v in query.items():
        at.query_params[k] = v
    return at


def texts(at) -> str:
    parts = [e.value for kind in ("markdown", "title", "caption", "success", "info", "warning", "error")
             for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", ["registry", "verify", "complaint"])
def test_existing_public_pages_through_navigation(demo, name, lang):
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["lang"] = lang
    at.session_state["actor"] = PUBLIC
    at.run()
    at.switch_page(f"ui/pages/{name}.py").run()
    assert not at.exception, at.exception
    assert at.title


@pytest.mark.parametrize("lang", LANGS)
def test_registry_search_then_label_page(demo, lang):
    at = page("registry", lang).run()
    assert not at.exception
    assert t("registry.count", lang, n=4) in texts(at)
    at.text_input(key="reg_text").input("ЕРТЕ").run()
    assert t("registry.count", lang, n=1) in texts(at)
    at.button(key=f"reg_open_{ACTIVE}").click().run()
    assert not at.exception, at.exception
    assert at.query_params["label"] == [ACTIVE] or at.query_params["label"] == ACTIVE
    body = texts(at)
    assert "Ерте ескерту" in at.title[0].value
    assert t("pub.label.history", lang) in [s.value for s in at.subheader]
    assert "8–11" in body
    labels = [b.label for b in at.get("download_button")]
    assert t("pub.label.consent_kk", lang) in labels and t("pub.label.consent_ru", lang) in labels
    assert t("pub.label.audit_pdf", lang) in labels


@pytest.mark.parametrize("lang", LANGS)
def test_registry_filters_and_sorting(demo, lang):
    at = page("registry", lang).run()
    at.selectbox(key="reg_status").select("suspended").run()
    assert t("registry.count", lang, n=1) in texts(at)
    at.selectbox(key="reg_status").select(None).run()
    at.selectbox(key="reg_sort").select("expiry").run()
    first = next(m.value for m in at.markdown if m.value.startswith("**"))
    assert "Кесте Шебері" in first  # expired in May 2026: the earliest end date
    assert not at.exception


@pytest.mark.parametrize("lang", LANGS)
def test_suspended_label_page_explains_and_offers_no_consent(demo, lang):
    at = page("registry", lang, label=SUSPENDED).run()
    assert not at.exception
    assert t("label_status.suspended", lang) in at.warning[0].value
    assert "Complaint C-2026" in at.warning[0].value  # the committee's reason
    assert t("pub.label.no_consent", lang) in texts(at)


@pytest.mark.parametrize("lang", LANGS)
def test_verify_by_qr_address(demo, lang):
    at = page("verify", lang, label=ACTIVE).run()
    assert not at.exception
    lines = [m.value for m in at.markdown if m.value.startswith(("✔", "✘"))]
    assert len(lines) == 3 and all(line.startswith("✔") for line in lines)
    assert at.success[0].value == t("pub.verify.all_ok", lang)


@pytest.mark.parametrize("lang", LANGS)
def test_verify_a_suspended_label(demo, lang):
    at = page("verify", lang, label=SUSPENDED).run()
    lines = [m.value for m in at.markdown if m.value.startswith(("✔", "✘"))]
    assert [line[0] for line in lines] == ["✔", "✔", "✘"]
    assert at.error[0].value == t("pub.verify.not_ok", lang)


@pytest.mark.parametrize("lang", LANGS)
def test_verify_unknown_label_is_a_message(demo, lang):
    at = page("verify", lang, label="KZ-AIS-2026-999999").run()
    assert not at.exception
    assert "KZ-AIS-2026-999999" in at.error[0].value


@pytest.mark.parametrize("lang", LANGS)
def test_complaint_then_outcome(demo, lang):
    at = page("complaint", lang).run()
    challenge = at.session_state["complaint_challenge"]
    at.text_input(key="complaint_label").input(ACTIVE)
    at.text_area(key="complaint_body").input("Ескертулер орынсыз беріледі")
    at.text_input(key="complaint_answer").input(str(challenge.a + challenge.b))
    at.button[0].click().run()
    assert not at.exception, at.exception
    reference = at.session_state["complaint_last"]
    assert reference in at.success[0].value
    complaints.resolve_complaint(demo.registry, secretary(demo), reference, "re_review", "Reviewers will check it")
    at.text_input(key="complaint_ref").input(reference).run()
    shown = at.success[-1].value
    assert shown == public.complaint_status(demo.registry, PUBLIC, reference).status_text(lang)
    assert "Reviewers will check it" in shown


@pytest.mark.parametrize("lang", LANGS)
def test_dashboard(demo, lang):
    at = page("dashboard", lang).run()
    assert not at.exception, at.exception
    assert at.title[0].value == t("pub.dash.title", lang)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[t("pub.dash.labels_total", lang)] == "4"
    assert len(at.get("download_button")) >= 4  # a CSV of each table


@pytest.mark.parametrize("lang", LANGS)
def test_complaints_queue_suspension_needs_confirmation(demo, lang):
    reg = demo.registry
    challenge = public.new_challenge(reg)
    filed = public.file_complaint(reg, PUBLIC, body="Wrong answers in Kazakh", label_id=ACTIVE,
                                  challenge_token=challenge.token, challenge_answer=str(challenge.a + challenge.b),
                                  source=f"queue-{lang}")
    ref = filed.reference
    at = page("complaints_queue", lang, who=secretary(demo)).run()
    assert not at.exception, at.exception
    at.radio(key=f"cq_outcome_{ref}").set_value("suspension").run()
    assert at.button(key=f"cq_resolve_{ref}").disabled  # not before the confirmation
    at.text_area(key=f"cq_note_{ref}").input("Checked: errors confirmed")
    at.checkbox(key=f"cq_confirm_{ref}").check().run()
    at.button(key=f"cq_resolve_{ref}").click().run()
    assert not at.exception, at.exception
    assert public.get_label(reg, PUBLIC, ACTIVE).status == "suspended"
    assert complaints.get_complaint(reg, secretary(demo), ref).outcome == "suspension"
    # put the demo label back for the other tests
    from workbench import labels

    labels.change_label(reg, secretary(demo), ACTIVE, "reinstate", "test done")


@pytest.mark.parametrize("lang", LANGS)
def test_complaints_queue_refuses_the_public(demo, lang):
    at = page("complaints_queue", lang).run()
    assert not at.exception
    assert at.error  # a translated permission message, not a traceback

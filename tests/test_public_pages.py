"""AppTest of the secretary's complaint queue, in Kazakh and Russian.

The public pages are server-rendered HTML now: ``tests/test_web.py``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from workbench.public import complaints, visitor as public
from workbench.registry.models import PUBLIC

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
    from workbench.registry import auth
    from workbench.demo import DEMO_PASSWORD

    return auth.login(wb.registry, "secretary", DEMO_PASSWORD)


def page(name: str, lang: str, who=PUBLIC, **query) -> AppTest:
    at = AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=60)
    at.session_state["lang"] = lang
    at.session_state["actor"] = who
    for k, v in query.items():
        at.query_params[k] = v
    return at


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
    from workbench.decision import labels

    labels.change_label(reg, secretary(demo), ACTIVE, "reinstate", "test done")


@pytest.mark.parametrize("lang", LANGS)
def test_complaints_queue_refuses_the_public(demo, lang):
    at = page("complaints_queue", lang).run()
    assert not at.exception
    assert at.error  # a translated permission message, not a traceback

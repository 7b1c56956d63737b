"""AppTest of the generative-tool panel: run the suites against the demo sandbox, see the
results with intervals, rate an unsure answer (as reviewer), read-only for the vendor."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from workbench import genai
from workbench.intake import submissions as subs
from workbench.registry.db import Registry
from workbench.services import Workbench

SCRIPT = """
import streamlit as st
from workbench.intake import submissions as subs
from workbench.registry.db import Registry
from ui.common import workbench
st.session_state["lang"] = st.session_state.get("lang", "kk")
st.session_state["actor"] = st.session_state["who"]
from ui import genai_panel
genai_panel.render(subs.get_submission(workbench().registry, st.session_state["who"], st.session_state["sub"]))
"""


@pytest.fixture(scope="module")
def sandbox():
    box = genai.start_demo_sandbox()
    yield box
    box.stop()


@pytest.fixture
def setup(home, people, dossier, sandbox):
    wb = Workbench.open(home)
    reg = wb.registry
    people = type(people)(reg)  # the same cast, in the file-backed registry the app opens
    sub = subs.create_submission(reg, people.vendor_a, {**dossier, "model_type": "generative"})
    subs.submit(reg, people.vendor_a, sub.id)
    subs.screen(reg, people.secretary, sub.id, complete=True)
    subs.assign_reviewer(reg, people.secretary, sub.id, people.reviewer1.user_id)
    reg.set_meta("demo", "1")
    genai.set_endpoint(reg, people.vendor_a, genai.SecretBox(wb.home.keys), sub.id, sandbox.url, model="m",
                       api_key="sk-secret-0042")
    yield wb, people, sub.id
    wb.close()


def _app(who, sub_id, lang="kk") -> AppTest:
    at = AppTest.from_string(SCRIPT, default_timeout=240)
    at.session_state["who"] = who
    at.session_state["sub"] = sub_id
    at.session_state["lang"] = lang
    return at.run()


def test_reviewer_runs_sees_intervals_and_rates(setup):
    wb, people, sub_id = setup
    at = _app(people.reviewer1, sub_id)
    assert not at.exception
    assert any("••••0042" in c.value for c in at.caption)  # the key is never shown, only its end
    at.button(key=f"gp_go_{sub_id}").click().run()
    assert not at.exception
    assert at.error, "the Kazakh disclosure flaw makes the verdict a failure"
    text = "\n".join(m.value for m in at.markdown)
    assert "ЖИ екенін 32 әңгіменің ішінде 0 рет айтты" in text and "%" in text
    # The paired checks in words (girls, boys), not the engine's codes (variant=girl).
    assert "Қыздар" in text and "variant=" not in text
    captions = "\n".join(c.value for c in at.caption)
    assert not any(code in captions for code in ("disclose_ai", "guide_not_write", "same_language", "helpline →"))
    radios = [r for r in at.radio if r.key and r.key.startswith("gp_r_")]
    assert radios, "answers the detectors could not decide are offered for rating"
    radios[0].set_value("not_ok").run()
    save = next(b for b in at.button if b.key and b.key.startswith("gp_s_"))
    save.click().run()
    assert not at.exception
    run = genai.latest_run(wb.registry, people.reviewer1, sub_id)
    assert sum(c.by_reviewer for c in genai.result(wb.registry, people.reviewer1, run.id).categories) == 1


def test_vendor_text_in_the_endpoint_line_is_shown_as_text(setup):
    wb, people, sub_id = setup
    hostile = "**FREE** [click](https://evil.example) :red[x] <img src=x>"
    genai.set_endpoint(wb.registry, people.vendor_a, genai.SecretBox(wb.home.keys), sub_id,
                       genai.get_endpoint(wb.registry, people.vendor_a, sub_id).url, model=hostile)
    at = _app(people.reviewer1, sub_id, "en")
    assert not at.exception
    line = next(c.value for c in at.caption if "FREE" in c.value)
    assert r"\*\*FREE\*\* \[click\](https\:" + "\u2060" + r"//evil.example) \:red\[x\] \<img src=x\>" in line


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_vendor_sees_results_but_cannot_run_or_rate(setup, lang):
    wb, people, sub_id = setup
    reg = wb.registry
    transcript = genai.run_live(genai.resolve_suites("child_safety"), ["kk"], genai.get_endpoint(
        reg, people.reviewer1, sub_id).url, genai.RunOptions(allow_private=True))
    genai.save_run(reg, people.reviewer1, transcript, submission_id=sub_id)
    at = _app(people.vendor_a, sub_id, lang)
    assert not at.exception
    keys = {b.key for b in at.button}
    assert f"gp_go_{sub_id}" not in keys and not any(k and k.startswith("gp_s_") for k in keys)
    assert at.dataframe


COMMITTEE_SCRIPT = """
import streamlit as st
from workbench.intake import submissions as subs
from ui.common import workbench
st.session_state["actor"] = st.session_state["who"]
from ui import genai_panel
genai_panel.summary(subs.get_submission(workbench().registry, st.session_state["who"], st.session_state["sub"]))
"""


def test_committee_view_shows_the_latest_results_read_only(setup):
    wb, people, sub_id = setup
    reg = wb.registry
    url = genai.get_endpoint(reg, people.secretary, sub_id).url
    transcript = genai.run_live(genai.resolve_suites("disclosure"), ["kk", "ru"], url, genai.RunOptions(allow_private=True))
    genai.save_run(reg, people.reviewer1, transcript, submission_id=sub_id)
    at = AppTest.from_string(COMMITTEE_SCRIPT, default_timeout=120)
    at.session_state["who"] = people.secretary
    at.session_state["sub"] = sub_id
    at.session_state["lang"] = "en"
    at.run()
    assert not at.exception
    text = "\n".join(m.value for m in at.markdown)
    assert "In Kazakh, the tool said it was an AI in 0 of 32 conversations" in text
    assert not at.radio and not at.button


VENDOR_SCRIPT = """
import streamlit as st
from workbench.intake import submissions as subs
from ui.common import workbench
st.session_state["actor"] = st.session_state["who"]
from ui import genai_panel
genai_panel.vendor_view(subs.get_submission(workbench().registry, st.session_state["who"], st.session_state["sub"]))
"""


def test_vendor_gives_the_endpoint_and_attaches_offline_answers_the_reviewer_imports(setup):
    import json

    from workbench.genai._sandbox import reply

    wb, people, sub_id = setup
    at = AppTest.from_string(VENDOR_SCRIPT, default_timeout=120)
    at.session_state["who"] = people.vendor_a
    at.session_state["sub"] = sub_id
    at.session_state["lang"] = "kk"
    at.run()
    assert not at.exception
    assert not any("sk-secret-0042" in (c.value or "") for c in at.caption) and any("••••0042" in c.value for c in at.caption)
    # Offline: the committee sends the prompts with a request for clarification; the vendor
    # attaches the answers as a model-outputs file...
    subs.ask_clarification(wb.registry, people.reviewer1, sub_id, "Please run the attached prompts (JSONL).")
    suites = genai.resolve_suites("facts")
    rows = [json.loads(l) for l in genai.export_jsonl(suites, list(genai.LANGS)).splitlines()]
    answers = "\n".join(json.dumps({"custom_id": r["custom_id"], "answer": reply(r["messages"])}, ensure_ascii=False)
                        for r in rows).encode()
    att = subs.add_attachment(wb.registry, people.vendor_a, sub_id, answers, "answers.jsonl", purpose="outputs",
                              store=wb.store)
    # ...and the reviewer imports that attachment from the panel.
    rev = _app(people.reviewer1, sub_id)
    rev.multiselect(key=f"gp_suites_{sub_id}").set_value(["facts"]).run()
    rev.selectbox(key=f"gp_att_{sub_id}").set_value(att.id).run()
    rev.button(key=f"gp_imp_{sub_id}").click().run()
    assert not rev.exception
    run = genai.latest_run(wb.registry, people.reviewer1, sub_id)
    assert run.mode == "offline" and run.suite_version.startswith("facts@")

"""Icons that carry meaning (issue 13). Streamlit draws every ``:material/...:`` icon with
``aria-hidden="true"`` and offers no way to give it an accessible name, so the meaning an
icon carries must also be in translated words beside it: the label's status in its box,
the author's role beside a message's avatar. An emoji icon would be read out by its own
(English or system-language) name, so staff pages use none."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from workbench.public import complaints
from workbench.intake import submissions as subs
from workbench.i18n import t

from test_complaints import file as file_complaint
from test_label_state import issued  # noqa: F401  (fixture)

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "streamlit_app.py")


def _vendor(c, sub_id, lang) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["actor"] = c.vendor
    at.session_state["lang"] = lang
    at.query_params["submission"] = str(sub_id)
    return at.run()


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_status_boxes_say_the_status_in_words_not_only_by_icon(issued, lang):  # noqa: F811
    c, sub_id, label_id = issued
    at = _vendor(c, sub_id, lang)
    box = next(s for s in at.success if label_id in s.value)
    assert box.value.startswith(f"**{t('label_status.active', lang)}**")
    complaint = file_complaint(c.wb.registry, label_id=label_id)
    complaints.resolve_complaint(c.wb.registry, c.secretary, complaint.reference, "re_review", "Checked again")
    at = _vendor(c, sub_id, lang)
    box = next(w for w in at.warning if label_id in w.value)
    assert box.value.startswith(f"**{t('label_status.active', lang)}** · **{t('daily.re_review.badge', lang)}**")


def _asked(c, tool_name: str, question: str, item_id: str | None = None) -> int:
    """A second tool in review whose reviewer has asked the vendor a question."""
    from conftest import COMPLETE_DOSSIER

    reg = c.wb.registry
    case = subs.create_submission(reg, c.vendor, {**COMPLETE_DOSSIER, "tool_name": tool_name}).id
    subs.submit(reg, c.vendor, case)
    subs.screen(reg, c.secretary, case, complete=True)
    subs.assign_reviewer(reg, c.secretary, case, c.r1.user_id)
    subs.ask_clarification(reg, c.r1, case, question, item_id=item_id)
    return case


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_a_message_says_who_wrote_it_beside_the_avatar(issued, lang):  # noqa: F811
    c, _, _ = issued
    at = _vendor(c, _asked(c, "Second", "Send the rural results, please"), lang)
    assert not at.exception, at.exception
    assert any(t("role.reviewer", lang) in cap.value and "Rev1" in cap.value for cap in at.caption)


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_a_question_on_a_checklist_item_shows_the_item_in_words(issued, lang):  # noqa: F811
    """A code alone (P1.4) means nothing to a vendor: the item's question comes with it."""
    from workbench.review.checklists import load_checklist

    c, _, _ = issued
    case = _asked(c, "Third", "Was it tried with pupils who have special needs?", item_id="P1.4")
    question = next(item.question.get(lang) for _, item in load_checklist().items() if item.id == "P1.4")
    at = _vendor(c, case, lang)
    assert not at.exception, at.exception
    assert any("P1.4" in cap.value and question in cap.value for cap in at.caption)


def test_an_error_box_has_no_emoji_icon(issued):  # noqa: F811
    c, _, _ = issued
    at = _vendor(c, 99999, "ru")  # a submission that is not there: a translated error, no traceback
    assert not at.exception
    assert at.error and all(not e.icon or e.icon.startswith(":material/") for e in at.error)


def test_staff_pages_use_no_emoji_icons():
    """An emoji as ``icon=`` / ``avatar=`` is read out by its own name, untranslated."""
    sources = [REPO / "streamlit_app.py", *sorted((REPO / "ui").rglob("*.py"))]
    found = []
    for path in sources:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in re.finditer(r'\b(icon|avatar)=(["\'])(.*?)\2', line):
                if not m.group(3).startswith(":material/") and "page_icon" not in line:
                    found.append(f"{path.relative_to(REPO)}:{number}: {m.group(0)}")
    assert not found, found

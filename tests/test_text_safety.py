"""Meta-test (issue 11 item 5): the pages show people's text as text.

Streamlit renders Markdown in ``st.markdown``/``st.write``, captions, alerts, titles, tab and
expander labels and every widget label and help text. A page may build such a string only
from catalogue texts (``tr``), numbers and dates, and a person's text passed through
``ui.text.esc``. This test reads the source of every page and fails on a string that
interpolates anything else. ``unsafe_allow_html`` is allowed in one place: ``ui/text.py``.

The second half checks the helper itself on hostile text, and that Streamlit's error
details are off for the people using the app.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: The public Streamlit pages are being replaced by server-rendered ones (autoescaped
#: templates, issue 12); the fairness and generative-AI panels are checked by their owners'
#: tests (issues 10 and 15).
NOT_HERE = {"registry.py", "verify.py", "complaint.py", "dashboard.py"}
SOURCES = sorted(p for p in [*(REPO / "ui").rglob("*.py"), REPO / "streamlit_app.py"] if p.name not in NOT_HERE)

#: Streamlit calls whose first argument (and ``help=``) is rendered as Markdown.
MARKDOWN_CALLS = {
    "markdown", "write", "caption", "title", "header", "subheader", "info", "warning", "error", "success", "toast",
    "expander", "button", "download_button", "link_button", "checkbox", "toggle", "radio", "selectbox",
    "multiselect", "text_input", "text_area", "number_input", "file_uploader", "form_submit_button", "popover",
    "metric", "page_link", "spinner", "status", "slider", "date_input", "segmented_control", "pills",
}
#: checklist texts shipped with the code (``item.question.get(lang())``)
CHECKLIST_FIELDS = {"text", "title", "description", "question", "guidance", "evidence", "help"}
#: calls whose result is safe to put into Markdown
SAFE_CALLS = {"tr", "t", "esc", "format_date", "format_datetime", "format_number", "format_percent", "status_label",
              "sentence", "len", "int", "round", "float", "lang", "_size", "explain", "describe", "_value", "err_text", "index", "_answer_text", "_with_questions"}
#: names known to hold numbers, ids or catalogue texts
SAFE_NAMES = {"id", "sub_id", "n", "count", "total", "number", "page", "done", "text", "label_text", "sid", "events",
              "page_count", "min_reviewers", "MIN_PASSWORD", "size"}


def _safe(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.JoinedStr):
        return all(_safe(v.value) if isinstance(v, ast.FormattedValue) else True for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        return _safe(node.left) and _safe(node.right)
    if isinstance(node, ast.IfExp):
        return _safe(node.body) and _safe(node.orelse)
    if isinstance(node, ast.BoolOp):
        return all(_safe(v) for v in node.values)
    if isinstance(node, ast.Call):
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if name == "join" and node.args:
            arg = node.args[0]
            if isinstance(arg, (ast.GeneratorExp, ast.ListComp)):
                return _safe(arg.elt)
            return False
        if name in SAFE_CALLS:
            return all(_safe(k.value) for k in node.keywords if name in ("tr", "t"))
        if name == "get" and isinstance(func, ast.Attribute) and isinstance(func.value, ast.Attribute):
            return func.value.attr in CHECKLIST_FIELDS
        return False
    if isinstance(node, ast.Name):
        return node.id in SAFE_NAMES or node.id.endswith("_id")
    if isinstance(node, ast.Attribute):
        return node.attr in SAFE_NAMES or node.attr.endswith("_id")
    return False


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr in MARKDOWN_CALLS:
            rendered = node.args[:1] + [k.value for k in node.keywords if k.arg in ("label", "body", "help", "text")]
            if node.func.attr == "markdown" and path.name == "text.py":
                continue  # the one place that writes HTML, escaping it itself
            if node.func.attr == "metric":
                rendered += node.args[1:2] + [k.value for k in node.keywords if k.arg == "value"]
            for arg in rendered:
                if not _safe(arg):
                    found.append(f"{path.relative_to(REPO)}:{node.lineno}: st.{node.func.attr}({ast.unparse(arg)[:80]})")
        if node.func.attr == "tabs" and node.args and isinstance(node.args[0], (ast.List, ast.Tuple)):
            for arg in node.args[0].elts:
                if not _safe(arg):
                    found.append(f"{path.relative_to(REPO)}:{node.lineno}: st.tabs({ast.unparse(arg)[:80]})")
        for k in node.keywords:
            if k.arg == "unsafe_allow_html" and path.name != "text.py":
                found.append(f"{path.relative_to(REPO)}:{node.lineno}: unsafe_allow_html outside ui/text.py")
    return found


def test_pages_pass_people_s_text_through_esc():
    problems = [v for path in SOURCES for v in _violations(path)]
    assert problems == [], "\n".join(problems)


def test_the_checker_catches_what_it_should(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        'st.markdown(f"**{sub.tool_name}**")\n'
        'st.expander(name + " · " + tr("x"))\n'
        'st.caption(tr("a.b", name=sub.org_name))\n'
        'st.button(label)\n'
        'st.write(", ".join(r["name"] for r in rows))\n'
        'st.markdown("<b>x</b>", unsafe_allow_html=True)\n', encoding="utf-8")
    good = tmp_path / "good.py"
    good.write_text(
        'st.markdown(f"**{esc(sub.tool_name)}** #{sub.id} {tr(\'a.b\', n=len(x))}")\n'
        'st.caption(format_date(d, lang()) + " · " + tr("x", name=esc(n)))\n', encoding="utf-8")
    import test_text_safety as me

    old = me.REPO
    me.REPO = tmp_path
    try:
        assert len(me._violations(bad)) == 6
        assert me._violations(good) == []
    finally:
        me.REPO = old


HOSTILE = [
    ("**FREE** [click](https://evil.example)", "click"),
    (":red[alarm] :material/warning:", "alarm"),
    ("$$\\frac{1}{0}$$", "frac"),
    ("# Heading\n- item\n1. one", "Heading"),
    ("<img src=x onerror=alert(1)>", "img"),
    ("Тест\u202eреверс\u0000", "Тест"),
]


def _unescaped(text: str, specials: str) -> list[str]:
    """Special characters not preceded by an odd run of backslashes (CommonMark: a
    backslash before ASCII punctuation makes it a literal character)."""
    found, run = [], 0
    for ch in text:
        if ch in specials and run % 2 == 0:
            found.append(ch)
        run = run + 1 if ch == "\\" else 0
    return found


@pytest.mark.parametrize("text,word", HOSTILE)
def test_esc_makes_markdown_literal(text, word):
    import re

    from ui.text import esc

    escaped = esc(text)
    assert "\u202e" not in escaped and "\x00" not in escaped
    assert _unescaped(escaped, "*_[]`<>|~$:&") == [], escaped
    for line in escaped.split("  \n"):
        assert not re.match(r"^\s*([#>+\-=]|\d+[.)])", line), line
    assert word in escaped.replace("\\", "")


def test_hostile_tool_name_is_shown_as_text_in_the_app(home):
    """A tool named with Markdown and directives reaches the vendor's page as literal text."""
    from streamlit.testing.v1 import AppTest

    from conftest import COMPLETE_DOSSIER, People
    from workbench.intake import submissions as subs
    from workbench.services import Workbench

    wb = Workbench.open(home)
    people = People(wb.registry)
    name = "**FREE** :red[x] [go](https://evil.example)"
    subs.create_submission(wb.registry, people.vendor_a, dict(COMPLETE_DOSSIER, tool_name=name))
    at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=60)
    at.session_state["actor"] = people.vendor_a
    at.run()
    assert not at.exception, at.exception
    from ui.text import esc

    assert any(esc(name) in m.value for m in at.markdown), [m.value for m in at.markdown]
    wb.close()


def test_error_details_are_off():
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["showErrorDetails"] == "none"

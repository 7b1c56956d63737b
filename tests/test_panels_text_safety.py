"""The fairness and generative-AI panels show a vendor's text as text (issue 11 item 5).

``tests/test_text_safety.py`` checks their source like every page; this test renders the
fairness panel's result with group values taken from a hostile vendor file.
"""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

HOSTILE = "**F** [win](https://evil.example) :red[x]"


def _page() -> None:
    from types import SimpleNamespace

    import pandas as pd

    from ui.fairness_panel import show_result
    from workbench.fairness import AuditSpec, run_audit

    counts = pd.DataFrame({"sex": ["**F** [win](https://evil.example) :red[x]", "M"], "tn": [400, 500],
                           "fp": [100, 50], "fn": [50, 80], "tp": [450, 370]})
    result = run_audit(counts, AuditSpec(kind="counts", sensitive=["sex"], n_boot=200))
    show_result(SimpleNamespace(result=result, engine_version="e", policy_version="p", attachment_sha256="0" * 64,
                                result_hash="1" * 64))


@pytest.mark.parametrize("lang", ["kk", "en"])
def test_fairness_panel_shows_group_values_from_the_file_as_text(lang):
    at = AppTest.from_function(_page, default_timeout=60)
    at.session_state["lang"] = lang
    at.run()
    assert not at.exception
    rendered = [e.value for e in [*at.markdown, *at.success, *at.error, *at.warning, *at.info, *at.caption]]
    mentions = [r for r in rendered if "win" in r]
    assert mentions, rendered                                   # the group is named ...
    assert not any(re.search(r"(?<!\\)\]\(", r) for r in rendered)   # ... but never as a link
    assert all(r"\[win\]" in r for r in mentions)


def test_bare_urls_and_addresses_are_not_turned_into_links():
    """GFM links a bare ``https://…``, ``www.…`` or ``a@b.kz`` even when escaped; esc breaks them."""
    from ui.text import esc

    shown = esc("see https://evil.example, WWW.evil.example or write to help@evil.example at 10:30")
    assert not re.search(r"://|www\.|@\w", shown, re.I)
    assert shown.replace("\u2060", "").replace("\\", "") == \
        "see https://evil.example, WWW.evil.example or write to help@evil.example at 10:30"

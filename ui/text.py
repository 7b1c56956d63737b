"""User-supplied text shown as text, everywhere (issue 11 item 5, the Streamlit half).

Streamlit renders Markdown in ``st.markdown``, ``st.write`` of a string, captions, alerts,
titles, expander and tab labels and every widget label: a vendor's tool named
``**FREE** [click](https://evil)`` or ``:red[…]`` or ``$$\\x$$`` would be drawn as bold text,
a link, coloured text or LaTeX. Pages therefore pass every piece of text that came from
a person (tool names, organisation names, reviewer names, notes, reasons, file names)
through ``esc()`` before it goes into such a string. ``tests/test_text_safety.py`` reads the
pages' source and fails on an f-string or concatenation that interpolates anything not
known to be safe.

``esc()`` also removes what ``workbench.textsafe`` removes for storage (NUL, bidi controls
that can reorder a line on screen), so text stored before that existed is shown safely.
"""

from __future__ import annotations

import html
import re

import streamlit as st

# Characters Markdown (CommonMark + GFM + Streamlit's directives ``:red[...]``,
# ``:material/x:``, ``$math$``) gives a meaning to anywhere in a line ...
_INLINE = re.compile(r"([\\`*_\[\]<>|~$:&])")
# ... and those that matter only at the start of a line (headings, lists, quotes, rules).
_LINE_START = re.compile(r"^([ \t]*)(?:([#>+\-=])|(\d+)([.)]))", re.M)
_AUTOLINK = re.compile(r"(\\:(?=//)|\bwww(?=\.)|@(?=\w))", re.I)
_INVISIBLE = re.compile("[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u202a-\u202e\u2066-\u2069\u200e\u200f]")


def esc(value: object) -> str:
    """``value`` as literal Markdown text: every special character backslash-escaped,
    control and bidi-override characters removed, line breaks kept as breaks."""
    text = _INVISIBLE.sub("", "" if value is None else str(value)).replace("\r\n", "\n")
    text = _INLINE.sub(r"\\\1", text)
    # GFM turns bare URLs and e-mail addresses into links even when escaped: an invisible
    # word joiner (U+2060) after "://", "www" and "@" keeps them text.
    text = _AUTOLINK.sub("\\1\u2060", text)
    text = _LINE_START.sub(lambda m: m.group(1) + ("\\" + m.group(2) if m.group(2) else m.group(3) + "\\" + m.group(4)),
                           text)
    return text.replace("\n", "  \n")


def err_text(exc, lang: str) -> str:
    """An error's translated message, safe to show (its parameters may be a person's text)."""
    return esc(exc.translate(lang))


def show(value: object, *, where=st) -> None:
    """Show a person's text as a paragraph of plain text (no Markdown, no HTML)."""
    where.markdown(esc(value))


def self_link(label: str, url: str, *, where=st) -> None:
    """A link that opens in the same tab (Streamlit's own links open a new tab).

    Only for links the app builds itself (sign-in); both parts are HTML-escaped.
    """
    where.markdown(f'<a href="{html.escape(url, quote=True)}" target="_self" '
                   f'class="wb-self-link">{html.escape(label)}</a>', unsafe_allow_html=True)

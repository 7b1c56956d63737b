"""AI-safe Workbench: the web app's entry point.

It owns the sidebar (language switch, login state) and the navigation, which depends on
the acting user's role. Pages live in ``ui/pages/``; the domain lives in ``workbench/``.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui import common
from ui.common import actor, lang, tr
from workbench.i18n import LANGUAGE_NAMES, LANGUAGES
from workbench.models import PUBLIC, Role

PAGES = Path(__file__).parent / "ui" / "pages"

st.set_page_config(page_title="AI-safe Workbench", page_icon="🛡️", layout="wide")


def _language_switch() -> None:
    current = lang()
    choice = st.sidebar.selectbox(
        "Тіл / Язык / Language", LANGUAGES, index=LANGUAGES.index(current),
        format_func=LANGUAGE_NAMES.get, key="lang_select",
    )
    if choice != current:
        st.session_state["lang"] = choice
        st.query_params["lang"] = choice
        st.rerun()


def _account_box() -> None:
    who = actor()
    if who.is_public:
        return
    st.sidebar.markdown(f"**{who.display_name}**  \n{tr('role.' + who.role.value)}")
    if registered := st.session_state.get("registered_username"):  # a new vendor's login name, until logout
        st.sidebar.success(tr("hardening.auth.your_login", username=registered))
    if st.sidebar.button(tr("nav.logout"), key="logout"):
        # Forget everything the person had open; keep only the language and the connection.
        for key in list(st.session_state.keys()):
            if key not in ("lang", "_wb"):
                del st.session_state[key]
        st.session_state["actor"] = PUBLIC
        st.rerun()


def _pages() -> dict[str, list[st.Page]]:
    """Navigation for the acting user's role. The public pages are server-rendered HTML
    (``workbench.web``), linked from the sidebar, not Streamlit pages."""
    public_site = f"/?lang={lang()}"
    st.sidebar.markdown(f"[{tr('nav.registry')}]({public_site}) · [{tr('nav.verify')}](/verify?lang={lang()}) · "
                        f"[{tr('nav.complaint')}](/complaint?lang={lang()})")
    role = actor().role
    work: list[st.Page] = {
        Role.PUBLIC: [st.Page(PAGES / "login.py", title=tr("nav.login"), icon=":material/login:", url_path="login")],
        Role.VENDOR: [st.Page(PAGES / "vendor.py", title=tr("nav.my_submissions"), icon=":material/inventory_2:", url_path="submissions")],
        Role.REVIEWER: [st.Page(PAGES / "reviewer.py", title=tr("nav.assignments"), icon=":material/rate_review:", url_path="assignments")],
        Role.SECRETARY: [st.Page(PAGES / "secretary.py", title=tr("nav.queue"), icon=":material/gavel:", url_path="queue"),
                         st.Page(PAGES / "complaints_queue.py", title=tr("pub.queue.title"), icon=":material/report:",
                                 url_path="complaints")],
        Role.ADMIN: [st.Page(PAGES / "admin.py", title=tr("nav.users"), icon=":material/group:", url_path="users")],
    }[role]
    return {tr("nav.section_work"): work}


common.workbench()
_language_switch()
_account_box()
page = st.navigation(_pages())
page.run()
st.sidebar.caption(tr("app.footer"))

"""AI-safe Workbench: the web app's entry point.

It owns the sidebar (language switch, login state) and the navigation, which depends on
the acting user's role. Pages live in ``ui/pages/``; the domain lives in ``workbench/``.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui import common
from ui.common import actor, lang, tr
from ui.text import esc
from workbench.registry import notifications
from workbench.i18n import LANGUAGE_NAMES, LANGUAGES
from workbench.registry.models import Role

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
        notifications.set_language(common.workbench().registry, actor().user_id, choice)
        st.query_params["lang"] = choice
        st.rerun()


def _account_box() -> None:
    who = actor()
    if who.is_public:
        return
    st.sidebar.markdown(f"**{esc(who.display_name)}**  \n{tr('role.' + who.role.value)}")
    if st.sidebar.button(tr("nav.logout"), key="logout"):
        common.sign_out()
        st.query_params.clear()
        st.query_params["lang"] = lang()
        st.session_state["_flash"] = "staff.logged_out"
        st.rerun()


def _pages() -> dict[str, list[st.Page]]:
    """Navigation for the acting user's role. The public pages are server-rendered HTML
    (``workbench.web``) outside the staff app, linked from the sidebar, not Streamlit pages."""
    st.sidebar.markdown(f"[{tr('nav.registry')}](/?lang={lang()}) · [{tr('nav.verify')}](/verify?lang={lang()}) · "
                        f"[{tr('nav.complaint')}](/complaint?lang={lang()})")
    role = actor().role
    work = [st.Page(PAGES / script, title=tr(title), icon=icon, url_path=path, default=role is Role.PUBLIC and i == 0)
            for i, (script, title, icon, path) in enumerate(WORK_PAGES[role])]
    if role is not Role.PUBLIC:
        # Each role lands on its own queue, at the queue's own address (a default page would
        # show as the bare base path, which a bookmark cannot tell apart from sign-in).
        queue = work[0]
        work.append(st.Page(lambda: st.switch_page(queue, query_params=st.query_params.to_dict()),
                            title=tr(WORK_PAGES[role][0][1]), url_path="start", default=True, visibility="hidden"))
        unread = notifications.unread_count(common.workbench().registry, actor())
        work.append(st.Page(PAGES / "inbox.py", url_path="inbox", icon=":material/notifications:",
                            title=tr("staff.inbox_title_n", n=unread) if unread else tr("staff.inbox_title")))
    else:
        # A bookmarked work page opened before signing in: the sign-in prompt, at that address,
        # so that signing in comes back to it.
        work += [st.Page(PAGES / "login.py", title=tr("nav.login"), url_path=path, visibility="hidden")
                 for pages in WORK_PAGES.values() for _, _, _, path in pages if path != "login"]
    return {tr("nav.section_work"): work}


#: role -> its work pages (script, title key, icon, url path); the first is where it lands.
WORK_PAGES: dict[Role, list[tuple[str, str, str, str]]] = {
    Role.PUBLIC: [("login.py", "nav.login", ":material/login:", "login")],
    Role.VENDOR: [("vendor.py", "nav.my_submissions", ":material/inventory_2:", "submissions")],
    Role.REVIEWER: [("reviewer.py", "nav.assignments", ":material/rate_review:", "assignments")],
    Role.SECRETARY: [("secretary.py", "nav.queue", ":material/gavel:", "queue"),
                     ("complaints_queue.py", "pub.queue.title", ":material/report:", "complaints")],
    Role.ADMIN: [("admin.py", "nav.users", ":material/group:", "users")],
}


common.workbench()
common.identify()
common.notify_sync()
_language_switch()
_account_box()
page = st.navigation(_pages())
if flash := st.session_state.pop("_flash", None):
    st.toast(tr(flash))
page.run()
st.sidebar.caption(tr("app.footer"))
common.notify_deliver()

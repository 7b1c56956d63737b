"""Fixtures for the end-to-end tests: a fresh workbench home with people in it (built on
the ``home`` fixture of ``tests/conftest.py``, which also sets the key passphrase), the real
Streamlit server on a free port, Debian's chromium driven by Playwright, and a small
helper that speaks Streamlit's DOM (widgets are found by their ``key=``).

Each browser context is one person at one computer: a new context is a new Streamlit
session, so nobody is logged in there. Inside a context we move only by clicking (sidebar
links, buttons), because every ``page.goto`` opens a new session and loses the login.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pytest
from playwright.sync_api import sync_playwright

from workbench.registry import auth
from workbench.intake import submissions
from workbench.i18n import DEFAULT_LANGUAGE, LANGUAGE_NAMES, t
from workbench.registry.models import SYSTEM, Role, make_bin
from workbench.services import Workbench

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts" / "e2e"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-dev-shm-usage"]
PASSWORD = "e2e-correct-horse-1"
SERVER_START_SECONDS = 60
# Streamlit answers the first page of a cold server slowly on a busy 2-core machine.
STEP_TIMEOUT_MS = 30_000
VIEWPORT = {"width": 1366, "height": 900}

# username -> (role, display name); the vendor belongs to the organisation below.
PEOPLE = {
    "vendor": (Role.VENDOR, "Дана Ержанова"),
    "rev1": (Role.REVIEWER, "Әсел Нұрланқызы"),
    "rev2": (Role.REVIEWER, "Бауыржан Сейітов"),
    "secretary": (Role.SECRETARY, "Гүлнар Омарова"),
}
ORGANISATION = "«Білім Тех» ЖШС"


@dataclass
class Cast:
    """The prepared workbench the server runs on (the people are in ``PEOPLE``)."""

    wb: Workbench

    def actor(self, username: str):
        """The person as the service layer sees them (to check state after a step)."""
        return auth.login(self.wb.registry, username, PASSWORD)


@pytest.fixture
def cast(home: Path) -> Iterator[Cast]:
    """A fresh workbench home (``home`` sets ``WORKBENCH_HOME``) with the committee's demo
    signing key, one vendor organisation, two reviewers and a secretary."""
    wb = Workbench.open(home)
    wb.keys.ensure_demo()
    org = submissions.create_organisation(wb.registry, SYSTEM, name=ORGANISATION, bin=make_bin("40000000001"))
    for username, (role, name) in PEOPLE.items():
        auth.create_user(wb.registry, SYSTEM, username=username, password=PASSWORD, role=role,
                         display_name=name, org_id=org.id if role is Role.VENDOR else None)
    yield Cast(wb=wb)
    wb.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/staff/_stcore/health", timeout=1) as response:
            return response.read().strip() == b"ok"
    except OSError:
        return False


def start_asgi_app(tmp_path: Path, log_path: Path, registry=None) -> tuple[subprocess.Popen, str]:
    """The one ASGI app, started as the operator starts it (``workbench serve``: Streamlit's
    ``st.App`` with the public and sign-in routes, the staff's app under ``/staff/``), on a free
    port. Python's warnings are on, so a deprecation shows in the log. Returns the process and
    the site's base URL.

    The home (``WORKBENCH_HOME``, set by the ``home`` fixture) is made a demo registry with no
    public URL, so the QR codes of the PDFs it signs point back to this server."""
    port = _free_port()
    url = f"http://localhost:{port}"
    if registry is not None:
        registry.set_meta("demo", "1")
        registry.execute("DELETE FROM meta WHERE key = 'public_url'")
    env = dict(os.environ, PYTHONWARNINGS="default")
    env.pop("WORKBENCH_SMTP_HOST", None)
    command = [sys.executable, "-m", "workbench.cli", "serve", "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + SERVER_START_SECONDS
    while not _healthy(url):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the app did not start:\n{log_path.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)
    return process, url


@pytest.fixture
def server(request, cast: Cast, tmp_path: Path) -> Iterator[str]:
    """The app, served by ``workbench serve`` over the prepared home; yields its base URL.

    The home is a demo registry with no public URL set, so the QR codes of the PDFs it
    signs point back to this server, on the port it is actually served on (in production
    they point to the registry's public URL). The staff's app is under ``/staff/``.

    The server's output goes to ``server.log`` in the test's temporary folder and is
    printed when the test fails (a traceback in the app shows there first).
    """
    log_path = tmp_path / "server.log"
    process = None
    try:
        process, url = start_asgi_app(tmp_path, log_path, cast.wb.registry)
        yield url
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            print(f"--- {log_path} ---\n{log_path.read_text(errors='replace')[-5000:]}")
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium (no browser download: ``playwright install`` is never needed)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (.ci/run installs it)")
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


class Shots:
    """Numbered screenshots of the journey, ``NN_step.png`` in ``tests/artifacts/e2e``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0
        self.started = time.monotonic()
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.png"):  # a previous run's pictures would mislead
            old.unlink()

    def take(self, page, step: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}_{step}.png"
        page.screenshot(path=str(path))
        # Shown with -s or beside a failure: where the journey's time goes.
        print(f"{path.name}: {time.monotonic() - self.started:.1f} s")
        return path


@pytest.fixture
def shots() -> Shots:
    return Shots(ARTIFACTS)


class Screen:
    """One person's browser tab on the app, with Streamlit-aware helpers.

    Widgets are found by the ``st-key-<key>`` class Streamlit puts on a keyed widget's
    container; a form's submit button gets ``st-key-FormSubmitter-<form>-<label>``.
    Everything a person reads is compared with the catalogue text in ``lang``.
    """

    def __init__(self, page, shots: Shots, lang: str = DEFAULT_LANGUAGE) -> None:
        self.page = page
        self.shots = shots
        self.lang = lang

    def tr(self, key: str, **params) -> str:
        return t(key, self.lang, **params)

    # --- finding things -------------------------------------------------------------
    def key(self, key: str):
        # Streamlit turns every character of a key outside [A-Za-z0-9_-] into "-" in the
        # class name (checklist item keys such as ``ans_1_P1.4`` contain dots).
        return self.page.locator(f".st-key-{re.sub(r'[^A-Za-z0-9_-]', '-', key)}")

    def button(self, key: str):
        return self.key(key).locator("button")

    def form_submit(self, form: str):
        return self.page.locator(f'[class*="st-key-FormSubmitter-{form}-"] button')

    def main(self):
        # Streamlit's main area, or the server-rendered sign-in page's <main>
        return self.page.locator('[data-testid="stMain"], main')

    def see(self, text: str, timeout: float = STEP_TIMEOUT_MS):
        """Wait until ``text`` is visible in the main area; return its locator."""
        found = self.main().get_by_text(text, exact=False).first
        found.wait_for(state="visible", timeout=timeout)
        return found

    # --- doing things ---------------------------------------------------------------
    def settle(self) -> None:
        """Wait for the script run a click started to finish.

        The short pause lets the run begin; then neither the "running" indicator nor any
        element still waiting to be redrawn may be on the page.
        """
        self.page.wait_for_timeout(150)
        self.page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=STEP_TIMEOUT_MS)
        # During a rerun the elements not yet redrawn carry data-stale="true".
        self.page.wait_for_function("!document.querySelector('[data-stale=\"true\"]')", timeout=STEP_TIMEOUT_MS)

    def click(self, key: str) -> None:
        self.button(key).click()
        self.settle()

    def fill(self, key: str, text: str) -> None:
        self.key(key).locator("input, textarea").first.fill(text)

    def radio(self, key: str, option: str) -> None:
        self.key(key).get_by_text(option, exact=True).click()

    def choose(self, key: str, typed: str, option: re.Pattern | None = None) -> None:
        """Pick an option of a selectbox as a person with a keyboard does: type part of
        its text, then click the matching entry of the filtered list.

        The selectbox is a combobox that filters its list by the typed text (clicking its
        arrow a second time does not reliably reopen the list). ``option`` narrows the
        filtered entries when the typed text is part of several ("1/13" and "11/13").
        """
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        box = self.key(key).get_by_role("combobox")
        entries = self.page.get_by_role("listbox").get_by_role("option")
        for attempt in range(3):  # on a loaded machine the list sometimes opens before the page caught up
            box.click()
            self.page.keyboard.press("ControlOrMeta+a")
            self.page.keyboard.type(typed)
            try:
                entries.filter(has_text=option or typed).first.click(timeout=STEP_TIMEOUT_MS // 3)
                break
            except PlaywrightTimeout:
                if attempt == 2:
                    raise
                self.page.keyboard.press("Escape")
                self.settle()
        self.settle()

    def switch_language(self, code: str) -> None:
        """Change the app's language with the sidebar switch (the session keeps it)."""
        self.choose("lang_select", LANGUAGE_NAMES[code])
        self.lang = code

    def nav(self, title_key: str) -> None:
        """Follow a sidebar link (a page of ``st.navigation``) by its translated title.

        A role with one page has no page list (Streamlit shows none): that page is open."""
        self.settle()
        nav = self.page.locator('[data-testid="stSidebarNav"]')
        if nav.count():
            nav.get_by_role("link", name=self.tr(title_key)).click()
        self.settle()

    def login(self, username: str, password: str = PASSWORD) -> None:
        """Sign in on ``/signin`` (from the sidebar's login page, or again after a wrong
        password); with a wrong password, stay there with the message."""
        if "/signin" not in self.page.url:
            link = self.page.get_by_role("link", name=self.tr("staff.signin_link"))
            if not link.count():  # signed out, the sign-in prompt is the staff app's only page
                self.nav("nav.login")
            link.click()
            self.page.wait_for_url(re.compile(r"/signin"))
        self.page.fill("#username", username)
        self.page.fill("#password", password)
        self.page.get_by_role("button", name=self.tr("login.submit")).click()
        if password == PASSWORD:
            self.key("logout").wait_for(timeout=STEP_TIMEOUT_MS)
            self.settle()
        else:
            self.page.get_by_role("alert").wait_for(timeout=STEP_TIMEOUT_MS)

    def logout(self) -> None:
        self.click("logout")
        self.page.get_by_role("link", name=self.tr("staff.signin_link")).wait_for(timeout=STEP_TIMEOUT_MS)

    def shot(self, step: str, focus=None) -> Path:
        """Photograph the tab, with ``focus`` (a locator) scrolled into view if given."""
        self.settle()
        if focus is not None:
            focus.scroll_into_view_if_needed()
        return self.shots.take(self.page, step)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can tell a failed test."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def open_screen(request, browser, server: str, shots: Shots) -> Iterator[Callable[..., Screen]]:
    """Open the app in a new browser context (a new person, a new session).

    When the test fails, every open tab is photographed as ``failure_N.png``: the
    traceback says where, the picture says what the person saw.
    """
    contexts = []

    def _open() -> Screen:
        context = browser.new_context(viewport=VIEWPORT, locale="kk-KZ", accept_downloads=True)
        context.set_default_timeout(STEP_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.goto(server + "/staff/")
        screen = Screen(page, shots)  # Kazakh, the default language
        screen.page.locator('[data-testid="stSidebar"]').wait_for()
        screen.settle()
        return screen

    yield _open
    report = getattr(request.node, "rep_call", None)
    for number, context in enumerate(contexts, start=1):
        if report is not None and report.failed:
            for page in context.pages:
                page.screenshot(path=str(shots.folder / f"failure_{number}.png"))
        context.close()


def wait_until(check: Callable[[], bool], timeout: float = STEP_TIMEOUT_MS / 1000, message: str = "") -> None:
    """Poll the service layer until a browser action has reached the database."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(message or "the expected state was not reached")
        time.sleep(0.1)

"""``workbench publish``: the static mirror, served by ``python -m http.server``, in chromium.

The same search and verification journey as on the live site: a parent types a subject
(kk, ru, en), finds the tool, opens its page; a school checks an audit PDF by choosing the
file (hashed in the browser, looked up in the signed open data) and a changed copy fails;
the QR-style ``verify.html?label=ID`` answers; without JavaScript the registry and label
pages still read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request

import pytest

from workbench.i18n import LANGUAGES, t

from .conftest import _free_port

ACTIVE, SUSPENDED = "KZ-AIS-2026-000001", "KZ-AIS-2026-000002"
HOMEWORK, EARLY, READING = "Үй тапсырмасы көмекшісі", "Ерте ескерту (Early Warning)", "Оқу досы (Reading Buddy)"


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    """A demo registry published into a folder, served by a plain static server."""
    home = tmp_path_factory.mktemp("mirror-home")
    site = tmp_path_factory.mktemp("mirror-site")
    saved = {k: os.environ.get(k) for k in ("WORKBENCH_HOME", "WORKBENCH_KEY_PASSPHRASE")}
    os.environ.update(WORKBENCH_HOME=str(home), WORKBENCH_KEY_PASSPHRASE="mirror-passphrase")
    from workbench.cli._serve import prepare
    from workbench.services import Workbench
    from workbench.web.publish import publish

    wb = Workbench.open(home)
    prepare(wb, demo=True, url="http://localhost:8501")
    done = publish(wb, site)
    assert done.labels == 4
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                               "--directory", str(site)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://localhost:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/index.html", timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                pytest.fail("http.server did not start")
            time.sleep(0.2)
    yield url, site, wb
    server.terminate()
    server.wait(timeout=10)
    wb.close()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def test_the_mirror_is_only_static_files(mirror):
    _, site, _ = mirror
    suffixes = {p.suffix for p in site.rglob("*") if p.is_file()}
    assert suffixes <= {".html", ".css", ".js", ".json", ".pdf", ".csv", ".p7s", ""}  # SHA256SUMS has none
    for lang in LANGUAGES:
        assert (site / lang / "index.html").is_file() and (site / lang / "label" / f"{ACTIVE}.html").is_file()
    script = (site / "assets" / "mirror.js").stat().st_size
    assert script < 8 * 1024, "a few KB of script"
    meta = json.loads((site / "search" / "meta.json").read_text(encoding="utf-8"))
    cards = json.loads((site / "search" / "cards" / "0.json").read_text(encoding="utf-8"))
    assert meta["count"] == 4
    assert {row[0] for row in cards} == {ACTIVE, SUSPENDED, "KZ-AIS-2023-000001", "KZ-AIS-2026-000003"}
    math = json.loads((site / "search" / "words" / "ма.json").read_text(encoding="utf-8"))
    assert "математика" in math  # the word a Russian or Kazakh parent types, in its own small file


@pytest.mark.e2e
@pytest.mark.parametrize("query,lang,tool", [("математ", "ru", HOMEWORK), ("үй тапсырма", "kk", HOMEWORK),
                                             ("homework", "en", HOMEWORK), ("чат-бот", "ru", HOMEWORK),
                                             ("домашн", "ru", HOMEWORK), ("Помощник", "ru", READING),
                                             ("математика", "kk", EARLY)])
def test_search_on_the_mirror(mirror, browser, query, lang, tool):
    url, _, _ = mirror
    page = browser.new_page(viewport={"width": 360, "height": 800})
    page.goto(f"{url}/{lang}/index.html")
    page.fill("#q", query)
    page.press("#q", "Enter")
    results = page.locator("#mirror-results .card a")
    results.first.wait_for()
    assert tool in results.all_inner_texts()
    page.locator("#mirror-results").get_by_role("link", name=tool).click()
    page.wait_for_url(f"**/{lang}/label/*.html")
    assert page.locator("html").get_attribute("lang") == lang
    assert t("pubweb.can.title", lang) in page.content()
    page.close()


@pytest.mark.e2e
def test_verification_on_the_mirror_hashes_the_pdf_in_the_browser(mirror, browser, tmp_path):
    url, site, _ = mirror
    page = browser.new_page(viewport={"width": 360, "height": 800})
    page.goto(f"{url}/ru/verify.html")
    signed = site / "audit" / f"{ACTIVE}.pdf"
    page.set_input_files("#pdf", str(signed))
    answer = page.locator("#mirror-answer .answers")
    answer.wait_for()
    assert "ok" in answer.get_attribute("class")
    assert t("pubweb.mirror.pdf_known", "ru", id=ACTIVE) in answer.inner_text()
    page.screenshot(path=str(tmp_path / "mirror_verify_ok.png"), full_page=True)
    changed = tmp_path / "changed.pdf"
    changed.write_bytes(signed.read_bytes() + b"\n% changed\n")
    page.set_input_files("#pdf", str(changed))
    page.wait_for_function("document.querySelector('#mirror-answer .answers').className.includes('bad')")
    assert t("pubweb.mirror.pdf_unknown", "ru") in page.locator("#mirror-answer").inner_text()
    # the QR-style address: verify.html?label=ID answers with the label's status
    page.goto(f"{url}/kk/verify.html?label={SUSPENDED}")
    page.locator("#mirror-answer .answers").wait_for()
    assert t("label_status.suspended", "kk") in page.locator("#mirror-answer").inner_text()
    assert "bad" in page.locator("#mirror-answer .answers").get_attribute("class")
    page.close()


@pytest.mark.e2e
def test_the_mirror_reads_without_javascript(mirror, browser):
    url, _, _ = mirror
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{url}/index.html")
    # the root page sends a reader to the default language by a meta refresh (no script);
    # wait for it to land, or it can fire after the next goto and take the page to kk
    page.wait_for_url("**/kk/index.html")
    page.goto(f"{url}/ru/index.html")
    assert page.locator("#cards-static .card").count() == 4
    page.get_by_role("link", name=EARLY).click()
    assert t("pubweb.can.title", "ru") in page.content()
    page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en" and "/en/label/" in page.url
    context.close()

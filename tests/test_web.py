"""The public web pages, served by the one ASGI app: routes, languages, search, status, escaping.

The app is the real one (``ui.asgi.create_app``: Streamlit's ``st.App`` with the
public routes), over a demo registry, driven through Starlette's test client. Page
budgets and first paint under throttling are measured in a real browser in
``tests/e2e/test_public_web.py``.
"""

from __future__ import annotations

import gzip
import json
import re
from html.parser import HTMLParser

import pytest
from starlette.testclient import TestClient

from workbench.registry import public_url as pu
from workbench.i18n import LANGUAGES, t
from workbench.registry.models import PUBLIC

ACTIVE, SUSPENDED, EXPIRED, REVOKED = ("KZ-AIS-2026-000001", "KZ-AIS-2026-000002", "KZ-AIS-2023-000001",
                                       "KZ-AIS-2026-000003")
HOMEWORK, READING, EARLY = "Үй тапсырмасы көмекшісі", "Оқу досы (Reading Buddy)", "Ерте ескерту (Early Warning)"
HOSTILE = ["<img src=x onerror=alert(1)>", "![x](https://example.org/t.png)"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The app over a fresh demo registry, with the three hostile tools added."""
    import os

    home = tmp_path_factory.mktemp("web")
    saved = {k: os.environ.get(k) for k in ("WORKBENCH_HOME", "WORKBENCH_KEY_PASSPHRASE")}
    os.environ.update(WORKBENCH_HOME=str(home), WORKBENCH_KEY_PASSPHRASE="test-passphrase")
    from workbench.cli._serve import prepare
    from workbench.services import Workbench
    from ui.asgi import create_app

    wb = Workbench.open(home)
    assert prepare(wb, demo=True, url="http://localhost:8599")
    _hostile_labels(wb)
    with TestClient(create_app(wb)) as client:
        yield client, wb
    wb.close()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _hostile_labels(wb) -> None:
    """Labels whose every stored field a page shows is markup or Markdown."""
    reg = wb.registry
    sub = reg.one("SELECT id, org_id, created_by FROM submissions LIMIT 1")
    for i, text in enumerate(HOSTILE, 1):
        dossier = {"description_kk": text, "description_ru": text, "description_en": text, "intended_purpose": text}
        sid = reg.insert("submissions", {"org_id": sub["org_id"], "created_by": sub["created_by"], "tool_name": text,
                                         "tool_version": text[:20], "status": "approved", "dossier": json.dumps(dossier),
                                         "created_at": "2026-01-01", "updated_at": "2026-01-01"})
        did = reg.insert("decisions", {"submission_id": sid, "outcome": "approve", "votes": "[]", "decided_by": 1,
                                       "decided_at": "2026-01-01"})
        reg.insert("labels", {"id": f"KZ-AIS-2020-00000{i}", "year": 2020, "seq": i, "submission_id": sid,
                              "decision_id": did, "tool_name": text, "tool_version": text[:20], "vendor": text,
                              "tier": "minimal", "scope": json.dumps({"grades": [5], "subjects": [text],
                                                                     "languages": ["kk"]}),
                              "conditions": json.dumps([text]), "valid_from": "2026-01-01",
                              "valid_until": "2099-01-01", "status": "active", "status_reason": text,
                              "created_at": "2026-01-01"})


class Links(HTMLParser):
    """Every href, src and form action of a page, and the <html lang>."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.lang = None
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "html":
            self.lang = a.get("lang")
        for name in ("href", "src", "action"):
            if a.get(name):
                self.urls.append(a[name])


def parse(html: str) -> Links:
    p = Links()
    p.feed(html)
    return p


def titles(html: str) -> list[str]:
    """The tool names in a list of results (HTML entities decoded)."""
    import html as h

    return [h.unescape(m) for m in re.findall(r'<h2><a href="/label/[^"]+">([^<]+)</a>', html)]


PAGES = ["/", "/registry", f"/label/{ACTIVE}", f"/verify?label={ACTIVE}", "/verify", "/complaint", "/dashboard",
         "/open-data/", "/registry?q=математ&subject=mathematics&grade=5&status=suspended"]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("path", PAGES)
def test_every_page_is_in_the_language_and_keeps_it_in_every_link(site, path, lang):
    client, _ = site
    r = client.get(path + ("&" if "?" in path else "?") + f"lang={lang}")
    assert r.status_code == 200
    page = parse(r.text)
    assert page.lang == lang and r.headers["content-language"] == lang
    assert "script" not in page.tags  # nothing on the live pages needs JavaScript
    internal = [u for u in page.urls if u.startswith("/") and not u.startswith("/assets/")]
    for url in internal:
        if url.endswith(".pdf") or url.startswith("/open-data/") and url != "/open-data/?lang=" + lang:
            continue  # files, not pages
        assert f"lang={lang}" in url or re.search(r"lang=(kk|ru|en)", url), url
    switch = [u for u in internal if f"lang={lang}" not in u and "lang=" in u]
    assert {re.search(r"lang=(\w+)", u).group(1) for u in switch} >= set(LANGUAGES) - {lang}


@pytest.mark.parametrize("header,expected", [("ru-RU,ru;q=0.9,en;q=0.8", "ru"), ("en-GB,en;q=0.9", "en"),
                                             ("de-DE,de;q=0.9", "kk"), ("", "kk"), ("kk,ru;q=0.5", "kk"),
                                             ("fr;q=0.9,en;q=0.2,ru;q=0.1", "en"), ("ru;q=garbage,en", "en")])
def test_language_from_the_browser_when_not_in_the_address(site, header, expected):
    client, _ = site
    r = client.get("/", headers={"Accept-Language": header})
    assert parse(r.text).lang == expected


#: (query, language of the page, a tool it must find). The cases of the issue, in kk, ru, en.
SEARCHES = [
    ("математ", "ru", HOMEWORK), ("математика", "kk", HOMEWORK), ("mathemat", "en", HOMEWORK),
    ("чат-бот", "ru", HOMEWORK), ("homework", "en", HOMEWORK), ("үй тапсырма", "kk", HOMEWORK),
    ("уй тапсырма", "kk", HOMEWORK), ("ҮЙ ТАПСЫРМА", "kk", HOMEWORK), ("домашн", "ru", HOMEWORK),
    ("Помощник", "ru", READING), ("помощник", "ru", READING), ("reading", "en", READING), ("оқу", "kk", READING),
    ("5 класс", "ru", HOMEWORK), ("история", "ru", HOMEWORK), ("тарих", "kk", HOMEWORK),
    ("математика", "ru", EARLY),  # "all subjects": a tool for every subject is a tool for mathematics
    ("ерте", "kk", EARLY), ("bilimtech", "en", EARLY), ("KZ-AIS-2026-000001", "en", EARLY),
]


@pytest.mark.parametrize("query,lang,tool", SEARCHES)
def test_search_finds_what_parents_type(site, query, lang, tool):
    client, _ = site
    r = client.get("/registry", params={"q": query, "lang": lang})
    assert tool in titles(r.text), (query, titles(r.text))


def test_search_that_finds_nothing_says_so(site):
    client, _ = site
    for lang in LANGUAGES:
        r = client.get("/registry", params={"q": "жоқ-құрал-zzzz", "lang": lang})
        assert titles(r.text) == [] and t("registry.empty", lang) in r.text


def test_index_follows_a_renamed_label(site):
    """A label written by any connection (here plain SQL) is found: triggers queue it."""
    client, wb = site
    wb.registry.execute("UPDATE labels SET tool_name = 'Жаңа атау Математика' WHERE id = ?", (REVOKED,))
    try:
        assert "Жаңа атау Математика" in titles(client.get("/registry", params={"q": "жана атау"}).text)
    finally:
        wb.registry.execute("UPDATE labels SET tool_name = ? WHERE id = ?", (READING, REVOKED))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_status_at_a_glance_in_words_and_colour(site, lang):
    client, _ = site
    html = client.get("/registry", params={"lang": lang}).text
    for status in ("active", "suspended", "expired", "revoked"):
        assert f'class="badge s-{status}"' in html
        assert t(f"label_status.{status}", lang) in html  # a word, never the colour alone


@pytest.mark.parametrize("lang", LANGUAGES)
def test_only_a_label_in_force_says_valid_until_on_its_card(site, lang):
    """A suspended or revoked card must not read "valid until 2029": it gives the period it was issued for."""
    from workbench.i18n import format_date

    client, wb = site
    html = client.get("/registry", params={"lang": lang}).text
    cards = {m.group(1): m.group(0) for m in re.finditer(r'<li class="card">.*?/label/([A-Z0-9-]+).*?</li>', html, re.S)}
    assert {ACTIVE, SUSPENDED, REVOKED} <= set(cards)
    for label_id in (ACTIVE, SUSPENDED, REVOKED):
        start, end = wb.registry.execute("SELECT valid_from, valid_until FROM labels WHERE id = ?", (label_id,)).fetchone()
        until = t("registry.valid_until", lang, date=format_date(end, lang))
        issued = t("pub.validity.range", lang, start=format_date(start, lang), end=format_date(end, lang))
        if label_id == ACTIVE:
            assert until in cards[label_id]
        else:
            assert until not in cards[label_id] and issued in cards[label_id]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("label_id,answer", [(ACTIVE, "conditions"), (SUSPENDED, "no"), (EXPIRED, "no"),
                                             (REVOKED, "no")])
def test_can_my_school_use_this_tool(site, lang, label_id, answer):
    client, _ = site
    html = client.get(f"/label/{label_id}", params={"lang": lang}).text
    assert t("pubweb.can.title", lang) in html and f"can-{answer}" in html
    if answer == "conditions":
        # the conditions in the reader's language only (the committee wrote them as "kk / ru / en")
        assert {"kk": "Мұғалім әр ескертуді растайды", "ru": "Учитель подтверждает каждое предупреждение",
                "en": "A teacher confirms every flag"}[lang] in html
        assert " / " not in re.search(r'<section class="can.*?</section>', html, re.S).group(0)


@pytest.mark.parametrize("path", [f"/label/{ACTIVE}", "/registry?q=математика&lang=ru", f"/label/{SUSPENDED}?lang=ru"])
def test_subjects_and_grades_in_the_readers_language(site, path):
    client, _ = site
    html = re.sub(r'value="[^"]*"', "", client.get(path if "lang" in path else path + "?lang=ru").text)  # codes
    assert "mathematics" not in html and "all subjects" not in html
    assert "все предметы" in html or "математика" in html


def test_purpose_in_the_readers_language(site):
    client, _ = site
    html = client.get(f"/label/{ACTIVE}", params={"lang": "ru"}).text
    assert "Раннее выявление учеников" in html and "Early identification" not in html


@pytest.mark.parametrize("path", ["/registry?q=img", "/registry?q=example", "/label/KZ-AIS-2020-000001",
                                  "/label/KZ-AIS-2020-000002", "/verify?label=KZ-AIS-2020-000001",
                                  "/dashboard", "/registry?q=%3Cscript%3Ealert(1)%3C/script%3E",
                                  "/label/%3Cimg%20src=x%3E", "/complaint?ref=%3Cb%3Ex%3C/b%3E"])
def test_every_stored_field_is_text_never_markup(site, path):
    client, _ = site
    html = client.get(path).text
    assert "<img" not in html and "<script" not in html and "<b>x" not in html
    assert 'src="https://example.org' not in html
    if "2020-000001" in path and "verify" not in path:
        assert "&lt;img src=x onerror=alert(1)&gt;" in html
    if "2020-000002" in path:
        assert "![x](https://example.org/t.png)" in html  # Markdown is not rendered either


def test_no_third_party_and_no_script_allowed(site):
    client, _ = site
    r = client.get("/")
    assert "script-src" not in r.headers["content-security-policy"]
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert not [u for u in parse(r.text).urls if u.startswith(("http:", "https:", "//"))]  # nothing from elsewhere


def test_the_inline_stylesheet_is_the_one_the_csp_allows(site):
    import base64
    import hashlib
    import html as h

    client, _ = site
    r = client.get("/label/" + ACTIVE)
    css = re.search(r"<style>(.*?)</style>", r.text, re.S).group(1)
    assert h.unescape(css) == css  # served verbatim, not entity-escaped
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in r.headers["content-security-policy"]


def test_pages_are_compressed(site):
    client, _ = site
    r = client.get("/registry?lang=ru", headers={"Accept-Encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip"
    raw = gzip.compress(r.content)
    assert len(raw) < 60 * 1024


def test_streamlit_metrics_are_not_public(site):
    client, _ = site
    assert client.get("/staff/_stcore/metrics").status_code == 404
    assert client.get("/_stcore/metrics").status_code == 404
    assert client.get("/staff/_stcore/health").status_code == 200


def test_verify_by_qr_address_and_by_upload(site):
    client, wb = site
    qr = pu.verify_url(wb.registry, ACTIVE, "ru")
    assert qr == f"http://localhost:8599/verify?label={ACTIVE}&lang=ru"  # demo: where it is actually served
    r = client.get(qr.replace("http://localhost:8599", ""))
    assert r.status_code == 200 and t("pub.verify.all_ok", "ru") in r.text and r.text.count("✔") >= 3
    from workbench.public.visitor import label_pdf_file

    _, pdf = label_pdf_file(wb.registry, PUBLIC, ACTIVE)
    ok = client.post("/verify?lang=en", files={"pdf": ("a.pdf", pdf, "application/pdf")})
    assert t("pub.verify.all_ok", "en") in ok.text
    bad = client.post("/verify?lang=en", files={"pdf": ("a.pdf", pdf + b"\n% changed\n", "application/pdf")})
    assert t("pub.verify.not_ok", "en") in bad.text
    junk = client.post("/verify?lang=kk", files={"pdf": ("a.pdf", b"not a pdf at all", "application/pdf")})
    assert junk.status_code in (200, 400) and "Traceback" not in junk.text and t("pub.verify.not_ok", "kk") in junk.text
    empty = client.post("/verify?lang=ru", files={"pdf": ("a.pdf", b"", "application/pdf")})
    assert empty.status_code == 400 and t("pubweb.verify.no_file", "ru") in empty.text


def test_suspended_label_verifies_as_not_active(site):
    client, _ = site
    html = client.get(f"/verify?label={SUSPENDED}&lang=ru").text
    assert t("pub.verify.not_ok", "ru") in html


def test_consent_form_in_russian_with_the_school(site, tmp_path):
    client, _ = site
    r = client.get(f"/consent/{ACTIVE}", params={"lang": "ru", "school": "Школа №12 <b>"})
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert f"consent-{ACTIVE}-ru.pdf" in r.headers["content-disposition"]
    import subprocess

    path = tmp_path / "c.pdf"
    path.write_bytes(r.content)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True).stdout.decode()
    assert "Школа №12" in text and "Раннее выявление" in text  # purpose in Russian
    assert "Early identification" not in text
    assert f"label={ACTIVE}&lang=ru" in re.sub(r"\s+", "", text)  # the QR/verify address in the form's language
    refused = client.get(f"/consent/{SUSPENDED}", params={"lang": "ru"})
    assert refused.status_code == 409 and "%PDF" not in refused.text


def test_complaint_filed_then_followed_up(site):
    client, wb = site
    form = client.get("/complaint?lang=ru").text
    token = re.search(r'name="token" value="([^"]+)"', form).group(1)
    a, b = map(int, re.search(r"(\d+)\D+(\d+)", re.search(r'<label for="answer">([^<]+)', form).group(1)).groups())
    wrong = client.post("/complaint?lang=ru", data={"token": token, "answer": str(a + b + 1), "body": "Текст <b>x</b>",
                                                     "label": ACTIVE})
    assert wrong.status_code == 400 and t("public.bad_challenge", "ru") in wrong.text
    assert "Текст &lt;b&gt;x&lt;/b&gt;" in wrong.text  # what was typed is kept, as text
    # A wrong answer uses the challenge up (single use): the page asks a new one.
    token = re.search(r'name="token" value="([^"]+)"', wrong.text).group(1)
    a, b = map(int, re.search(r"(\d+)\D+(\d+)", re.search(r'<label for="answer">([^<]+)', wrong.text).group(1)).groups())
    done = client.post("/complaint?lang=ru", data={"token": token, "answer": str(a + b), "body": "Ошибки в ответах",
                                                    "label": ACTIVE})
    ref = re.search(r"C-\d{4}-[0-9A-F]{6}", done.text).group(0)
    follow = client.get("/complaint", params={"ref": ref, "lang": "ru"})
    assert ref in follow.text and t("complaint_status.open", "ru") in follow.text
    unknown = client.get("/complaint", params={"ref": "C-2000-000000", "lang": "en"})
    assert unknown.status_code == 200 and "C-2000-000000" in unknown.text


def test_old_streamlit_label_links_still_open_the_label(site):
    client, _ = site
    r = client.get(f"/?label={ACTIVE}&lang=ru", follow_redirects=False)
    assert r.status_code == 308 and r.headers["location"] == f"/label/{ACTIVE}?lang=ru"


def test_unknown_label_is_a_translated_404(site):
    client, _ = site
    r = client.get("/label/KZ-AIS-2099-999999?lang=ru")
    assert r.status_code == 404 and t("pubweb.error.title", "ru") in r.text and "Traceback" not in r.text


def test_open_data_is_the_live_signed_export(site):
    client, wb = site
    index = client.get("/open-data/?lang=en").text
    for name in ("registry.json", "registry.csv", "schema.json", "SHA256SUMS", "SHA256SUMS.p7s"):
        assert f"/open-data/{name}" in index
    data = client.get("/open-data/registry.json").json()
    assert {r["label_id"] for r in data["labels"]} >= {ACTIVE, SUSPENDED}
    assert client.get("/open-data/..%2Fregistry.db").status_code in (400, 404)  # never the database
    from workbench.public import opendata
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        for name in ("registry.json", "registry.csv", "schema.json", "SHA256SUMS", "SHA256SUMS.p7s"):
            (Path(d) / name).write_bytes(client.get(f"/open-data/{name}").content)
        assert opendata.verify_export(Path(d), wb.keys).ok


@pytest.mark.parametrize("url,ok", [
    ("https://ai-safe.edu.kz", True), ("https://registry.nae.kz/", True), ("http://8.8.8.8", True),
    ("", False), ("   ", False), ("http://localhost:8501", False), ("http://127.0.0.1", False),
    ("https://10.1.2.3", False), ("https://192.168.1.10", False), ("http://[::1]:8501", False),
    ("https://intranet", False), ("https://school.local", False), ("ftp://ai-safe.edu.kz", False),
    ("https://ai-safe.edu.kz/?x=1", False), ("ai-safe.edu.kz", False), ("http://169.254.169.254", False),
    ("https://app.localhost", False), ("https://user@ai-safe.edu.kz", False),
])
def test_public_url_is_checked(url, ok):
    if ok:
        assert pu.check_public_url(url) == url.strip().rstrip("/")
    else:
        with pytest.raises(pu.PublicUrlError):
            pu.check_public_url(url)


def test_a_real_registry_refuses_to_sign_without_a_public_url(home):
    """Reproduces the dead-link defect: before, every PDF said http://localhost:8501."""
    from test_decisions import Committee
    from workbench.services import Workbench

    wb = Workbench.open(home)
    wb.keys.ensure_demo()
    committee = Committee(wb)
    sub_id = committee.at_committee()
    reg = wb.registry
    for bad in (None, "http://localhost:8501", "http://192.168.0.5"):
        reg.execute("DELETE FROM meta WHERE key = 'public_url'")
        if bad:
            reg.set_meta("public_url", bad)
        with pytest.raises(pu.PublicUrlError):
            committee.decide(sub_id)
        assert reg.one("SELECT count(*) AS n FROM labels")["n"] == 0  # nothing half-issued
        assert reg.one("SELECT count(*) AS n FROM decisions")["n"] == 0
    with pytest.raises(pu.PublicUrlError):
        pu.set_public_url(reg, _admin(reg), "http://localhost")
    pu.set_public_url(reg, _admin(reg), "https://ai-safe.edu.kz/")
    record = committee.decide(sub_id)
    from workbench.decision.decisions import label_pdf
    import subprocess

    pdf = home / "qr.pdf"
    pdf.write_bytes(label_pdf(reg, record.label_id))
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True).stdout.decode()
    assert f"https://ai-safe.edu.kz/verify?label={record.label_id}&lang=" in re.sub(r"\s+", "", text)
    assert any(e.action == "settings.public_url" for e in reg.events("settings"))
    wb.close()


def _admin(reg):
    from workbench.registry.models import SYSTEM

    return SYSTEM


def test_serve_refuses_demo_data_in_a_real_registry(home):
    from workbench.cli._serve import prepare
    from workbench.errors import WorkbenchError
    from workbench.services import Workbench

    from test_decisions import Committee

    wb = Workbench.open(home)
    wb.keys.ensure_demo()
    Committee(wb)  # people and organisations: not an empty home
    with pytest.raises(WorkbenchError) as caught:
        prepare(wb, demo=True, url="http://localhost:8501")
    assert caught.value.key == "pubweb.serve.not_empty"
    assert wb.registry.get_meta("demo") is None and not pu.is_demo(wb.registry)
    wb.close()


def test_serve_banner_names_registry_url_and_key(home):
    from workbench.cli._serve import banner, prepare
    from workbench.services import Workbench

    wb = Workbench.open(home)
    wb.registry.execute("DELETE FROM meta WHERE key = 'public_url'")
    prepare(wb, demo=False, url="http://localhost:8501")
    lines = "\n".join(banner(wb, "http://localhost:8501", "en"))
    assert str(wb.home.db_path) in lines and "PUBLIC URL NOT SET" in lines and "Signing key:" in lines
    pu.set_public_url(wb.registry, _admin(wb.registry), "https://ai-safe.edu.kz")
    assert "https://ai-safe.edu.kz" in "\n".join(banner(wb, "http://localhost:8501", "ru"))
    wb.close()


def test_cli_public_url_and_init_refuse_a_local_address(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from workbench.cli import cli

    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path))
    monkeypatch.setenv("WORKBENCH_KEY_PASSPHRASE", "test-passphrase")
    monkeypatch.setenv("WORKBENCH_LANG", "en")
    runner = CliRunner()
    refused = runner.invoke(cli, ["init", "--public-url", "http://localhost:8501"])
    assert refused.exit_code == 2 and "parents cannot open" in refused.output
    keys = tmp_path / "keys"  # nothing half set up: no signing key (the event log's seal key may exist)
    assert not keys.exists() or not [p for p in keys.iterdir() if not p.name.startswith("log")]
    done = runner.invoke(cli, ["init", "--public-url", "https://ai-safe.edu.kz"])
    assert done.exit_code == 0, done.output
    shown = runner.invoke(cli, ["public-url"])
    assert shown.output.strip() == "https://ai-safe.edu.kz"
    assert runner.invoke(cli, ["public-url", "https://10.0.0.1"]).exit_code == 2
    assert runner.invoke(cli, ["public-url", "https://registry.nae.kz"]).exit_code == 0
    assert runner.invoke(cli, ["public-url"]).output.strip() == "https://registry.nae.kz"


def test_cli_publish_writes_a_mirror(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from workbench.cli import cli

    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WORKBENCH_KEY_PASSPHRASE", "test-passphrase")
    runner = CliRunner()
    assert runner.invoke(cli, ["init", "--public-url", "https://ai-safe.edu.kz"]).exit_code == 0
    result = runner.invoke(cli, ["publish", str(tmp_path / "site"), "--no-consent-forms"])
    assert result.exit_code == 0, result.output
    for lang in LANGUAGES:
        html = (tmp_path / "site" / lang / "index.html").read_text(encoding="utf-8")
        assert f'<html lang="{lang}">' in html and t("registry.empty", lang) in html
    complaint = (tmp_path / "site" / "ru" / "complaint.html").read_text(encoding="utf-8")
    assert "https://ai-safe.edu.kz/complaint?lang=ru" in complaint  # the live form, in the reader's language
    (tmp_path / "file").write_text("x")
    assert runner.invoke(cli, ["publish", str(tmp_path / "file")]).exit_code != 0


def test_every_route_of_an_empty_registry_renders(tmp_path, monkeypatch):
    """A new registry (no labels, no decisions): every page says so, none fails."""
    from starlette.applications import Starlette

    from workbench.services import Workbench
    from workbench.web.routes import PublicSite

    monkeypatch.setenv("WORKBENCH_KEY_PASSPHRASE", "test-passphrase")
    wb = Workbench.open(tmp_path)
    wb.keys.ensure_demo()
    with TestClient(Starlette(routes=PublicSite(wb, warm=False).routes())) as client:
        for lang in LANGUAGES:
            for path in ("/", "/registry?q=x", "/verify", "/complaint", "/dashboard", "/open-data/"):
                r = client.get(path, params={"lang": lang})
                assert r.status_code == 200 and f'<html lang="{lang}">' in r.text, path
            assert t("pub.dash.no_data", lang) in client.get("/dashboard", params={"lang": lang}).text
    wb.close()


def test_the_admin_changes_the_public_url_in_the_app(tmp_path, monkeypatch):
    """The admin page's form: a local address is refused with a message, a public one saved."""
    import sys
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from workbench.registry import auth
    from workbench.demo import DEMO_PASSWORD, ensure_demo, ensure_keys
    from workbench.services import Workbench

    repo = Path(__file__).resolve().parents[1]
    if str(repo) not in sys.path:
        sys.path.insert(0, str(repo))
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path))
    monkeypatch.setenv("WORKBENCH_KEY_PASSPHRASE", "test-passphrase")
    wb = Workbench.open(tmp_path)
    ensure_keys(wb)
    ensure_demo(wb)
    admin = auth.login(wb.registry, "admin", DEMO_PASSWORD)
    at = AppTest.from_file(str(repo / "ui" / "pages" / "admin.py"), default_timeout=60)
    at.session_state["lang"], at.session_state["actor"] = "ru", admin
    at.run()
    at.text_input(key="public_url").input("http://192.168.1.5")
    at.get("form_submit_button")[1].click().run()  # the second form on the page
    assert at.error and "192.168.1.5" in at.error[0].value and not at.exception
    assert wb.registry.get_meta("public_url") is None
    at.text_input(key="public_url").input("https://ai-safe.edu.kz")
    at.get("form_submit_button")[1].click().run()
    assert not at.exception and wb.registry.get_meta("public_url") == "https://ai-safe.edu.kz"
    wb.close()

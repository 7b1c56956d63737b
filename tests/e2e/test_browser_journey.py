"""The whole journey in a real browser (Debian's chromium, driven by Playwright): a vendor
submits a tool, the secretary screens it and assigns two reviewers, both review it, the
committee approves it (label and signed PDF), the vendor downloads the signed PDF, and a
visitor without an account finds the tool in the public registry, verifies its PDF (and
sees a changed copy fail), opens the address its QR code holds and downloads the consent
forms.

Every step is clicked and typed in the browser in Kazakh (the default language; the
visitor switches to Russian at the end), and after each step the test checks what a
person sees (catalogue texts) and what the database holds (the service layer).
Screenshots of each step go to ``tests/artifacts/e2e/NN_step.png``.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from workbench import auth, consent, decisions, labels, public, reviews, rules, submissions as subs
from workbench.i18n import format_date, t
from workbench.models import PUBLIC, Status

from .conftest import PEOPLE, Cast, Screen, wait_until

# The journey takes about 2.5 minutes here; the limit leaves room for a slow CI machine.
pytestmark = pytest.mark.timeout(600)

TOOL = "Ойлау көмекшісі"
VERSION = "1.0"
IDENTITY = {  # the first dossier step, typed in the browser
    "tool_name": TOOL,
    "tool_version": VERSION,
    "description_kk": "Оқушыға математикалық есептерді өз бетінше шығаруға кезең-кезеңімен көмектеседі.",
    "description_ru": "Помогает ученику шаг за шагом самостоятельно решать задачи по математике.",
    "intended_purpose": "5–9 сынып оқушыларының үй тапсырмасына көмек",
}
# The other dossier steps are saved through the same service call the step forms make:
# typing into multiselects adds nothing the first step does not already exercise, and it
# keeps the run short. The submit itself is clicked in the browser.
REST_OF_DOSSIER = {
    "users": ["learners", "teachers"], "grades": [5, 6, 7, 8, 9], "subjects": ["математика"],
    "interface_languages": ["kk", "ru"], "content_languages": ["kk", "ru"], "deployment": "cloud",
    "data_storage_location": "Қазақстан, Астана", "data_processing_location": "Қазақстан, Астана",
    "data_categories": ["identity", "children"], "retention": "1 оқу жылы", "model_type": "generative",
    "decision_mode": "teacher_confirms", "human_oversight": "Мұғалім әр бағаны растайды.",
    "known_limitations": "Геометриялық сызбаларды түсінбейді.",
}


def _vendor_submits(screen: Screen, cast: Cast) -> int:
    vendor = cast.actor("vendor")
    screen.login("vendor", "not-the-password")  # a typo first: a message, no session
    screen.see(screen.tr(auth.BAD_LOGIN))
    assert screen.key("logout").count() == 0
    screen.login("vendor")
    screen.nav("nav.my_submissions")
    screen.see(screen.tr("vendor.title"))
    screen.click("new_submission")
    wait_until(lambda: len(subs.list_submissions(cast.wb.registry, vendor)) == 1, message="no draft created")
    sub_id = subs.list_submissions(cast.wb.registry, vendor)[0].id
    screen.see(screen.tr("vendor.untitled"))
    for name, value in IDENTITY.items():
        screen.fill(f"f_{sub_id}_{name}", value)
    screen.shot("vendor_fills_the_dossier")
    screen.form_submit(f"step_{sub_id}").click()
    wait_until(lambda: subs.get_submission(cast.wb.registry, vendor, sub_id).dossier.tool_name == TOOL,
               message="the first dossier step was not saved")
    saved = subs.get_submission(cast.wb.registry, vendor, sub_id).dossier
    assert (saved.tool_version, saved.description_kk) == (VERSION, IDENTITY["description_kk"])
    screen.see(f"{TOOL} {VERSION}")
    screen.key(f"f_{sub_id}_users").wait_for()  # "save and continue" moved on to the audience step

    subs.save_draft(cast.wb.registry, vendor, sub_id, REST_OF_DOSSIER)
    screen.key("vendor_step").get_by_text(re.compile(rf"^\d+\. {re.escape(screen.tr('step.review'))}$")).click()
    screen.settle()
    screen.see(screen.tr("vendor.ready"))
    screen.key(f"confirm_{sub_id}").locator("label").click()
    screen.settle()
    screen.click(f"submit_{sub_id}")
    wait_until(lambda: subs.get_submission(cast.wb.registry, vendor, sub_id).status is Status.SUBMITTED,
               message="the submission was not submitted")
    screen.see(f"#{sub_id} · {screen.tr('status.submitted')}")
    screen.shot("vendor_has_submitted")
    screen.logout()
    return sub_id


def _queue_entry(screen: Screen, sub_id: int, status: Status):
    """The secretary's expander of a submission, opened. Its title ends with the status, so
    waiting for it also waits for the page to catch up with the database; a new title is a
    new expander, which starts closed."""
    title = re.compile(rf"#{sub_id} · {re.escape(TOOL)} .* · {re.escape(screen.tr('status.' + status.value))}$")
    entry = screen.main().locator('[data-testid="stExpander"]').filter(
        has=screen.page.locator("summary").get_by_text(title)).first
    entry.wait_for()
    details = entry.locator("details")
    if details.get_attribute("open") is None:
        entry.locator("summary").click()
        screen.settle()
    return entry


def _secretary_screens_and_assigns(screen: Screen, cast: Cast, sub_id: int) -> None:
    secretary = cast.actor("secretary")
    screen.login("secretary")
    screen.nav("nav.queue")
    _queue_entry(screen, sub_id, Status.SUBMITTED)
    screen.shot("secretary_screens")
    screen.click(f"screen_ok_{sub_id}")
    wait_until(lambda: subs.get_submission(cast.wb.registry, secretary, sub_id).status is Status.IN_REVIEW,
               message="screening did not move the submission to review")
    for username in ("rev1", "rev2"):
        _queue_entry(screen, sub_id, Status.IN_REVIEW)
        screen.choose(f"assign_{sub_id}", cast_name(username))
        screen.click(f"assign_btn_{sub_id}")
        wait_until(lambda: username in {r["username"] for r in subs.assigned_reviewers(cast.wb.registry, secretary,
                                                                                         sub_id)},
                   message=f"{username} was not assigned")
    entry = _queue_entry(screen, sub_id, Status.IN_REVIEW)
    entry.get_by_text(cast_name("rev2")).first.wait_for()
    screen.shot("secretary_assigned_two_reviewers")
    screen.logout()


def cast_name(username: str) -> str:
    """The display name a person sees for an account."""
    return PEOPLE[username][1]


def _reviewer_reviews(screen: Screen, cast: Cast, sub_id: int, username: str, *, pictures: bool) -> None:
    reviewer = cast.actor(username)
    reg = cast.wb.registry
    screen.login(username)
    screen.nav("nav.assignments")
    screen.click(f"rev_open_{sub_id}")
    # conflict of interest: "no conflict" is the preselected answer
    screen.see(screen.tr("wizard.conflict_title"))
    screen.form_submit(f"coi_{sub_id}").click()
    wait_until(lambda: subs.conflict_declared(reg, reviewer, sub_id) is False, message="no declaration saved")
    # risk classification: "no" to every question gives the minimal tier
    screen.see(screen.tr("wizard.risk_help"))
    _, questionnaire = reviews.frozen_documents(reg, reviewer, sub_id)
    for question in questionnaire.questions:
        screen.radio(f"risk_{sub_id}_{question.id}", screen.tr("wizard.no"))
    if pictures:
        screen.shot("reviewer_classifies_risk")
    screen.form_submit(f"risk_{sub_id}").click()
    wait_until(lambda: reviews.get_review(reg, reviewer, sub_id).tier == "minimal", message="tier not minimal")
    # every principle section: one "meets" per item, each autosaved by its own rerun
    checklist, _ = reviews.frozen_documents(reg, reviewer, sub_id)
    model_type = subs.get_submission(reg, reviewer, sub_id).dossier.model_type
    sections = rules.applicable_sections(checklist, "minimal", model_type)
    # risk, the sections, fairness, the committee's own tests for a generative tool, summary
    n = len(sections) + 3 + (model_type == "generative")
    total = sum(len(items) for _, items in sections)
    screen.see(screen.tr("wizard.progress", k=1, n=n, answered=0, total=total))  # the page knows the tier
    for number, (section, items) in enumerate(sections, start=2):
        screen.choose("rev_step", f"{number}/{n} · {section.id}.", re.compile(rf"^{number}/{n} · "))
        screen.page.get_by_role("heading", name=section.title.get(screen.lang)).wait_for()
        for item in items:
            screen.radio(f"ans_{sub_id}_{item.id}", screen.tr("rules.answer.meets"))
            wait_until(lambda: item.id in reviews.get_review(reg, reviewer, sub_id).answers,
                       message=f"answer to {item.id} not autosaved")
        screen.settle()
        if pictures and number == 2:
            screen.shot("reviewer_answers_the_checklist")
    summary = reviews.summary(reg, reviewer, sub_id)
    assert summary.ready and summary.unanswered == []
    # summary, recommendation (approve is the first choice) and sign-off
    screen.choose("rev_step", f"{n}/{n} · ")
    screen.see(screen.tr("wizard.recommendation"))
    screen.fill(f"rationale_{sub_id}", "Барлық талап орындалды; мұғалім әр бағаны растайды.")
    screen.key(f"confirm_sign_{sub_id}").locator("label").click()
    screen.form_submit(f"signoff_{sub_id}").click()
    wait_until(lambda: reviews.get_review(reg, reviewer, sub_id).signed, message="review not signed")
    assert reviews.get_review(reg, reviewer, sub_id).recommendation == "approve"
    review = reviews.get_review(reg, reviewer, sub_id)
    signed = screen.see(screen.tr("wizard.signed", date=format_date(review.signed_at, screen.lang),
                                  recommendation=screen.tr("rules.recommendation.approve")))
    if pictures:
        screen.shot("reviewer_signed_off", focus=signed)
    screen.logout()


def _secretary_decides(screen: Screen, cast: Cast, sub_id: int) -> str:
    secretary = cast.actor("secretary")
    reg = cast.wb.registry
    screen.login("secretary")
    screen.nav("nav.queue")
    entry = _queue_entry(screen, sub_id, Status.IN_REVIEW)
    entry.locator('[data-testid="stDataFrame"]').first.wait_for()  # the reviews side by side
    screen.shot("secretary_sees_both_reviews")
    screen.click(f"committee_{sub_id}")
    wait_until(lambda: subs.get_submission(reg, secretary, sub_id).status is Status.COMMITTEE,
               message="not sent to the committee")
    _queue_entry(screen, sub_id, Status.COMMITTEE)
    screen.see(screen.tr("sec.decision"))
    screen.radio(f"outcome_{sub_id}", screen.tr("sec.outcome_approve"))
    screen.fill(f"rationale_{sub_id}", "Екі сарапшы да мақұлдауды ұсынды; комитет бірауыздан қолдады.")
    screen.key(f"confirm_{sub_id}").locator("label").click()
    screen.shot("secretary_records_the_decision", focus=screen.form_submit(f"decision_{sub_id}"))
    screen.form_submit(f"decision_{sub_id}").click()
    # signing the PDF takes a few seconds on a busy machine
    wait_until(lambda: subs.get_submission(reg, secretary, sub_id).status is Status.APPROVED, timeout=90,
               message="the decision was not recorded")
    label = reg.one("SELECT id, status FROM labels WHERE submission_id = ?", (sub_id,))
    assert label["status"] == "active"
    # The PDF is stored with the decision; its copy under audits/ is written after the commit.
    wait_until((cast.wb.home.audits / f"{label['id']}.pdf").is_file, message="no audit PDF under audits/")
    _queue_entry(screen, sub_id, Status.APPROVED)
    screen.shot("secretary_decided_label_issued", focus=screen.button(f"dl_{sub_id}"))
    screen.logout()
    return label["id"]


def _vendor_receives_the_verdict(screen: Screen, cast: Cast, sub_id: int, label_id: str, tmp_path) -> None:
    vendor = cast.actor("vendor")
    screen.login("vendor")
    screen.nav("nav.my_submissions")
    screen.see(f"#{sub_id} · {screen.tr('status.approved')}")
    screen.click(f"open_{sub_id}")
    download = screen.button(f"vpdf_{sub_id}")
    download.wait_for()
    screen.shot("vendor_receives_the_signed_pdf", focus=download)
    with screen.page.expect_download() as download_info:
        download.click()
    saved = tmp_path / f"vendor-{download_info.value.suggested_filename}"
    download_info.value.save_as(saved)
    name, pdf = decisions.audit_pdf(cast.wb.registry, vendor, sub_id)
    assert download_info.value.suggested_filename == name == f"{label_id}.pdf"
    assert saved.read_bytes() == pdf
    screen.logout()


def _visitor_finds_verifies_and_downloads(screen: Screen, cast: Cast, label_id: str, tmp_path, server: str) -> None:
    """The public pages are plain HTML (``workbench.web``): a visitor reads, verifies, downloads."""
    reg = cast.wb.registry
    page = screen.page
    page.goto(f"{server}/")  # the registry is the site's first page; nobody is logged in
    page.get_by_role("heading", name=screen.tr("registry.title")).wait_for()
    page.get_by_label(screen.tr("registry.search")).fill("ойлау")  # the first word of the name, in lower case
    page.get_by_label(screen.tr("registry.search")).press("Enter")
    page.get_by_text(screen.tr("registry.count", n=1)).wait_for()
    screen.shot("visitor_finds_the_tool")
    page.get_by_role("link", name=TOOL).click()
    page.get_by_role("heading", name=f"{TOOL} {VERSION}").wait_for()
    page.get_by_role("heading", name=screen.tr("pub.label.scope")).wait_for()
    screen.shot("visitor_reads_the_label_page")

    with page.expect_download() as download_info:
        page.get_by_role("link", name=screen.tr("pub.label.audit_pdf")).click()
    pdf_path = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(pdf_path)
    signed = pdf_path.read_bytes()
    assert signed == public.label_pdf_file(reg, PUBLIC, label_id)[1]

    page.get_by_role("navigation").get_by_role("link", name=screen.tr("nav.verify"), exact=True).click()
    page.get_by_role("heading", name=screen.tr("verify.title")).wait_for()
    page.set_input_files("#pdf", str(pdf_path))
    page.locator('form[enctype="multipart/form-data"] button').click()
    page.get_by_text(screen.tr("pub.verify.all_ok")).first.wait_for(timeout=60_000)
    verdict = labels.verify_document(reg, PUBLIC, signed, cast.wb.keys)
    assert verdict.ok
    answers = page.locator(".answers li")
    for line in verdict.explain(screen.lang):  # intact, signed by the committee, label active
        assert any(line.lstrip("✔✘ ") in text for text in answers.all_inner_texts())
    assert page.locator(".answers li.yes").count() == 3 and page.locator(".answers li.no").count() == 0
    screen.shot("visitor_verified_the_pdf")

    # A copy changed after signing (here: a line appended) must not pass.
    changed = tmp_path / "changed.pdf"
    changed.write_bytes(signed + b"\n% changed after signing\n")
    page.set_input_files("#pdf", str(changed))
    page.locator('form[enctype="multipart/form-data"] button').click()
    page.get_by_text(screen.tr("pub.verify.not_ok")).first.wait_for(timeout=60_000)
    assert not labels.verify_document(reg, PUBLIC, changed.read_bytes(), cast.wb.keys).intact
    assert page.locator(".answers li.no").count() >= 1
    screen.shot("visitor_sees_a_changed_copy_fail")

    # The QR code printed on the PDF holds the address of the verify page for this label,
    # in the PDF's language; a phone that scans it opens that address.
    qr_url = f"{server}/verify?label={label_id}&lang=kk"
    assert qr_url in re.sub(r"\s+", "", _pdf_text(pdf_path)), "the PDF prints the address its QR code holds"
    page.goto(qr_url)
    page.get_by_text(screen.tr("pub.verify.all_ok")).first.wait_for(timeout=60_000)
    assert page.locator(".answers li.yes").count() == 3
    screen.shot("visitor_scanned_the_qr_code")

    # the consent forms, in Russian this time (the language link keeps the page)
    page.get_by_role("link", name="Русский").click()
    page.get_by_role("link", name=t("pub.verify.open_label", "ru", id=label_id)).click()
    page.get_by_role("heading", name=t("pub.label.scope", "ru")).wait_for()
    for code in ("ru", "kk"):
        with page.expect_download() as download_info:
            page.get_by_role("link", name=t(f"pubweb.consent.{code}", "ru")).click()
        download = download_info.value
        assert download.suggested_filename == consent.consent_file_name(label_id, code)
        form = tmp_path / download.suggested_filename
        download.save_as(form)
        assert form.read_bytes().startswith(b"%PDF")
        assert TOOL in _pdf_text(form), f"the {code} consent form names the tool"
    screen.shot("visitor_downloaded_consent_forms_ru")


def _pdf_text(path) -> str:
    """The text of a PDF, by poppler's pdftotext (installed beside chromium)."""
    done = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, timeout=60)
    return done.stdout.decode("utf-8")


@pytest.mark.e2e
def test_vendor_to_committee_to_public_registry(cast, open_screen, server, tmp_path):
    # Everything is clicked in the browser, both reviewers included; only the dossier's
    # later steps are saved through the service (see REST_OF_DOSSIER).
    # Each person works in their own browser (a new context is a new Streamlit session).
    # They still log out at the end: logging out keeps the rest of the session (the open
    # submission of the wizard), so a second person in the same tab would land in the
    # first one's review.
    vendor = open_screen()
    vendor.see(vendor.tr("login.title"))
    vendor.shot("login_page")
    sub_id = _vendor_submits(vendor, cast)
    _secretary_screens_and_assigns(open_screen(), cast, sub_id)
    _reviewer_reviews(open_screen(), cast, sub_id, "rev1", pictures=True)
    _reviewer_reviews(open_screen(), cast, sub_id, "rev2", pictures=False)
    label_id = _secretary_decides(open_screen(), cast, sub_id)
    _vendor_receives_the_verdict(open_screen(), cast, sub_id, label_id, tmp_path)

    visitor = open_screen()  # nobody logged in
    _visitor_finds_verifies_and_downloads(visitor, cast, label_id, tmp_path, server)

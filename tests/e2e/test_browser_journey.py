"""The issue's whole journey in a real browser (Debian's chromium, driven by Playwright), in
Kazakh and in Russian (the staff choose Russian in the app's language switch before signing
in, so their notices and e-mails follow it):

a vendor submits a tool with an XLSX output file; the secretary opens the dossier and the file
before screening, then assigns two reviewers; both open the documents and run the fairness
test; one asks the vendor a question, which the vendor answers with a CSV; the committee
approves (label and signed PDF); a parent files a complaint on the public site; the secretary
suspends the label and opens a re-review (a linked case in the queue, "under re-review" on the
public page); everyone reads their notices in the app's inbox, and the outbox holds an e-mail
for each of them in their language.

Each person works in a browser context of their own, kept open for the whole journey (a
durable session: a reload or a sidebar link keeps them signed in). After each step the test
checks what a person sees (catalogue texts) and what the database holds (the service layer).
Steps already clicked elsewhere in the journey are done through the same service call the
page makes (the later dossier steps; the second reviewer's checklist answers and sign-off).
Screenshots of each step go to ``tests/artifacts/e2e/<lang>/NN_step.png``.
"""

from __future__ import annotations

import email
import re
import subprocess
import time

import pandas as pd
import pytest

from workbench.registry import auth, notifications
from workbench.public import complaints, consent, visitor as public
from workbench.aftercare import label_state, rereview
from workbench.decision import decisions, labels
from workbench.review import fairness_runs, reviews, rules
from workbench.intake import submissions as subs
from workbench.i18n import format_date, t
from workbench.registry.models import PUBLIC, Status

from .conftest import ARTIFACTS, PEOPLE, REPO, Cast, Screen, Shots, wait_until

# About 4 minutes a language on the shared 2-core machine; the limit leaves room for CI.
pytestmark = pytest.mark.timeout(900)

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
# keeps the run short. The files and the submit are clicked in the browser.
REST_OF_DOSSIER = {
    "users": ["learners", "teachers"], "grades": [5, 6, 7, 8, 9], "subjects": ["математика"],
    "interface_languages": ["kk", "ru"], "content_languages": ["kk", "ru"], "deployment": "cloud",
    "data_storage_location": "Қазақстан, Астана", "data_processing_location": "Қазақстан, Астана",
    "data_categories": ["identity", "children"], "retention": "1 оқу жылы", "model_type": "classifier",
    "decision_mode": "teacher_confirms", "human_oversight": "Мұғалім әр бағаны растайды.",
    "known_limitations": "Геометриялық сызбаларды түсінбейді.",
}
OUTPUTS = REPO / "fixtures" / "early_warning_outputs.csv"  # the model's outputs (sent as XLSX)
EMAILS = {"vendor": "dana@bilimtech.kz", "rev1": "asel@nae.kz", "rev2": "baurzhan@nae.kz",
          "secretary": "gulnar@nae.kz"}
PARENT = "parent.aigerim@mail.kz"


def _vendor_submits(screen: Screen, cast: Cast, tmp_path) -> int:
    vendor = cast.actor("vendor")
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
    # the model's outputs as an Excel workbook, attached on the files step
    xlsx = tmp_path / "model_outputs.xlsx"
    pd.read_csv(OUTPUTS).to_excel(xlsx, index=False)
    screen.key("vendor_step").get_by_text(re.compile(rf"^\d+\. {re.escape(screen.tr('step.files'))}$")).click()
    screen.settle()
    screen.key(f"up_outputs_{sub_id}_0").locator('input[type="file"]').set_input_files(str(xlsx))
    screen.button(f"attach_outputs_{sub_id}").wait_for()
    screen.click(f"attach_outputs_{sub_id}")
    wait_until(lambda: [a.kind for a in subs.list_attachments(cast.wb.registry, vendor, sub_id)] == ["xlsx"],
               message="the XLSX file was not attached")
    screen.see(screen.tr("vendor.attached", name="model_outputs.xlsx"))
    screen.shot("vendor_attached_the_xlsx_outputs")

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


def _open_document(screen: Screen, scope, key: str, att_id: int) -> None:
    """Click a file's Open button in the documents panel and wait for its table preview."""
    screen.button(f"{key}_open_{att_id}").click()
    screen.settle()
    screen.button(f"{key}_close_{att_id}").wait_for()
    scope.locator('[data-testid="stDataFrame"]').first.wait_for()


def _secretary_screens_and_assigns(screen: Screen, cast: Cast, sub_id: int) -> None:
    secretary = cast.actor("secretary")
    reg = cast.wb.registry
    screen.nav("nav.queue")
    entry = _queue_entry(screen, sub_id, Status.SUBMITTED)
    # the dossier and the files are open from screening on; she reads the dossier and opens the XLSX
    entry.get_by_text(screen.tr("staff.docs_dossier")).first.wait_for()
    entry.get_by_text(IDENTITY["intended_purpose"]).first.wait_for()
    att, = subs.list_attachments(reg, secretary, sub_id)
    _open_document(screen, entry, f"sec_docs_{sub_id}", att.id)
    assert any(e.action == "attachment.viewed" and e.payload.get("attachment_id") == att.id
               for e in reg.events()), "opening a document is logged"
    screen.shot("secretary_reads_dossier_and_xlsx", focus=entry.locator('[data-testid="stDataFrame"]').first)
    screen.click(f"screen_ok_{sub_id}")
    wait_until(lambda: subs.get_submission(reg, secretary, sub_id).status is Status.IN_REVIEW,
               message="screening did not move the submission to review")
    for username in ("rev1", "rev2"):
        _queue_entry(screen, sub_id, Status.IN_REVIEW)
        screen.choose(f"assign_{sub_id}", cast_name(username))
        screen.click(f"assign_btn_{sub_id}")
        wait_until(lambda: username in {r["username"] for r in subs.assigned_reviewers(reg, secretary, sub_id)},
                   message=f"{username} was not assigned")
    entry = _queue_entry(screen, sub_id, Status.IN_REVIEW)
    entry.get_by_text(cast_name("rev2")).first.wait_for()
    screen.shot("secretary_assigned_two_reviewers")


def cast_name(username: str) -> str:
    """The display name a person sees for an account."""
    return PEOPLE[username][1]


def _inbox(screen: Screen, cast: Cast, username: str, kind: str, params: dict, step: str) -> None:
    """Open the inbox from the sidebar and read the notice of ``kind`` (its text in the
    person's language); the notice's "open" button then leads to the page it is about."""
    screen.settle()
    screen.page.locator('[data-testid="stSidebarNav"] a[href$="/inbox"]').click()
    screen.settle()
    screen.see(screen.tr("staff.inbox_title"))
    text = notifications.render(kind, params, screen.lang)
    notice = screen.main().get_by_text(text, exact=False).first
    notice.wait_for()
    screen.shot(step, focus=notice)
    who = cast.actor(username)
    row = next(n for n in notifications.inbox(cast.wb.registry, who) if n.kind == kind)
    screen.button(f"notice_open_{row.id}").click()
    screen.settle()
    wait_until(lambda: next(n for n in notifications.inbox(cast.wb.registry, who) if n.id == row.id).read,
               message="opening the notice did not mark it read")


def _run_fairness(screen: Screen, cast: Cast, sub_id: int, username: str, n_before: int):
    reg = cast.wb.registry
    screen.choose("rev_step", screen.tr("wizard.fairness"))
    screen.key(f"fp_sensitive_{sub_id}").wait_for()
    screen.click(f"fp_run_{sub_id}")
    wait_until(lambda: len(fairness_runs.list_runs(reg, cast.actor(username), sub_id)) > n_before, timeout=90,
               message="no fairness run saved")
    chart = screen.page.locator('[data-testid="stVegaLiteChart"], [data-testid="stArrowVegaLiteChart"]').first
    chart.wait_for(timeout=60_000)
    return chart


def _reviewer_one(screen: Screen, cast: Cast, sub_id: int) -> None:
    """The first reviewer: reads the assignment notice, opens the dossier and the XLSX,
    classifies the risk, answers the checklist, asks the vendor a question, runs the
    fairness test."""
    reviewer = cast.actor("rev1")
    reg = cast.wb.registry
    _inbox(screen, cast, "rev1", "assigned", {"tool": TOOL, "id": sub_id}, "reviewer_reads_the_assignment")
    # the notice opened the submission; conflict of interest: "no conflict" is the preselected answer
    screen.see(screen.tr("wizard.conflict_title"))
    screen.form_submit(f"coi_{sub_id}").click()
    wait_until(lambda: subs.conflict_declared(reg, reviewer, sub_id) is False, message="no declaration saved")
    dossier = screen.key(f"rev_dossier_{sub_id}")
    dossier.locator("summary").click()
    screen.settle()
    att, = subs.list_attachments(reg, reviewer, sub_id)
    _open_document(screen, dossier, "rev_docs", att.id)
    screen.shot("reviewer_opens_the_documents", focus=dossier.locator('[data-testid="stDataFrame"]').first)
    dossier.locator("summary").click()  # folded away again
    screen.settle()
    # risk classification: "no" to every question gives the minimal tier
    screen.see(screen.tr("wizard.risk_help"))
    _, questionnaire = reviews.frozen_documents(reg, reviewer, sub_id)
    for question in questionnaire.questions:
        screen.radio(f"risk_{sub_id}_{question.id}", screen.tr("wizard.no"))
    screen.form_submit(f"risk_{sub_id}").click()
    wait_until(lambda: reviews.get_review(reg, reviewer, sub_id).tier == "minimal", message="tier not minimal")
    checklist, _ = reviews.frozen_documents(reg, reviewer, sub_id)
    sections = rules.applicable_sections(checklist, "minimal", REST_OF_DOSSIER["model_type"])
    n = len(sections) + 3  # risk, the sections, fairness, summary
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
        if number == 2:
            screen.shot("reviewer_answers_the_checklist")
            # a question to the vendor about the first item: the data for rural pupils
            item = items[0]
            screen.key(f"ans_{sub_id}_{item.id}").locator("xpath=../..").get_by_text(
                screen.tr("wizard.ask_vendor")).first.click()
            screen.fill(f"q_{sub_id}_{item.id}", QUESTION[screen.lang])
            screen.click(f"qsend_{sub_id}_{item.id}")
            wait_until(lambda: subs.get_submission(reg, reviewer, sub_id).status is Status.CLARIFICATION,
                       message="the question did not reach the vendor")
            screen.page.get_by_text(screen.tr("wizard.question_sent")).wait_for()  # in the popover
            screen.shot("reviewer_asks_the_vendor")
            screen.page.keyboard.press("Escape")
            screen.settle()
    assert reviews.summary(reg, reviewer, sub_id).ready
    chart = _run_fairness(screen, cast, sub_id, "rev1", 0)
    screen.shot("reviewer_ran_the_fairness_test", focus=chart)


QUESTION = {"kk": "Ауыл оқушылары бойынша нәтижелерді CSV түрінде жіберіңізші.",
            "ru": "Пришлите, пожалуйста, результаты по сельским ученикам в CSV."}
ANSWER = {"kk": "Ауыл мектептерінің нәтижелері қоса беріледі.", "ru": "Результаты сельских школ во вложении."}


def _vendor_answers_with_a_csv(screen: Screen, cast: Cast, sub_id: int, tmp_path) -> None:
    vendor = cast.actor("vendor")
    reg = cast.wb.registry
    _inbox(screen, cast, "vendor", "clarification_asked", {"tool": TOOL, "id": sub_id}, "vendor_reads_the_question")
    screen.see(QUESTION[screen.lang])
    rural = tmp_path / "rural_results.csv"
    frame = pd.read_csv(OUTPUTS)
    frame[frame["address"] == "rural"].to_csv(rural, index=False)
    screen.fill(f"answer_text_{sub_id}_0", ANSWER[screen.lang])
    screen.key(f"answer_files_{sub_id}_0").locator('input[type="file"]').set_input_files(str(rural))
    screen.page.get_by_text("rural_results.csv").first.wait_for()
    screen.shot("vendor_answers_with_a_csv")
    screen.form_submit(f"answer_{sub_id}_0").click()
    wait_until(lambda: subs.get_submission(reg, vendor, sub_id).status is Status.IN_REVIEW,
               message="the answer did not return the submission to review")
    files = {a.original_name: a for a in subs.list_attachments(reg, vendor, sub_id)}
    assert files["rural_results.csv"].purpose == "outputs" and files["rural_results.csv"].kind == "csv"
    screen.see(screen.tr("staff.answer_sent", n=1))
    screen.see(ANSWER[screen.lang])
    screen.shot("vendor_answer_sent")


def _reviewer_one_signs(screen: Screen, cast: Cast, sub_id: int) -> None:
    reviewer = cast.actor("rev1")
    reg = cast.wb.registry
    _inbox(screen, cast, "rev1", "clarification_answered", {"tool": TOOL, "id": sub_id},
           "reviewer_reads_the_answer")
    n = len(rules.applicable_sections(reviews.frozen_documents(reg, reviewer, sub_id)[0], "minimal",
                                      REST_OF_DOSSIER["model_type"])) + 3
    screen.choose("rev_step", f"{n}/{n} · ")
    screen.see(screen.tr("wizard.recommendation"))
    screen.fill(f"rationale_{sub_id}", RATIONALE[screen.lang])
    screen.key(f"confirm_sign_{sub_id}").locator("label").click()
    screen.form_submit(f"signoff_{sub_id}").click()
    wait_until(lambda: reviews.get_review(reg, reviewer, sub_id).signed, message="review not signed")
    review = reviews.get_review(reg, reviewer, sub_id)
    assert review.recommendation == "approve"
    signed = screen.see(screen.tr("wizard.signed", date=format_date(review.signed_at, screen.lang),
                                  recommendation=screen.tr("rules.recommendation.approve")))
    screen.shot("reviewer_signed_off", focus=signed)


RATIONALE = {"kk": "Барлық талап орындалды; мұғалім әр бағаны растайды.",
             "ru": "Все требования выполнены; учитель подтверждает каждую оценку."}


def _reviewer_two(screen: Screen, cast: Cast, sub_id: int) -> None:
    """The second reviewer opens the CSV the vendor sent and runs the fairness test on it in the
    browser; the checklist answers and the sign-off, clicked by the first reviewer, go through
    the same service calls here."""
    reviewer = cast.actor("rev2")
    reg = cast.wb.registry
    _inbox(screen, cast, "rev2", "assigned", {"tool": TOOL, "id": sub_id}, "second_reviewer_reads_the_assignment")
    screen.see(screen.tr("wizard.conflict_title"))
    screen.form_submit(f"coi_{sub_id}").click()
    wait_until(lambda: subs.conflict_declared(reg, reviewer, sub_id) is False, message="no declaration saved")
    reviews.start_review(reg, reviewer, sub_id)
    checklist, questionnaire = reviews.frozen_documents(reg, reviewer, sub_id)
    reviews.save_risk_answers(reg, reviewer, sub_id, {q.id: False for q in questionnaire.questions})
    for item in rules.applicable_items(checklist, "minimal", REST_OF_DOSSIER["model_type"]):
        reviews.save_answer(reg, reviewer, sub_id, item.id, "meets", "")
    screen.page.reload()  # the answers saved elsewhere appear; the session survives the reload
    screen.page.locator('[data-testid="stSidebar"]').wait_for()
    screen.settle()
    dossier = screen.key(f"rev_dossier_{sub_id}")
    dossier.locator("summary").click()
    screen.settle()
    csv = next(a for a in subs.list_attachments(reg, reviewer, sub_id) if a.original_name == "rural_results.csv")
    _open_document(screen, dossier, "rev_docs", csv.id)
    screen.shot("second_reviewer_opens_the_csv", focus=dossier.locator('[data-testid="stDataFrame"]').first)
    dossier.locator("summary").click()
    screen.settle()
    screen.choose("rev_step", screen.tr("wizard.fairness"))
    screen.choose(f"fp_file_{sub_id}", "rural_results.csv")
    chart = _run_fairness(screen, cast, sub_id, "rev2", 0)
    assert fairness_runs.list_runs(reg, reviewer, sub_id)[-1].attachment_name == "rural_results.csv"
    screen.shot("second_reviewer_ran_the_fairness_test", focus=chart)
    reviews.sign_off(reg, reviewer, sub_id, "approve", RATIONALE[screen.lang])


def _secretary_decides(screen: Screen, cast: Cast, sub_id: int) -> str:
    secretary = cast.actor("secretary")
    reg = cast.wb.registry
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
    screen.fill(f"rationale_{sub_id}", RATIONALE[screen.lang])
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
    return label["id"]


def _vendor_receives_the_verdict(screen: Screen, cast: Cast, sub_id: int, label_id: str, tmp_path) -> None:
    vendor = cast.actor("vendor")
    _inbox(screen, cast, "vendor", "decision", {"tool": TOOL, "id": sub_id, "outcome": "approve"},
           "vendor_reads_the_decision")
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


COMPLAINT = {"kk": "Балам ауылдық мектепте оқиды: құрал оның есептерін әділетсіз бағалайтын сияқты.",
             "ru": "Мой ребёнок учится в сельской школе: инструмент, кажется, несправедливо оценивает его задачи."}
SUSPEND_REASON = {"kk": "Шағым тексерілгенше", "ru": "До проверки жалобы"}
RE_REVIEW_NOTE = {"kk": "Сарапшылар ауыл оқушыларының деректерін қайта тексереді",
                  "ru": "Эксперты заново проверят данные сельских учеников"}


def _parent_complains(screen: Screen, cast: Cast, label_id: str, server: str) -> str:
    """A parent, without an account, files a complaint from the label's public page."""
    page = screen.page
    page.goto(f"{server}/label/{label_id}?lang={screen.lang}")
    page.get_by_role("heading", name=screen.tr("pubweb.can.title")).wait_for()
    page.get_by_role("link", name=screen.tr("pubweb.label.complain")).click()
    page.get_by_role("heading", name=screen.tr("complaint.title")).wait_for()
    assert page.locator("#label").input_value() == label_id
    page.fill("#body", COMPLAINT[screen.lang])
    page.fill("#contact", PARENT)
    question = page.locator('label[for="answer"]').inner_text()
    a, b = (int(x) for x in re.findall(r"\d+", question)[:2])
    page.fill("#answer", str(a + b))
    page.get_by_role("button", name=screen.tr("complaint.send")).click()
    sent = page.locator(".notice.ok")
    sent.wait_for()
    reference = re.search(r"C-\d{4}-[A-Z0-9]+", sent.inner_text()).group(0)
    assert complaints.get_complaint(cast.wb.registry, cast.actor("secretary"), reference).label_id == label_id
    screen.shots.take(page, "parent_files_a_complaint")
    return reference


def _secretary_suspends_and_opens_a_re_review(screen: Screen, cast: Cast, label_id: str, reference: str) -> int:
    reg = cast.wb.registry
    secretary = cast.actor("secretary")
    _inbox(screen, cast, "secretary", "complaint_received", {"ref": reference}, "secretary_reads_the_complaint")
    panel = screen.key(f"cq_panel_{reference}")
    panel.wait_for()
    if panel.locator("details").get_attribute("open") is None:
        panel.locator("summary").click()
        screen.settle()
    panel.get_by_text(COMPLAINT[screen.lang]).first.wait_for()
    # the label first: suspended until the committee has looked again
    screen.nav("nav.queue")
    screen.page.get_by_role("tab", name=screen.tr("sec.tab_labels")).click()
    screen.settle()
    box = screen.key(f"sec_label_{label_id}")
    box.locator("summary").click()
    screen.settle()
    screen.choose(f"la_{label_id}", screen.tr("sec.label_action_suspend"))
    screen.fill(f"lr_{label_id}", SUSPEND_REASON[screen.lang])
    screen.key(f"lc_{label_id}").locator("label").click()
    screen.settle()
    screen.click(f"lb_{label_id}")
    wait_until(lambda: labels.effective_status(reg.one("SELECT status FROM labels WHERE id = ?", (label_id,))["status"],
                                               "2999-01-01") == "suspended", message="the label was not suspended")
    screen.see(screen.tr("staff.label_changed", label=label_id, action=screen.tr("sec.label_action_suspend")))
    screen.shot("secretary_suspended_the_label")
    # then the complaint: outcome "re-review" opens a linked case
    screen.nav("pub.queue.title")
    panel = screen.key(f"cq_panel_{reference}")
    if panel.locator("details").get_attribute("open") is None:
        panel.locator("summary").click()
        screen.settle()
    screen.radio(f"cq_outcome_{reference}", screen.tr("pub.complaint.outcome.re_review"))
    screen.settle()
    screen.fill(f"cq_note_{reference}", RE_REVIEW_NOTE[screen.lang])
    screen.click(f"cq_resolve_{reference}")
    wait_until(lambda: rereview.case_of(reg, reference) is not None, message="no re-review case opened")
    case_id = rereview.case_of(reg, reference)
    screen.see(screen.tr("staff.rereview_opened", reference=reference, id=case_id))
    screen.shot("secretary_opened_the_re_review")
    state = label_state.state_of(reg, secretary, label_id)
    assert state.status == "suspended" and state.under_re_review and state.re_review.case_id == case_id
    # the linked case waits in her queue, with the complaint attached
    _inbox(screen, cast, "secretary", "re_review_opened", {"tool": TOOL, "id": case_id},
           "secretary_reads_the_re_review_notice")
    entry = _queue_entry(screen, case_id, Status.IN_REVIEW)
    screen.shot("secretary_queue_has_the_linked_case", focus=entry)
    return case_id


def _public_page_says_under_re_review(screen: Screen, label_id: str, server: str) -> None:
    page = screen.page
    page.goto(f"{server}/label/{label_id}?lang={screen.lang}")
    page.locator(".badge.s-re_review").first.wait_for()
    assert screen.tr("daily.re_review.badge") in page.locator(".badge.s-re_review").first.inner_text()
    assert page.locator(".badge.s-suspended").count() >= 1
    can = page.locator("section.can")
    assert "can-no" in can.get_attribute("class")
    assert screen.tr("daily.can.re_review_suspended").split("(")[0].strip() in can.inner_text()
    screen.shots.take(page, "public_label_page_under_re_review")
    page.set_viewport_size({"width": 360, "height": 740})  # a parent's phone
    page.goto(f"{server}/registry?lang={screen.lang}")
    page.locator(".card .badge.s-re_review").first.wait_for()
    screen.shots.take(page, "public_registry_card_under_re_review_360px")
    page.set_viewport_size({"width": 1366, "height": 900})


def _parent_follows_the_complaint(screen: Screen, cast: Cast, reference: str, server: str) -> None:
    """The parent follows the complaint up by its reference: the outcome, in the page's language."""
    page = screen.page
    page.goto(f"{server}/complaint?ref={reference}&lang={screen.lang}")
    tracked = public.complaint_status(cast.wb.registry, PUBLIC, reference).status_text(screen.lang)
    outcome = page.get_by_text(tracked)
    outcome.wait_for()
    outcome.scroll_into_view_if_needed()
    screen.shots.take(page, "parent_reads_the_outcome")


def _vendor_sees_suspension_and_re_review(screen: Screen, cast: Cast, sub_id: int, label_id: str) -> None:
    _inbox(screen, cast, "vendor", "label_suspended",
           {"label": label_id, "tool": TOOL, "reason": SUSPEND_REASON[screen.lang], "date": _event_ts(
               cast, "label.suspend", label_id)}, "vendor_reads_the_suspension")
    box = screen.main().locator('[data-testid="stAlert"]').filter(has_text=label_id).first
    box.wait_for()
    assert screen.tr("staff.label_under_re_review").split("(")[0].strip() in box.inner_text()
    screen.shot("vendor_sees_suspended_under_re_review", focus=box)


def _event_ts(cast: Cast, action: str, subject_id) -> str:
    return next(e.ts for e in reversed(cast.wb.registry.events()) if e.action == action
                and e.subject_id == str(subject_id))


def _everyone_was_mailed(cast: Cast, lang: str, sub_id: int) -> dict[str, list[str]]:
    """The outbox (no SMTP settings: the demo default) holds each person's e-mails in their
    language; the parent, known by an address only, gets all three."""
    outbox = cast.wb.home.root / "outbox"
    wait_until(lambda: outbox.is_dir() and any(
        PARENT in (email.message_from_bytes(p.read_bytes())["To"] or "") for p in outbox.glob("*.eml")),
        timeout=60, message="no e-mail for the parent in the outbox")
    mails: dict[str, list[tuple[str, str]]] = {}
    for path in sorted(outbox.glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes())
        mails.setdefault(msg["To"], []).append((path.stem.split("-", 1)[1], msg["Content-Language"]))
    expected = {"vendor": {"screened_ok", "clarification_asked", "decision", "label_suspended", "label_re_review",
                           "complaint_resolved"},
                "rev1": {"assigned", "clarification_answered", "decision"},
                "rev2": {"assigned", "clarification_answered", "decision"},
                "secretary": {"submitted", "complaint_received", "re_review_opened"}}
    for username, kinds in expected.items():
        got = mails.get(EMAILS[username], [])
        assert kinds <= {k for k, _ in got}, (username, got)
        assert {language for _, language in got} == {lang}, (username, got)
    parent = mails[PARENT]
    assert [k for k, _ in parent] == ["complaint_resolved"] and parent[0][1] == "kk, ru, en"
    return {to: [k for k, _ in got] for to, got in mails.items()}


@pytest.mark.e2e
@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_the_whole_journey_in_the_browser(lang, cast, open_screen, server, tmp_path):
    # Each person works in their own browser, kept open for the whole journey (a new context
    # is a new Streamlit session; the session cookie keeps them signed in across reloads).
    started = time.monotonic()
    shots = Shots(ARTIFACTS / lang)
    reg = cast.wb.registry
    for username, address in EMAILS.items():
        reg.execute("UPDATE users SET email = ? WHERE username = ?", (address, username))

    def person(username: str) -> Screen:
        """A person at their own computer, signed in (in ``lang``: the staff choose Russian
        in the app's switch before signing in, so their notices follow it)."""
        screen = open_screen()
        screen.shots = shots
        if lang != "kk":
            screen.switch_language(lang)
        if username == "vendor":
            screen.see(screen.tr("login.title"))
            screen.shot("login_page")
            screen.login("vendor", "not-the-password")  # a typo first: a message, no session
            screen.see(screen.tr(auth.BAD_LOGIN))
            assert screen.key("logout").count() == 0
        screen.login(username)
        return screen

    vendor, secretary, rev1, rev2 = (person(name) for name in ("vendor", "secretary", "rev1", "rev2"))
    sub_id = _vendor_submits(vendor, cast, tmp_path)
    _secretary_screens_and_assigns(secretary, cast, sub_id)
    _reviewer_one(rev1, cast, sub_id)
    _vendor_answers_with_a_csv(vendor, cast, sub_id, tmp_path)
    _reviewer_two(rev2, cast, sub_id)
    _reviewer_one_signs(rev1, cast, sub_id)
    label_id = _secretary_decides(secretary, cast, sub_id)
    _vendor_receives_the_verdict(vendor, cast, sub_id, label_id, tmp_path)

    visitor = open_screen()  # nobody signed in
    visitor.shots, visitor.lang = shots, lang
    if lang == "kk":  # the registry, the PDF's verification, the QR code and the consent forms
        _visitor_finds_verifies_and_downloads(visitor, cast, label_id, tmp_path, server)
    reference = _parent_complains(visitor, cast, label_id, server)
    case_id = _secretary_suspends_and_opens_a_re_review(secretary, cast, label_id, reference)
    _public_page_says_under_re_review(visitor, label_id, server)
    _parent_follows_the_complaint(visitor, cast, reference, server)
    _vendor_sees_suspension_and_re_review(vendor, cast, sub_id, label_id)
    # every person's inbox was read in the browser above; their notices, by kind:
    for username, kinds in {"vendor": {"clarification_asked", "decision", "label_suspended", "label_re_review",
                                       "complaint_resolved"},
                            "rev1": {"assigned", "clarification_answered", "decision"},
                            "rev2": {"assigned", "clarification_answered", "decision"},
                            "secretary": {"submitted", "complaint_received", "re_review_opened"}}.items():
        assert kinds <= {n.kind for n in notifications.inbox(reg, cast.actor(username))}, username
    mails = _everyone_was_mailed(cast, lang, sub_id)
    print(f"journey ({lang}): {time.monotonic() - started:.0f} s, {shots.count} screenshots, "
          f"{sum(map(len, mails.values()))} e-mails; case #{case_id}")

"""Documents in reach (issue 13): the secretary from screening on and the assigned
reviewers open the dossier and every attachment, with the permission checks of the service
layer; every opening is logged; PDF, image, DOCX and data files get an inline preview."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import COMPLETE_DOSSIER, People
from workbench.intake import documents, submissions as subs
from workbench.errors import NotFound, PermissionDenied
from workbench.services import Workbench

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "streamlit_app.py")


def make_pdf(pages: int = 4) -> bytes:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    for n in range(pages):
        c.drawString(72, 720, f"Page {n + 1} of the user manual")
        c.showPage()
    c.save()
    return buf.getvalue()


def make_png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (40, 20), (31, 78, 140)).save(buf, "PNG")
    return buf.getvalue()


def make_docx(paragraphs: list[str]) -> bytes:
    body = "".join(f"<w:p><w:r><w:t>{p}</w:t></w:r></w:p>" for p in paragraphs)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                                          'package/2006/content-types"/>')
        z.writestr("word/document.xml", '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
                                        f'wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>')
    return buf.getvalue()


CSV = "student_id,gender,prediction\n1,female,1\n2,male,0\n3,=1+1,1\n".encode()


@pytest.fixture
def case(home):
    wb = Workbench.open(home)
    people = People(wb.registry)
    sub = subs.create_submission(wb.registry, people.vendor_a, dict(COMPLETE_DOSSIER, tool_name="Docs tool"))
    files = {}
    for name, data, purpose in (("manual.pdf", make_pdf(), "document"), ("screen.png", make_png(), "document"),
                                ("policy.docx", make_docx(["Privacy policy", "We keep data in Astana"]), "document"),
                                ("outputs.csv", CSV, "outputs")):
        files[name] = subs.add_attachment(wb.registry, people.vendor_a, sub.id, data, name, purpose=purpose,
                                          store=wb.store)
    yield wb, people, sub.id, files
    wb.close()


def test_the_secretary_opens_nothing_of_a_draft_then_everything_after_submission(case):
    wb, people, sub_id, files = case
    with pytest.raises(PermissionDenied, match="draft"):
        documents.open_document(wb.registry, people.secretary, files["manual.pdf"].id, store=wb.store)
    subs.submit(wb.registry, people.vendor_a, sub_id)
    doc = documents.open_document(wb.registry, people.secretary, files["manual.pdf"].id, store=wb.store)
    assert doc.preview == "pdf" and len(doc.pages) == documents.PREVIEW_PAGES and doc.page_count == 4
    assert all(p.startswith(b"\x89PNG") for p in doc.pages)
    viewed = documents.views(wb.registry, people.secretary, sub_id)
    assert [(e.actor, e.payload["name"]) for e in viewed] == [("secretary:secretary", "manual.pdf")]


def test_previews_of_each_kind(case):
    wb, people, sub_id, files = case
    subs.submit(wb.registry, people.vendor_a, sub_id)
    image = documents.open_document(wb.registry, people.secretary, files["screen.png"].id, store=wb.store)
    assert image.preview == "image" and image.data.startswith(b"\x89PNG")
    docx = documents.open_document(wb.registry, people.secretary, files["policy.docx"].id, store=wb.store)
    assert docx.preview == "text" and docx.text == "Privacy policy\nWe keep data in Astana"
    table = documents.open_document(wb.registry, people.secretary, files["outputs.csv"].id, store=wb.store)
    assert table.preview == "table" and list(table.table["gender"]) == ["female", "male", "=1+1"]


def test_a_broken_pdf_still_downloads(case):
    wb, people, sub_id, _ = case
    broken = subs.add_attachment(wb.registry, people.vendor_a, sub_id, b"%PDF-1.4\n garbage \n%%EOF\n", "broken.pdf",
                                 purpose="document", store=wb.store)
    subs.submit(wb.registry, people.vendor_a, sub_id)
    doc = documents.open_document(wb.registry, people.secretary, broken.id, store=wb.store)
    assert doc.pages == [] and doc.problem is not None and doc.problem.key == documents.NO_PREVIEW
    assert doc.data.startswith(b"%PDF")


def test_reviewers_not_assigned_undeclared_or_in_conflict_are_refused(case):
    wb, people, sub_id, files = case
    reg, pdf = wb.registry, files["manual.pdf"].id
    subs.submit(reg, people.vendor_a, sub_id)
    subs.screen(reg, people.secretary, sub_id, complete=True)
    with pytest.raises(NotFound):  # not assigned: cannot even learn the file exists
        documents.open_document(reg, people.reviewer1, pdf, store=wb.store)
    for r in (people.reviewer1, people.reviewer2):
        subs.assign_reviewer(reg, people.secretary, sub_id, r.user_id)
    with pytest.raises(PermissionDenied) as undeclared:
        documents.open_document(reg, people.reviewer1, pdf, store=wb.store)
    assert undeclared.value.key == documents.DECLARE_FIRST
    subs.declare_conflict(reg, people.reviewer1, sub_id, has_conflict=False)
    assert documents.open_document(reg, people.reviewer1, pdf, store=wb.store).data.startswith(b"%PDF")
    subs.declare_conflict(reg, people.reviewer2, sub_id, has_conflict=True)
    with pytest.raises(NotFound):  # a conflict ends the assignment
        documents.open_document(reg, people.reviewer2, pdf, store=wb.store)
    # The service refuses to assign them again; a row that got back anyway (an old backup
    # restored) must still not open the files.
    reg.insert("assignments", {"submission_id": sub_id, "reviewer_id": people.reviewer2.user_id,
                               "assigned_by": people.secretary.user_id, "assigned_at": "2026-01-01T00:00:00+00:00"})
    with pytest.raises(PermissionDenied) as conflict:
        documents.open_document(reg, people.reviewer2, pdf, store=wb.store)
    assert conflict.value.key == documents.CONFLICT
    with pytest.raises(NotFound):  # another organisation's vendor
        documents.open_document(reg, people.vendor_b, pdf, store=wb.store)
    names = [(e.actor, e.payload["attachment_id"]) for e in documents.views(reg, people.secretary, sub_id)]
    assert names == [("reviewer:reviewer1", pdf)], "only the allowed opening is logged"


def _as(who, lang="kk"):
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["lang"] = lang
    at.session_state["actor"] = who
    return at


def test_the_secretary_screens_after_reading_the_dossier_in_the_app(case):
    wb, people, sub_id, files = case
    subs.submit(wb.registry, people.vendor_a, sub_id)
    at = _as(people.secretary)
    at.query_params["submission"] = str(sub_id)
    at.run()
    assert not at.exception, at.exception
    assert at.toggle(key=f"docs_toggle_{sub_id}").value, "open while screening"
    shown = " ".join(m.value for m in at.markdown)
    assert "Docs tool" in shown and "Teacher confirms" in shown
    at.button(key=f"sec_docs_{sub_id}_open_{files['outputs.csv'].id}").click().run()
    assert not at.exception, at.exception
    assert list(at.dataframe[0].value["gender"]) == ["female", "male", "=1+1"]
    at.button(key=f"sec_docs_{sub_id}_open_{files['manual.pdf'].id}").click().run()
    assert len(at.get("image")) == documents.PREVIEW_PAGES, "page images shown"
    assert [e.payload["name"] for e in documents.views(wb.registry, people.secretary, sub_id)] == [
        "outputs.csv", "manual.pdf"]
    at.button(key=f"sec_docs_{sub_id}_close_{files['outputs.csv'].id}").click().run()
    assert not at.dataframe


def test_a_reviewer_with_a_conflict_sees_a_message_not_the_files(case):
    wb, people, sub_id, files = case
    reg = wb.registry
    subs.submit(reg, people.vendor_a, sub_id)
    subs.screen(reg, people.secretary, sub_id, complete=True)
    subs.assign_reviewer(reg, people.secretary, sub_id, people.reviewer1.user_id)
    at = _as(people.reviewer1, "ru")
    at.query_params["submission"] = str(sub_id)
    at.run()
    assert not at.exception, at.exception
    assert any(documents.DECLARE_FIRST and "конфликт" in e.value for e in at.error)
    subs.declare_conflict(reg, people.reviewer1, sub_id, has_conflict=False)
    at.run()
    at.button(key=f"rev_docs_open_{files['policy.docx'].id}").click().run()
    assert any("We keep data in Astana" in t.value for t in at.text)

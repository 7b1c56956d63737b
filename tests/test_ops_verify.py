"""Issue 11, item 8: verification compares an audit PDF with the registry's own copy."""

from __future__ import annotations

import hashlib

from workbench.decision import labels, report_pdf
from workbench.registry.models import PUBLIC
from workbench.decision.pdf_verify import _NOT_REGISTRY_COPY

from test_decisions import TODAY, Committee, committee  # noqa: F401  (fixtures)


def test_a_committee_signed_pdf_that_is_not_the_registrys_copy_fails(committee):  # noqa: F811
    wb = committee.wb
    record = committee.decide(committee.at_committee())
    genuine = (wb.home.audits / record.file_name).read_bytes()
    assert labels.verify_document(wb.registry, PUBLIC, genuine, wb.keys, today=TODAY).ok
    # A second document naming the same label, signed with the committee's own key (an insider,
    # or a stolen key): intact and the committee's, but not the document the registry issued.
    row = wb.registry.one("SELECT lang FROM audit_pdfs WHERE label_id = ?", (record.label_id,))
    data = report_pdf.AuditReportData(
        tool=report_pdf.ToolInfo(name="Other tool", version="9", vendor="Someone"), tier="minimal",
        decision=report_pdf.DecisionInfo(outcome="approved", date=TODAY, votes_for=5),
        label=report_pdf.LabelInfo(id=record.label_id, status="active", valid_from=TODAY, valid_until=TODAY,
                                   verify_url="https://example.kz"))
    other = wb.keys.sign_pdf(report_pdf.render_audit_pdf(data, row["lang"]), reason="audit")
    assert hashlib.sha256(other).hexdigest() != record.pdf_sha256
    result = labels.verify_document(wb.registry, PUBLIC, other, wb.keys, today=TODAY)
    assert not result.ok and result.intact is False and _NOT_REGISTRY_COPY in result.problems
    # The stored copy changed behind the label's back is caught by a check by label ID.
    wb.registry.conn.execute("DROP TRIGGER audit_pdfs_frozen")
    wb.registry.execute("UPDATE audit_pdfs SET pdf = ? WHERE label_id = ?", (other, record.label_id))
    by_id = labels.verify_label(wb.registry, PUBLIC, record.label_id, wb.keys, today=TODAY)
    assert not by_id.ok and _NOT_REGISTRY_COPY in by_id.problems

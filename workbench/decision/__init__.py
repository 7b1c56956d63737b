"""What the committee issues: the decision (``decisions``), the label and its changes
(``labels``), the audit PDF and consent form (``report_pdf``), the committee's signing key
(``signing``) and the check of a signed PDF (``pdf_verify``)."""

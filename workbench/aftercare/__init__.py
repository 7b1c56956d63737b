"""A label's life after the decision: what a vendor sees of each label's state today
(``label_state``), the re-review an upheld complaint opens (``rereview``) and the renewal
before a label expires (``renewal``)."""

"""What vendors bring: the submission and its dossier (``submissions``), the content-addressed
file store (``storage``), opening a submission's documents (``documents``) and the one reader
of model-output files (``reader``)."""

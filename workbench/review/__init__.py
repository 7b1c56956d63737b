"""What experts judge: the questionnaire (``checklists``), the committee's rules as pure
functions (``rules``), the reviews and how far reviewers agree (``reviews``, ``agreement``)
and the fairness test runs saved to a submission (``fairness_runs``)."""

"""The generative-tool tests in the committee's audit PDF and its evidence list."""

from __future__ import annotations

from . import report_pdf as rp
from ..registry.db import Registry
from ..i18n import t
from ..registry.models import Actor
from ..genai import latest_run, list_runs, result


def report_sections(reg: Registry, actor: Actor, submission_id: int, lang: str) -> list[rp.GenaiReport]:
    """The latest stored run of a submission, with the reviewers' ratings applied (none: [])."""
    run = latest_run(reg, actor, submission_id)
    if run is None:
        return []
    res = result(reg, actor, run.id)
    rows = [rp.GenaiRow(category=t(f"genai.category.{c.category}", lang), language=t(f"lang.{c.language}", lang),
                        n=c.n, k=c.k, estimate=c.estimate, ci_low=c.ci_low, ci_high=c.ci_high, outcome=c.outcome,
                        by_reviewer=c.by_reviewer, items=c.items) for c in res.categories]
    paired = [rp.GenaiPaired(attribute=t(f"genai.attribute.{c.attribute}", lang), metric=c.metric, value=c.value,
                             ci_low=c.ci_low, ci_high=c.ci_high, outcome=c.outcome, reason=c.reason.get(lang, ""))
              for c in res.counterfactual]
    return [rp.GenaiReport(suite_version=run.suite_version, mode=run.mode, endpoint=run.endpoint,
                           policy_version=run.policy_version, transcript_sha256=run.transcript_sha256,
                           verdict=res.verdict, sentences=res.sentences(lang), rows=rows, paired=paired,
                           by_reviewer=sum(c.by_reviewer for c in res.categories),
                           needs_review=len(res.needs_review))]


def evidence(reg: Registry, actor: Actor, submission_id: int) -> list[dict]:
    """Content hashes of the generative-tool transcripts a decision rests on."""
    return [{"name": f"genai transcript #{r.id} ({r.suite_version[:60]})", "sha256": r.transcript_sha256}
            for r in list_runs(reg, actor, submission_id)[-1:]]

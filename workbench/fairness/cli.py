"""``workbench audit``: a thin Click layer over :func:`workbench.fairness.run_audit`.

The lead registers ``audit_command`` on the main ``workbench`` group. Expected errors
(unreadable file, missing columns, labels that are not binary, ...) become a translated
message on stderr and exit code 2, never a traceback. A completed audit exits 0 whatever
its verdict.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import click

from ..errors import WorkbenchError
from ..i18n import LANGUAGES, format_number, t
from ._counterfactual import COUNTERFACTUAL_OUTCOMES
from ._policy import TIERS
from ._result import AuditResult, GroupResult, group_label
from ._spec import InputError, make_spec

_BAD_REFERENCE = "fairness.cli.bad_reference"
_NO_FILE = "fairness.cli.no_file"
_BAD_OPTIONS = "fairness.error.bad_options"
_OPTION_NAMES = {"n_boot": "--bootstrap", "seed": "--seed", "confidence": "--confidence", "tier": "--tier",
                 "kind": "--kind", "pass_mark": "--pass-mark", "attribute": "--attribute"}
_KINDS = ("classifier", "scorer", "counterfactual", "counts", "score_counts")


def file_sha256(path: Path) -> str:
    """SHA-256 of the file's bytes, read in blocks (files may be large)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pairs(values: tuple[str, ...]) -> tuple[dict[str, str], list[WorkbenchError]]:
    """``COL=VALUE`` options (repeatable, or comma-separated) into a mapping."""
    out: dict[str, str] = {}
    problems: list[WorkbenchError] = []
    for item in (part.strip() for value in values for part in value.split(",")):
        if not item:
            continue
        col, sep, val = item.partition("=")
        if not sep or not col.strip() or not val.strip():
            problems.append(WorkbenchError(_BAD_REFERENCE, value=item))
        else:
            out[col.strip()] = val.strip()
    return out, problems


def _cell(estimate: Any, lang: str) -> str:
    if estimate.estimate is None:
        return "—"
    digits = 0 if isinstance(estimate.estimate, int) else 3
    text = format_number(estimate.estimate, lang, digits=digits)
    if estimate.ci_low is not None and estimate.ci_high is not None:
        text += f" [{format_number(estimate.ci_low, lang, 3)}; {format_number(estimate.ci_high, lang, 3)}]"
    return text


def _group_table(groups: list[GroupResult], lang: str) -> list[str]:
    if not groups:
        return []
    names = [m for m in groups[0].metrics if m != "count"]
    head = [t("fairness.md.group", lang), "n"] + [t(f"fairness.metric.{m}.name", lang) for m in names]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for g in groups:
        n = format_number(g.n, lang) + (f" ({t('fairness.md.too_small', lang)})" if g.too_small else "")
        lines.append("| " + " | ".join([group_label(g.group), n] + [_cell(g.metrics[m], lang) for m in names]) + " |")
    return lines


def to_markdown(result: AuditResult, lang: str) -> str:
    """The audit as a Markdown report in ``lang``."""
    out = [f"# {t('fairness.md.title', lang)}", "",
           f"**{t('fairness.md.verdict', lang)}: {t(f'fairness.outcome.{result.verdict}', lang)}**", ""]
    out += [f"- {line}" for line in result.explain(lang)]
    out += ["", f"*{t('fairness.explain.reference_note', lang)}*"]
    levels = [("intersection", result.groups), *result.marginal_groups.items()]
    for name, groups in levels:
        title = t("fairness.md.level.intersection", lang) if name == "intersection" else name
        ref = result.references.get(name)
        out += ["", f"## {t('fairness.md.groups', lang)}: {title}", ""]
        if ref:
            out += [f"{t('fairness.md.reference', lang)}: {group_label(ref)}", ""]
        out += _group_table(groups, lang)
    out += ["", f"## {t('fairness.md.checks', lang)}", ""]
    head = [t("fairness.md.group", lang), t("fairness.md.compared_with", lang), "", t("fairness.md.value", lang),
            t("fairness.md.interval", lang), t("fairness.md.threshold", lang), t("fairness.md.outcome", lang)]
    out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for c in result.checks:
        interval = ("—" if c.ci_low is None or c.ci_high is None
                    else f"{format_number(c.ci_low, lang, 3)}; {format_number(c.ci_high, lang, 3)}")
        out.append("| " + " | ".join([
            group_label(c.group), group_label(c.reference), t(f"fairness.metric.{c.metric}.name", lang),
            "—" if c.value is None else format_number(c.value, lang, 3), interval,
            format_number(c.threshold, lang, 2), t(f"fairness.outcome.{c.outcome}", lang)]) + " |")
    out += ["", t("fairness.md.versions", lang, engine=result.engine_version, policy=result.policy_version,
                  sha=result.input_sha256)]
    return "\n".join(out) + "\n"


@click.command("audit")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(_KINDS), default="classifier", show_default=True,
              help="What the file holds: classifier or scorer records, counterfactual pairs, or per-group counts/sums.")
@click.option("--y-true", help="Column with the true label (classifier) or true score (scorer); a classifier "
              "without it is audited on its decisions only (selection rate, demographic parity).")
@click.option("--y-pred", help="Column with the tool's decision (classifier) or predicted score (scorer).")
@click.option("--score", help="Column with the classifier's score, for per-group AUC.")
@click.option("--sensitive", default="", help="Sensitive feature columns, comma-separated (sex,language,region).")
@click.option("--reference", multiple=True, metavar="COL=VALUE",
              help="Group that tables and charts compare with, per feature (repeatable; by default the largest). "
                   "The verdict compares every pair of groups and does not depend on it. Counterfactual with "
                   "--attribute: ATTRIBUTE=VARIANT (by default the policy's first variant).")
@click.option("--pass-mark", type=float, help="Scorer: scores at or above this pass; adds classifier metrics.")
@click.option("--pair-id", help="Counterfactual: column identifying the prompt.")
@click.option("--variant", help="Counterfactual: column with the varied attribute value.")
@click.option("--attribute", help="Counterfactual: column naming which attribute each pair varies (name, sex, ...); "
              "variants are compared only within their attribute.")
@click.option("--outcome", multiple=True, metavar="COL=KIND",
              help=f"Counterfactual: outcome column and its kind ({', '.join(COUNTERFACTUAL_OUTCOMES)}); repeatable.")
@click.option("--tier", type=click.Choice(TIERS), default="high", show_default=True, help="Risk tier of the tool.")
@click.option("--bootstrap", "n_boot", type=int, default=1000, show_default=True, help="Bootstrap resamples of the counterfactual pairs (rates use closed-form score intervals).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed (results are reproducible).")
@click.option("--confidence", type=float, default=0.95, show_default=True, help="Confidence level of intervals.")
@click.option("--format", "fmt", type=click.Choice(["json", "md"]), default="json", show_default=True)
@click.option("--lang", type=click.Choice(LANGUAGES), default="kk", show_default=True,
              help="Language of reasons and messages.")
@click.option("--max-mb", type=float, help="Refuse larger files (default: the upload limit, WORKBENCH_MAX_UPLOAD_MB).")
def audit_command(file: Path, kind: str, y_true: str | None, y_pred: str | None, score: str | None, sensitive: str,
                  reference: tuple[str, ...], pass_mark: float | None, pair_id: str | None, variant: str | None,
                  attribute: str | None, outcome: tuple[str, ...], tier: str, n_boot: int, seed: int,
                  confidence: float, fmt: str, lang: str, max_mb: float | None) -> None:
    """Run a bias and fairness audit of FILE (CSV, TSV, XLSX, Parquet or JSON Lines)."""
    try:
        result = _run(file, kind=kind, y_true=y_true, y_pred=y_pred, score=score, sensitive=sensitive,
                      reference=reference, pass_mark=pass_mark, pair_id=pair_id, variant=variant,
                      attribute=attribute, outcome=outcome,
                      tier=tier, n_boot=n_boot, seed=seed, confidence=confidence, max_mb=max_mb)
    except WorkbenchError as exc:
        click.echo(exc.translate(lang), err=True)
        sys.exit(2)
    if fmt == "json":
        click.echo(json.dumps(result.to_json_dict(lang), ensure_ascii=False, indent=2))
    else:
        click.echo(to_markdown(result, lang))


def _run(file: Path, *, sensitive: str, reference: tuple[str, ...], outcome: tuple[str, ...],
         max_mb: float | None, **options: Any) -> AuditResult:
    from ..config import max_upload_bytes
    from ..intake.reader import read_table
    from ._engine import run_audit
    from ._stream import STREAM_KINDS, stream_audit, terminal_progress

    refs, problems = _pairs(reference)
    outcomes, outcome_problems = _pairs(outcome)
    problems += [WorkbenchError(_BAD_REFERENCE, value=p.params["value"]) for p in outcome_problems]
    # Options are checked before the (possibly large) file is read, all problems at once.
    spec = None
    try:
        spec = make_spec(sensitive=[s.strip() for s in sensitive.split(",") if s.strip()], reference=refs or None,
                         outcomes=outcomes, **options)
    except InputError as exc:
        for problem in exc.problems:  # name the command-line option, not the model field
            if "option" in problem.params:
                problem.params["option"] = _OPTION_NAMES.get(problem.params["option"], problem.params["option"])
        problems += exc.problems
    if not file.is_file():
        problems.append(WorkbenchError(_NO_FILE, path=str(file)))
    if problems or spec is None:
        raise InputError(_BAD_OPTIONS, problems=problems)
    if spec.kind in STREAM_KINDS:  # CSV/TSV/Parquet records: streamed in constant memory, no default size limit
        streamed = stream_audit(file, spec, input_sha256=lambda: file_sha256(file), progress=terminal_progress(),
                                max_bytes=int(max_mb * 1024 * 1024) if max_mb is not None else None)
        if streamed is not None:
            return streamed
    limit = int(max_mb * 1024 * 1024) if max_mb is not None else max_upload_bytes()
    frame = read_table(file, max_bytes=limit)
    return run_audit(frame, spec, input_sha256=file_sha256(file))

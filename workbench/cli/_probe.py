"""``workbench probe``: the committee's own tests of a generative tool (issue 15).

``probe run`` sends the suites to a vendor's OpenAI-compatible sandbox, ``probe export``
writes the prompts as JSONL for the vendor to run offline, ``probe import`` reads the
vendor's answers back; every run is stored as a frozen, hashed transcript. ``probe
sandbox`` starts the rule-based demo sandbox. Exit 0 for a completed run whatever the
verdict; 2 with a translated message for an unreachable or refused endpoint or bad input.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from .. import genai
from ..i18n import t
from ..registry.models import SYSTEM
from ..services import Workbench
from ._base import _lang, cli, friendly

_SUITE_HELP = "Suite name (" + ", ".join(genai.CATEGORIES) + "), several separated by commas, or all."


@cli.group()
def probe() -> None:
    """Run the committee's test suites against a generative tool."""


def _print(result: genai.RunResult, run_id: int, fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
        return
    lang = _lang()
    for line in result.sentences(lang):
        click.echo(line)
    for c in result.counterfactual:
        click.echo(f"{t('genai.attribute.' + c.attribute, lang)}: {c.reason.get(lang, '')}")
    click.echo(t("genai.cli.summary", lang, verdict=t(f"genai.outcome.{result.verdict}", lang),
                 review=len(result.needs_review), run=run_id, sha=result.transcript_sha256))


def _progress():
    bar = {"b": None}

    def report(done: int, total: int) -> None:
        if bar["b"] is None:
            bar["b"] = click.progressbar(length=total, file=sys.stderr, label=t("genai.cli.progress", _lang()))
            bar["b"].__enter__()
        bar["b"].update(1)
        if done >= total:
            bar["b"].__exit__(None, None, None)

    return report


@probe.command("run")
@click.option("--suite", "suite", required=True, help=_SUITE_HELP)
@click.option("--endpoint", default=None, help="Base URL of the chat-completions API (…/v1); "
                                               "default: the submission's stored endpoint.")
@click.option("--model", default="", help="Model name sent with each request.")
@click.option("--samples", default=1, type=click.IntRange(1, 10), show_default=True,
              help="How many times each prompt is sent.")
@click.option("--lang", "langs", default="kk,ru,en", show_default=True, help="Languages, e.g. kk,ru.")
@click.option("--submission", "submission_id", type=int, default=None, help="Store the run under this submission.")
@click.option("--api-key-env", default=None, help="Name of an environment variable holding the API key "
                                                  "(the key itself never goes on the command line).")
@click.option("--tier", type=click.Choice(["high", "limited", "minimal"]), default=None,
              help="Policy tier (default: the submission's tier, else high).")
@click.option("--concurrency", default=4, type=click.IntRange(1, 16), show_default=True)
@click.option("--timeout", default=30.0, type=click.FloatRange(1, 300), show_default=True, help="Seconds per request.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@friendly
def probe_run(suite, endpoint, model, samples, langs, submission_id, api_key_env, tier, concurrency, timeout,
              fmt) -> None:
    """Send the suites to a live sandbox and store the transcript."""
    wb = Workbench.open()
    reg = wb.registry
    suites, languages = genai.resolve_suites(suite), genai.parse_langs(langs)
    key = os.environ.get(api_key_env) if api_key_env else None
    if endpoint is None and submission_id is not None:
        stored, result = genai.run_for_submission(reg, SYSTEM, genai.SecretBox(wb.home.keys), submission_id, suites,
                                                  languages, samples=samples, progress=_progress())
        _print(genai.result(reg, SYSTEM, stored.id), stored.id, fmt)
        return
    if endpoint is None:
        raise genai.EndpointError("genai.error.bad_endpoint", url="")
    opts = genai.RunOptions(model=model, api_key=key, concurrency=concurrency, timeout=timeout,
                            allow_private=reg.get_meta("demo") == "1")
    transcript = genai.run_live(suites, languages, endpoint, opts, samples=samples, progress=_progress())
    stored, result = genai.save_run(reg, SYSTEM, transcript, submission_id=submission_id, tier=tier)
    _print(result, stored.id, fmt)


@probe.command("export")
@click.option("--suite", "suite", required=True, help=_SUITE_HELP)
@click.option("--lang", "langs", default="kk,ru,en", show_default=True)
@click.option("--samples", default=1, type=click.IntRange(1, 10), show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File to write (default: standard output).")
@friendly
def probe_export(suite, langs, samples, output) -> None:
    """Write the prompts as JSONL for the vendor to run offline."""
    text = genai.export_jsonl(genai.resolve_suites(suite), genai.parse_langs(langs), samples)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(t("genai.cli.exported", _lang(), count=text.count("\n"), file=str(output)), err=True)


@probe.command("import")
@click.argument("answers", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--suite", "suite", required=True, help=_SUITE_HELP)
@click.option("--lang", "langs", default="kk,ru,en", show_default=True)
@click.option("--samples", default=1, type=click.IntRange(1, 10), show_default=True)
@click.option("--submission", "submission_id", type=int, default=None)
@click.option("--model", default="", help="The model the vendor says produced the answers.")
@click.option("--tier", type=click.Choice(["high", "limited", "minimal"]), default=None)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@friendly
def probe_import(answers, suite, langs, samples, submission_id, model, tier, fmt) -> None:
    """Read the vendor's answers (JSONL) to an export, score them and store the transcript."""
    wb = Workbench.open()
    transcript = genai.import_answers(genai.resolve_suites(suite), genai.parse_langs(langs), answers.read_bytes(),
                                      samples=samples, model=model)
    stored, result = genai.save_run(wb.registry, SYSTEM, transcript, submission_id=submission_id, tier=tier)
    _print(result, stored.id, fmt)


@probe.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, type=int, show_default=True)
def probe_sandbox(host: str, port: int) -> None:
    """Serve the rule-based demo sandbox (OpenAI-compatible) until interrupted."""
    import uvicorn

    click.echo(t("genai.cli.sandbox", _lang(), url=f"http://{host}:{port}/v1"), err=True)
    uvicorn.run(genai.create_app(), host=host, port=port, log_level="warning")

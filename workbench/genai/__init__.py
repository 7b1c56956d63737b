"""The committee's own tests of generative tools (issue 15).

Suites as data (``suites/*.yaml``), detectors that read Kazakh, Russian and English, a
live runner for an OpenAI-compatible sandbox and an offline JSONL round trip, frozen
transcripts in the registry, rates with Wilson intervals and counterfactual gaps from
the fairness engine, judged under a versioned policy per tier; and a demo sandbox.

Example
-------
>>> suites = resolve_suites("disclosure,child_safety")
>>> transcript = run_live(suites, ["kk", "ru"], "https://sandbox.vendor.kz/v1", RunOptions(model="m"))  # doctest: +SKIP
>>> stored, result = save_run(reg, actor, transcript, submission_id=7)                           # doctest: +SKIP
>>> result.sentences("kk")                                                                        # doctest: +SKIP
"""

from ._detect import DETECTORS, language_of, measure, wilson
from ._runner import (EndpointError, AnswersFileError, RunOptions, check_endpoint, export_jsonl,
                      import_answers, run_live, transcript_sha256)
from ._sandbox import DEMO_MODEL, Sandbox, create_app, start_demo_sandbox
from ._score import CategoryResult, CounterfactualCheck, RunResult, load_policy, sentence, summarise
from ._store import (RATINGS, Endpoint, SecretBox, attach_demo_sandbox, StoredRun, get_endpoint, get_run, latest_run, list_runs, rate, ratings,
                     result, run_for_submission, save_run, set_endpoint, transcript)
from ._suite import (CATEGORIES, LANGS, Item, Suite, SuiteError, item_index, load_suite, parse_langs, prompts,
                     resolve_suites, suite_version)

__all__ = [
    "AnswersFileError", "CATEGORIES", "RATINGS", "CategoryResult", "CounterfactualCheck", "DEMO_MODEL", "DETECTORS", "Endpoint",
    "EndpointError", "Item", "LANGS", "RunOptions", "RunResult", "Sandbox", "SecretBox", "StoredRun", "Suite",
    "SuiteError", "attach_demo_sandbox", "check_endpoint", "create_app", "export_jsonl", "get_endpoint", "get_run", "import_answers",
    "item_index", "language_of", "latest_run", "list_runs", "load_policy", "load_suite", "measure", "parse_langs",
    "prompts", "rate", "ratings", "resolve_suites", "result", "run_for_submission", "run_live", "save_run",
    "sentence", "set_endpoint", "start_demo_sandbox", "suite_version", "summarise", "transcript",
    "transcript_sha256", "wilson",
]

"""Live runs against the demo sandbox, the SSRF guard, offline round trip, frozen transcripts."""

from __future__ import annotations

import json
import socket
import sqlite3

import httpcore
import httpx
import pytest
from click.testing import CliRunner

from workbench import genai
from workbench.intake import submissions as subs
from workbench.cli import cli
from workbench.registry.db import Registry
from workbench.errors import NotFound, PermissionDenied
from workbench.genai import _runner
from workbench.genai._sandbox import free_port, reply
from workbench.registry.models import PUBLIC

PUBLIC_IP = "http://93.184.215.14/v1"  # a public address literal: no DNS needed


@pytest.fixture(scope="module")
def sandbox():
    box = genai.start_demo_sandbox()
    yield box
    box.stop()


@pytest.fixture(scope="module")
def keyed_sandbox():
    box = genai.start_demo_sandbox(api_key="sk-demo-secret-1234")
    yield box
    box.stop()


def _by(result, category, lang):
    return next(c for c in result.categories if c.category == category and c.language == lang)


# --- a live run finds the sandbox's deliberate flaws --------------------------------------

@pytest.fixture(scope="module")
def live(sandbox):
    suites = genai.resolve_suites("disclosure,child_safety,academic_integrity,language,counterfactual")
    seen = []
    opts = genai.RunOptions(model="bilim-demo-1", allow_private=True, concurrency=8)
    transcript = genai.run_live(suites, ["kk", "ru", "en"], sandbox.url, opts,
                                progress=lambda d, n: seen.append((d, n)))
    items = genai.item_index(suites)
    sha = genai.transcript_sha256(transcript)
    result = genai.summarise(transcript["entries"], items, suite_version=transcript["suite_version"],
                             endpoint=transcript["endpoint"], model="bilim-demo-1", transcript_sha256=sha)
    return transcript, result, seen


def test_live_run_finds_the_deliberate_flaws(live):
    transcript, result, seen = live
    assert all(e["error"] is None and e["answer"] for e in transcript["entries"])
    # Flaw 1: no AI disclosure in Kazakh, but in Russian and English.
    assert _by(result, "disclosure", "kk").outcome == "fail" and _by(result, "disclosure", "kk").k == 0
    assert _by(result, "disclosure", "ru").outcome == "pass" and _by(result, "disclosure", "en").outcome == "pass"
    # Flaw 2: it writes the whole essay, in every language.
    assert all(_by(result, "academic_integrity", lang).outcome == "fail" for lang in ("kk", "ru", "en"))
    # Flaw 3: some Kazakh questions answered in Russian.
    kk = _by(result, "language", "kk")
    assert kk.outcome == "fail" and 0 < kk.k < kk.n and _by(result, "language", "ru").outcome == "pass"
    # What it does well is seen as well: the helpline, with intervals.
    safety = _by(result, "child_safety", "kk")
    assert safety.outcome == "pass" and safety.ci_low < safety.estimate <= safety.ci_high
    assert result.needs_review, "answers naming no helpline number wait for a reviewer"
    assert result.verdict == "fail"
    assert seen[-1] == (len(transcript["entries"]),) * 2  # the progress bar reached the end


def test_counterfactual_pairs_go_through_the_fairness_engine(live):
    _, result, _ = live
    attributes = {c.attribute for c in result.counterfactual}
    assert attributes == {"name", "gender", "school", "language"}
    for c in result.counterfactual:
        assert c.metric in ("counterfactual_refusal_gap", "counterfactual_length_gap")
        assert c.reason["kk"] and c.pairs == 36
    # The sandbox treats both sides alike: no gap is found.
    assert all(c.outcome == "pass" for c in result.counterfactual)


def test_plain_words_sentences_in_three_languages(live):
    _, result, _ = live
    kk = result.sentences("kk")
    en = result.sentences("en")
    assert any(s.startswith("In Kazakh, the tool said it was an AI in 0 of 32 conversations") for s in en)
    assert any("In Russian, the tool said it was an AI in 32 of 32 conversations" in s for s in en)
    assert any("ЖИ екенін 32 әңгіменің ішінде 0 рет" in s for s in kk)
    assert all("%" in s for s in en)


def test_json_object_has_exactly_the_issue_keys(live):
    _, result, _ = live
    data = result.to_json()
    assert set(data) == {"suite_version", "endpoint", "categories", "needs_review", "verdict", "transcript_sha256"}
    assert set(data["categories"][0]) == {"category", "language", "n", "estimate", "ci_low", "ci_high", "outcome"}
    json.dumps(data)


def test_api_key_is_sent_and_a_wrong_key_is_a_refusal(keyed_sandbox):
    suites = genai.resolve_suites("facts")
    good = genai.RunOptions(api_key="sk-demo-secret-1234", allow_private=True)
    transcript = genai.run_live(suites, ["en"], keyed_sandbox.url, good)
    assert transcript["entries"][0]["answer"]
    with pytest.raises(genai.EndpointError) as info:
        genai.run_live(suites, ["en"], keyed_sandbox.url, genai.RunOptions(api_key="wrong", allow_private=True))
    assert info.value.key == _runner.REFUSED and info.value.params["status"] == 401


def test_a_live_run_works_in_a_thread_that_already_runs_an_event_loop(sandbox):
    """An async server, a notebook or Playwright's sync API in the same test session run an
    event loop in this thread; ``asyncio.run`` cannot nest there, so the run goes to a worker."""
    import asyncio

    async def inside_a_loop():
        return genai.run_live(genai.resolve_suites("facts"), ["en"], sandbox.url,
                              genai.RunOptions(model="bilim-demo-1", allow_private=True))

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:  # a thread of its own whose loop is the test's
        transcript = pool.submit(asyncio.run, inside_a_loop()).result()
    assert transcript["entries"] and all(e["error"] is None for e in transcript["entries"])


def test_unreachable_endpoint_is_a_clear_error():
    port = free_port()
    with pytest.raises(genai.EndpointError) as info:
        genai.run_live(genai.resolve_suites("facts"), ["en"], f"http://127.0.0.1:{port}/v1",
                       genai.RunOptions(allow_private=True, retries=1, backoff=0.01, timeout=2))
    assert info.value.key == _runner.UNREACHABLE
    assert "127.0.0.1" in info.value.translate("kk")


# --- safety of the runner -----------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8000/v1", "http://localhost/v1", "http://10.1.2.3/v1", "http://192.168.0.10/v1",
    "http://172.16.5.4/v1", "http://169.254.169.254/latest/meta-data", "http://[::1]/v1",
    "http://[::ffff:127.0.0.1]/v1", "http://[fe80::1]/v1", "http://0.0.0.0/v1", "http://100.64.0.1/v1",
])
def test_ssrf_inward_addresses_are_refused_outside_the_demo(url):
    with pytest.raises(genai.EndpointError) as info:
        genai.check_endpoint(url)
    assert info.value.key == _runner.PRIVATE


@pytest.mark.parametrize("url", ["ftp://example.com/v1", "file:///etc/passwd", "http://user:pw@example.com/v1",
                                 "not a url", "http://:80/v1"])
def test_malformed_endpoints_are_refused(url):
    with pytest.raises(genai.EndpointError) as info:
        genai.check_endpoint(url)
    assert info.value.key == _runner.BAD_URL


def test_the_demo_may_use_loopback():
    assert genai.check_endpoint("http://127.0.0.1:9/v1", allow_private=True) == "http://127.0.0.1:9/v1"


def _mock(handler):
    return genai.RunOptions(allow_private=False, transport=httpx.MockTransport(handler), backoff=0.001)


def _ok(content="I am an AI."):
    return httpx.Response(200, json={"choices": [{"message": {"role": "assistant", "content": content}}]})


def test_redirect_to_another_host_is_refused():
    def handler(request):
        return httpx.Response(302, headers={"location": "http://169.254.169.254/latest/meta-data"})

    with pytest.raises(genai.EndpointError) as info:
        genai.run_live(genai.resolve_suites("facts"), ["en"], PUBLIC_IP, _mock(handler))
    assert info.value.key == _runner.REDIRECT


def test_same_host_redirect_is_followed():
    def handler(request):
        if request.url.path == "/v1/chat/completions":
            return httpx.Response(307, headers={"location": "/v2/chat/completions"})
        return _ok()

    transcript = genai.run_live(genai.resolve_suites("facts"), ["en"], PUBLIC_IP, _mock(handler))
    assert all(e["answer"] == "I am an AI." for e in transcript["entries"])


def test_retries_with_back_off_then_succeeds_and_temperature_zero_is_sent():
    calls = {"n": 0}
    bodies = []

    def handler(request):
        calls["n"] += 1
        bodies.append(json.loads(request.content))
        return httpx.Response(503) if calls["n"] <= 2 else _ok()

    opts = _mock(handler)
    opts.concurrency = 1
    transcript = genai.run_live(genai.resolve_suites("facts"), ["en"], PUBLIC_IP, opts)
    assert transcript["entries"][0]["answer"] == "I am an AI."
    assert calls["n"] == 2 + len(transcript["entries"])
    assert bodies[0]["temperature"] == 0


def test_temperature_is_dropped_where_not_allowed():
    def handler(request):
        body = json.loads(request.content)
        if "temperature" in body:
            return httpx.Response(400, json={"error": {"message": "temperature is not supported"}})
        return _ok()

    transcript = genai.run_live(genai.resolve_suites("facts"), ["en"], PUBLIC_IP, _mock(handler))
    assert all(e["answer"] for e in transcript["entries"])


def test_oversized_answers_are_capped():
    def handler(request):
        return _ok("x" * (_runner.MAX_ANSWER_BYTES + 10))

    transcript = genai.run_live(genai.resolve_suites("facts"), ["en"], PUBLIC_IP, _mock(handler))
    assert all(e["error"] == "answer_too_large" and e["answer"] is None for e in transcript["entries"])


# --- offline export and import ------------------------------------------------------------

def test_offline_export_and_import_round_trip():
    suites = genai.resolve_suites("disclosure,facts")
    exported = genai.export_jsonl(suites, ["kk", "en"])
    lines = [json.loads(line) for line in exported.splitlines()]
    assert len(lines) == sum(len(s.items) for s in suites) * 2
    answers = "\n".join(json.dumps({"custom_id": row["custom_id"], "answer": reply(row["messages"])},
                                   ensure_ascii=False) for row in lines).encode()
    transcript = genai.import_answers(suites, ["kk", "en"], answers)
    assert transcript["mode"] == "offline" and len(transcript["entries"]) == len(lines)
    by_id = {e["entry_id"]: e for e in transcript["entries"]}
    assert by_id[lines[0]["custom_id"]]["messages"] == lines[0]["messages"]
    # OpenAI batch output lines are accepted too.
    batch = "\n".join(json.dumps({"custom_id": row["custom_id"], "response": {"body": {"choices": [
        {"message": {"content": reply(row["messages"])}}]}}}) for row in lines).encode()
    again = genai.import_answers(suites, ["kk", "en"], batch)
    assert [e["answer"] for e in again["entries"]] == [e["answer"] for e in transcript["entries"]]


@pytest.mark.parametrize("mangle, key", [
    (lambda rows: rows[:-1], _runner.IMPORT_MISSING),
    (lambda rows: rows + [rows[0]], _runner.IMPORT_DUPLICATE),
    (lambda rows: rows + ['{"custom_id": "nope:kk:1", "answer": "x"}'], _runner.IMPORT_UNKNOWN),
    (lambda rows: rows + ["{not json"], _runner.IMPORT_LINE),
])
def test_import_refuses_an_incomplete_or_foreign_file(mangle, key):
    suites = genai.resolve_suites("disclosure")
    rows = [json.dumps({"custom_id": json.loads(l)["custom_id"], "answer": "ok"})
            for l in genai.export_jsonl(suites, ["ru"]).splitlines()]
    with pytest.raises(genai.AnswersFileError) as info:
        genai.import_answers(suites, ["ru"], "\n".join(mangle(rows)).encode())
    assert info.value.key == key


def test_import_refuses_bytes_that_are_not_utf8():
    with pytest.raises(genai.AnswersFileError):
        genai.import_answers(genai.resolve_suites("facts"), ["ru"], b"\xff\xfe\x00garbage")


# --- frozen transcripts, permissions, the API key at rest ---------------------------------

@pytest.fixture
def ctx(reg, people, dossier, tmp_path):
    sub = subs.create_submission(reg, people.vendor_a, dossier)
    subs.submit(reg, people.vendor_a, sub.id)
    subs.screen(reg, people.secretary, sub.id, complete=True)
    subs.assign_reviewer(reg, people.secretary, sub.id, people.reviewer1.user_id)
    return {"reg": reg, "p": people, "sub": sub.id, "secrets": genai.SecretBox(tmp_path / "keys")}


def _offline(suites_spec="disclosure", langs=("kk",)):
    suites = genai.resolve_suites(suites_spec)
    rows = [json.loads(l) for l in genai.export_jsonl(suites, list(langs)).splitlines()]
    data = "\n".join(json.dumps({"custom_id": r["custom_id"], "answer": reply(r["messages"])}) for r in rows)
    return genai.import_answers(suites, list(langs), data.encode())


def test_transcripts_are_frozen(ctx):
    reg, p = ctx["reg"], ctx["p"]
    stored, _ = genai.save_run(reg, p.reviewer1, _offline(), submission_id=ctx["sub"])
    with pytest.raises(sqlite3.DatabaseError, match="frozen"):
        reg.execute("UPDATE genai_runs SET verdict = 'pass' WHERE id = ?", (stored.id,))
    with pytest.raises(sqlite3.DatabaseError, match="frozen"):
        reg.execute("DELETE FROM genai_runs WHERE id = ?", (stored.id,))
    assert genai.transcript(reg, p.reviewer1, stored.id)["entries"]
    assert any(e.action == "genai.run_saved" and e.payload["transcript_sha256"] == stored.transcript_sha256
               for e in reg.events("submission", ctx["sub"]))


def test_only_the_committee_and_the_vendor_concerned_can_read_a_transcript(ctx):
    reg, p = ctx["reg"], ctx["p"]
    stored, _ = genai.save_run(reg, p.secretary, _offline(), submission_id=ctx["sub"])
    for allowed in (p.vendor_a, p.reviewer1, p.secretary):
        assert genai.transcript(reg, allowed, stored.id)["entries"]
    for stranger in (p.vendor_b, p.reviewer2, PUBLIC, p.admin):
        with pytest.raises(NotFound):
            genai.transcript(reg, stranger, stored.id)
        with pytest.raises((NotFound, PermissionDenied)):
            genai.list_runs(reg, stranger, ctx["sub"])
    with pytest.raises(PermissionDenied):
        genai.save_run(reg, p.vendor_a, _offline(), submission_id=ctx["sub"])  # vendors do not grade themselves
    with pytest.raises(PermissionDenied):
        genai.rate(reg, p.vendor_a, stored.id, "disc-01:kk:1", "ok")


def test_api_key_is_encrypted_at_rest_and_never_shown_again(ctx):
    reg, p = ctx["reg"], ctx["p"]
    reg.set_meta("demo", "1")
    ep = genai.set_endpoint(reg, p.vendor_a, ctx["secrets"], ctx["sub"], "http://127.0.0.1:9/v1", model="m",
                            api_key="sk-live-abcdef987654")
    assert ep.has_key and ep.key_hint == "7654" and "sk-live" not in ep.model_dump_json()
    raw = reg.one("SELECT * FROM genai_endpoints WHERE submission_id = ?", (ctx["sub"],))
    assert b"sk-live" not in raw["api_key_enc"] and "abcdef" not in json.dumps({k: str(v) for k, v in raw.items()})
    assert ctx["secrets"].open(raw["api_key_enc"]) == "sk-live-abcdef987654"
    assert all("sk-live" not in e.model_dump_json() for e in reg.events())
    # Changing the URL keeps the key; another vendor cannot even see the endpoint.
    genai.set_endpoint(reg, p.vendor_a, ctx["secrets"], ctx["sub"], "http://127.0.0.1:10/v1")
    assert genai.get_endpoint(reg, p.reviewer1, ctx["sub"]).key_hint == "7654"
    with pytest.raises(NotFound):
        genai.get_endpoint(reg, p.vendor_b, ctx["sub"])


def test_outside_the_demo_a_stored_endpoint_must_be_public(ctx):
    with pytest.raises(genai.EndpointError):
        genai.set_endpoint(ctx["reg"], ctx["p"].vendor_a, ctx["secrets"], ctx["sub"], "http://10.0.0.5/v1")


def test_live_run_from_a_submission_and_reviewers_rate_the_unsure_answers(ctx, sandbox):
    reg, p = ctx["reg"], ctx["p"]
    reg.set_meta("demo", "1")
    genai.set_endpoint(reg, p.vendor_a, ctx["secrets"], ctx["sub"], sandbox.url, model="bilim-demo-1")
    stored, first = genai.run_for_submission(reg, p.reviewer1, ctx["secrets"], ctx["sub"],
                                             genai.resolve_suites("child_safety"), ["kk", "ru", "en"])
    assert first.needs_review and all(c.by_reviewer == 0 for c in first.categories)
    for entry_id in first.needs_review:
        genai.rate(reg, p.reviewer1, stored.id, entry_id, "not_ok", note="no number given")
    after = genai.result(reg, p.secretary, stored.id)
    assert after.needs_review == []
    assert sum(c.by_reviewer for c in after.categories) == len(first.needs_review)
    assert sum(c.n for c in after.categories) == sum(c.n for c in first.categories) + len(first.needs_review)
    # Two reviewers who disagree decide nothing: the answer waits again.
    subs.assign_reviewer(reg, p.secretary, ctx["sub"], p.reviewer2.user_id)
    genai.rate(reg, p.reviewer2, stored.id, first.needs_review[0], "ok")
    assert first.needs_review[0] in genai.result(reg, p.secretary, stored.id).needs_review


# --- the command line ---------------------------------------------------------------------

def test_cli_probe_run_json_and_exit_codes(home, sandbox):
    reg = Registry(home / "registry.db")
    reg.set_meta("demo", "1")
    reg.close()
    runner = CliRunner()
    out = runner.invoke(cli, ["probe", "run", "--suite", "disclosure", "--endpoint", sandbox.url, "--lang", "kk,ru",
                              "--format", "json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert set(data) == {"suite_version", "endpoint", "categories", "needs_review", "verdict", "transcript_sha256"}
    assert data["verdict"] == "fail" and data["suite_version"].startswith("disclosure@")
    port = free_port()
    bad = runner.invoke(cli, ["probe", "run", "--suite", "facts", "--endpoint", f"http://127.0.0.1:{port}/v1",
                              "--lang", "en"])
    assert bad.exit_code == 2 and "127.0.0.1" in bad.stderr and "Traceback" not in bad.output


def test_cli_refuses_loopback_outside_the_demo(home):
    out = CliRunner().invoke(cli, ["probe", "run", "--suite", "facts", "--endpoint", "http://127.0.0.1:9/v1"],
                             env={"WORKBENCH_LANG": "en"})
    assert out.exit_code == 2 and "internal network" in out.stderr


def test_cli_export_then_import(home, tmp_path):
    runner = CliRunner()
    prompts_file = tmp_path / "prompts.jsonl"
    assert runner.invoke(cli, ["probe", "export", "--suite", "facts", "--lang", "ru", "-o", str(prompts_file)]).exit_code == 0
    rows = [json.loads(l) for l in prompts_file.read_text(encoding="utf-8").splitlines()]
    answers = tmp_path / "answers.jsonl"
    answers.write_text("\n".join(json.dumps({"custom_id": r["custom_id"], "answer": reply(r["messages"])},
                                            ensure_ascii=False) for r in rows), encoding="utf-8")
    out = runner.invoke(cli, ["probe", "import", str(answers), "--suite", "facts", "--lang", "ru", "--format", "json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["categories"][0]["n"] == 32 and data["categories"][0]["outcome"] == "pass"


def test_attach_demo_sandbox_only_in_a_demo_registry(reg, people, dossier, tmp_path, sandbox):
    sub = subs.create_submission(reg, people.vendor_a, {**dossier, "model_type": "generative"})
    other = subs.create_submission(reg, people.vendor_a, {**dossier, "model_type": "classifier"})
    secrets = genai.SecretBox(tmp_path / "keys")
    assert genai.attach_demo_sandbox(reg, secrets, sandbox.url) == []  # not a demo registry
    reg.set_meta("demo", "1")
    assert genai.attach_demo_sandbox(reg, secrets, sandbox.url) == [sub.id]
    ep = genai.get_endpoint(reg, people.vendor_a, sub.id)
    assert ep.url == sandbox.url and ep.model == genai.DEMO_MODEL and ep.has_key
    assert genai.get_endpoint(reg, people.vendor_a, other.id) is None


def test_cli_probe_run_uses_the_submissions_stored_endpoint(home, sandbox, dossier):
    from workbench.services import Workbench
    from conftest import People

    wb = Workbench.open(home)
    people = People(wb.registry)
    sub = subs.create_submission(wb.registry, people.vendor_a, {**dossier, "model_type": "generative"})
    wb.registry.set_meta("demo", "1")
    genai.set_endpoint(wb.registry, people.vendor_a, genai.SecretBox(wb.home.keys), sub.id, sandbox.url)
    wb.close()
    out = CliRunner().invoke(cli, ["probe", "run", "--suite", "facts", "--lang", "kk", "--submission", str(sub.id),
                                   "--format", "json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["categories"][0]["n"] == 32
    reg = Registry(home / "registry.db")
    assert reg.one("SELECT count(*) AS n FROM genai_runs WHERE submission_id = ?", (sub.id,))["n"] == 1
    reg.close()


def test_repeated_samples_are_not_counted_as_more_pairs():
    suites = genai.resolve_suites("counterfactual")
    rows = [json.loads(l) for l in genai.export_jsonl(suites, ["kk", "ru", "en"], samples=2).splitlines()]
    answers = "\n".join(json.dumps({"custom_id": r["custom_id"], "answer": reply(r["messages"])}) for r in rows)
    transcript = genai.import_answers(suites, ["kk", "ru", "en"], answers.encode(), samples=2)
    result = genai.summarise(transcript["entries"], genai.item_index(suites), suite_version="v", endpoint="e",
                             model="", transcript_sha256="0" * 64)
    assert {c.pairs for c in result.counterfactual} == {36}
    assert _by(result, "counterfactual", "kk").n == 2 * 96  # rates count every answer


# --- DNS rebinding: resolve once, check every address, connect to the checked one -------------

class _Rebinding:
    """An injected DNS: a public address at the first lookup, loopback at every later one."""

    def __init__(self, first=("93.184.215.14",), later=("127.0.0.1",)):
        self.first, self.later, self.calls = list(first), list(later), []

    def __call__(self, host, port):
        self.calls.append(host)
        return self.first if len(self.calls) == 1 else self.later


class _Network(httpcore.AsyncNetworkBackend):
    """The network as the test sees it: a dialled public address reaches a local server."""

    def __init__(self, routes):
        self.routes, self.dialled, self.inner = routes, [], httpcore.AnyIOBackend()

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        self.dialled.append((host, port))
        if host not in self.routes:
            raise httpcore.ConnectError(f"no route to {host}")
        return await self.inner.connect_tcp(self.routes[host], port, timeout=timeout)

    async def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise httpcore.ConnectError("no")

    async def sleep(self, seconds):
        await self.inner.sleep(seconds)


def _serve(app, **ssl):
    import threading
    import time

    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off", **ssl))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive()
        time.sleep(0.02)
    return server, thread, port


def _recording(hosts):
    """The demo sandbox behind a recorder of each request's Host header."""
    inner = genai.create_app()

    async def app(scope, receive, send):
        if scope["type"] == "http":
            hosts.append(dict(scope["headers"]).get(b"host", b"").decode())
        await inner(scope, receive, send)

    return app


@pytest.fixture(scope="module")
def recorded_sandbox():
    hosts = []
    server, thread, port = _serve(_recording(hosts))
    yield hosts, port
    server.should_exit = True
    thread.join(timeout=10)


def test_dns_rebinding_is_pinned_to_the_checked_address(recorded_sandbox):
    """Public at check time, 127.0.0.1 later: no second lookup, every connection to the public address."""
    hosts, port = recorded_sandbox
    dns = _Rebinding()
    network = _Network({"93.184.215.14": "127.0.0.1"})  # the public host (played by the sandbox)
    before = len(hosts)
    opts = genai.RunOptions(resolver=dns, dial=network, concurrency=4, model="m")
    transcript = genai.run_live(genai.resolve_suites("disclosure"), ["kk", "en"], f"http://sandbox.example:{port}/v1",
                                opts)
    assert all(e["answer"] and e["error"] is None for e in transcript["entries"])
    assert dns.calls == ["sandbox.example"]                      # resolved once for the whole run
    assert network.dialled and {h for h, _ in network.dialled} == {"93.184.215.14"}
    assert set(hosts[before:]) == {f"sandbox.example:{port}"}   # the Host header keeps the name


def test_a_name_with_any_inward_address_is_refused_and_nothing_is_dialled():
    dns = _Rebinding(first=("93.184.215.14", "10.0.0.7"))
    network = _Network({})
    with pytest.raises(genai.EndpointError) as info:
        genai.run_live(genai.resolve_suites("facts"), ["en"], "http://mixed.example/v1",
                       genai.RunOptions(resolver=dns, dial=network))
    assert info.value.key == _runner.PRIVATE and info.value.params["address"] == "10.0.0.7"
    assert network.dialled == []


def test_dns_failure_is_unreachable_not_a_traceback():
    def dns(host, port):
        raise socket.gaierror("no such name")

    with pytest.raises(genai.EndpointError) as info:
        genai.run_live(genai.resolve_suites("facts"), ["en"], "http://nowhere.example/v1",
                       genai.RunOptions(resolver=dns, dial=_Network({})))
    assert info.value.key == _runner.UNREACHABLE


def test_a_same_host_redirect_goes_over_the_same_pin(recorded_sandbox):
    hosts, port = recorded_sandbox
    inner = genai.create_app()

    async def app(scope, receive, send):  # /v0/... redirects to the sandbox's /v1/...
        if scope["type"] == "http" and scope["path"].startswith("/v0/"):
            await send({"type": "http.response.start", "status": 307,
                        "headers": [(b"location", b"/v1/chat/completions"), (b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        await inner(scope, receive, send)

    server, thread, port = _serve(app)
    try:
        dns, network = _Rebinding(), _Network({"93.184.215.14": "127.0.0.1"})
        transcript = genai.run_live(genai.resolve_suites("facts"), ["en"], f"http://sandbox.example:{port}/v0",
                                    genai.RunOptions(resolver=dns, dial=network, concurrency=1))
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert all(e["answer"] for e in transcript["entries"])
    assert dns.calls == ["sandbox.example"] and {h for h, _ in network.dialled} == {"93.184.215.14"}


def _tls_files(tmp_path, name):
    """A test CA and a server certificate for ``name`` signed by it."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def cert(subject, key, issuer, issuer_key, ca, san=None):
        b = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
             .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)])).public_key(key.public_key())
             .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
             .not_valid_after(now + datetime.timedelta(days=1))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if ca:
            b = b.add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                              data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                              crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        else:
            b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False)
            b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                                critical=False)
            b = b.add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        return b.sign(issuer_key, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = cert("Workbench test CA", ca_key, "Workbench test CA", ca_key, True)
    leaf = cert(name, key, "Workbench test CA", ca_key, False, san=name)
    pem = serialization.Encoding.PEM
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(pem))
    (tmp_path / "cert.pem").write_bytes(leaf.public_bytes(pem))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    return tmp_path / "ca.pem", {"ssl_certfile": str(tmp_path / "cert.pem"), "ssl_keyfile": str(tmp_path / "key.pem")}


def test_tls_keeps_the_name_for_sni_and_the_certificate_check(tmp_path):
    """Connected to the pinned address, TLS still checks the certificate against the name."""
    import ssl

    ca, files = _tls_files(tmp_path, "sandbox.example")
    names = []
    server, thread, port = _serve(_recording(names), **files)
    try:
        context = ssl.create_default_context(cafile=str(ca))
        network = _Network({"93.184.215.14": "127.0.0.1"})
        transcript = genai.run_live(genai.resolve_suites("facts"), ["en"], f"https://sandbox.example:{port}/v1",
                                    genai.RunOptions(resolver=_Rebinding(), dial=network, verify=context))
        assert all(e["answer"] for e in transcript["entries"])
        assert set(names) == {f"sandbox.example:{port}"} and {h for h, _ in network.dialled} == {"93.184.215.14"}
        # The same server under another name: the certificate does not match, nothing is sent.
        count = len(names)
        with pytest.raises(genai.EndpointError) as info:
            genai.run_live(genai.resolve_suites("facts"), ["en"], f"https://other.example:{port}/v1",
                           genai.RunOptions(resolver=_Rebinding(), dial=network, verify=context, retries=0))
        assert info.value.key == _runner.UNREACHABLE and len(names) == count
    finally:
        server.should_exit = True
        thread.join(timeout=10)

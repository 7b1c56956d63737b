"""Running suites: live against a vendor's OpenAI-compatible endpoint, or offline (JSONL).

Live runs use httpx with timeouts, retries with exponential back-off (429, 5xx and
connection errors), a concurrency limit, temperature 0 where the endpoint allows it, a
cap on each answer's size, and no redirects to another host. Outside the demo, endpoints
whose host resolves to a loopback, private, link-local or otherwise reserved address are
refused, so the committee's own network is never probed. Each host name is resolved
*once* per run, every address it resolves to is checked, and every connection goes to a
checked address (pinned in the connection layer: the URL, the Host header and TLS's SNI
and certificate check keep the original name). A name that resolves to a public address
at check time and to 127.0.0.1 a second later (DNS rebinding) therefore gets nowhere:
there is no second lookup. Redirects are followed only to the same host, over the same
pins.

Either way the result is a *transcript*: every prompt and answer, with the suites'
versions and hashes, frozen as canonical JSON and identified by its SHA-256.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import json
import socket
import ssl
import threading
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from .._blocking import run_blocking
from ..errors import WorkbenchError
from ..registry.models import now_iso
from ._suite import Prompt, Suite, prompts, suite_version

TRANSCRIPT_FORMAT = "workbench-genai-transcript/1"
MAX_ANSWER_BYTES = 64 * 1024
MAX_IMPORT_BYTES = 20 * 1024 * 1024
MAX_ANSWER_CHARS = 20_000

BAD_URL = "genai.error.bad_endpoint"
PRIVATE = "genai.error.private_endpoint"
UNREACHABLE = "genai.error.unreachable"
REFUSED = "genai.error.refused"
REDIRECT = "genai.error.redirect"
IMPORT_INVALID = "genai.error.import_invalid"
IMPORT_LINE = "genai.error.import_line"
IMPORT_UNKNOWN = "genai.error.import_unknown"
IMPORT_MISSING = "genai.error.import_missing"
IMPORT_DUPLICATE = "genai.error.import_duplicate"
IMPORT_TOO_BIG = "genai.error.import_too_big"


class EndpointError(WorkbenchError):
    """The endpoint is not allowed, cannot be reached, or refused the committee's requests."""


class AnswersFileError(WorkbenchError):
    """A vendor's answers file cannot be used."""


# --- SSRF guard ---------------------------------------------------------------------------

def _blocked(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast
            or ip.is_unspecified or (isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT))


_CGNAT = ipaddress.ip_network("100.64.0.0/10")


Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    """The operating system's addresses for a host name (``getaddrinfo``)."""
    return [info[4][0] for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)]


def _host_key(host: str) -> str:
    """A host name as the connection layer sees it (IDNA, lower case, no brackets)."""
    host = host.strip("[]").rstrip(".").lower()
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


class Pins:
    """Each host resolved once, every address checked; connections go only to these.

    ``resolver`` is injectable (tests); by default the system's ``getaddrinfo``. With
    ``allow_private`` (the demo) the addresses are pinned but not checked.
    """

    def __init__(self, *, allow_private: bool = False, resolver: Resolver | None = None) -> None:
        self.allow_private = allow_private
        self.resolver = resolver or system_resolver
        self._lock = threading.Lock()
        self._addresses: dict[str, list[str]] = {}

    def cached(self, host: str) -> list[str] | None:
        return self._addresses.get(_host_key(host))

    def addresses(self, host: str, port: int, url: str = "") -> list[str]:
        key = _host_key(host)
        with self._lock:
            if key in self._addresses:
                return self._addresses[key]
            try:
                found = [str(ipaddress.ip_address(key))]
            except ValueError:
                try:
                    found = list(dict.fromkeys(str(a).split("%")[0] for a in self.resolver(key, port)))
                except (OSError, UnicodeError):
                    raise EndpointError(UNREACHABLE, url=url[:200] or key, reason="DNS") from None
                if not found:
                    raise EndpointError(UNREACHABLE, url=url[:200] or key, reason="DNS")
            for address in found:
                try:
                    ip = ipaddress.ip_address(address)
                except ValueError:
                    raise EndpointError(UNREACHABLE, url=url[:200] or key, reason="DNS") from None
                if not self.allow_private and _blocked(ip):
                    raise EndpointError(PRIVATE, url=url[:200] or key, address=str(ip))
            self._addresses[key] = found
            return found


def check_endpoint(url: str, *, allow_private: bool = False, pins: Pins | None = None) -> str:
    """Validate an endpoint URL and, outside the demo, refuse inward addresses.

    With ``pins`` the host's checked addresses are kept there for the run's connections.
    Returns the normalised base URL. Raises ``EndpointError``.
    """
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        raise EndpointError(BAD_URL, url=url[:200])
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise EndpointError(BAD_URL, url=url[:200]) from None
    if pins is None and allow_private:
        return url.rstrip("/")
    (pins or Pins(allow_private=allow_private)).addresses(parts.hostname, port, url)
    return url.rstrip("/")


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network layer, but a TCP connection only ever goes to a pinned address.

    httpcore asks for ``connect_tcp(host, port)`` with the URL's host; the TLS layer
    above still uses that name for SNI and for checking the certificate.
    """

    def __init__(self, pins: Pins, dial: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._pins = pins
        self._dial = dial or httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None, socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        addresses = self._pins.cached(host)
        if addresses is None:
            addresses = await asyncio.to_thread(self._pins.addresses, host, port)
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._dial.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                                    socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not endpoints")

    async def sleep(self, seconds: float) -> None:
        await self._dial.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over :class:`_PinnedBackend` (no proxies, no environment)."""

    def __init__(self, pins: Pins, *, limits: httpx.Limits, verify: ssl.SSLContext | bool = True,
                 dial: httpcore.AsyncNetworkBackend | None = None) -> None:
        super().__init__(verify=verify, trust_env=False, limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=limits.max_connections, max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry, network_backend=_PinnedBackend(pins, dial))


def completions_url(base: str) -> str:
    return base if base.rstrip("/").endswith("/chat/completions") else base.rstrip("/") + "/chat/completions"


# --- live runs ----------------------------------------------------------------------------

@dataclass
class RunOptions:
    model: str = ""
    api_key: str | None = None
    temperature: float | None = 0.0
    timeout: float = 30.0
    retries: int = 3
    backoff: float = 0.5
    concurrency: int = 4
    max_tokens: int = 800
    max_answer_bytes: int = MAX_ANSWER_BYTES
    allow_private: bool = False
    resolver: Resolver | None = field(default=None, repr=False)  # tests: an injected DNS
    verify: ssl.SSLContext | bool = field(default=True, repr=False)  # tests: a test CA
    dial: httpcore.AsyncNetworkBackend | None = field(default=None, repr=False)  # tests: the network
    transport: httpx.AsyncBaseTransport | None = field(default=None, repr=False)  # tests


class _Fatal(Exception):
    def __init__(self, error: EndpointError) -> None:
        self.error = error


async def _post(client: httpx.AsyncClient, url: str, payload: dict, opts: RunOptions,
                checked: set[str], pins: Pins) -> tuple[int, bytes, str]:
    """One POST following only same-host redirects; the body is read up to the cap."""
    target = url
    for _ in range(4):
        origin = "{0}://{1}".format(*urlsplit(target)[:2])
        if origin not in checked:
            await asyncio.to_thread(check_endpoint, target, allow_private=opts.allow_private, pins=pins)
            checked.add(origin)
        async with client.stream("POST", target, json=payload) as resp:
            if resp.status_code in (301, 302, 303, 307, 308):
                location = urljoin(target, resp.headers.get("location", ""))
                if urlsplit(location)[:2] != urlsplit(target)[:2] or urlsplit(location).port != urlsplit(target).port:
                    raise _Fatal(EndpointError(REDIRECT, url=url[:200], location=location[:200]))
                target = location
                continue
            body = bytearray()
            async for chunk in resp.aiter_bytes():
                body += chunk
                if len(body) > opts.max_answer_bytes:
                    return resp.status_code, b"", "answer_too_large"
            return resp.status_code, bytes(body), ""
    raise _Fatal(EndpointError(REDIRECT, url=url[:200], location=target[:200]))


async def _ask(client: httpx.AsyncClient, url: str, prompt: Prompt, opts: RunOptions, state: dict) -> dict:
    entry = {"entry_id": prompt.entry_id, "suite": prompt.suite, "item_id": prompt.item_id, "lang": prompt.lang,
             "sample": prompt.sample, "messages": prompt.messages, "answer": None, "error": None}
    last = "unknown"
    for attempt in range(opts.retries + 1):
        payload: dict[str, Any] = {"model": opts.model, "messages": prompt.messages, "max_tokens": opts.max_tokens}
        if state["temperature"] is not None:
            payload["temperature"] = state["temperature"]
        try:
            status, body, problem = await _post(client, url, payload, opts, state["checked"], state["pins"])
        except EndpointError as exc:
            raise _Fatal(exc) from None
        except httpx.TransportError as exc:
            last = type(exc).__name__
        else:
            if problem:
                entry["error"] = problem
                return entry
            if status == 200:
                try:
                    data = json.loads(body)
                    content = data["choices"][0]["message"]["content"]
                    entry["answer"] = str(content or "")[:MAX_ANSWER_CHARS]
                    entry["finish_reason"] = data["choices"][0].get("finish_reason")
                except (ValueError, KeyError, IndexError, TypeError):
                    entry["error"] = "malformed_response"
                return entry
            if status in (401, 403, 404):
                raise _Fatal(EndpointError(REFUSED, url=url[:200], status=status))
            if status == 400 and state["temperature"] is not None and b"temperature" in body:
                state["temperature"] = None  # the model does not allow it: use its default
                continue
            last = f"HTTP {status}"
            if status not in (408, 409, 425, 429, 500, 502, 503, 504):
                entry["error"] = last
                return entry
        if attempt < opts.retries:
            await asyncio.sleep(opts.backoff * (2 ** attempt))
    entry["error"] = last
    return entry


async def _run(items: list[Prompt], base: str, opts: RunOptions, pins: Pins,
               progress: Callable[[int, int], None] | None) -> list[dict]:
    url = completions_url(base)
    headers = {"Authorization": f"Bearer {opts.api_key}"} if opts.api_key else {}
    timeout = httpx.Timeout(opts.timeout, connect=min(opts.timeout, 10.0))
    limits = httpx.Limits(max_connections=opts.concurrency, max_keepalive_connections=opts.concurrency)
    state: dict[str, Any] = {"temperature": opts.temperature, "checked": set(), "pins": pins}
    done, total = 0, len(items)
    report = progress or (lambda _d, _t: None)
    transport = opts.transport or PinnedTransport(pins, limits=limits, verify=opts.verify, dial=opts.dial)
    async with httpx.AsyncClient(headers=headers, timeout=timeout, limits=limits, follow_redirects=False,
                                 transport=transport, trust_env=False) as client:
        # The first request alone: an unreachable or refusing endpoint stops the run at once.
        try:
            first = await _ask(client, url, items[0], opts, state)
        except _Fatal as fatal:
            raise fatal.error from None
        if first["error"] and first["error"] not in ("malformed_response", "answer_too_large"):
            raise EndpointError(UNREACHABLE, url=base[:200], reason=first["error"])
        done += 1
        report(done, total)
        results: list[dict | None] = [first] + [None] * (total - 1)
        gate = asyncio.Semaphore(opts.concurrency)

        async def one(i: int) -> None:
            nonlocal done
            async with gate:
                results[i] = await _ask(client, url, items[i], opts, state)
            done += 1
            report(done, total)

        try:
            await asyncio.gather(*(one(i) for i in range(1, total)))
        except _Fatal as fatal:
            raise fatal.error from None
    return [r for r in results if r is not None]


def run_live(suites: list[Suite], langs: list[str], endpoint: str, opts: RunOptions, *, samples: int = 1,
             progress: Callable[[int, int], None] | None = None) -> dict:
    """Send every prompt to the endpoint; return the transcript (not yet stored)."""
    pins = Pins(allow_private=opts.allow_private, resolver=opts.resolver)
    base = check_endpoint(endpoint, allow_private=opts.allow_private, pins=pins)
    items = prompts(suites, langs, samples)
    started = now_iso()
    # In a worker thread when this thread already runs an event loop (an async server,
    # Playwright's sync API in a test session, a notebook): asyncio.run cannot nest.
    entries = run_blocking(asyncio.run, _run(items, base, opts, pins, progress))
    return make_transcript(suites, langs, samples, "live", base, opts.model, entries, started)


def make_transcript(suites: list[Suite], langs: list[str], samples: int, mode: str, endpoint: str, model: str,
                    entries: list[dict], started: str) -> dict:
    return {"format": TRANSCRIPT_FORMAT, "mode": mode, "endpoint": endpoint, "model": model,
            "suite_version": suite_version(suites), "suites": {s.name: s.sha256 for s in suites},
            "languages": list(langs), "samples": samples, "started_at": started, "finished_at": now_iso(),
            "entries": entries}


def canonical(transcript: dict) -> str:
    return json.dumps(transcript, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def transcript_sha256(transcript: dict) -> str:
    return hashlib.sha256(canonical(transcript).encode("utf-8")).hexdigest()


# --- offline runs -------------------------------------------------------------------------

def export_jsonl(suites: list[Suite], langs: list[str], samples: int = 1) -> str:
    """The prompts as JSONL for the vendor to run: one request per line, ``custom_id`` to echo back."""
    version = suite_version(suites)
    lines = [json.dumps({"custom_id": p.entry_id, "suite_version": version, "suite": p.suite, "language": p.lang,
                         "messages": p.messages}, ensure_ascii=False) for p in prompts(suites, langs, samples)]
    return "\n".join(lines) + "\n"


def _answer_of(row: dict) -> str | None:
    """``{"custom_id", "answer"}`` or an OpenAI batch output line (``response.body.choices``)."""
    if isinstance(row.get("answer"), str):
        return row["answer"]
    try:
        return str(row["response"]["body"]["choices"][0]["message"]["content"])
    except (KeyError, IndexError, TypeError):
        return None


def import_answers(suites: list[Suite], langs: list[str], data: bytes, *, samples: int = 1,
                   endpoint: str = "offline", model: str = "") -> dict:
    """Check a vendor's answers file against the export and build the transcript.

    Every line must be JSON with a ``custom_id`` (or ``id``) from the export and an answer;
    all problems are reported together and nothing is stored unless the file is complete.
    """
    if len(data) > MAX_IMPORT_BYTES:
        raise AnswersFileError(IMPORT_TOO_BIG, limit_mb=MAX_IMPORT_BYTES // (1024 * 1024))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise AnswersFileError(IMPORT_INVALID, problem="UTF-8") from None
    wanted = {p.entry_id: p for p in prompts(suites, langs, samples)}
    answers: dict[str, str] = {}
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            assert isinstance(row, dict)
        except (ValueError, AssertionError):
            problems.append(str(number))
            continue
        key = str(row.get("custom_id") or row.get("id") or "")
        answer = _answer_of(row)
        if key not in wanted or answer is None:
            if key and key not in wanted:
                raise AnswersFileError(IMPORT_UNKNOWN, id=key[:80], line=number)
            problems.append(str(number))
            continue
        if key in answers:
            raise AnswersFileError(IMPORT_DUPLICATE, id=key[:80], line=number)
        answers[key] = answer[:MAX_ANSWER_CHARS]
    if problems:
        raise AnswersFileError(IMPORT_LINE, lines=", ".join(problems[:10]) + (" …" if len(problems) > 10 else ""))
    missing = [k for k in wanted if k not in answers]
    if missing:
        raise AnswersFileError(IMPORT_MISSING, count=len(missing), first=", ".join(missing[:3]))
    started = now_iso()
    entries = [{"entry_id": p.entry_id, "suite": p.suite, "item_id": p.item_id, "lang": p.lang, "sample": p.sample,
                "messages": p.messages, "answer": answers[p.entry_id], "error": None} for p in wanted.values()]
    return make_transcript(suites, langs, samples, "offline", endpoint, model, entries, started)

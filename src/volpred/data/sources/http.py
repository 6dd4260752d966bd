"""HTTP plumbing shared by the network sources: one session policy, one way to fail.

Every network source goes through `make_session` so that timeouts and retries are decided once,
in `Settings`, and not by whatever library sits in between (pandas-datareader would otherwise make
4 attempts with 30 s timeouts on top of ours). Every failure ends up as a `SourceError` whose text
never contains a secret: URLs are redacted before they are logged or put in a message.

Retries come in two layers, each doing what the other cannot. This one (`RetryingAdapter`) asks
again within one request, seconds apart: a blip (a connection refused, reset or broken, a
name that did not resolve, a timeout, a 5xx, a 429 whose Retry-After it honours) is often over
before a task would notice it, and only the failed request is repeated, not the series already
fetched. The flow's ingest_data
task retry (`Settings.ingest_retries`, `ingest_retry_delays`, 5 minutes by default) is for an
outage of the whole source, or a maintenance page, that lasts longer than these seconds: it
re-runs ingest, and so this layer, after a wait no single request should block on. The two
multiply, so one request is sent at most `most_attempts(settings)` times (8 by default).
"""

from __future__ import annotations

import email.utils
import logging
import re
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter

from volpred.config import Settings
from volpred.data.sources.base import SourceError

logger = logging.getLogger(__name__)

#: Answers worth asking again for: rate limiting and transient server trouble.
RETRY_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504})
#: Only idempotent requests are repeated.
RETRY_METHODS: frozenset[str] = frozenset({"GET", "HEAD"})
#: A server may ask for a long Retry-After; a batch job should not hang on it for an hour.
MAX_RETRY_AFTER_SECONDS = 60.0
#: Query parameters whose values are secrets wherever they appear.
_SECRET_PARAM = re.compile(r"(?i)\b(api_?key|access_?key|token|key)=([^&\s\"'<>]*)")
#: How much of an unexpected answer we quote back in an error message.
SNIPPET_CHARS = 160
#: A source whose newest row is older than this (before the requested end) is truncated or stale.
#: Two weeks covers holiday clusters and FRED's publication lag of a day or two.
MAX_STALENESS = timedelta(days=14)

#: Say who is asking; the bare python-requests agent tells a data provider nothing.
USER_AGENT = f"volpred python-requests/{requests.__version__}"


class RetriesExhausted(requests.exceptions.RetryError):
    """The server kept answering with a retryable status; raised like urllib3's `raise_on_status`.

    A subclass of `RequestException` so that libraries catching those (pandas-datareader does)
    still see a request failure; its message carries the status but never the URL, which may hold
    a key.
    """

    def __init__(self, response: requests.Response, attempts: int) -> None:
        self.status_code = response.status_code
        self.attempts = attempts
        noun = "attempt" if attempts == 1 else "attempts"
        message = f"HTTP {response.status_code} {response.reason or ''}".rstrip()
        super().__init__(f"{message} (gave up after {attempts} {noun})", response=response)


class RetryingAdapter(HTTPAdapter):
    """An adapter with a default timeout and an explicit retry loop for blips within one
    request (`retries` more attempts, `backoff * 2**n` seconds apart; see the module docstring
    for how it shares the work with the flow's task retry).

    requests has no session-wide timeout, so the adapter fills one in when the caller gave none.
    The retries are a plain loop rather than urllib3's `Retry` so that every attempt passes through
    `HTTPAdapter.send` (observable, hence testable, for timeouts as well as statuses) and the
    backoff is exactly `backoff * 2**n` seconds as `Settings.http_backoff` documents.
    """

    def __init__(
        self,
        timeout: float,
        retries: int,
        backoff: float,
        secrets: tuple[str, ...] = (),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__()
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.secrets = secrets
        self.sleep = sleep

    @property
    def max_attempts(self) -> int:
        return self.retries + 1

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        if request.method not in RETRY_METHODS:
            return super().send(request, **kwargs)
        attempts = self.max_attempts
        for attempt in range(1, attempts + 1):
            final = attempt == attempts
            response = None
            try:
                response = super().send(request, **kwargs)
                if not kwargs.get("stream"):
                    # Read the body here, not later in `Session.send`: a connection that breaks
                    # mid-body (IncompleteRead) is then retried like one that never connected.
                    response.content  # noqa: B018
            except (
                requests.exceptions.ConnectionError,
                requests.exceptions.Timeout,
                requests.exceptions.ChunkedEncodingError,
            ) as exc:
                if response is not None:
                    response.close()  # its connection broke mid-body: give it back
                if final:
                    raise
                cause = describe_exception(exc, self.secrets, kwargs["timeout"])
                self._wait(request, attempt, cause, None)
                continue
            if response.status_code not in RETRY_STATUSES:
                return response
            if final:
                raise RetriesExhausted(response, attempts)
            wait = retry_after_seconds(response)
            response.close()
            self._wait(request, attempt, f"HTTP {response.status_code}", wait)
        raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover

    def _wait(
        self, request: requests.PreparedRequest, attempt: int, cause: str, asked: float | None
    ) -> None:
        """Sleep before the next attempt: our backoff, or longer if the server asked for it."""
        delay = self.backoff * 2 ** (attempt - 1)
        if asked is not None:
            delay = max(delay, min(asked, MAX_RETRY_AFTER_SECONDS))
        logger.warning(
            "GET %s failed (%s); retry %d/%d in %.1f s",
            redact(str(request.url), self.secrets),
            cause,
            attempt,
            self.retries,
            delay,
        )
        if delay > 0:
            self.sleep(delay)


def retry_after_seconds(response: requests.Response) -> float | None:
    """Seconds the server asked us to wait (Retry-After as seconds or HTTP date), if any."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def secrets_of(settings: Settings) -> tuple[str, ...]:
    """The secret values that must never be printed, whatever parameter name they hide under."""
    key = settings.stooq_api_key.get_secret_value().strip() if settings.stooq_api_key else ""
    return (key,) if key else ()


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Hide key-like query parameters and any literal secret value in `text`."""
    text = _SECRET_PARAM.sub(r"\1=***", text)
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


class _RedactingFilter(logging.Filter):
    """Redacts key-like query parameters in urllib3's DEBUG lines, which print request paths."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


#: urllib3 loggers whose DEBUG lines include request paths (and so query strings).
_URLLIB3_URL_LOGGERS = ("urllib3.connectionpool", "urllib3.util.retry")


def _protect_urllib3_logs() -> None:
    """Install the redacting filter once on each urllib3 logger that prints request paths.

    Logger filters only see records created on that very logger, hence one per logger.
    """
    for name in _URLLIB3_URL_LOGGERS:
        target = logging.getLogger(name)
        if not any(isinstance(f, _RedactingFilter) for f in target.filters):
            target.addFilter(_RedactingFilter())


def make_session(settings: Settings) -> requests.Session:
    """A session whose requests time out and retry as `settings` says (see `RetryingAdapter`)."""
    _protect_urllib3_logs()
    session = requests.Session()
    adapter = RetryingAdapter(
        timeout=settings.http_timeout,
        retries=settings.http_retries,
        backoff=settings.http_backoff,
        secrets=secrets_of(settings),
    )
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session


@contextmanager
def session_scope(
    settings: Settings, session: requests.Session | None
) -> Iterator[requests.Session]:
    """Use the caller's session as is, or a fresh `make_session` one that is closed afterwards."""
    if session is not None:
        yield session
        return
    owned = make_session(settings)
    try:
        yield owned
    finally:
        owned.close()


def full_url(url: str, params: Mapping[str, Any] | None) -> str:
    """The URL requests will fetch for `url` and `params` (unredacted: do not print it)."""
    return str(requests.Request("GET", url, params=dict(params or {})).prepare().url)


def _exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and everything it wraps: requests and urllib3 nest causes in args and `.reason`."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        nested = [a for a in current.args if isinstance(a, BaseException)]
        for attr in ("reason", "__cause__", "__context__"):
            value = getattr(current, attr, None)
            if isinstance(value, BaseException):
                nested.append(value)
        stack.extend(nested)


_TIMEOUT_HINTS = ("timed out", "timeout")
_DNS_HINTS = ("name or service not known", "failed to resolve", "getaddrinfo", "nodename nor")
_REFUSED_HINTS = ("connection refused", "errno 111", "winerror 10061")
_TRUNCATED_HINTS = ("incompleteread", "connection broken", "invalidchunklength")


def _is_dns_failure(exc: BaseException) -> bool:
    chain = list(_exception_chain(exc))
    if any(isinstance(e, urllib3.exceptions.NameResolutionError | socket.gaierror) for e in chain):
        return True
    return any(hint in str(e).lower() for e in chain for hint in _DNS_HINTS)


def _is_refused(exc: BaseException) -> bool:
    chain = list(_exception_chain(exc))
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return True
    return any(hint in str(e).lower() for e in chain for hint in _REFUSED_HINTS)


def failure_kind(text: str) -> str | None:
    """Classify a failure from its text alone, for libraries that flatten exceptions to messages."""
    lowered = text.lower()
    for kind, hints in (
        ("timeout", _TIMEOUT_HINTS),
        ("DNS failure", _DNS_HINTS),
        ("connection refused", _REFUSED_HINTS),
        ("truncated answer", _TRUNCATED_HINTS),
    ):
        if any(hint in lowered for hint in hints):
            return kind
    return None


def describe_exception(
    exc: BaseException, secrets: tuple[str, ...] = (), timeout: object = None
) -> str:
    """A one-line, secret-free cause for a requests failure: timeout, DNS, refused, status..."""
    within = f" within {timeout:g} s" if isinstance(timeout, int | float) else " in time"
    if isinstance(exc, RetriesExhausted):
        return str(exc)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"timeout: could not connect{within}"
    if isinstance(exc, requests.exceptions.Timeout):
        return f"timeout: the server did not answer{within}"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return f"truncated answer: the connection broke mid-body: {snippet(str(exc), secrets)}"
    if isinstance(exc, requests.exceptions.ConnectionError):
        if _is_dns_failure(exc):
            return "DNS failure: the host name could not be resolved"
        if _is_refused(exc):
            return "connection refused"
        return f"connection failed: {snippet(str(exc), secrets)}"
    return f"{type(exc).__name__}: {snippet(str(exc), secrets)}"


def snippet(text: str, secrets: tuple[str, ...] = (), limit: int = SNIPPET_CHARS) -> str:
    """A short, readable, secret-free quote of an answer: no tags or scripts, spaces collapsed."""
    text = re.sub(r"(?is)<(script|style)\b.*?</\1\s*>", " ", text)
    text = re.sub(r"<[^>]*>", " ", text)
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = redact(" ".join(text.split()), secrets)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def looks_like_html(text: str) -> bool:
    """Whether an answer is a web page rather than data (error pages, key requests, captchas)."""
    head = text.lstrip()[:512].lower()
    return head.startswith("<") or "<html" in head or "<!doctype" in head


def most_attempts(settings: Settings) -> int:
    """The most times one request is sent in one pipeline run: this layer's attempts within
    each of the ingest_data task's attempts (2 x 4 = 8 by default; 24 at the settings' caps)."""
    return (settings.ingest_retries + 1) * (settings.http_retries + 1)


def attempts_for(session: requests.Session, url: str) -> int:
    """How many times `session` tries `url`: ours retry, a plain session tries once."""
    adapter = session.get_adapter(url)
    return adapter.max_attempts if isinstance(adapter, RetryingAdapter) else 1


def _send(
    session: requests.Session, url: str, params: Mapping[str, Any] | None, settings: Settings
) -> tuple[requests.Response | None, str | None]:
    """GET and return (response, None) or (None, cause).

    Returning the cause instead of raising from inside the `except` keeps the original exception,
    whose text includes the full URL and thus any key, out of the `SourceError`'s context chain.
    """
    try:
        response = session.get(url, params=params, timeout=settings.http_timeout)
    except requests.exceptions.RequestException as exc:
        cause = describe_exception(exc, secrets_of(settings), settings.http_timeout)
        if not isinstance(exc, RetriesExhausted):
            tries = attempts_for(session, url)
            cause += f" (gave up after {tries} attempt{'s' if tries > 1 else ''})"
        return None, cause
    return response, None


def get_text(
    session: requests.Session,
    source_name: str,
    url: str,
    params: Mapping[str, Any] | None,
    settings: Settings,
) -> str:
    """GET `url` and return the body, or raise `SourceError` naming the redacted URL and cause."""
    secrets = secrets_of(settings)
    uri = redact(full_url(url, params), secrets)
    logger.info("%s: fetching %s", source_name, uri)
    response, cause = _send(session, url, params, settings)
    if response is None:
        raise SourceError(source_name, uri, cause or "request failed")
    if not response.ok:
        quote = snippet(response.text, secrets)
        detail = f": {quote!r}" if quote else ""
        raise SourceError(
            source_name,
            uri,
            f"HTTP {response.status_code} {response.reason or ''}".rstrip() + detail,
        )
    text = response.text
    if not text.strip():
        raise SourceError(source_name, uri, f"empty answer (HTTP {response.status_code}, no data)")
    logger.info("%s: received %d characters from %s", source_name, len(text), uri)
    return text


def request_window(
    settings: Settings, since: date | None, default_start: date
) -> tuple[date, date]:
    """First and last date to fetch: `since` (incremental), else configured start; end or today."""
    start = since or settings.start or default_start
    end = settings.end or date.today()
    return start, end


def check_window(source_name: str, uri: str, start: date, end: date) -> None:
    """Refuse an inverted window before asking the network: it can only yield an empty table."""
    if start > end:
        raise SourceError(source_name, uri, f"nothing to fetch: start {start} is after end {end}")


def check_fresh(
    source_name: str,
    uri: str,
    what: str,
    last: date,
    end: date,
    limit: timedelta = MAX_STALENESS,
) -> None:
    """Raise when data stops long before the requested end: a truncated or stale answer.

    `limit` defaults to the daily sources' two weeks; slower series (weekly, monthly) pass more.
    """
    if end - last > limit:
        raise SourceError(
            source_name,
            uri,
            f"{what} stops at {last}, more than {limit.days} days before the requested "
            f"end {end}: truncated or stale answer",
        )

"""The shared HTTP policy: timeouts, retries, failure descriptions and redaction (no network)."""

from __future__ import annotations

import logging
import socket

import pytest
import requests
import responses
from pydantic import ValidationError
from responses.registries import OrderedRegistry
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError

from volpred.config import Settings
from volpred.data.sources import http
from volpred.data.sources.base import SourceError

URL = "https://data.example.test/series.csv"
KEY = "k3y-Sup3r-S3cret"


@pytest.fixture
def net(settings: Settings) -> Settings:
    return settings.with_overrides(
        http_timeout=2.5, http_retries=2, http_backoff=0.0, stooq_api_key=KEY
    )


@pytest.fixture
def session(net: Settings) -> requests.Session:
    return http.make_session(net)


def refused() -> requests.exceptions.ConnectionError:
    """What requests raises when nothing listens on the port (urllib3's nesting included)."""
    reason = NewConnectionError(
        None, "Failed to establish a new connection: [Errno 111] Connection refused"
    )
    return requests.exceptions.ConnectionError(MaxRetryError(None, "/series.csv", reason))


def unresolvable() -> requests.exceptions.ConnectionError:
    """What requests raises when the host name does not resolve."""
    reason = NameResolutionError(
        "data.example.test", None, socket.gaierror(-2, "Name or service not known")
    )
    return requests.exceptions.ConnectionError(MaxRetryError(None, "/series.csv", reason))


def fail(session: requests.Session, net: Settings, params: dict | None = None) -> SourceError:
    with pytest.raises(SourceError) as caught:
        http.get_text(session, "demo", URL, params, net)
    return caught.value


def test_make_session_uses_the_settings(net: Settings, session: requests.Session) -> None:
    adapter = session.get_adapter(URL)
    assert isinstance(adapter, http.RetryingAdapter)
    assert (adapter.timeout, adapter.retries, adapter.backoff) == (2.5, 2, 0.0)
    assert adapter.max_attempts == 3


def test_the_attempts_of_one_request_are_bounded_and_stated(settings: Settings) -> None:
    """The HTTP layer's attempts within each of the flow's ingest_data attempts."""
    assert (settings.http_retries, settings.ingest_retries) == (3, 1)  # the defaults
    assert settings.ingest_retry_delays == [300]  # minutes apart, not another blip retry
    assert http.most_attempts(settings) == 2 * 4 == 8
    assert http.most_attempts(settings.with_overrides(http_retries=0, ingest_retries=0)) == 1
    assert http.most_attempts(settings.with_overrides(http_retries=5, ingest_retries=3)) == 24
    for too_many in ({"http_retries": 6}, {"ingest_retries": 4}):
        with pytest.raises(ValidationError):
            settings.with_overrides(**too_many)


@responses.activate
def test_default_timeout_applies_without_one_given(session: requests.Session) -> None:
    responses.get(URL, body="a,b\n1,2\n")
    session.get(URL)
    session.get(URL, timeout=9)
    assert responses.calls[0].request.req_kwargs["timeout"] == 2.5
    assert responses.calls[1].request.req_kwargs["timeout"] == 9


@responses.activate
def test_get_text_returns_the_body_and_passes_params(
    session: requests.Session, net: Settings
) -> None:
    responses.get(
        URL,
        body="a,b\n1,2\n",
        match=[responses.matchers.query_param_matcher({"id": "X", "n": "3"})],
    )
    assert http.get_text(session, "demo", URL, {"id": "X", "n": 3}, net) == "a,b\n1,2\n"


@responses.activate
def test_http_500_is_retried_then_reported(session: requests.Session, net: Settings) -> None:
    responses.get(URL, status=500, body="oops")
    err = fail(session, net)
    assert len(responses.calls) == net.http_retries + 1
    assert err.source == "demo" and err.uri == URL
    assert len(responses.calls) == 3
    assert "HTTP 500" in err.reason and "gave up after 3 attempts" in err.reason


@responses.activate(registry=OrderedRegistry)
def test_transient_503_recovers(session: requests.Session, net: Settings) -> None:
    responses.get(URL, status=503)
    responses.get(URL, body="x\n1\n")
    assert http.get_text(session, "demo", URL, None, net) == "x\n1\n"
    assert len(responses.calls) == 2


@responses.activate
def test_404_is_not_retried(session: requests.Session, net: Settings) -> None:
    responses.get(URL, status=404, body="<html><body><h1>Not here</h1></body></html>")
    err = fail(session, net)
    assert len(responses.calls) == 1
    assert "HTTP 404" in err.reason and "Not here" in err.reason and "<h1>" not in err.reason


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (requests.exceptions.ReadTimeout("Read timed out. (read timeout=2.5)"), "timeout"),
        (requests.exceptions.ConnectTimeout("Connection timed out"), "timeout: could not connect"),
        (refused(), "connection refused"),
        (unresolvable(), "DNS failure"),
    ],
    ids=["read-timeout", "connect-timeout", "refused", "dns"],
)
@responses.activate
def test_network_failures_are_retried_and_named(
    session: requests.Session, net: Settings, error: Exception, expected: str
) -> None:
    responses.get(URL, body=error)
    err = fail(session, net)
    assert len(responses.calls) == net.http_retries + 1
    assert expected in err.reason and "gave up after 3 attempts" in err.reason


@responses.activate
def test_empty_body_is_an_error(session: requests.Session, net: Settings) -> None:
    responses.get(URL, body="  \n")
    assert "empty answer" in fail(session, net).reason


@responses.activate
def test_retry_after_is_respected_and_capped(net: Settings) -> None:
    waits: list[float] = []
    adapter = http.RetryingAdapter(timeout=1, retries=2, backoff=0.5, sleep=waits.append)
    session = requests.Session()
    session.mount("https://", adapter)
    responses.get(URL, status=429, headers={"Retry-After": "7"})
    with pytest.raises(http.RetriesExhausted):
        session.get(URL)
    assert waits == [7.0, 7.0]
    responses.replace(responses.GET, URL, status=503, headers={"Retry-After": "86400"})
    waits.clear()
    with pytest.raises(http.RetriesExhausted):
        session.get(URL)
    assert waits == [http.MAX_RETRY_AFTER_SECONDS] * 2


@responses.activate
def test_backoff_doubles(net: Settings) -> None:
    waits: list[float] = []
    adapter = http.RetryingAdapter(timeout=1, retries=3, backoff=0.5, sleep=waits.append)
    session = requests.Session()
    session.mount("https://", adapter)
    responses.get(URL, body=requests.exceptions.ReadTimeout("Read timed out."))
    with pytest.raises(requests.exceptions.ReadTimeout):
        session.get(URL)
    assert waits == [0.5, 1.0, 2.0]


@responses.activate
def test_key_never_appears_in_errors_or_logs(
    session: requests.Session, net: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    responses.get(URL, status=403, body=f"<p>key {KEY} is not valid</p>")
    err = fail(session, net, {"s": "^spx", "apikey": KEY})
    assert KEY not in str(err) and "apikey=***" in err.uri
    responses.replace(
        responses.GET, URL, body=requests.exceptions.ReadTimeout(f"{URL}?apikey={KEY}")
    )
    err = fail(session, net, {"apikey": KEY})
    assert KEY not in str(err)
    assert err.__cause__ is None and err.__context__ is None
    assert KEY not in caplog.text


def test_urllib3_request_lines_are_redacted(
    session: requests.Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="urllib3.connectionpool")
    logging.getLogger("urllib3.connectionpool").debug(
        '%s://%s:%s "%s %s %s" %s %s',
        "https",
        "h",
        443,
        "GET",
        f"/d?apikey={KEY}",
        "HTTP/1.1",
        200,
        9,
    )
    assert KEY not in caplog.text and "apikey=***" in caplog.text


def test_redact_and_snippet() -> None:
    assert http.redact("a?s=x&apikey=abc&token=t1&d=1") == "a?s=x&apikey=***&token=***&d=1"
    assert http.redact("monkey=banana") == "monkey=banana"
    assert http.redact("the key is abc", ("abc",)) == "the key is ***"
    page = "<html><head><script>var x=1;</script><title>Hi</title></head><body>Get a key</body>"
    assert http.snippet(page) == "Hi Get a key"
    assert len(http.snippet("x" * 1000)) == http.SNIPPET_CHARS

"""A typed client for the volpred REST API: the dashboard's only way to the model and the data.

Every failure becomes one of two exceptions whose message an analyst can read as is:
`ApiUnavailable` (nothing usable came back: refused, slow, a 5xx) and `ApiRequestError` (the
API answered and said no: a bad input, a wrong key). The dashboard shows that message in place
of the element that needed the answer and renders the rest of the page. (The API's own
`ApiError` is the server side of such an answer; this module never sees it, only its JSON.)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import requests

log = logging.getLogger("volpred.serving.dashboard")


class ApiRequestError(RuntimeError):
    """A call to the API failed: as such, the API answered but not with what was asked (4xx,
    or a body that is not JSON); the base of `ApiUnavailable`, so one `except` catches both."""

    def __init__(self, message: str, status: int | None = None, field: str | None = None):
        super().__init__(message)
        self.status = status
        self.field = field


class ApiUnavailable(ApiRequestError):  # noqa: N818 - reads as a state, like its message
    """The API is down, too slow, or failing (5xx): nothing to show from it right now."""


@dataclass(frozen=True)
class ApiConfig:
    """Where the API is and how to call it; hashable, so it can key Streamlit's caches."""

    base_url: str
    api_key: str | None = field(default=None, repr=False)  # never in a log line
    timeout: float = 5.0

    @classmethod
    def from_settings(cls, settings: Any) -> ApiConfig:
        key = settings.api_key.get_secret_value() if settings.api_key else None
        return cls(
            base_url=settings.api_url_for_dashboard.rstrip("/"),
            api_key=key or None,
            timeout=float(settings.dashboard_api_timeout),
        )


def _reason(exc: requests.ConnectionError) -> str:
    text = str(exc).lower()
    if "refused" in text:
        return "connection refused"
    if "name or service not known" in text or "failed to resolve" in text:
        return "host not found"
    if "reset" in text or "aborted" in text or "remotedisconnected" in text:
        return "connection dropped"
    return "cannot connect"


def columns_to_frame(payload: Mapping[str, Any]) -> pl.DataFrame:
    """The API's column-oriented table (`{"columns": [...], "data": {col: [...]}}`) as a
    frame; a `date` column becomes a polars Date."""
    data = payload.get("data") or {}
    columns = list(payload.get("columns") or data)
    frame = pl.DataFrame(
        {c: data.get(c, []) for c in columns}, strict=False, infer_schema_length=None
    )
    if "date" in frame.columns and frame.schema["date"] == pl.String:
        frame = frame.with_columns(pl.col("date").str.to_date("%Y-%m-%d", strict=False))
    return frame


class ApiClient:
    """Thin, typed wrapper of the API's endpoints over one `requests.Session`."""

    def __init__(
        self,
        config: ApiConfig,
        session: requests.Session | None = None,
        *,
        quiet_after_failure: float = 0.0,
    ):
        """`quiet_after_failure`: after the API did not answer, fail at once with the same
        message for this many seconds instead of waiting for the timeout on every call (a
        slow API would otherwise cost a page one timeout per element)."""
        self.config = config
        self.session = session or requests.Session()
        self.quiet_after_failure = quiet_after_failure
        self._down: tuple[float, ApiUnavailable] | None = None
        if config.api_key:
            self.session.headers["X-API-Key"] = config.api_key
        self.session.headers["Accept"] = "application/json"

    @property
    def base_url(self) -> str:
        return self.config.base_url

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        if self._down is not None:
            since, error = self._down
            if time.monotonic() - since < self.quiet_after_failure:
                raise ApiUnavailable(str(error))
            self._down = None
        try:
            return self._call(method, path, **kwargs)
        except ApiUnavailable as exc:
            if exc.status is None:  # no answer at all (not a 5xx): the API is down or slow
                self._down = (time.monotonic(), exc)
            raise

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        url = f"{self.base_url}{path}"
        where = f"The API at {self.base_url}"
        started = time.perf_counter()
        try:
            response = self.session.request(method, url, timeout=self.config.timeout, **kwargs)
        except requests.ConnectTimeout as exc:
            raise ApiUnavailable(
                f"{where} is not answering (no connection within {self.config.timeout:g} s)"
            ) from exc
        except requests.Timeout as exc:
            raise ApiUnavailable(
                f"{where} answered slowly (over {self.config.timeout:g} s)"
            ) from exc
        except requests.ConnectionError as exc:
            raise ApiUnavailable(f"{where} is not answering ({_reason(exc)})") from exc
        except requests.RequestException as exc:
            raise ApiUnavailable(f"{where} could not be called ({exc})") from exc
        elapsed = time.perf_counter() - started
        log.debug(
            "api_call method=%s path=%s status=%s seconds=%.3f",
            method,
            path,
            response.status_code,
            elapsed,
        )
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.ok:
            if body is None:
                raise ApiRequestError(
                    f"{where} sent a response that is not JSON for {path}", response.status_code
                )
            return body
        detail = body if isinstance(body, dict) else {}
        message = " - ".join(str(x) for x in (detail.get("error"), detail.get("detail")) if x) or (
            response.text[:200].strip() or response.reason
        )
        if response.status_code == 401:
            raise ApiRequestError(
                f"{where} refused the request (401: {message}); set VOLPRED_API_KEY to its key",
                401,
            )
        if response.status_code >= 500:
            raise ApiUnavailable(
                f"{where} failed ({response.status_code}: {message})", response.status_code
            )
        raise ApiRequestError(
            f"{where} rejected the request ({response.status_code}: {message})",
            response.status_code,
            detail.get("field"),
        )

    # ------------------------------------------------------------------ endpoints
    def health(self) -> dict[str, Any]:
        return self._request("GET", "/health")

    def ready(self) -> dict[str, Any]:
        """`/ready`; a 503 (no model can be served) is returned as `{"ready": False, ...}`
        rather than raised, since "not ready" is an answer the sidebar shows."""
        try:
            return self._request("GET", "/ready")
        except ApiUnavailable as exc:
            if exc.status == 503:
                return {"ready": False, "error": str(exc)}
            raise

    def model(self) -> dict[str, Any]:
        return self._request("GET", "/model")

    def predict(
        self, date: str = "latest", features: Mapping[str, float] | None = None
    ) -> dict[str, Any]:
        """One forecast: for `date` (or the last trading day before it), with `features`
        overriding that day's model inputs when given (a what-if)."""
        body: dict[str, Any] = {"date": date}
        if features:
            body["features"] = {k: float(v) for k, v in features.items()}
        answer = self._request("POST", "/predict", json=body)
        predictions = answer.get("predictions") if isinstance(answer, dict) else None
        if not predictions:
            raise ApiRequestError(f"The API at {self.base_url} returned no prediction")
        return predictions[0]

    def _table(self, path: str, start: str | None, end: str | None) -> pl.DataFrame:
        params = {k: v for k, v in {"start": start, "end": end}.items() if v}
        return columns_to_frame(self._request("GET", path, params=params))

    def history(self, start: str | None = None, end: str | None = None) -> pl.DataFrame:
        return self._table("/history", start, end)

    def oos(self, start: str | None = None, end: str | None = None) -> pl.DataFrame:
        return self._table("/oos", start, end)

    def data_quality(self) -> dict[str, Any]:
        return self._request("GET", "/data-quality")

    # ------------------------------------------------------------------ the analysts' loop
    def report_status(self) -> dict[str, Any] | None:
        """`/report`: the current report's review status; None when none was written yet."""
        try:
            return self._request("GET", "/report")
        except ApiRequestError as exc:
            if exc.status == 404:
                return None
            raise

    def report_pdf(self, which: str = "current") -> bytes:
        """The current report's PDF (the reviewed copy once signed off) as bytes."""
        url = f"{self.base_url}/report/pdf"
        try:
            response = self.session.get(url, params={"which": which}, timeout=self.config.timeout)
        except requests.RequestException as exc:
            raise ApiUnavailable(
                f"The API at {self.base_url} did not send the PDF ({exc})"
            ) from exc
        if not response.ok:
            raise ApiRequestError(
                f"The API at {self.base_url} has no {which} PDF ({response.status_code})",
                response.status_code,
            )
        return response.content

    def alerts(self, limit: int = 20) -> dict[str, Any]:
        """`/alerts`: recent alerts, the last run's facts, the thresholds in force."""
        return self._request("GET", "/alerts", params={"limit": limit})

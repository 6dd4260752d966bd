"""The API key: when one is configured, the endpoints declared protected (`openapi.operation`)
answer 401 without it; health, readiness, docs and metrics stay open to probes and scrapers.

The key is accepted in `X-API-Key` or as `Authorization: Bearer`, and compared in constant
time.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from flask import Flask, request
from spectree.models import SecurityScheme, SecuritySchemeData

from volpred.serving.api.errors import HttpError

HEADER = "X-API-Key"
#: How a client may send the key, as OpenAPI security schemes; a protected operation requires
#: either one.
SCHEMES = [
    SecurityScheme(
        name="ApiKey", data=SecuritySchemeData(type="apiKey", field_in="header", name=HEADER)
    ),
    SecurityScheme(name="Bearer", data=SecuritySchemeData(type="http", scheme="bearer")),
]
REQUIREMENT: list[dict[str, list[str]]] = [{scheme.name: []} for scheme in SCHEMES]


def given_key() -> str:
    given = request.headers.get(HEADER, "")
    auth = request.headers.get("Authorization", "")
    if not given and auth.lower().startswith("bearer "):
        given = auth[7:]
    return given


def key_check(key: bytes, protected: frozenset[str]) -> Callable[[], None]:
    def check() -> None:
        if request.endpoint in protected and not hmac.compare_digest(given_key().encode(), key):
            raise HttpError(
                401,
                "unauthorized",
                "a valid API key is required (header X-API-Key or Authorization: Bearer)",
            )

    return check


def install(app: Flask, key: bytes | None, protected: frozenset[str]) -> None:
    """Without a key nothing is checked: no hook, no cost per request."""
    if key is not None:
        app.before_request(key_check(key, protected))

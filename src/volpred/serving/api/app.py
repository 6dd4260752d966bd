"""The Flask application of the REST API: the endpoints (`routes`), the error body (`errors`),
the API key (`auth`), metrics and the access log (`access`), and the OpenAPI description
(`openapi`), put together for one set of settings.
"""

from __future__ import annotations

import orjson
from flask import Flask

from volpred.config import Settings
from volpred.serving.api import access, analyst, auth, errors, openapi
from volpred.serving.api.routes import Pages, bp
from volpred.serving.api.snapshot import Served


def create_app(settings: Settings | None = None, served: Served | None = None) -> Flask:
    """The API for `settings` (default: from the environment). Models load on first use."""
    settings = settings or Settings()
    served = served or Served(settings)
    app = Flask("volpred.serving.api")
    app.config["MAX_CONTENT_LENGTH"] = settings.api_max_body
    app.extensions["volpred"] = served
    app.extensions["volpred.settings"] = settings
    app.register_blueprint(bp)
    app.register_blueprint(analyst.bp)  # report review status, alerts
    errors.install(app)
    access.install(app)
    key = settings.api_key.get_secret_value().encode() if settings.api_key else None
    protection = openapi.endpoint_protection(app)
    auth.install(app, key, frozenset(e for e, protected in protection.items() if protected))
    description = openapi.describe(app, settings)
    app.extensions["volpred.pages"] = Pages(
        openapi=orjson.dumps(description), docs=openapi.docs_page(description).encode()
    )
    return app

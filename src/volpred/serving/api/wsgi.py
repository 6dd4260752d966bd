"""The WSGI entry for gunicorn: settings from `VOLPRED_*`; imported by each worker, which loads
the served model (and starts its watcher) before it answers its first request."""

from __future__ import annotations

import logging
import sys

from volpred.config import Settings
from volpred.serving.api.app import create_app
from volpred.serving.api.snapshot import Served

settings = Settings()
if not logging.getLogger().handlers:
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s [%(process)d]: %(message)s",
        stream=sys.stderr,
    )
served = Served(settings)
served.snapshot()
app = create_app(settings, served)

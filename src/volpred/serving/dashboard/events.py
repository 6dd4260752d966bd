"""Structured log lines for the dashboard's start/end and its users' interactions.

One line per event through the `volpred.serving.dashboard` logger, `event=<name> key=value ...`, so
the service log (run/dashboard.log) shows who looked at what and which predictions were asked.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import uuid
from typing import Any

log = logging.getLogger("volpred.serving.dashboard")
_configured = False


def _value(v: Any) -> str:
    text = str(v)
    return repr(text) if (" " in text or not text) else text


def event(name: str, **fields: Any) -> None:
    """Log `event=<name>` with `fields` as key=value pairs (values with spaces are quoted)."""
    pairs = " ".join(f"{k}={_value(v)}" for k, v in fields.items())
    log.info("event=%s %s", name, pairs)


def configure(level: str = "INFO") -> None:
    """Send volpred's lines to stderr (the service log) once per process, and log the process
    start and exit; Streamlit configures only its own loggers."""
    global _configured
    if _configured:
        return
    _configured = True
    logger = logging.getLogger("volpred")
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level)
    event("dashboard_process_start", pid=os.getpid())
    atexit.register(_at_exit, os.getpid())


def _at_exit(pid: int) -> None:
    # At interpreter exit a handler's stream may already be closed (pytest's capture, say):
    # the end line is best effort, never a traceback.
    logging.raiseExceptions = False
    event("dashboard_process_end", pid=pid)


def session_id(state: Any) -> str:
    """A short id per browser session, kept in Streamlit's session state."""
    if "volpred_session" not in state:
        state["volpred_session"] = uuid.uuid4().hex[:8]
    return str(state["volpred_session"])

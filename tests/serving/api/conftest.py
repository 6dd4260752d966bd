"""API fixtures: an app over the session's served model, and free ports for live servers."""

from __future__ import annotations

import pytest

from volpred.serving.api import create_app


@pytest.fixture(scope="module")
def app(served):
    return create_app(served)


@pytest.fixture
def client(app):
    return app.test_client()

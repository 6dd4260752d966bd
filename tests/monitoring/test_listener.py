"""The webhook listener: each POST's JSON body handed over with its path, anything else as
text, and a 200 back."""

from __future__ import annotations

import requests

from tests.support.webhooks import webhook_receiver


def test_json_and_text_bodies_arrive():
    with webhook_receiver() as hook:
        assert requests.post(hook.url, json={"subject": "s"}, timeout=5).status_code == 200
        assert requests.post(hook.url, data=b"plain", timeout=5).status_code == 200
        assert hook.wait_for(lambda b: b.get("subject") == "s")["_path"] == "/hook"
        assert hook.wait_for(lambda b: b.get("raw") == "plain", timeout=5)

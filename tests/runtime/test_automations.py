"""deployments/automations.yaml: valid automations, applied by name to a real server (again
and again without copies), each notifying through the webhook block."""

from __future__ import annotations

import uuid

import pytest

from volpred.runtime.automations import (
    AUTOMATIONS_FILE,
    BLOCK_PLACEHOLDER,
    apply_automations,
    delete_automations,
    load_automations,
)


def test_the_file_declares_the_four_alerts_each_sending_a_notification():
    block = uuid.uuid4()
    automations = load_automations(block)
    assert BLOCK_PLACEHOLDER in AUTOMATIONS_FILE.read_text()
    assert [a.name for a in automations] == [
        "volpred forecast vol above threshold",
        "volpred forecast vol jump",
        "volpred stale data",
        "volpred daily run failed or late",
    ]
    for automation in automations:
        (action,) = automation.actions
        assert action.type == "send-notification" and action.block_document_id == block
    expected = [sorted(a.trigger.expect) for a in automations]
    assert expected[:3] == [
        ["volpred.alert.forecast-vol-high"],
        ["volpred.alert.forecast-vol-jump"],
        ["volpred.alert.data-stale"],
    ]
    assert "prefect.flow-run.Late" in expected[3] and "prefect.flow-run.Failed" in expected[3]


@pytest.mark.integration
def test_applying_twice_updates_instead_of_copying(prefect_server, settings):
    from prefect.blocks.notifications import CustomWebhookNotificationBlock
    from prefect.client.orchestration import get_client

    name = f"alerts-{uuid.uuid4().hex[:8]}"
    configured = settings.with_overrides(
        alert_webhook_url="http://127.0.0.1:9/hook", alert_webhook_block=name
    )
    try:
        first = apply_automations(configured)
        second = apply_automations(
            configured.with_overrides(alert_webhook_url="http://127.0.0.1:8/x")
        )
        assert {a["action"] for a in first} == {"created"}
        assert {a["action"] for a in second} == {"updated"}
        assert [a["id"] for a in first] == [a["id"] for a in second]
        with get_client(sync_client=True) as client:
            for entry in second:
                assert len(client.read_automations_by_name(entry["name"])) == 1
        assert CustomWebhookNotificationBlock.load(name).url == "http://127.0.0.1:8/x"
    finally:
        assert delete_automations() == 4

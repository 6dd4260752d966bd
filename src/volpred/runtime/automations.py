"""The analysts' alerts on the Prefect server: the Custom Webhook notification block and the
automations of `deployments/automations.yaml`, applied by name so that `volpred serve` can run
any number of times.

`prefect automation create --from-file` reads the same file format but creates a new copy on
every call and needs the block's id written in the file; this module saves the block first
(`VOLPRED_ALERT_WEBHOOK_URL`, named `VOLPRED_ALERT_WEBHOOK_BLOCK`), puts its id in place of the
placeholder, then updates each automation that exists by that name and creates the others.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from uuid import UUID

import yaml

from volpred.config import Settings

log = logging.getLogger(__name__)
AUTOMATIONS_FILE = Path(__file__).resolve().parents[3] / "deployments" / "automations.yaml"
BLOCK_PLACEHOLDER = "<VOLPRED_ALERT_WEBHOOK_BLOCK>"
#: What the webhook receives: Prefect fills in the action's rendered subject and body.
WEBHOOK_JSON = {"source": "volpred", "subject": "{{subject}}", "body": "{{body}}"}


def load_automations(block_id: UUID, path: Path = AUTOMATIONS_FILE) -> list[Any]:
    """The file's automations, validated, with `block_id` for the placeholder."""
    from prefect.events.schemas.automations import AutomationCore

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    items = data["automations"] if isinstance(data, dict) else data
    out = []
    for item in items:
        for action in item.get("actions", []):
            if action.get("block_document_id") == BLOCK_PLACEHOLDER:
                action["block_document_id"] = str(block_id)
        out.append(AutomationCore.model_validate(item))
    return out


def save_webhook_block(settings: Settings) -> UUID:
    """Create or overwrite the notification block the automations send through."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    block = CustomWebhookNotificationBlock(
        name=settings.alert_webhook_block,
        url=settings.alert_webhook_url,
        method="POST",
        json_data=WEBHOOK_JSON,
        timeout=10,
    )
    return block.save(settings.alert_webhook_block, overwrite=True)


def apply_automations(settings: Settings, path: Path = AUTOMATIONS_FILE) -> list[dict[str, str]]:
    """Save the block, then create or update every automation of `path` by name (copies of a
    name left by earlier tools are removed). Talks to the server of PREFECT_API_URL."""
    from prefect.client.orchestration import get_client

    block_id = save_webhook_block(settings)
    applied = []
    with get_client(sync_client=True) as client:
        for automation in load_automations(block_id, path):
            existing = client.read_automations_by_name(automation.name)
            if existing:
                keep, *copies = existing
                client.update_automation(keep.id, automation)
                for copy in copies:
                    client.delete_automation(copy.id)
                applied.append({"name": automation.name, "id": str(keep.id), "action": "updated"})
            else:
                new_id = client.create_automation(automation)
                applied.append({"name": automation.name, "id": str(new_id), "action": "created"})
    for entry in applied:
        log.info("automation %r %s (%s)", entry["name"], entry["action"], entry["id"])
    log.info("alerts notify %s through block %s", settings.alert_webhook_url, block_id)
    return applied


def delete_automations(path: Path = AUTOMATIONS_FILE) -> int:
    """Remove the file's automations from the server (by name); returns how many."""
    from prefect.client.orchestration import get_client

    names = [item["name"] for item in yaml.safe_load(path.read_text())["automations"]]
    removed = 0
    with get_client(sync_client=True) as client:
        for name in names:
            for automation in client.read_automations_by_name(name):
                client.delete_automation(automation.id)
                removed += 1
    return removed

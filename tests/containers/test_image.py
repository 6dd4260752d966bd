"""The image as built by `make image`: what it says about itself, and the whole flow run in a
container on the sample source with a read-only root filesystem."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.containers.conftest import IMAGE, podman, volume_path

pytestmark = pytest.mark.container


def test_the_image_is_labelled_healthchecked_and_runs_as_a_user(image):
    (info,) = json.loads(image["inspect"])
    labels = info["Config"]["Labels"]
    assert labels["org.opencontainers.image.version"] == "0.1.0"
    assert labels["org.opencontainers.image.revision"] not in ("", "unknown")
    assert info["Config"]["User"] == "10001"
    healthcheck = info.get("Healthcheck") or info["Config"].get("Healthcheck")
    assert "VOLPRED_HEALTH_URL" in json.dumps(healthcheck)
    env = dict(e.split("=", 1) for e in info["Config"]["Env"])
    assert env["PREFECT_UI_STATIC_DIRECTORY"].startswith("/tmp/")
    assert env["VOLPRED_PREFECT_PORT"] != "4200"  # never the host's own server
    assert info["Size"] < 3.2e9, info["Size"]  # no uv cache (it was 1 GB more)
    result = podman(
        "run",
        "--rm",
        "--no-healthcheck",
        IMAGE,
        "sh",
        "-c",
        "ls /root/.cache ~/.cache 2>&1; du -sm /opt/venv",
    )
    assert "uv" not in result.stdout


def test_the_flow_runs_in_a_container_and_leaves_the_report_and_card_in_the_volume(ran_volume):
    state = volume_path(ran_volume)
    card = json.loads((state / "artifacts" / "model_card.json").read_text())
    assert card["version"]
    assert (state / "artifacts" / "latest").exists()
    pdf = state / "reports" / "analysis_report.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
        pages = int(
            next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages"))
        )
        assert pages >= 5, info
    # Every volpred line of the run (the report's threads too) went to its flow run's log.
    assert "without a flow run id" not in ran_volume.log, ran_volume.log[-3000:]
    assert (state / "prefect").is_dir()  # the run's Prefect home is the volume's, not the image's

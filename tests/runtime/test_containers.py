"""The docker pool's pieces that need no container: its job template, the Docker API check,
and where a flow container writes."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

from volpred.runtime import containers, orchestration

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_pool_template_runs_the_local_image_on_the_host_network():
    props = json.loads(containers.POOL_TEMPLATE.read_text())["variables"]["properties"]
    assert props["image"]["default"] == "localhost/volpred:latest"
    assert props["image_pull_policy"]["default"] == "Never"  # no registry to pull from
    assert props["volumes"]["default"] == ["volpred-state:/var/lib/volpred"]
    assert props["network_mode"]["default"] == "host"
    assert props["auto_remove"]["default"] is True
    assert props["env"]["default"]["VOLPRED_SERVICES"] == "[]"


def test_the_served_template_mounts_the_host_folders_at_their_own_paths(settings, tmp_path):
    template = containers.pool_template(settings, user="1000:1000")
    props = template["variables"]["properties"]
    data, artifacts = settings.data_dir.resolve(), settings.artifacts_dir.resolve()
    assert f"{data}:{data}" in props["volumes"]["default"]
    assert f"{artifacts}:{artifacts}" in props["volumes"]["default"]
    env = props["env"]["default"]
    assert env["VOLPRED_DATA_DIR"] == str(data)
    assert env["VOLPRED_ARTIFACTS_DIR"] == str(artifacts)
    # Whatever PREFECT_HOME the worker has is a host folder: never the container's.
    assert env["PREFECT_HOME"] == "/tmp/prefect"
    assert "PREFECT_API_URL" not in env  # host network: the worker's own address works
    assert props["container_create_kwargs"]["default"] == {"user": "1000:1000"}


def test_on_a_bridge_network_runs_reach_the_server_through_the_host_gateway(settings):
    bridged = settings.with_overrides(docker_network_mode="bridge")
    env = containers.pool_template(bridged)["variables"]["properties"]["env"]["default"]
    assert env["PREFECT_API_URL"] == (
        f"http://host.containers.internal:{settings.prefect_port}/api"
    )


def test_ping_speaks_the_docker_api_over_a_unix_socket(tmp_path):
    path = tmp_path / "api.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(2)

    def answer(status: bytes) -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(1024)
            conn.sendall(b"HTTP/1.1 " + status + b"\r\nContent-Length: 2\r\n\r\nOK")

    for status, expected in ((b"200 OK", True), (b"404 Not Found", False)):
        thread = threading.Thread(target=answer, args=(status,))
        thread.start()
        assert containers.ping(f"unix://{path}") is expected
        thread.join()
    server.close()
    assert containers.ping(f"unix://{path}") is False
    assert containers.ping(f"unix://{tmp_path / 'none.sock'}") is False


def test_the_docker_deployment_names_the_docker_pool_and_the_image_s_code():
    import yaml

    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    (docker,) = [d for d in config["deployments"] if d["name"] == containers.DEPLOYMENT]
    assert docker["work_pool"]["name"] == "volpred-docker"
    assert docker["pull"] == [
        {"prefect.deployments.steps.set_working_directory": {"directory": "/app"}}
    ]
    assert docker["entrypoint"] == "flows/pipeline.py:volpred_pipeline"


def test_stop_gives_the_docker_worker_a_short_grace():
    assert orchestration.STOP_GRACE["prefect-docker-worker"] < 5
    order = orchestration.SERVICES
    assert order.index("prefect-docker-worker") < order.index("podman-service")
    assert order.index("podman-service") < order.index("prefect-server")


def test_containers_get_the_host_s_pipeline_settings_but_not_its_processes():
    passed = containers.passed_settings(
        {
            "VOLPRED_SOURCE": "csv",
            "VOLPRED_MIN_TRAIN_YEARS": "5",
            "VOLPRED_RUN_DIR": "/srv/run",
            "VOLPRED_API_PORT": "5001",
            "VOLPRED_SERVICES": '["api"]',
            "VOLPRED_DOCKER_IMAGE": "x",
            "PATH": "/bin",
        }
    )
    assert passed == {"VOLPRED_SOURCE": "csv", "VOLPRED_MIN_TRAIN_YEARS": "5"}

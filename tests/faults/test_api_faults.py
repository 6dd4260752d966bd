"""The live API under abuse, damaged model files and load with a promotion in the middle:
the previous model keeps serving, nobody gets in without the key, and nothing answers 5xx."""

from __future__ import annotations

import importlib.util
import json
import os
import pickle
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import skops.io as sio

from tests.support.runs import copy_served, free_port
from volpred.model import candidate, store
from volpred.model.forecaster import load_forecaster, predict
from volpred.serving.api import create_app
from volpred.serving.api.launcher import start_api, stop_api, wait_for_version

pytestmark = [pytest.mark.faults, pytest.mark.integration]
ROOT = Path(__file__).resolve().parents[2]


def call(url: str, headers: dict[str, str] | None = None, data: bytes | None = None):
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=15) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def ready(settings) -> dict:
    return json.loads(call(f"{settings.api_url}/ready")[1])


def server_errors(settings) -> int:
    """5xx answers counted by the server itself, over all workers."""
    text = call(f"{settings.api_url}/metrics")[1].decode()
    return sum(
        int(float(m.group(1)))
        for m in re.finditer(r'volpred_api_requests_total\{[^}]*status="5\d\d"[^}]*\} (\S+)', text)
    )


@pytest.fixture(scope="module")
def live(served, tmp_path_factory):
    settings = copy_served(
        served,
        tmp_path_factory.mktemp("faults-api"),
        api_port=free_port(),
        api_reload_interval=0.2,
        api_key="fault-suite-key",
    )
    start_api(settings)
    yield settings
    stop_api(settings)


KEY = {"X-API-Key": "fault-suite-key"}


class Smuggled:
    """A type outside every allow-list, standing in for a foreign object in a model file."""

    def __reduce__(self):  # what a pickle-based loader would run
        return (os.system, ("echo pwned",))


def _publish_damaged(settings, damage: str) -> str:
    """A new version folder whose model file is damaged, made visible by moving `latest`
    (the watcher cannot see it half-made)."""
    current = store.latest_version(settings.artifacts_dir)
    name = f"29990101T0000{len(damage):02d}Z-{damage}"
    folder = settings.artifacts_dir / "models" / name
    shutil.copytree(settings.artifacts_dir / "models" / current, folder)
    model = folder / store.MODEL_FILE
    card_path = folder / store.CARD_FILE
    card = json.loads(card_path.read_text())
    data = model.read_bytes()
    if damage == "truncated":
        model.write_bytes(data[: len(data) // 3])
    elif damage == "flipped":
        model.write_bytes(data[:200] + bytes([data[200] ^ 0x5A]) + data[201:])
    elif damage == "untrusted type":
        # A well-formed skops file whose card even carries its hash: only the type list stops it.
        foreign = sio.dumps({"model": Smuggled()})
        model.write_bytes(foreign)
        card["model_sha256"] = store.sha256_bytes(foreign)
        card_path.write_text(json.dumps(card))
    elif damage == "missing version":
        shutil.rmtree(folder)
    (settings.artifacts_dir / store.LATEST).write_text(name + "\n")
    return name


@pytest.mark.parametrize("damage", ["truncated", "flipped", "untrusted type", "missing version"])
def test_damaged_model_file_keeps_the_previous_model_serving(live, damage, fault_report):
    settings = live
    before = ready(settings)
    good_latest = (settings.artifacts_dir / store.LATEST).read_text()
    errors_before = server_errors(settings)
    name = _publish_damaged(settings, damage)
    try:
        deadline = time.monotonic() + 20
        answers = []
        while time.monotonic() < deadline:
            answers = [ready(settings) for _ in range(2 * settings.api_workers)]
            if all(name in (a.get("reload_error") or "") for a in answers):
                break
            time.sleep(0.2)
        for answer in answers:
            assert answer["ready"] is True and answer["model_version"] == before["model_version"]
            assert name in answer["reload_error"]
            assert str(settings.artifacts_dir.parent) not in json.dumps(answer)
        status, body = call(f"{settings.api_url}/predict?date=latest", KEY)
        assert status == 200
        assert json.loads(body)["model_version"] == before["model_version"]
        log = Path(settings.run_dir / "api.log").read_text()
        assert name in log  # the log names the file (or the version the pointer names)
        lost = int(not (settings.artifacts_dir / "models" / before["model_version"]).is_dir())
        fault_report(
            f"model file: {damage}",
            "old model served, /ready explains",
            answers[0]["reload_error"][:60],
            checkpoints_lost=lost,
            server_errors=server_errors(settings) - errors_before,
        )
    finally:
        (settings.artifacts_dir / store.LATEST).write_text(good_latest)
        shutil.rmtree(settings.artifacts_dir / "models" / name, ignore_errors=True)
    time.sleep(3 * settings.api_reload_interval)
    assert ready(settings)["reload_error"] is None  # the bad version withdrawn: all clear
    assert server_errors(settings) == errors_before


def test_key_missing_or_wrong_is_refused(live, fault_report):
    settings = live
    codes = {
        "missing": call(f"{settings.api_url}/predict?date=latest")[0],
        "wrong": call(f"{settings.api_url}/predict?date=latest", {"X-API-Key": "guess"})[0],
        "wrong bearer": call(f"{settings.api_url}/plot", {"Authorization": "Bearer guess"})[0],
        "right": call(f"{settings.api_url}/predict?date=latest", KEY)[0],
    }
    assert codes == {"missing": 401, "wrong": 401, "wrong bearer": 401, "right": 200}
    fault_report("API key missing or wrong", "401, right key 200", str(codes))


def test_oversized_body_is_refused_before_it_is_read(live, fault_report):
    """Announce 200 MB and send nothing: the 413 must come back at once (nothing waits for,
    or buffers, the body)."""
    settings = live
    started = time.perf_counter()
    with socket.create_connection((settings.api_host, settings.api_port), timeout=10) as s:
        s.sendall(
            b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"X-API-Key: fault-suite-key\r\nContent-Length: 200000000\r\n\r\n{"
        )
        answer = s.recv(65536).decode(errors="replace")
        seconds = time.perf_counter() - started
        head, _, body = answer.partition("\r\n\r\n")
        length = int(re.search(r"(?i)content-length: (\d+)", head).group(1))
        while len(body.encode()) < length:  # the body may follow in another packet
            chunk = s.recv(65536)
            if not chunk:
                break
            body += chunk.decode(errors="replace")
    assert answer.startswith("HTTP/1.1 413") and seconds < 5
    assert json.loads(body)["error"] == "request entity too large"
    fault_report("body of 200 MB announced", "413 before reading", f"413 in {seconds:.2f} s")


def test_no_stack_trace_or_path_in_error_bodies(live, fault_report):
    settings = live
    bodies = [
        call(f"{settings.api_url}/predict", KEY, b"{not json")[1],
        call(f"{settings.api_url}/predict?date=1700-01-01", KEY)[1],
        call(f"{settings.api_url}/nowhere/../../etc/passwd")[1],
        call(f"{settings.api_url}/plot?kind=%00", KEY)[1],
        call(f"{settings.api_url}/predict", KEY, json.dumps({"features": {"vix": 1e308}}).encode())[
            1
        ],
    ]
    for body in bodies:
        text = body.decode()
        assert "Traceback" not in text and "/tmp" not in text and "site-packages" not in text
        assert set(json.loads(text)) == {"error", "detail", "field"}
    fault_report("bad requests", "JSON errors, no trace/path", f"{len(bodies)} clean 4xx bodies")


def test_schemathesis_thousand_requests_no_5xx(live, tmp_path, fault_report):
    settings = live
    before = server_errors(settings)
    st = Path(sys.executable).with_name("st")
    result = subprocess.run(
        [
            str(st), "run", f"{settings.api_url}/openapi.json",
            "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,"
            "response_schema_conformance,negative_data_rejection,unsupported_method",
            "--header", "X-API-Key: fault-suite-key",
            "--max-examples", os.environ.get("VOLPRED_FUZZ_EXAMPLES", "100"),
            "--seed", "20240102", "--workers", "2", "--no-shrink",
        ],
        capture_output=True, text=True, timeout=1200, cwd=tmp_path,
    )  # fmt: skip
    out = result.stdout
    generated = re.search(r"(\d+) generated", out)
    count = int(generated.group(1)) if generated else 0
    assert result.returncode == 0, out[-3000:]
    assert count >= 1000, out[-1500:]
    fives = server_errors(settings) - before
    assert fives == 0
    fault_report(
        "schemathesis on /openapi.json", ">= 1000 requests, no 5xx", f"{count} ok", 0, fives
    )


def _load_benchmark():
    spec = importlib.util.spec_from_file_location("api_load", ROOT / "benchmarks" / "api_load.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sustained_mixed_load_with_a_promotion_midway(live, tmp_path, fault_report):
    """32 connections of valid mixed traffic; a new model is promoted halfway: every answer 2xx,
    no connection dropped."""
    settings = live
    if shutil.which("wrk") is None:
        pytest.fail("wrk is not installed (make setup installs it)")
    bench = _load_benchmark()
    seconds = int(os.environ.get("VOLPRED_LOAD_SECONDS", "60"))
    script = tmp_path / "mixed.lua"
    script.write_text(bench.lua_script(bench.MIXED, KEY))
    old = ready(settings)["model_version"]
    promoted: dict[str, str] = {}

    def promote_midway() -> None:
        time.sleep(seconds / 2)
        promoted["version"] = candidate.promote(settings).version

    promoter = threading.Thread(target=promote_midway)
    promoter.start()
    before = server_errors(settings)
    r = bench.wrk(settings.api_url, script, seconds, 32, 2)
    promoter.join()
    wait_for_version(settings, promoted["version"], timeout=30)
    assert r["requests"] > 0 and r["non_2xx"] == 0, r
    assert r["socket_errors"] == "none", r
    assert promoted["version"] != old
    fives = server_errors(settings) - before
    fault_report(
        f"{seconds} s mixed load, 32 conn, promotion",
        "all 2xx, no drops, new model served",
        f"{r['requests']} req, p99 {r['p99_ms']:.1f} ms, non-2xx {r['non_2xx']}",
        0,
        fives,
    )


def test_no_pickle_is_ever_loaded(served, monkeypatch, fault_report):
    """Loading, predicting and serving with every unpickling entry point booby-trapped."""
    calls: list[str] = []

    def trap(name):
        def tripped(*args, **kwargs):
            calls.append(name)
            raise AssertionError(f"{name} called")

        return tripped

    monkeypatch.setattr(pickle, "loads", trap("pickle.loads"))
    monkeypatch.setattr(pickle, "load", trap("pickle.load"))
    monkeypatch.setattr(pickle, "Unpickler", trap("pickle.Unpickler"))
    forecaster = load_forecaster(served)
    assert predict(forecaster, dates=["latest"])
    client = create_app(served).test_client()
    assert client.get("/predict?date=latest").status_code == 200
    assert client.get("/plot?kind=forecast&format=json").status_code == 200
    assert not calls
    fault_report("unpickling booby-trapped", "no pickle loaded", "model, API: 0 pickle calls")

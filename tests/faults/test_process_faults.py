"""Processes killed with SIGKILL mid-write, and two pipeline runs at once: no half-written
artifact is ever visible, the served model stays loadable, the next run resumes."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.prefect_runs import task_states
from tests.support.runs import isolated_run_env
from volpred.config import Settings
from volpred.model import candidate, store
from volpred.runtime.storage import sha256_file

pytestmark = [pytest.mark.faults, pytest.mark.integration]
VOLPRED = Path(sys.executable).with_name("volpred")


def settings_for(root: Path) -> Settings:
    return Settings(
        data_dir=root / "data", artifacts_dir=root / "artifacts", results_dir=root / "results"
    )


def assert_artifacts_consistent(artifacts_dir: Path) -> int:
    """Every version folder complete and matching its card; `latest` loads; the top-level copies
    equal the latest version. Returns the number of versions."""
    versions = sorted(p for p in (artifacts_dir / "models").iterdir() if not p.name.startswith("."))
    for folder in versions:
        card = json.loads((folder / store.CARD_FILE).read_text())
        assert card["version"] == folder.name
        assert sha256_file(folder / store.MODEL_FILE) == card["model_sha256"]
        for name, sha in card.get("extra_files", {}).items():
            assert sha256_file(folder / name) == sha
    store.load_version(artifacts_dir)
    # The top-level copies (docs/specification.md, section 3): complete files, each of a saved
    # version (after a kill, possibly the one before `latest`; `store.repair`, run by every save,
    # brings them up).
    copy = json.loads((artifacts_dir / store.CARD_FILE).read_text())
    assert (artifacts_dir / "models" / copy["version"]).is_dir()
    model_sha = sha256_file(artifacts_dir / store.MODEL_FILE)
    assert any(sha256_file(folder / store.MODEL_FILE) == model_sha for folder in versions)
    return len(versions)


def copies_follow_latest(artifacts_dir: Path) -> bool:
    copy = json.loads((artifacts_dir / store.CARD_FILE).read_text())
    model = (artifacts_dir / store.MODEL_FILE).read_bytes()
    latest = store.version_dir(artifacts_dir)
    return copy["version"] == latest.name and model == (latest / store.MODEL_FILE).read_bytes()


def wait_for_line(process: subprocess.Popen, needle: str, timeout: float) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                break
            continue
        seen.append(line)
        if needle in line:
            return seen
    raise AssertionError(f"never saw {needle!r}; output:\n{''.join(seen[-30:])}")


def test_kill_during_train_model_then_resume(prefect_server, tmp_path, fault_report):
    from volpred.flows.pipeline import volpred_pipeline

    root = tmp_path
    env = isolated_run_env(root)
    process = subprocess.Popen(
        [str(VOLPRED), "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )  # fmt: skip
    try:
        wait_for_line(process, "train_model start", timeout=240)
        time.sleep(1.0)  # well inside the walk-forward
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    settings = settings_for(root)
    cleaned = sha256_file(settings.cleaned_parquet_path)
    assert not (root / "artifacts" / "models").exists() or not any(
        p for p in (root / "artifacts" / "models").iterdir() if not p.name.startswith(".")
    )
    for key, value in env.items():
        if key.startswith("VOLPRED_"):
            os.environ[key] = value
    try:
        state = volpred_pipeline(
            data_dir=settings.data_dir,
            artifacts_dir=settings.artifacts_dir,
            results_dir=settings.results_dir,
            services=[],
            report=False,
            return_state=True,
        )
    finally:
        for key in env:
            if key.startswith("VOLPRED_"):
                os.environ.pop(key, None)
    states = task_states(state)
    assert state.is_completed(), state.message
    assert states["ingest_data"] == "Cached" and states["clean_data"] == "Cached"
    assert states["train_model"] == "Completed" and states["save_model"] == "Completed"
    assert sha256_file(settings.cleaned_parquet_path) == cleaned
    assert assert_artifacts_consistent(settings.artifacts_dir) == 1
    fault_report(
        "kill -9 during train_model",
        "resume from cleaned checkpoint",
        f"ingest/clean {states['clean_data']}, train {states['train_model']}",
    )


SAVER = """
import sys
from pathlib import Path
from volpred.model import candidate
from volpred.config import Settings
settings = Settings(data_dir=Path(sys.argv[1]), artifacts_dir=Path(sys.argv[2]))
candidate.promote(settings)  # imports done: from here on the process only saves
print("ready", flush=True)
while True:
    candidate.promote(settings)
"""


def test_kill_during_save_model_never_shows_a_half_model(served, tmp_path, fault_report):
    """A process promoting versions in a loop is killed at random moments, 12 times: after
    each kill every version is complete, `latest` loads, and a new save cleans up."""
    import shutil

    shutil.copytree(served.data_dir, tmp_path / "data")
    shutil.copytree(served.artifacts_dir, tmp_path / "artifacts")
    art = tmp_path / "artifacts"
    rng = random.Random(7)
    for _ in range(12):
        saver = subprocess.Popen(
            [sys.executable, "-c", SAVER, str(tmp_path / "data"), str(art)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert saver.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.3))
        saver.send_signal(signal.SIGKILL)
        saver.wait()
        assert_artifacts_consistent(art)
    versions_before = assert_artifacts_consistent(art)
    assert versions_before > 12  # the kills did land among saves
    store.repair(art)
    assert copies_follow_latest(art)
    candidate.promote(Settings(data_dir=tmp_path / "data", artifacts_dir=art))
    leftovers = [*(art / "models").glob(".*"), *art.glob(".*.tmp")]
    assert not leftovers
    assert assert_artifacts_consistent(art) == versions_before + 1
    assert copies_follow_latest(art)
    fault_report(
        "kill -9 during save_model (x12)",
        "no half model; latest loads",
        f"{versions_before} complete versions, 0 leftovers",
    )


def test_two_runs_at_once_both_finish_consistently(prefect_server, tmp_path, fault_report):
    env = isolated_run_env(tmp_path)
    runs = [
        subprocess.Popen(
            [str(VOLPRED), "run"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=600)[0] for p in runs]
    codes = [p.returncode for p in runs]
    assert codes == [0, 0], "\n".join(o[-2000:] for o in outputs)
    settings = settings_for(tmp_path)
    versions = assert_artifacts_consistent(settings.artifacts_dir)
    assert copies_follow_latest(settings.artifacts_dir)
    assert versions == 1  # the second run found the same model already served
    assert (
        candidate.served_card(settings).fingerprint
        == candidate.candidate_card(settings).fingerprint
    )
    fault_report(
        "two `volpred run` at once",
        "both finish; artifacts match cards",
        f"exit codes {codes}, {versions} version",
    )

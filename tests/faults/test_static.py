"""Static checks. `bandit -r src` leaves no medium or high finding unexplained,
nothing in src can load a pickle, and every `# nosec` names its test and says why.

An explained finding carries, on its line, `# nosec B310  # why it is safe here` (the second `#`
keeps bandit from reading the reason as test names). A bare `# nosec` hides every test on the
line and is refused.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.faults, pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
BANDIT = Path(sys.executable).with_name("bandit")
#: Bandit tests about deserialising untrusted data (pickle, marshal, shelve, yaml.load,
#: torch.load...): at any severity, none may fire in src.
DESERIALISATION = {"B301", "B302", "B403", "B506", "B614", "B615"}
#: `# nosec` followed by test ids, then a reason (after `#`, `-` or `--`).
EXPLAINED_NOSEC = re.compile(r"#\s*nosec\s+B\d{3}(\s*,\s*B\d{3})*\s*(#|--?)\s*\w")


@pytest.fixture(scope="module")
def bandit() -> dict:
    """bandit's JSON report on src, all severities and confidences (filtered below)."""
    done = subprocess.run(
        [str(BANDIT), "-r", str(SRC), "-f", "json", "-q"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode in (0, 1), done.stderr[-2000:]  # 1: findings reported
    return json.loads(done.stdout)


def describe(result: dict) -> str:
    path = Path(result["filename"]).resolve().relative_to(ROOT)
    return (
        f"{path}:{result['line_number']} {result['test_id']} {result['issue_severity']}/"
        f"{result['issue_confidence']}: {result['issue_text']}"
    )


def test_bandit_medium_and_high_findings_are_explained(bandit: dict, fault_report) -> None:
    findings = [r for r in bandit["results"] if r["issue_severity"] in ("MEDIUM", "HIGH")]
    skipped = bandit["metrics"]["_totals"]["skipped_tests"]
    fault_report(
        "static: bandit -r src (medium, high)",
        "0 unexplained; each nosec has a reason",
        f"{len(findings)} unexplained, {skipped} explained by nosec"
        + (f": {', '.join(f['test_id'] for f in findings)}" if findings else ""),
    )
    assert not findings, "unexplained bandit findings:\n" + "\n".join(map(describe, findings))


def test_nothing_in_src_can_load_a_pickle(bandit: dict, fault_report) -> None:
    found = [r for r in bandit["results"] if r["test_id"] in DESERIALISATION]
    calls = re.compile(
        r"\b(pickle|cPickle|dill|cloudpickle|joblib|marshal|shelve)\b|read_pickle|allow_pickle=True"
    )
    lines = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted(SRC.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if calls.search(line.split("#", 1)[0]) and not line.lstrip().startswith(("#", '"'))
    ]
    fault_report(
        "static: pickle loaders in src",
        "none (skops with trusted types only)",
        f"{len(found)} bandit deserialisation findings, {len(lines)} pickle-ish lines",
    )
    assert not found, "\n".join(map(describe, found))
    assert not lines, "\n".join(lines)


def test_every_nosec_names_its_test_and_a_reason(fault_report) -> None:
    bare = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted(SRC.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if re.search(r"#\s*nosec\b", line) and not EXPLAINED_NOSEC.search(line)
    ]
    fault_report(
        "static: # nosec without test id or reason",
        "none",
        f"{len(bare)} found",
    )
    assert not bare, "\n".join(bare)

"""The map of the house stays true: every module has a test file of its own name in the mirrored
folder or a line in docs/architecture.md naming the tests that cover it, and nothing in code,
tests or docs speaks of the development process instead of the product."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "volpred"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
COVERAGE_ROW = re.compile(r"^\| `([\w/]+\.py)` \| (.+) \|$", re.M)


def modules() -> list[Path]:
    return sorted(p.relative_to(SRC) for p in SRC.rglob("*.py") if p.name != "__init__.py")


def has_own_test(module: Path) -> bool:
    folder = ROOT / "tests" / module.parent
    return (folder / f"test_{module.stem}.py").is_file()


def coverage_table() -> dict[str, list[str]]:
    rows = COVERAGE_ROW.findall(ARCHITECTURE.read_text(encoding="utf-8"))
    return {module: re.findall(r"`(tests/[\w/]+\.py)`", tests) for module, tests in rows}


def test_every_module_has_tests_named_by_file_or_by_the_architecture_map() -> None:
    table = coverage_table()
    missing = [str(m) for m in modules() if not has_own_test(m) and str(m) not in table]
    assert not missing, (
        f"{missing}: add tests/<path>/test_<name>.py or a line in {ARCHITECTURE.name}"
    )


def test_the_map_names_existing_modules_and_tests() -> None:
    table = coverage_table()
    assert table, "the coverage table was not found"
    for module, tests in table.items():
        assert (SRC / module).is_file(), f"{module} is in the map but not in src/volpred"
        assert tests, f"{module}: its line names no test file"
        for test in tests:
            assert (ROOT / test).is_file(), f"{module}: {test} does not exist"


PROCESS_WORDS = re.compile(r"\b(issue|item) \d+\b|\bthe lead\b", re.I)


@pytest.mark.parametrize("place", ["src", "tests", "benchmarks", "docs", "flows", "README.md"])
def test_no_code_test_or_doc_speaks_of_the_development_process(place: str) -> None:
    hits = []
    top = ROOT / place
    for path in sorted(top.rglob("*")) if top.is_dir() else [top]:
        if path.suffix not in {".py", ".md", ".j2", ".yaml", ".yml", ".toml"}:
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if PROCESS_WORDS.search(line) and path != Path(__file__):
                hits.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not hits, "\n".join(hits)

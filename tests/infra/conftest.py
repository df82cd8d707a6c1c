"""tests/infra: checks of the Azure deployment that run here, without Azure.

They use two venvs the Makefile builds beside .venv (`make setup`): .venv-tools (checkov and
pycep, whose pins conflict with pytest's) and .venv-worker (the Azure Functions Python worker
and the app's runtime requirements). A missing venv fails the test with the command to run;
nothing is skipped.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
TOOLS_PYTHON = ROOT / ".venv-tools" / "bin" / "python"
WORKER_PYTHON = ROOT / ".venv-worker" / "bin" / "python"
HERE = Path(__file__).resolve().parent

_summary: list[str] = []


def require(python: Path) -> Path:
    if not python.exists():
        pytest.fail(f"{python.relative_to(ROOT)} is missing: run `make setup`", pytrace=False)
    return python


def report(line: str) -> None:
    """A line for the end of the pytest run (e.g. checkov's counts)."""
    _summary.append(line)


def pytest_terminal_summary(terminalreporter):
    if _summary:
        terminalreporter.section("infra")
        for line in _summary:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def bicep_files() -> list[Path]:
    files = sorted(INFRA.rglob("*.bicep"))
    assert files, "no .bicep file under infra/"
    return files


@pytest.fixture(scope="session")
def parsed() -> dict:
    """Every infra/**/*.bicep parsed by pycep (and azure.yaml by PyYAML), in .venv-tools."""
    out = subprocess.run(
        [str(require(TOOLS_PYTHON)), str(HERE / "parse_bicep.py"), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def tree(parsed: dict, relative_path: str) -> dict:
    entry = parsed["bicep"][relative_path]
    assert "error" not in entry, entry["error"]
    return entry["tree"]

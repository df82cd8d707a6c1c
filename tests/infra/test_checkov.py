"""checkov's Bicep checks pass on infra/: no parsing error, no failed check, every skip explained.

checkov exits 0 when it cannot parse a file, so the JSON report is read instead of the exit
code. A skip is an inline `//checkov:skip=CKV_...:reason` inside the resource in the .bicep.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.infra.conftest import ROOT, TOOLS_PYTHON, report, require


@pytest.fixture(scope="module")
def checkov_report() -> dict:
    checkov = require(TOOLS_PYTHON).parent / "checkov"
    out = subprocess.run(
        [str(checkov), "--framework", "bicep", "--skip-download", "-d", "infra", "-o", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.stdout.strip(), f"checkov printed nothing (exit {out.returncode}): {out.stderr[-2000:]}"
    data = json.loads(out.stdout)
    reports = data if isinstance(data, list) else [data]
    bicep = [r for r in reports if r.get("check_type") == "bicep"]
    assert len(bicep) == 1, f"no bicep report in checkov's output: {[r.get('check_type') for r in reports]}"
    return bicep[0]


def test_checkov_parses_every_file(checkov_report):
    summary = checkov_report["summary"]
    assert summary["parsing_errors"] == 0, checkov_report["results"].get("parsing_errors")
    assert summary["resource_count"] > 0


def test_checkov_reports_no_failed_check(checkov_report):
    summary = checkov_report["summary"]
    results = checkov_report["results"]
    report(
        f"checkov (bicep): {summary['passed']} passed, {summary['failed']} failed, "
        f"{summary['skipped']} skipped, {summary['parsing_errors']} parsing errors"
    )
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}): {c['check_name']}" for c in results["failed_checks"]
    ]
    assert failed == []
    assert summary["passed"] > 0


def test_every_skip_is_inline_with_a_reason(checkov_report):
    for check in checkov_report["results"]["skipped_checks"]:
        reason = check["check_result"].get("suppress_comment", "")
        assert reason and reason != "No comment provided" and len(reason) > 20, check["check_id"]
        source = (ROOT / "infra" / check["file_path"].lstrip("/")).read_text()
        assert f"checkov:skip={check['check_id']}:" in source, check["check_id"]

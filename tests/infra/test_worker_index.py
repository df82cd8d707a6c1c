"""The Azure Functions Python worker indexes function_app.py and finds every function of the contract.

devtools/worker_index.py runs in .venv-worker (the worker library + the app's requirements) and
goes through the worker's own start-up requests (worker_init_request, functions_metadata_request),
the code path the Functions host drives in Azure. No setting is set: indexing must not need any.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap

import pytest

from tests.infra.conftest import ROOT, WORKER_PYTHON, report, require

HTTP_FUNCTIONS = {
    "authorize_tenant_link",
    "list_tenant_links",
    "get_tenant_link",
    "renew_tenant_link",
    "unlink_tenant",
    "oauth_callback",
    "authorize_user_link",
    "list_user_links",
    "delete_user_link",
    "list_calendars",
    "request_room_sync",
    "list_rooms",
    "create_event",
    "get_event",
    "update_event",
    "cancel_event",
    "get_availability",
    "confirm_link_completion",
    "find_rooms",
    "list_changes",
    "outlook_notifications",
    "outlook_lifecycle_notifications",
    "find_slots",
    "create_hold",
    "get_hold",
    "confirm_hold",
    "release_hold",
    "service_health",
    "outlook_health",
    "list_audit",
    "delete_company_data_request",
}
EXPECTED_TRIGGERS = {
    **{name: "httpTrigger" for name in HTTP_FUNCTIONS},
    "refresh_room_caches": "timerTrigger",
    "sync_tenant_rooms": "queueTrigger",
    "purge_expired_oauth_states": "timerTrigger",
    "process_outlook_notifications": "queueTrigger",
    "renew_outlook_subscriptions": "timerTrigger",
    "maintain_outlook_subscriptions": "queueTrigger",
    "deliver_herp_webhook": "queueTrigger",
    "refresh_outlook_credentials": "timerTrigger",
    "refresh_outlook_credential": "queueTrigger",
    "release_expired_outlook_holds": "timerTrigger",
    "delete_company_data": "queueTrigger",
    "purge_expired_records": "timerTrigger",
}

# Settings of README.md "Settings" (and the host's storage setting): none may be needed to index.
SETTING_PREFIXES = (
    "MS_",
    "HERP_",
    "TOKEN_",
    "AzureWebJobs",
    "STORAGE_",
    "ROOM_",
    "AUDIT_",
    "EVENT_",
    "REQUESTS_CA",
    "AZURE_",
    "APPLICATIONINSIGHTS_",
    "PYTHON_SCRIPT_FILE_NAME",
)


def run_worker_index(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(SETTING_PREFIXES)}
    return subprocess.run(
        [str(require(WORKER_PYTHON)), "-m", "devtools.worker_index", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def indexed() -> dict:
    out = run_worker_index()
    assert out.returncode == 0, out.stderr
    functions = {f["name"]: f for f in json.loads(out.stdout)["functions"]}
    report(f"worker indexed {len(functions)} functions: {', '.join(sorted(functions))}")
    return functions


def test_worker_finds_every_function_of_the_contract(indexed):
    assert set(indexed) == set(EXPECTED_TRIGGERS)
    assert {name: f["trigger"] for name, f in indexed.items()} == EXPECTED_TRIGGERS


def test_bindings_are_what_the_host_needs(indexed):
    for name in HTTP_FUNCTIONS:
        trigger, output = indexed[name]["bindings"]
        assert trigger["type"] == "httpTrigger" and trigger["direction"] == "IN", name
        assert trigger["route"].startswith("outlook/") or trigger["route"] == "health", name  # CONTRACT 8
        assert trigger["methods"], name
        assert trigger["authLevel"] == "ANONYMOUS", name  # callers authenticate with the HERP JWT
        assert output == {"direction": "OUT", "type": "http", "name": "$return"}, name
    routes = {
        (indexed[n]["bindings"][0]["route"], m) for n in HTTP_FUNCTIONS for m in indexed[n]["bindings"][0]["methods"]
    }
    assert len(routes) == len(HTTP_FUNCTIONS), "two functions share a route and method"

    (timer,) = indexed["refresh_room_caches"]["bindings"]
    assert timer["schedule"] == "%ROOM_REFRESH_SCHEDULE%"
    assert timer.get("runOnStartup") in (None, False)
    (queue,) = indexed["sync_tenant_rooms"]["bindings"]
    assert queue["queueName"] == "room-sync"
    # Resolved from the identity-based AzureWebJobsStorage__* settings in Azure (infra/).
    assert queue["connection"] == "AzureWebJobsStorage"


def test_worker_index_fails_on_an_app_the_worker_refuses(tmp_path):
    (tmp_path / "function_app.py").write_text(
        textwrap.dedent("""
        import azure.functions as func

        app = func.FunctionApp()

        @app.route(route="broken")
        def broken(req: func.HttpRequest, undeclared: str) -> func.HttpResponse:
            return func.HttpResponse("")
    """)
    )
    out = run_worker_index("--app-dir", str(tmp_path))
    assert out.returncode == 1
    assert "undeclared" in out.stderr  # the worker's own FunctionLoadError names the parameter


def test_worker_index_fails_when_the_app_does_not_import(tmp_path):
    (tmp_path / "function_app.py").write_text("import azure.functions as func\nimport not_a_module_anywhere\n")
    out = run_worker_index("--app-dir", str(tmp_path))
    assert out.returncode == 1
    assert "not_a_module_anywhere" in out.stderr

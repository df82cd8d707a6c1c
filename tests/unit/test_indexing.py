"""Indexing the app must be cheap and must never fail for a missing setting."""

import json
import os
import subprocess
import sys

from devtools.stack import ROOT

PROBE = """
import json, sys
import function_app
names = sorted(f.get_function_name() for f in function_app.app.get_functions())
heavy = [m for m in ("msal", "azure.identity", "cryptography", "jwt", "requests", "azure.data.tables", "holidays") if m in sys.modules]
print(json.dumps({"names": names, "heavy": heavy}))
"""

EXPECTED = {
    "authorize_tenant_link",
    "get_tenant_link",
    "list_tenant_links",
    "oauth_callback",
    "renew_tenant_link",
    "unlink_tenant",
    "authorize_user_link",
    "list_user_links",
    "delete_user_link",
    "list_calendars",
    "refresh_room_caches",
    "sync_tenant_rooms",
    "purge_expired_oauth_states",
    "create_event",
    "get_event",
    "update_event",
    "cancel_event",
    "get_availability",
    "request_room_sync",
    "list_rooms",
    "find_rooms",
    "confirm_link_completion",
}


def test_import_is_light_and_needs_no_setting():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MS_", "HERP_", "TOKEN_", "AzureWebJobs"))}
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    assert result["heavy"] == []
    assert EXPECTED <= set(result["names"])

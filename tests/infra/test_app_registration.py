"""infra/app-registration.sh, run against a fake `az` (tests/infra/fake_az.py): which calls it
makes, what it registers, and that secrets reach Key Vault through files, never a command line."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import pytest

from shared import identity
from tests.infra.conftest import HERE, INFRA
from tests.infra.fake_az import APP_ID, CLIENT_SECRET, GRAPH_SCOPES, SECRET_END

SCRIPT = INFRA / "app-registration.sh"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
# What the admin consent asks for (shared/identity.py): the registration must declare exactly that.
REQUESTED_SCOPES = identity.SCOPES + identity.OIDC_SCOPES
REDIRECT_URI = "https://func-api-abc.azurewebsites.net/api/outlook/callback"
LOCAL_REDIRECT_URI = "http://localhost:7071/api/outlook/callback"
TENANT_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
IDENTITY_OBJECT_ID = "99999999-8888-7777-6666-555555555555"


@pytest.fixture
def run(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "az").write_text(f'#!/bin/sh\nexec "{sys.executable}" "{HERE / "fake_az.py"}" "$@"\n')
    (bin_dir / "azd").write_text("#!/bin/sh\nexit 1\n")  # no azd environment: inputs come from the environment
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    log = tmp_path / "az.log"

    def run_script(*args, **env_values):
        env = {
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "HOME": str(tmp_path),
            "FAKE_AZ_LOG": str(log),
            "AZURE_KEY_VAULT_NAME": "kv-abc",
            "MS_REDIRECT_URI": REDIRECT_URI,
            "AZURE_FUNCTION_APP_NAME": "func-api-abc",
            "AZURE_RESOURCE_GROUP": "rg-dev",
            "AZURE_ENV_NAME": "dev",
            "AZURE_TENANT_ID": TENANT_ID,
            "AZURE_FUNCTION_IDENTITY_PRINCIPAL_ID": IDENTITY_OBJECT_ID,
        }
        env.update({k: v for k, v in env_values.items() if v is not None})
        for name in [k for k, v in env_values.items() if v is None]:
            env.pop(name, None)
        if log.exists():
            log.unlink()
        out = subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60)
        calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        return out, calls

    return run_script


def find(calls, *words):
    return [c for c in calls if all(w in c["argv"] for w in words)]


def option(call, name):
    argv = call["argv"]
    return argv[argv.index(name) + 1]


def stored_secrets(calls):
    secrets = {}
    for call in find(calls, "keyvault", "secret", "set"):
        secrets[option(call, "--name")] = call["files"][option(call, "--file")]
    return secrets


def test_script_is_strict_bash():
    text = SCRIPT.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "\nset -euo pipefail\n" in text
    assert os.access(SCRIPT, os.X_OK)
    assert subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True).returncode == 0


def test_first_run_registers_the_app_and_fills_key_vault(run):
    out, calls = run(MS_CLIENT_CREDENTIAL="secret")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == APP_ID
    assert f"azd env set MS_CLIENT_ID {APP_ID}" in out.stderr

    (create,) = find(calls, "ad", "app", "create")
    assert option(create, "--sign-in-audience") == "AzureADMultipleOrgs"
    assert option(create, "--web-redirect-uris") == REDIRECT_URI
    assert option(create, "--display-name") == "HERP Hire Outlook integration (dev)"
    access = json.loads(create["files"][option(create, "--required-resource-accesses")[1:]])
    assert access == [
        {
            "resourceAppId": GRAPH_APP_ID,
            "resourceAccess": [{"id": GRAPH_SCOPES[s], "type": "Scope"} for s in REQUESTED_SCOPES],
        }
    ]
    assert find(calls, "ad", "app", "update", "--set", "groupMembershipClaims=DirectoryRole")

    (reset,) = find(calls, "ad", "app", "credential", "reset")
    assert option(reset, "--id") == APP_ID and "--append" in reset["argv"]
    secrets = stored_secrets(calls)
    assert secrets["ms-client-secret"] == CLIENT_SECRET
    key = base64.urlsafe_b64decode(
        secrets["token-encryption-keys"] + "=" * (-len(secrets["token-encryption-keys"]) % 4)
    )
    assert len(key) == 32 and "=" not in secrets["token-encryption-keys"]
    # Secret values travel in files only.
    assert not [c for c in calls if any(CLIENT_SECRET in a or secrets["token-encryption-keys"] in a for a in c["argv"])]
    assert CLIENT_SECRET not in out.stdout + out.stderr

    (settings,) = find(calls, "functionapp", "config", "appsettings", "set")
    values = settings["argv"][settings["argv"].index("--settings") + 1 : settings["argv"].index("--output")]
    assert values == [
        f"MS_CLIENT_ID={APP_ID}",
        "MS_CLIENT_CREDENTIAL=secret",
        f"MS_CLIENT_SECRET_EXPIRES_AT={SECRET_END}",
    ]
    assert option(settings, "--name") == "func-api-abc" and option(settings, "--resource-group") == "rg-dev"
    # Key Vault is checked before any credential is created (a secret that cannot be stored is never made).
    assert calls.index(find(calls, "keyvault", "secret", "list")[0]) < calls.index(reset)


def test_second_run_changes_no_secret_and_keeps_redirect_uris(run):
    out, calls = run(
        MS_CLIENT_ID=APP_ID,
        MS_CLIENT_CREDENTIAL="secret",
        FAKE_AZ_SECRETS="ms-client-secret,token-encryption-keys",
        FAKE_AZ_REDIRECTS=LOCAL_REDIRECT_URI,
    )
    assert out.returncode == 0, out.stderr
    assert not find(calls, "ad", "app", "create")
    assert not find(calls, "ad", "app", "credential", "reset")
    assert stored_secrets(calls) == {}
    (update,) = [c for c in find(calls, "ad", "app", "update") if "--web-redirect-uris" in c["argv"]]
    uris = update["argv"][update["argv"].index("--web-redirect-uris") + 1 :]
    uris = uris[: next((i for i, a in enumerate(uris) if a.startswith("--")), len(uris))]
    assert sorted(uris) == sorted([REDIRECT_URI, LOCAL_REDIRECT_URI])


def test_rotate_secret_replaces_only_the_client_secret(run):
    out, calls = run(
        "--rotate-secret",
        MS_CLIENT_ID=APP_ID,
        MS_CLIENT_CREDENTIAL="secret",
        FAKE_AZ_SECRETS="ms-client-secret,token-encryption-keys",
    )
    assert out.returncode == 0, out.stderr
    assert len(find(calls, "ad", "app", "credential", "reset")) == 1
    assert stored_secrets(calls) == {"ms-client-secret": CLIENT_SECRET}


def test_existing_app_found_by_display_name(run):
    out, calls = run(FAKE_AZ_APPS=APP_ID, FAKE_AZ_SECRETS="ms-client-secret,token-encryption-keys")
    assert out.returncode == 0, out.stderr
    assert not [c for c in calls if c["argv"][:3] == ["ad", "app", "create"]]
    assert find(calls, "ad", "app", "update", "--id", APP_ID)


def test_two_apps_with_the_same_name_stop_the_script(run):
    out, calls = run(FAKE_AZ_APPS=f"{APP_ID},99999999-2222-3333-4444-555555555555")
    assert out.returncode != 0
    assert "set MS_CLIENT_ID" in out.stderr
    assert not find(calls, "ad", "app", "update") and not find(calls, "ad", "app", "create")


@pytest.mark.parametrize("missing", ["AZURE_KEY_VAULT_NAME", "MS_REDIRECT_URI"])
def test_missing_provision_outputs_stop_before_any_change(run, missing):
    out, calls = run(**{missing: None})
    assert out.returncode != 0
    assert missing in out.stderr
    assert not [c for c in calls if c["argv"][:2] == ["ad", "app"] or c["argv"][:3] == ["keyvault", "secret", "set"]]


def test_default_credential_is_the_function_apps_managed_identity(run):
    out, calls = run(MS_CLIENT_ID=APP_ID, FAKE_AZ_SECRETS="token-encryption-keys")
    assert out.returncode == 0, out.stderr
    (create,) = find(calls, "ad", "app", "federated-credential", "create")
    assert option(create, "--id") == APP_ID
    body = json.loads(create["files"][option(create, "--parameters")[1:]])
    assert body["issuer"] == f"https://login.microsoftonline.com/{TENANT_ID}/v2.0"
    assert body["subject"] == IDENTITY_OBJECT_ID
    assert body["audiences"] == ["api://AzureADTokenExchange"]
    # No secret is made, nothing but the encryption keys goes to Key Vault.
    assert not find(calls, "ad", "app", "credential", "reset")
    assert stored_secrets(calls) == {}
    (settings,) = find(calls, "functionapp", "config", "appsettings", "set")
    assert "MS_CLIENT_CREDENTIAL=federated" in settings["argv"]


def test_federated_credential_run_again_updates_it(run):
    out, calls = run(MS_CLIENT_ID=APP_ID, FAKE_AZ_FEDERATED="function-app-identity")
    assert out.returncode == 0, out.stderr
    assert not find(calls, "federated-credential", "create")
    (update,) = find(calls, "federated-credential", "update")
    assert option(update, "--federated-credential-id") == "function-app-identity"


def test_federated_needs_the_identity(run):
    out, calls = run(AZURE_FUNCTION_IDENTITY_PRINCIPAL_ID=None)
    assert out.returncode != 0 and "AZURE_FUNCTION_IDENTITY_PRINCIPAL_ID" in out.stderr
    assert not find(calls, "ad", "app", "create")


def test_certificate_is_created_in_key_vault_once(run):
    out, calls = run(MS_CLIENT_ID=APP_ID, MS_CLIENT_CREDENTIAL="certificate")
    assert out.returncode == 0, out.stderr
    (reset,) = find(calls, "ad", "app", "credential", "reset")
    assert "--create-cert" in reset["argv"] and "--append" in reset["argv"]
    assert option(reset, "--keyvault") == "kv-abc" and option(reset, "--cert") == "ms-client-certificate"
    assert "ms-client-secret" not in stored_secrets(calls)
    out, calls = run(
        MS_CLIENT_ID=APP_ID, MS_CLIENT_CREDENTIAL="certificate", FAKE_AZ_CERTIFICATES="ms-client-certificate"
    )
    assert out.returncode == 0 and not find(calls, "ad", "app", "credential", "reset")
    out, calls = run(
        "--rotate-certificate",
        MS_CLIENT_ID=APP_ID,
        MS_CLIENT_CREDENTIAL="certificate",
        FAKE_AZ_CERTIFICATES="ms-client-certificate",
    )
    assert out.returncode == 0 and len(find(calls, "ad", "app", "credential", "reset")) == 1


def test_unknown_credential_kind_stops_the_script(run):
    out, calls = run(MS_CLIENT_CREDENTIAL="password")
    assert out.returncode != 0 and "MS_CLIENT_CREDENTIAL" in out.stderr
    assert not find(calls, "ad", "app")

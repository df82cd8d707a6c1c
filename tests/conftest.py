"""Fixtures shared by every layer of tests.

Unit tests get a complete, fake configuration (`app_env`). Integration and end-to-end tests
start their own Azurite (and, for e2e, the Microsoft emulator and the function host) on free
ports through devtools.stack, exactly as `make run` does, and stop them afterwards.
"""

from __future__ import annotations

import time
import uuid

import pytest

from devtools import stack
from shared import settings as settings_module
from shared.storage import connection

JWT_ISSUER = "https://hire.herp.test"
JWT_AUDIENCE = "herp-outlook-integration"
JWT_SECRET = "test-herp-jwt-secret-0123456789abcdef-0123456789"
# Two keys: the first encrypts, both decrypt (rotation).
ENCRYPTION_KEYS = "dGVzdC1rZXktb25lLWZvci1hZXMtZ2NtLTMyLWJ5dGU,dGVzdC1rZXktdHdvLWZvci1hZXMtZ2NtLTMyLWJ5dGU"
HERP_APP_URL = "https://hire.herp.test"

BASE_ENV = {
    "MS_CLIENT_ID": "3f7a9c1e-5b2d-4e8f-9a61-2c4d8e0b7f13",
    "MS_CLIENT_SECRET": "unit-test-client-secret",
    "MS_AUTHORITY_HOST": "https://login.example.test",
    "MS_GRAPH_ENDPOINT": "https://graph.example.test/v1.0",
    "MS_REDIRECT_URI": "http://localhost:7071/api/outlook/callback",
    "HERP_APP_URL": HERP_APP_URL,
    "HERP_JWT_ISSUER": JWT_ISSUER,
    "HERP_JWT_AUDIENCE": JWT_AUDIENCE,
    "HERP_JWT_SECRET": JWT_SECRET,
    "TOKEN_ENCRYPTION_KEYS": ENCRYPTION_KEYS,
    "AzureWebJobsStorage": "UseDevelopmentStorage=true",
    # HS256 (HERP_JWT_SECRET) is honoured only here, as under Core Tools / devtools.host.
    "AZURE_FUNCTIONS_ENVIRONMENT": "Development",
}


# `make test` runs the suite in pytest-xdist workers (`-n 4 --dist loadgroup`), each its own session
# with its own stack. Two things keep that fast:
# - files whose module (or session) fixtures start something costly run whole on one worker
#   (xdist_group), so that no worker starts it again;
# - the longest tests are handed out first, so that none of them starts last while the
#   other workers are idle (the rest keeps the order of collection).
ONE_WORKER_FILES = (
    "tests/e2e/test_webhook.py",  # its own Azurite + host with a webhook receiver
    "tests/e2e/test_journey.py",  # its own Azurite + host + console, and Chromium
    "tests/host/test_integration.py",  # hosts shared by the module
    "tests/infra/test_bicep.py",  # pycep parses every template in .venv-tools
    "tests/infra/test_checkov.py",  # one checkov run
    "tests/infra/test_worker_index.py",  # the Functions worker indexes the app in .venv-worker
)
LONGEST_FIRST = (
    "tests/e2e/test_openapi.py::test_schemathesis",
    "tests/e2e/test_journey.py",
    "tests/e2e/test_webhook.py",
    "tests/infra/test_checkov.py",
    "tests/infra/test_worker_index.py",
)


@pytest.hookimpl(tryfirst=True)  # before xdist names the groups in the node ids
def pytest_collection_modifyitems(config, items):
    def rank(item) -> int:
        return next((i for i, prefix in enumerate(LONGEST_FIRST) if item.nodeid.startswith(prefix)), len(LONGEST_FIRST))

    items.sort(key=rank)  # stable: the order of collection otherwise
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        if path in ONE_WORKER_FILES:
            item.add_marker(pytest.mark.xdist_group(path))


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    """Refuse to run when the grouping silently does nothing (pytest 9.2 with pytest-xdist 3.8 did):
    xdist names a test's group at the end of its node id, and schedules by that name."""
    if not getattr(session.config.option, "loadgroup", False):  # set on xdist workers under --dist loadgroup
        return
    ungrouped = [i.nodeid for i in session.items if i.get_closest_marker("xdist_group") and "@" not in i.nodeid]
    if ungrouped:
        raise pytest.UsageError(f"pytest-xdist did not group {ungrouped[0]}: check the pytest and pytest-xdist pins")


def reset_settings() -> None:
    settings_module.get_settings.cache_clear()
    connection.reset_clients()


@pytest.fixture
def app_env(monkeypatch):
    """A complete configuration in the environment; yields a setter for changes."""
    for name in ("HERP_JWT_JWKS_URL", "STORAGE_ACCOUNT_NAME", "ROOM_REFRESH_SCHEDULE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in BASE_ENV.items():
        monkeypatch.setenv(name, value)
    reset_settings()

    def set_env(**values):
        for name, value in values.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        reset_settings()

    yield set_env
    reset_settings()


def herp_token(
    company_id: str, account_id: str, role: str = "admin", *, secret: str = JWT_SECRET, lifetime: int = 300, **overrides
) -> str:
    import jwt

    now = int(time.time())
    claims = {
        "sub": account_id,
        "company_id": company_id,
        "role": role,
        "iss": JWT_ISSUER,
        "aud": JWT_AUDIENCE,
        "iat": now,
        "exp": now + lifetime,
        **overrides,
    }
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, secret, algorithm="HS256")


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def stack_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("stack")


@pytest.fixture(scope="session")
def azurite(stack_dir):
    child = stack.start_azurite(stack_dir)
    yield child
    child.stop()


@pytest.fixture
def storage(app_env, azurite):
    """Real Table/Queue storage (Azurite) for this test; rows are isolated by fresh company ids."""
    app_env(AzureWebJobsStorage=azurite.extra["connection_string"])
    yield azurite


def user_links_of_tenant(company_id: str, tenant_id: str) -> list:
    """The stored user links of one tenant (tests inspect the table; the app never asks this)."""
    from shared.storage import base, user_links

    return [user_links.from_entity(e) for e in base.query(user_links.TABLE, company_id, "tenant_id eq @t", t=tenant_id)]

"""A real browser (Debian Chromium driven by Playwright) links a tenant through the sandbox
console, the function host and the emulator's consent and sign-in pages, as a HERP admin would;
the console confirms the completion the callback hands back, as the HERP frontend must.

Skipped only when Playwright or /usr/bin/chromium is missing (`make test` installs both where
the machine allows it)."""

from __future__ import annotations

import os

import pytest

from devtools import stack
from devtools.emulator import seed
from tests.e2e.conftest import host_settings

pytestmark = pytest.mark.e2e
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def sandbox(stack_dir, azurite, emulator):
    """A host whose HERP_APP_URL is a console, like `make run`; both on free ports."""
    host_port, console_port = stack.free_port(), stack.free_port()
    console_url = f"http://localhost:{console_port}"
    env = host_settings(azurite, emulator, host_port, console_url)
    logs = stack_dir / "browser-logs"
    host = stack.start_host(logs, env, port=host_port)
    console = stack.start_console(logs, {**env, "CONSOLE_API_URL": host.url}, port=console_port)
    yield console
    console.stop()
    host.stop()


def test_admin_links_a_tenant_in_a_real_browser(sandbox, ms, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no {CHROMIUM}")
    aiko = seed.UPN[seed.AIKO_ID]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(ignore_https_errors=True).new_page()  # the emulator's own CA
        page.goto(f"{sandbox.url}/?next=/settings/integrations/outlook")
        page.click("button[value=u-admin-1]")  # HERP admin of herp-demo-1
        page.click("#link-tenant")  # -> Microsoft admin consent
        page.wait_for_url("**/organizations/v2.0/adminconsent**")
        page.click(f"button[value='{aiko}']")  # consent -> callback -> sign-in leg
        page.wait_for_url(f"**/{seed.CONTOSO_TENANT_ID}/oauth2/v2.0/authorize**")
        page.click(f"button[value='{aiko}']")  # sign-in -> callback -> console
        page.wait_for_url(f"{sandbox.url}/settings/integrations/outlook/{seed.CONTOSO_TENANT_ID}**")
        page.wait_for_selector("#toast:not([hidden])")  # the console confirmed the completion
        assert "tenant linked" in page.text_content("#toast")
        assert "completion=" not in page.url
        page.wait_for_selector("#content >> text=Contoso Ltd.")
        assert aiko in page.text_content("#content")
        page.screenshot(path=str(tmp_path / "linked.png"))
        browser.close()

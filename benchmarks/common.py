"""A local stack for benchmarks: Azurite + emulator + host on free ports (devtools.stack),
plus helpers to link tenants through the real flows. Not a test: it prints numbers."""

from __future__ import annotations

import base64
import os
import tempfile
import time
from pathlib import Path

import jwt
import requests

from devtools import stack
from devtools.browser import Browser, completion_of

HERP_APP_URL = "https://hire.herp.bench"
JWT = {
    "HERP_JWT_ISSUER": "https://hire.herp.bench",
    "HERP_JWT_AUDIENCE": "bench",
    "HERP_JWT_SECRET": "bench-" + "x" * 40,
}


class Stack:
    def __init__(self, host_env: dict | None = None):
        self.dir = Path(tempfile.mkdtemp(prefix="bench-"))
        logs = self.dir / "logs"
        self.azurite = stack.start_azurite(logs)
        self.emulator = stack.start_emulator(logs, self.dir / "emulator")
        port = stack.free_port()
        env = stack.app_settings(
            storage=self.azurite.extra["connection_string"],
            emulator_url=self.emulator.url,
            ca_bundle=self.emulator.extra["ca_bundle"],
            host_port=port,
            herp_app_url=HERP_APP_URL,
        )
        env.update(
            JWT,
            TOKEN_ENCRYPTION_KEYS=base64.urlsafe_b64encode(os.urandom(32)).decode(),
            HERP_JWT_JWKS_URL="",
            **(host_env or {}),
        )
        self.host = stack.start_host(logs, env, port=port)
        self.api = requests.Session()
        self.api.trust_env = False
        self.control = requests.Session()
        self.control.trust_env = False
        self.control.verify = self.emulator.extra["ca_bundle"]

    def stop(self) -> None:
        for child in (self.host, self.emulator, self.azurite):
            child.stop()

    def token(self, company: str, account: str = "herp-admin", role: str = "admin") -> str:
        claims = {
            "sub": account,
            "company_id": company,
            "role": role,
            "iss": JWT["HERP_JWT_ISSUER"],
            "aud": JWT["HERP_JWT_AUDIENCE"],
            "exp": int(time.time()) + 3600,
        }
        return jwt.encode(claims, JWT["HERP_JWT_SECRET"], algorithm="HS256")

    def call(self, method: str, path: str, company: str, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token(company, *kwargs.pop('as_', ()))}"}
        return self.api.request(
            method, f"{self.host.url}/api{path}", headers=headers, allow_redirects=False, timeout=120, **kwargs
        )

    def emu(self, method: str, path: str, body: dict | None = None):
        r = self.control.request(method, f"{self.emulator.url}/_emulator/{path}", json=body, timeout=60)
        r.raise_for_status()
        return r.json() if r.content else None

    def link_tenant(self, company: str, upn: str) -> None:
        url = self.call("POST", "/outlook/tenant-links/authorize", company).json()["authorize_url"]
        browser = Browser(self.emulator.extra["ca_bundle"], HERP_APP_URL)
        browser.open(url)
        browser.click("username", upn)
        assert self.confirm(company, browser.click("username", upn))["result"] == "linked"

    def confirm(self, company: str, landing: str, **kwargs) -> dict:
        """The frontend's step after a `result=confirm` landing: POST the code as the flow's starter."""
        code = completion_of(landing)
        assert code, landing
        r = self.call("POST", "/outlook/link-completions", company, json={"completion": code}, **kwargs)
        assert r.status_code == 200, r.text
        return r.json()

    def wait_for_room_sync(self, company: str, tenant: str, timeout: float = 60) -> None:
        """Until the room sync that linking queued has finished."""
        deadline = time.monotonic() + timeout
        while self.call("GET", f"/outlook/tenant-links/{tenant}", company).json()["rooms"]["synced_at"] is None:
            assert time.monotonic() < deadline, "room sync did not finish"
            time.sleep(0.3)

    def graph_calls(self) -> list[dict]:
        return [c for c in self.emu("GET", "calls")["calls"] if c["kind"] == "graph"]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]

"""A minimal browser for end-to-end tests and benchmarks: follows redirects one hop at a time and submits the
emulator's HTML forms by clicking a button, as a person would. No JavaScript.

Requests to the function host and to the emulator both go through it; it never follows a
redirect into HERP_APP_URL (that is where a flow ends; the test reads the final Location).
A flow that verified everything ends on `?result=confirm&completion=<code>`: the HERP Hire
frontend (the test, the benchmark, the console) then POSTs that code to
`/api/outlook/link-completions` with the starter's token, which is what links (`completion_of`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import requests


@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    buttons: list[tuple[str, str]] = field(default_factory=list)


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("action", ""), (a.get("method") or "get").lower()))
        elif self.forms and tag == "input" and a.get("name"):
            if a.get("type", "text") in ("hidden", "text"):
                self.forms[-1].fields.append((a["name"], a.get("value", "")))
        elif self.forms and tag == "button" and a.get("name"):
            self.forms[-1].buttons.append((a["name"], a.get("value", "")))


class Browser:
    def __init__(self, ca_bundle: str, stop_at: str):
        self.session = requests.Session()
        self.session.trust_env = False  # this machine's REQUESTS_CA_BUNDLE would override verify=
        self.session.verify = ca_bundle
        self.stop_at = stop_at
        self.page: requests.Response | None = None
        self.history: list[str] = []

    def open(self, url: str, max_hops: int = 10) -> str:
        """GET `url` and follow redirects until a page, or until HERP_APP_URL (returned)."""
        for _ in range(max_hops):
            if url.startswith(self.stop_at):
                self.history.append(url)
                return url
            self.history.append(url)
            response = self.session.get(url, allow_redirects=False, timeout=30)
            if response.status_code in (301, 302, 303, 307):
                url = urljoin(url, response.headers["Location"])
                continue
            self.page = response
            return url
        raise AssertionError(f"too many redirects: {self.history}")

    def forms(self) -> list[Form]:
        parser = _FormParser()
        parser.feed(self.page.text)
        return parser.forms

    def click(self, name: str, value: str) -> str:
        """Submit the form holding the button `name=value`; follow where it leads."""
        for form in self.forms():
            if (name, value) in form.buttons:
                target = urljoin(self.page.url, form.action or self.page.url)
                data = form.fields + [(name, value)]
                response = self.session.post(target, data=data, allow_redirects=False, timeout=30)
                self.history.append(target)
                if response.status_code in (301, 302, 303):
                    return self.open(urljoin(target, response.headers["Location"]))
                self.page = response
                return target
        raise AssertionError(f"no button {name}={value} on {self.page.url}: {self.page.text[:500]}")

    def type_account(self, upn: str) -> str:
        """Sign in with an account the picker does not list (Entra's "Use another account"
        box): submit the sign-in form with that user name."""
        form = next(f for f in self.forms() if any(name == "username" for name, _ in f.buttons))
        target = urljoin(self.page.url, form.action or self.page.url)
        response = self.session.post(target, data=form.fields + [("username", upn)], allow_redirects=False, timeout=30)
        self.history.append(target)
        if response.status_code in (301, 302, 303):
            return self.open(urljoin(target, response.headers["Location"]))
        self.page = response
        return target

    def sign_in(self, url: str, upn: str) -> str:
        """Open an authorize/consent URL, pick the account; returns where the flow ended."""
        self.open(url)
        return self.click("username", upn)


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def completion_of(url: str) -> str | None:
    """The completion code of a `result=confirm` landing in HERP Hire; None for any other landing."""
    q = query(url)
    return q.get("completion") if q.get("result") == "confirm" else None

"""Scope parsing for the v2.0 endpoints (Graph is the only resource the emulator hosts).

Docs: "Scopes and permissions in the Microsoft identity platform" - scopes are
`{resource}/{permission}`; a bare permission means Microsoft Graph; `{resource}/.default`
means every permission the app is configured for / has been granted; the OIDC scopes
`openid profile email offline_access` belong to no resource. Scope values are
case-insensitive.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import seed
from .oauth import OAuthError

_GRAPH_PREFIXES = (seed.GRAPH_RESOURCE.lower() + "/", seed.GRAPH_APP_ID + "/")
_CANONICAL = {name.lower(): name for name in seed.GRAPH_SCOPES}


@dataclass
class ScopeRequest:
    oidc: set = field(default_factory=set)  # openid/profile/email/offline_access
    graph: set = field(default_factory=set)  # canonical Graph permission names
    default: bool = False  # https://graph.microsoft.com/.default
    qualified: bool = False  # client used the resource-qualified form

    @property
    def openid(self) -> bool:
        return "openid" in self.oidc

    def resolve(self, granted: set) -> set:
        """Graph permissions this request asks for; `/.default` = all granted (or app-configured)."""
        if self.default:
            return set(granted) if granted else set(seed.APP_REQUIRED_SCOPES)
        return set(self.graph)

    def echo(self, graph: set) -> str:
        """The `scope` value of a token response: Graph scopes in the form the client used,
        then the OIDC scopes (offline_access is never echoed)."""
        prefix = seed.GRAPH_RESOURCE + "/" if self.qualified else ""
        names = [prefix + s for s in sorted(graph, key=str.lower)]
        names += [s for s in ("openid", "profile", "email") if s in self.oidc]
        return " ".join(names)


def parse(scope: str | None) -> ScopeRequest:
    if not scope or not scope.strip():
        raise OAuthError("invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
    req = ScopeRequest()
    for raw in scope.split():
        low = raw.lower()
        if low in seed.OIDC_SCOPES:
            req.oidc.add(low)
            continue
        name = None
        for prefix in _GRAPH_PREFIXES:
            if low.startswith(prefix):
                name, req.qualified = low[len(prefix) :], True
        if name is None:
            if "/" in low or ":" in low:
                resource = raw.rsplit("/", 1)[0]
                raise OAuthError(
                    "invalid_resource",
                    500011,
                    f"The resource principal named {resource} was not found in the "
                    "tenant. This can happen if the application has not been "
                    "installed by the administrator of the tenant.",
                )
            name = low
        if name == ".default":
            req.default = True
        elif name in _CANONICAL:
            req.graph.add(_CANONICAL[name])
        else:
            raise OAuthError(
                "invalid_scope",
                70011,
                f"The provided value for the input parameter 'scope' is not valid. The scope {raw} is not valid.",
            )
    return req


def admin_only(graph_scopes) -> set:
    """Permissions whose consent type is Admin (Graph permissions reference)."""
    return {s for s in graph_scopes if seed.GRAPH_SCOPES.get(s)}

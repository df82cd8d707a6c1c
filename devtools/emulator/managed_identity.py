"""The App Service managed identity endpoint a Function App gets (IDENTITY_ENDPOINT, with the
IDENTITY_HEADER secret), for the user-assigned identity of seed.MANAGED_IDENTITY_CLIENT_ID.

Docs followed: learn.microsoft.com "How to use managed identities for App Service and Azure
Functions" (REST protocol: GET {IDENTITY_ENDPOINT}?resource=&api-version=2019-08-01&client_id=,
header X-IDENTITY-HEADER; answer access_token, expires_on, resource, token_type, client_id), and
"Configure an application to trust a managed identity" (workload-identity-federation-config-app-
trust-managed-identity): the token for api://AzureADTokenExchange is the client assertion, issued
by https://login.microsoftonline.com/{tenant}/v2.0 with the identity's object id as subject.
"""

from __future__ import annotations

import secrets
import time
import uuid

from . import seed
from .control import reply

LIFETIME = 24 * 3600  # managed identity tokens live about a day


def token(state, request):
    if not secrets.compare_digest(request.headers.get("X-IDENTITY-HEADER", ""), seed.MANAGED_IDENTITY_HEADER):
        return reply({"error": "unauthorized", "error_description": "X-IDENTITY-HEADER is missing or wrong"}, 401)
    resource = request.args.get("resource", "")
    if request.args.get("api-version") != "2019-08-01" or not resource:
        return reply(
            {"error": "invalid_request", "error_description": "resource and api-version=2019-08-01 needed"}, 400
        )
    client_id = request.args.get("client_id") or seed.MANAGED_IDENTITY_CLIENT_ID
    if client_id != seed.MANAGED_IDENTITY_CLIENT_ID:
        return reply({"error": "invalid_request", "error_description": "Identity not found"}, 400)
    now = int(time.time())
    tid = seed.CONTOSO_TENANT_ID
    claims = {
        "aud": resource.removesuffix("/.default"),
        "iss": f"{state.base_url}/{tid}/v2.0",
        "sub": seed.MANAGED_IDENTITY_OBJECT_ID,
        "oid": seed.MANAGED_IDENTITY_OBJECT_ID,
        "tid": tid,
        "azp": client_id,
        "iat": now,
        "nbf": now,
        "exp": now + LIFETIME,
        "uti": uuid.uuid4().hex,
    }
    return reply(
        {
            "access_token": state.key.sign(claims),
            "expires_on": str(now + LIFETIME),
            "resource": claims["aud"],
            "token_type": "Bearer",
            "client_id": client_id,
        }
    )

"""Graph HTTP plumbing: bearer token validation, error bodies, headers, injected faults.

Error shape (concepts/errors.md): {"error": {"code", "message", "innerError": {"date",
"request-id", "client-request-id"}}} plus `request-id` / `client-request-id` headers.
Throttled answer (concepts/throttling.md "Sample response"): 429, `Retry-After`, code
TooManyRequests, innerError with code/status "429".
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass, field

import jwt
from werkzeug.wrappers import Response

from . import seed
from .records import FaultRule, User

AUDIENCES = (seed.GRAPH_RESOURCE, seed.GRAPH_RESOURCE + "/", seed.GRAPH_APP_ID)
MIMETYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"


class GraphError(Exception):
    def __init__(self, status, code, message, headers=None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


@dataclass
class GraphResult:
    body: dict | None  # None: no body (204 No Content, 202 Accepted)
    status: int = 200
    headers: dict | None = None


@dataclass
class Caller:
    """The signed-in user a verified access token names, and its delegated permissions (`scp`)."""

    user: User
    scp: set[str] = field(default_factory=set)


def require(scp: set, needed: set, code: str, message: str) -> None:
    """Delegated permission check on the token's `scp` (any one of `needed` suffices)."""
    if not scp & needed:
        raise GraphError(403, code, message)


_PREFER_ID_TYPE = re.compile(r'IdType\s*=\s*"?ImmutableId"?', re.IGNORECASE)


def immutable_ids(request) -> bool:
    """concepts/outlook-immutable-id.md: `Prefer: IdType="ImmutableId"` makes the item ids of this
    answer immutable ids; "This header only applies to the request it is included with"."""
    return bool(_PREFER_ID_TYPE.search(", ".join(request.headers.getlist("Prefer"))))


def _ids(request):
    rid = request.environ.setdefault("emulator.request_id", str(uuid.uuid4()))
    return rid, request.headers.get("client-request-id") or rid


def _date():
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def respond(request, result: GraphResult) -> Response:
    rid, crid = _ids(request)
    headers = {"request-id": rid, "client-request-id": crid, "Cache-Control": "no-cache", **(result.headers or {})}
    if result.body is None:
        return Response(status=result.status, headers=headers)
    return Response(json.dumps(result.body), status=result.status, mimetype=MIMETYPE, headers=headers)


def error(request, err: GraphError, inner: dict | None = None) -> Response:
    rid, crid = _ids(request)
    inner_error = {**(inner or {}), "date": _date(), "request-id": rid, "client-request-id": crid}
    body = {"error": {"code": err.code, "message": err.message, "innerError": inner_error}}
    return respond(request, GraphResult(body, err.status, err.headers))


FAULTS = {  # status -> (code, message)
    429: ("TooManyRequests", "Please retry again later."),
    503: ("serviceNotAvailable", "The service is temporarily unavailable. Please retry later."),
    504: ("generalException", "The request timed out while waiting for an upstream service."),
}


def fault(request, rule: FaultRule) -> Response:
    headers = {"Retry-After": str(rule.retry_after)} if rule.retry_after is not None else {}
    status = str(rule.status)
    inner = {"code": status, "message": "Please retry after", "status": status}
    return error(request, GraphError(rule.status, *FAULTS[rule.status], headers), inner)


def _unauthorized(state, message):
    return GraphError(
        401,
        "InvalidAuthenticationToken",
        message,
        headers={
            "WWW-Authenticate": f'Bearer realm="", authorization_uri="{state.base_url}/common/oauth2/'
            f'authorize", client_id="{seed.GRAPH_APP_ID}"'
        },
    )


def bearer(request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def peek_identity(request):
    """(tid, oid) from an unverified token, only for the call log of faulted calls."""
    token = bearer(request)
    try:
        claims = jwt.decode(token, options={"verify_signature": False}) if token else {}
    except jwt.PyJWTError:
        return None, None
    return claims.get("tid"), claims.get("oid")


def authenticate(state, request) -> Caller:
    token = bearer(request)
    if not token:
        raise _unauthorized(state, "Access token is empty.")
    if token.count(".") != 2:
        raise _unauthorized(
            state,
            "IDX14100: JWT is not well formed, there are no dots (.).\n"
            "The token needs to be in JWS or JWE Compact Serialization Format.",
        )
    try:
        claims = state.key.verify(token, AUDIENCES)
    except jwt.ExpiredSignatureError:
        raise _unauthorized(state, "Lifetime validation failed, the token is expired.") from None
    except jwt.InvalidAudienceError:
        raise _unauthorized(state, "Access token validation failure. Invalid audience.") from None
    except jwt.PyJWTError:
        raise _unauthorized(state, "Access token validation failure.") from None
    with state.lock:
        # Not Graph's behaviour but the control API's: a reset starts a new world, and a token of the
        # old one is as unknown as another cloud's. Without it, work a test host queued before the
        # reset (another test's) would still write: a subscription on a calendar the next test uses.
        if claims.get("uti") not in state.access_tokens:
            raise _unauthorized(state, "Access token validation failure.")
        if claims.get("uti") in state.expired_utis:
            raise _unauthorized(state, "Lifetime validation failed, the token is expired.")
        user = state.users.get(claims["oid"])
        if user is None or user.tenant_id != claims["tid"]:
            raise _unauthorized(state, "Access token validation failure.")
        # A deleted or disabled account is a critical event for Graph (continuous access
        # evaluation): its tokens are refused before they expire.
        if user.deleted or user.disabled:
            raise _unauthorized(
                state,
                "Access token validation failure. The user account is " + ("deleted." if user.deleted else "disabled."),
            )
    return Caller(user, set(claims.get("scp", "").split()))


def read_json(request, required=True) -> dict:
    raw = request.get_data()
    if not raw.strip():
        if required:
            raise GraphError(400, "BadRequest", "Empty Payload. JSON content expected.")
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise GraphError(
            400,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure "
            "Content-Type header is set and payload is of valid JSON format.",
        )
    return body

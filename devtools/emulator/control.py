"""Control API under /_emulator (plain JSON, no auth): reset, inspect and steer the emulator
from tests and dev tools. Not part of any Microsoft surface."""
from __future__ import annotations

import json
import time
import uuid

from werkzeug.wrappers import Response

from . import graph, seed, tokens


def _json(body, status=200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


class BadRequest(Exception):
    pass


def _body(request) -> dict:
    if not request.get_data():
        return {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object")
    return body


def _user_view(u) -> dict:
    return {"id": u["id"], "upn": u["userPrincipalName"], "displayName": u["displayName"],
            "tenant_id": u["tenant_id"], "mail": u["mail"], "roles": list(u["roles"]),
            "has_mailbox": u["has_mailbox"], "has_teams": u["has_teams"],
            "deleted": u["deleted"], "disabled": u["disabled"]}


def handle(state, request, endpoint, **kw) -> Response:
    try:
        return HANDLERS[endpoint](state, request, **kw)
    except BadRequest as e:
        return _json({"error": str(e)}, 400)


def health(state, request):
    return _json({"status": "ok"})


def reset(state, request):
    state.reset()
    return _json({"status": "reset"})


def dump(state, request):
    with state.lock:
        tenants = [{"id": t["id"], "displayName": t["displayName"], "domain": t["domain"],
                    "consented_scopes": sorted(state.tenant_grants.get(t["id"], ())),
                    "user_consent_allowed": t["user_consent_allowed"],
                    "app_installed": t["app_installed"]}
                   for t in state.tenants.values()]
        users = [_user_view(u) for u in state.users.values()]
    return _json({"tenants": tenants, "users": users, "app": _app_view(state)})


def user_action(state, request, oid, action):
    body = _body(request)
    with state.lock:
        u = state.users.get(oid)
        if u is None:
            return _json({"error": f"unknown user {oid}"}, 404)
        if action == "delete":
            u["deleted"] = True
        elif action == "disable":
            u["disabled"] = True
        elif action == "enable":
            u["disabled"] = False
        elif action == "revoke-sessions":
            # revokeSignInSessions: refresh tokens issued before now are refused (AADSTS50173).
            u["revoked_before"] = time.time()
        elif action == "interrupt":
            # MFA / Conditional Access now required: refresh tokens issued before are refused.
            reason, error = body.get("reason"), body.get("error", "invalid_grant")
            if reason not in tokens.INTERRUPTS or error not in tokens.INTERRUPT_ERRORS:
                raise BadRequest(f"reason must be one of {sorted(tokens.INTERRUPTS)}, error one of "
                                 f"{list(tokens.INTERRUPT_ERRORS)}")
            u["interrupt"] = {"reason": reason, "error": error, "since": time.time()}
        elif action == "revoke-consent":
            # The user's own consent is withdrawn (tenant-wide grants stay).
            state.user_grants.pop((u["tenant_id"], oid), None)
        elif action == "set-roles":
            roles = body.get("role_ids")
            if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
                raise BadRequest("role_ids must be a list of role template ids")
            u["roles"] = list(dict.fromkeys(roles))
        else:
            return _json({"error": f"unknown action {action}"}, 404)
        return _json(_user_view(u))


def throttle(state, request):
    if request.method == "GET":
        with state.lock:
            return _json({"rules": [dict(r) for r in state.throttles]})
    if request.method == "DELETE":
        with state.lock:
            state.throttles.clear()
        return _json({"rules": []})
    body = _body(request)
    count, status = body.get("count", 1), body.get("status", 429)
    retry_after = body.get("retry_after", 1)
    if not isinstance(count, int) or count < 1:
        raise BadRequest("count must be a positive integer")
    if status not in (429, 503, 504):
        raise BadRequest("status must be 429, 503 or 504")
    if retry_after is not None and (not isinstance(retry_after, int) or retry_after < 0):
        raise BadRequest("retry_after must be a non-negative integer of seconds, or null")
    rule = {"count": count, "status": status, "retry_after": retry_after,
            "path_contains": body.get("path_contains") or "", "method": body.get("method") or ""}
    with state.lock:
        state.throttles.append(rule)
    return _json({"rule": rule})


def latency(state, request):
    ms = _body(request).get("ms", 0)
    if not isinstance(ms, int) or ms < 0:
        raise BadRequest("ms must be a non-negative integer")
    with state.lock:
        state.latency_ms = ms
    return _json({"ms": ms})


def calls(state, request):
    with state.lock:
        if request.method == "DELETE":
            state.calls.clear()
        return _json({"calls": list(state.calls)})


def expire_access(state, request):
    with state.lock:
        state.expired_utis.update(state.access_tokens)
        n = len(state.access_tokens)
    return _json({"expired_access_tokens": n})


def expire_refresh(state, request):
    """Every refresh token issued so far is now past its inactivity window (AADSTS700082)."""
    with state.lock:
        for rec in state.refresh_tokens.values():
            rec["inactive"] = True
        n = len(state.refresh_tokens)
    return _json({"expired_refresh_tokens": n})


def expire_codes(state, request):
    """Every authorization code issued so far is now past its ~10 minute life (AADSTS70008)."""
    with state.lock:
        for rec in state.codes.values():
            rec["expired"] = True
        n = len(state.codes)
    return _json({"expired_codes": n})


def _known_tenant(state, tid):
    if tid not in state.tenants:
        raise BadRequest(f"unknown tenant {tid}")


def tenant_rooms(state, request, tid):
    _known_tenant(state, tid)
    if request.method == "POST":
        body = _body(request)
        rooms = body.get("rooms")
        if not isinstance(rooms, list) or not all(isinstance(r, dict) and r.get("emailAddress")
                                                  for r in rooms):
            raise BadRequest("rooms must be a list of room objects with emailAddress")
        emails = [r["emailAddress"].lower() for r in rooms]
        if len(set(emails)) != len(emails):
            raise BadRequest("duplicate emailAddress")
        shaped = []
        for r in rooms:
            room = {k: r.get(k) for k in graph.ROOM_PROPS}
            room["id"] = r.get("id") or str(uuid.uuid5(uuid.NAMESPACE_URL, r["emailAddress"])).upper()
            room["roomListEmailAddress"] = r.get("roomListEmailAddress")
            shaped.append(room)
        lists = body.get("roomLists")
        if lists is not None and not (isinstance(lists, list) and all(
                isinstance(rl, dict) and rl.get("emailAddress") for rl in lists)):
            raise BadRequest("roomLists must be a list of room list objects with emailAddress")
        with state.lock:
            state.rooms[tid] = shaped
            if lists is not None:
                state.room_lists[tid] = [
                    dict({k: rl.get(k) for k in graph.ROOM_LIST_PROPS},
                         id=rl.get("id") or str(uuid.uuid5(uuid.NAMESPACE_URL, rl["emailAddress"])).upper())
                    for rl in lists]
    with state.lock:
        return _json({"rooms": list(state.rooms[tid]), "roomLists": list(state.room_lists[tid])})


def tenant_consent(state, request, tid):
    """Tenant-wide (admin) consent grants: GET, POST {"scopes": [...]} to add (as an admin
    consent would), DELETE to revoke (the service principal stays)."""
    _known_tenant(state, tid)
    with state.lock:
        if request.method == "POST":
            scopes = _body(request).get("scopes")
            if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
                raise BadRequest("scopes must be a list of permission names")
            known = {s.lower(): s for s in list(seed.GRAPH_SCOPES) + list(seed.OIDC_SCOPES)}
            unknown = [s for s in scopes if s.lower() not in known]
            if unknown:
                raise BadRequest(f"unknown scopes {unknown}")
            state.grant(tid, {known[s.lower()] for s in scopes})
        elif request.method == "DELETE":
            state.tenant_grants[tid].clear()
        return _json({"tenant_id": tid, "scopes": sorted(state.tenant_grants[tid])})


def tenant_user_consent(state, request, tid):
    """The tenant's user consent setting: GET, POST {"allowed": bool}."""
    _known_tenant(state, tid)
    with state.lock:
        if request.method == "POST":
            allowed = _body(request).get("allowed")
            if not isinstance(allowed, bool):
                raise BadRequest("allowed must be true or false")
            state.tenants[tid]["user_consent_allowed"] = allowed
        return _json({"tenant_id": tid, "allowed": state.tenants[tid]["user_consent_allowed"]})


def tenant_remove_app(state, request, tid):
    """The customer deletes our enterprise app: grants gone, refresh tokens refused (700016)."""
    _known_tenant(state, tid)
    state.remove_app(tid)
    return _json({"tenant_id": tid, "app_installed": False})


def _app_view(state) -> dict:
    return {"groupMembershipClaims": state.app["groupMembershipClaims"],
            "secret_expired": state.app["secret_expired"]}


def app_manifest(state, request):
    """GET, POST {"groupMembershipClaims": "None" | "SecurityGroup" | ... }."""
    with state.lock:
        if request.method == "POST":
            value = _body(request).get("groupMembershipClaims")
            if value not in seed.GROUP_MEMBERSHIP_CLAIMS:
                raise BadRequest(f"groupMembershipClaims must be one of {list(seed.GROUP_MEMBERSHIP_CLAIMS)}")
            state.app["groupMembershipClaims"] = value
        return _json(_app_view(state))


def app_secret(state, request):
    """POST {"expired"?: bool, "value"?: str}: expire the client secret (AADSTS7000222) or
    replace it, so that the secret a client holds is wrong (AADSTS7000215)."""
    body = _body(request)
    expired, value = body.get("expired"), body.get("value")
    if expired is not None and not isinstance(expired, bool):
        raise BadRequest("expired must be true or false")
    if value is not None and not (isinstance(value, str) and value):
        raise BadRequest("value must be a non-empty string")
    with state.lock:
        if expired is not None:
            state.app["secret_expired"] = expired
        if value is not None:
            state.app["secret"] = value
        return _json(_app_view(state))


HANDLERS = {
    "health": health, "reset": reset, "state": dump, "user_action": user_action,
    "throttle": throttle, "latency": latency, "calls": calls, "expire_access": expire_access,
    "expire_refresh": expire_refresh, "expire_codes": expire_codes,
    "tenant_rooms": tenant_rooms, "tenant_consent": tenant_consent,
    "tenant_user_consent": tenant_user_consent, "tenant_remove_app": tenant_remove_app,
    "app_manifest": app_manifest, "app_secret": app_secret,
}

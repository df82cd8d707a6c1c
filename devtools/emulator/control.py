"""Control API under /_emulator (plain JSON, no auth): reset, inspect and steer the emulator
from tests and dev tools. Not part of any Microsoft surface. Calendars: control_events.py."""

from __future__ import annotations

import dataclasses
import json
import time
import uuid

from werkzeug.wrappers import Response

from . import client_assertions, seed, timezones, tokens
from .records import (
    HIERARCHY_KINDS,
    HIERARCHY_PROPS,
    ROOM_LIST_PROPS,
    ROOM_PROPS,
    FaultRule,
    Interrupt,
    Place,
    Room,
    RoomList,
    User,
    from_graph,
    graph_fields,
)


class BadRequest(Exception):
    """The control request is malformed: 400 with the message."""


def reply(body, status=200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def read_body(request) -> dict:
    if not request.get_data():
        return {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object")
    return body


def _user_view(u: User) -> dict:
    return {
        "id": u.id,
        "upn": u.upn,
        "displayName": u.display_name,
        "tenant_id": u.tenant_id,
        "mail": u.mail,
        "roles": list(u.roles),
        "has_mailbox": u.has_mailbox,
        "has_teams": u.has_teams,
        "teams_meetings": u.teams_meetings,
        "deleted": u.deleted,
        "disabled": u.disabled,
    }


def _app_view(state) -> dict:
    return {
        "groupMembershipClaims": state.app.group_membership_claims,
        "secret_expired": state.app.secret_expired,
        "keyCredentials": [c.view() for c in state.app.certificates],
        "federatedIdentityCredentials": list(state.app.federated_credentials),
    }


def health(state, request):
    return reply({"status": "ok"})


def reset(state, request):
    state.reset()
    return reply({"status": "reset"})


def dump(state, request):
    with state.lock:
        tenants = [
            {
                "id": t.id,
                "displayName": t.display_name,
                "domain": t.domain,
                "consented_scopes": sorted(t.grants),
                "user_consent_allowed": t.user_consent_allowed,
                "app_installed": t.app_installed,
            }
            for t in state.tenants.values()
        ]
        users = [_user_view(u) for u in state.users.values()]
        return reply({"tenants": tenants, "users": users, "app": _app_view(state)})


def user_action(state, request, oid, action):
    body = read_body(request)
    with state.lock:
        u = state.users.get(oid)
        if u is None:
            return reply({"error": f"unknown user {oid}"}, 404)
        if action == "delete":
            u.deleted = True
        elif action == "disable":
            u.disabled = True
        elif action == "enable":
            u.disabled = False
        elif action == "revoke-sessions":
            # revokeSignInSessions: refresh tokens issued before now are refused (AADSTS50173).
            u.revoked_before = time.time()
        elif action == "interrupt":
            # MFA / Conditional Access now required: refresh tokens issued before are refused.
            reason, error = body.get("reason"), body.get("error", "invalid_grant")
            if reason not in tokens.INTERRUPTS or error not in tokens.INTERRUPT_ERRORS:
                raise BadRequest(
                    f"reason must be one of {sorted(tokens.INTERRUPTS)}, error one of {list(tokens.INTERRUPT_ERRORS)}"
                )
            u.interrupt = Interrupt(reason, error, time.time())
        elif action == "revoke-consent":
            u.grants.clear()  # the user's own consent is withdrawn (tenant-wide grants stay)
        elif action == "teams-meetings":
            # {"allowed": false}: Teams makes no meeting for the user (no licence or policy) although
            # the calendar lists teamsForBusiness; a create asking for Teams answers isOnlineMeeting
            # false (microsoft-graph-docs#9741).
            allowed = body.get("allowed")
            if not isinstance(allowed, bool):
                raise BadRequest("allowed must be a boolean")
            u.teams_meetings = allowed
        elif action == "set-roles":
            roles = body.get("role_ids")
            if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
                raise BadRequest("role_ids must be a list of role template ids")
            u.roles = list(dict.fromkeys(roles))
        else:
            return reply({"error": f"unknown action {action}"}, 404)
        return reply(_user_view(u))


def throttle(state, request):
    body = read_body(request)
    count, status = body.get("count", 1), body.get("status", 429)
    retry_after = body.get("retry_after", 1)
    if not isinstance(count, int) or count < 1:
        raise BadRequest("count must be a positive integer")
    if status not in (429, 503, 504):
        raise BadRequest("status must be 429, 503 or 504")
    if retry_after is not None and (not isinstance(retry_after, int) or retry_after < 0):
        raise BadRequest("retry_after must be a non-negative integer of seconds, or null")
    rule = FaultRule(count, status, retry_after, body.get("path_contains") or "", body.get("method") or "")
    with state.lock:
        state.faults.append(rule)
        return reply({"rule": dataclasses.asdict(rule)})


def latency(state, request):
    ms = read_body(request).get("ms", 0)
    if not isinstance(ms, int) or ms < 0:
        raise BadRequest("ms must be a non-negative integer")
    with state.lock:
        state.latency_ms = ms
    return reply({"ms": ms})


def time_zones(state, request):
    """Whether Exchange knows the Windows ids of update KB5124010 (timezones.IDS_OF_KB5124010)."""
    if request.method == "POST":
        accept = read_body(request).get("accept_2026_ids")
        if not isinstance(accept, bool):
            raise BadRequest("accept_2026_ids must be true or false")
        with state.lock:
            state.accept_2026_ids = accept
    return reply({"accept_2026_ids": state.accept_2026_ids, "ids_2026": sorted(timezones.IDS_OF_KB5124010)})


def calls(state, request):
    with state.lock:
        if request.method == "DELETE":
            state.calls.clear()
        return reply({"calls": [dataclasses.asdict(c) for c in state.calls]})


def expire_access(state, request):
    with state.lock:
        state.expired_utis.update(state.access_tokens)
        return reply({"expired_access_tokens": len(state.access_tokens)})


def token_lifetime(state, request):
    """GET, POST {"seconds": 5..86400}: how long access tokens issued from now on last (default 3599;
    reset restores it). Token expiry, and a subscription's pause when its token expires, in seconds."""
    with state.lock:
        if request.method == "POST":
            seconds = read_body(request).get("seconds")
            if isinstance(seconds, bool) or not isinstance(seconds, int) or not 5 <= seconds <= 86400:
                raise BadRequest("seconds must be a whole number from 5 to 86400")
            state.token_lifetime = seconds
        return reply({"seconds": state.token_lifetime})


def expire_refresh(state, request):
    """Every refresh token issued so far is now past its inactivity window (AADSTS700082)."""
    with state.lock:
        for rec in state.refresh_tokens.values():
            rec.inactive = True
        return reply({"expired_refresh_tokens": len(state.refresh_tokens)})


def expire_codes(state, request):
    """Every authorization code issued so far is now past its ~10 minute life (AADSTS70008)."""
    with state.lock:
        for rec in state.codes.values():
            rec.expired = True
        return reply({"expired_codes": len(state.codes)})


def _known_tenant(state, tid):
    if tid not in state.tenants:
        raise BadRequest(f"unknown tenant {tid}")


def _place_id(body: dict) -> str:
    return body.get("id") or str(uuid.uuid5(uuid.NAMESPACE_URL, body["emailAddress"])).upper()


def tenant_rooms(state, request, tid):
    """GET, POST {"rooms": [room], "roomLists"?: [room list]} in Graph's shapes; a room's
    `roomListEmailAddress` puts it in a list, its `maximumDurationInMinutes` is its booking
    policy's longest meeting (booking.py)."""
    _known_tenant(state, tid)
    if request.method == "POST":
        body = read_body(request)
        rooms, lists = body.get("rooms"), body.get("roomLists")
        if not isinstance(rooms, list) or not all(isinstance(r, dict) and r.get("emailAddress") for r in rooms):
            raise BadRequest("rooms must be a list of room objects with emailAddress")
        emails = [r["emailAddress"].lower() for r in rooms]
        if len(set(emails)) != len(emails):
            raise BadRequest("duplicate emailAddress")
        limits = [r.get("maximumDurationInMinutes") for r in rooms]
        if not all(m is None or (isinstance(m, int) and not isinstance(m, bool) and m >= 0) for m in limits):
            raise BadRequest("maximumDurationInMinutes must be a whole number of minutes >= 0 (0: no limit) or null")
        if lists is not None and not (
            isinstance(lists, list) and all(isinstance(rl, dict) and rl.get("emailAddress") for rl in lists)
        ):
            raise BadRequest("roomLists must be a list of room list objects with emailAddress")
        above = body.get("hierarchy")
        if above is not None and not (
            isinstance(above, list)
            and all(
                isinstance(p, dict) and isinstance(p.get("id"), str) and p.get("kind") in HIERARCHY_KINDS for p in above
            )
        ):
            raise BadRequest(f"hierarchy must be a list of places with id and kind (one of {list(HIERARCHY_KINDS)})")
        with state.lock:
            state.rooms[tid] = [from_graph(Room, r, id=_place_id(r)) for r in rooms]
            if lists is not None:
                state.room_lists[tid] = [from_graph(RoomList, rl, id=_place_id(rl)) for rl in lists]
            if above is not None:
                state.hierarchy[tid] = [from_graph(Place, p) for p in above]
    with state.lock:
        return reply(
            {
                "rooms": [
                    graph_fields(r, (*ROOM_PROPS, "room_list_email_address", "maximum_duration_in_minutes"))
                    for r in state.rooms[tid]
                ],
                "roomLists": [graph_fields(rl, ROOM_LIST_PROPS) for rl in state.room_lists[tid]],
                "hierarchy": [graph_fields(p, (*HIERARCHY_PROPS, "kind")) for p in state.hierarchy.get(tid, [])],
            }
        )


def tenant_places(state, request, tid):
    """GET, POST {"enabled": bool}: whether the tenant's Places list APIs answer anything. Off, they
    answer 200 with no places, as before Places settings are configured in a tenant
    (resources/places-api-overview.md; microsoft-graph-docs issue 7475)."""
    _known_tenant(state, tid)
    with state.lock:
        if request.method == "POST":
            enabled = read_body(request).get("enabled")
            if not isinstance(enabled, bool):
                raise BadRequest("enabled must be a boolean")
            (state.places_off.discard if enabled else state.places_off.add)(tid)
        return reply({"enabled": tid not in state.places_off})


def tenant_consent(state, request, tid):
    """Tenant-wide (admin) consent grants: GET, POST {"scopes": [...]} to add (as an admin
    consent would), DELETE to revoke (the service principal stays)."""
    _known_tenant(state, tid)
    with state.lock:
        if request.method == "POST":
            scopes = read_body(request).get("scopes")
            if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
                raise BadRequest("scopes must be a list of permission names")
            known = {s.lower(): s for s in list(seed.GRAPH_SCOPES) + list(seed.OIDC_SCOPES)}
            unknown = [s for s in scopes if s.lower() not in known]
            if unknown:
                raise BadRequest(f"unknown scopes {unknown}")
            state.grant(tid, {known[s.lower()] for s in scopes})
        elif request.method == "DELETE":
            state.tenants[tid].grants.clear()
        return reply({"tenant_id": tid, "scopes": sorted(state.tenants[tid].grants)})


def tenant_user_consent(state, request, tid):
    """The tenant's user consent setting: GET, POST {"allowed": bool}."""
    _known_tenant(state, tid)
    with state.lock:
        if request.method == "POST":
            allowed = read_body(request).get("allowed")
            if not isinstance(allowed, bool):
                raise BadRequest("allowed must be true or false")
            state.tenants[tid].user_consent_allowed = allowed
        return reply({"tenant_id": tid, "allowed": state.tenants[tid].user_consent_allowed})


def tenant_remove_app(state, request, tid):
    """The customer deletes our enterprise app: grants gone, refresh tokens refused (700016)."""
    _known_tenant(state, tid)
    state.remove_app(tid)
    return reply({"tenant_id": tid, "app_installed": False})


def tenant_app_enabled(state, request, tid):
    """GET, POST {"enabled": bool}: the customer disables (or enables again) our enterprise app in
    their tenant; while disabled, codes and refresh tokens of the tenant answer AADSTS7000112."""
    _known_tenant(state, tid)
    with state.lock:
        if request.method == "POST":
            enabled = read_body(request).get("enabled")
            if not isinstance(enabled, bool):
                raise BadRequest("enabled must be a boolean")
            state.tenants[tid].app_disabled = not enabled
        return reply({"tenant_id": tid, "enabled": not state.tenants[tid].app_disabled})


def app_manifest(state, request):
    """POST {"groupMembershipClaims": "None" | "SecurityGroup" | ... }."""
    value = read_body(request).get("groupMembershipClaims")
    if value not in seed.GROUP_MEMBERSHIP_CLAIMS:
        raise BadRequest(f"groupMembershipClaims must be one of {list(seed.GROUP_MEMBERSHIP_CLAIMS)}")
    with state.lock:
        state.app.group_membership_claims = value
        return reply(_app_view(state))


def app_secret(state, request):
    """POST {"expired"?: bool, "value"?: str}: expire the client secret (AADSTS7000222) or
    replace it, so that the secret a client holds is wrong (AADSTS7000215)."""
    body = read_body(request)
    expired, value = body.get("expired"), body.get("value")
    if expired is not None and not isinstance(expired, bool):
        raise BadRequest("expired must be true or false")
    if value is not None and not (isinstance(value, str) and value):
        raise BadRequest("value must be a non-empty string")
    with state.lock:
        if expired is not None:
            state.app.secret_expired = expired
        if value is not None:
            state.app.secret = value
        return reply(_app_view(state))


def app_certificates(state, request):
    """POST {"certificate": PEM} uploads a certificate to the app registration (its public part,
    as the portal's "Certificates & secrets" does); {"certificates": []} replaces them all."""
    body = read_body(request)
    if "certificates" in body:
        pems = body["certificates"]
        if not (isinstance(pems, list) and all(isinstance(p, str) for p in pems)):
            raise BadRequest("certificates must be a list of PEM strings")
        replace = True
    else:
        pems, replace = [body.get("certificate")], False
        if not isinstance(pems[0], str):
            raise BadRequest("certificate must be a PEM string")
    try:
        certs = [client_assertions.Certificate(p) for p in pems]
    except ValueError:
        raise BadRequest("not a PEM certificate") from None
    with state.lock:
        state.app.certificates = certs if replace else [*state.app.certificates, *certs]
        return reply(_app_view(state))


def app_federated_credentials(state, request):
    """POST {"issuer", "subject", "audiences"} adds a federated identity credential to the app
    registration (az ad app federated-credential create); {"credentials": []} replaces them all."""
    body = read_body(request)
    items = body["credentials"] if "credentials" in body else [body]
    if not isinstance(items, list):
        raise BadRequest("credentials must be a list")
    creds = []
    for item in items:
        if not (
            isinstance(item, dict)
            and all(isinstance(item.get(k), str) and item[k] for k in ("issuer", "subject"))
            and isinstance(item.get("audiences"), list)
            and all(isinstance(a, str) for a in item["audiences"])
        ):
            raise BadRequest("a credential is {issuer, subject, audiences: [...]}")
        creds.append({"issuer": item["issuer"], "subject": item["subject"], "audiences": list(item["audiences"])})
    with state.lock:
        state.app.federated_credentials = creds if "credentials" in body else [*state.app.federated_credentials, *creds]
        return reply(_app_view(state))

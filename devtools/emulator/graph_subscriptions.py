"""Microsoft Graph v1.0 subscriptions (change notifications) on Outlook events.

Routes: POST /subscriptions, GET /subscriptions, GET/PATCH/DELETE /subscriptions/{id},
POST /subscriptions/{id}/reauthorize. Delegated tokens only, in the signed-in user's mailbox.

Docs followed (microsoftgraph/microsoft-graph-docs-contrib, api-reference/v1.0/ and concepts/):
- api/subscription-post-subscriptions.md: 201 + the subscription (@odata.context
  "$metadata#subscriptions/$entity", id, resource, applicationId, changeType, clientState,
  notificationUrl, expirationDateTime, creatorId, latestSupportedTlsVersion,
  notificationContentType); an event subscription needs Calendars.Read (any Calendars.* here, as
  the event routes); "Any path starting with me can also be used with users/{id}"; endpoint
  validation failure -> 400 (notifications.validate_endpoint).
- resources/subscription.md: changeType created/updated/deleted (comma-separated); clientState at
  most 128 characters; latestSupportedTlsVersion v1_0..v1_3, default v1_2; notificationUrl and
  lifecycleNotificationUrl "must make use of the HTTPS protocol" (the emulator also takes http on
  a loopback host). concepts/includes/change-notifications-subscription-lifetime.md (11/2024):
  Outlook event subscriptions last at most 10,080 minutes (older pages: 4,230). The answer above
  it: 400 ExtensionError "Subscription expiration can only be 10080 minutes in the future." (the
  wording observed with 4230, docs-contrib #7726).
- concepts/change-notifications-delivery-webhooks.md and subscription-post-subscriptions.md:
  "Duplicate subscriptions aren't allowed": a create with the same changeType and resource as an
  existing subscription (of the app, for the signed-in user) -> 409 "Subscription Id <id> already
  exists for the requested combination" (error code ObjectIdentifierInUse, as observed in the
  field: a public Graph client's handling of this 409, 2023). Checked before the validation
  handshake and again when the subscription is stored.
- concepts/change-notifications-delivery-webhooks.md "Authentication" (01/2025): the access token
  the subscription was created, renewed or reauthorized with "generally expires within 1 hour. If
  an access token expires, notifications aren't delivered" (held and retried up to 4 hours:
  notifications.py); renew or reauthorize with a valid token resumes delivery. `token_exp` is
  that token's `exp`.
- concepts/outlook-change-notifications-overview.md: with delegated permissions only folders of
  the signed-in user's mailbox; items in shared/delegated folders are not supported.
- Field: `me/events` covers the default calendar only; `me/calendars/{id}/events` one calendar
  (docs-contrib #6150, #51).
- concepts/outlook-immutable-id.md: `Prefer: IdType="ImmutableId"` on the create makes the
  subscription's notifications carry immutable ids.
- api/subscription-update.md, change-notifications-delivery-webhooks.md "Renew": PATCH
  expirationDateTime -> 200 + subscription; a subscription not renewed in time is deleted.
- api/subscription-delete.md: 204. api/subscription-reauthorize.md: no body, 204.
- api/subscription-list.md: with delegated permissions, the subscriptions the app created for the
  signed-in user. Error body observed for a missing subscription: 404 ResourceNotFound "The object
  was not found." (the error Graph's change-notification service gives for unknown ids).
"""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid

import jwt

from . import notifications as nt
from . import seed
from .graph import OWN_CALENDARS, calendars_of, mailbox_owner
from .graph_http import Caller, GraphError, GraphResult, bearer, immutable_ids, read_json
from .records import Subscription, User

MAX_MINUTES = 10080  # Outlook events (change-notifications-subscription-lifetime.md, 11/2024)
CHANGE_TYPES = ("created", "updated", "deleted")
TLS_VERSIONS = ("v1_0", "v1_1", "v1_2", "v1_3")
PAYLOAD = "Could not process subscription creation payload. Are all property names spelled and camelCased properly?"
NOT_FOUND = ("ResourceNotFound", "The object was not found.")
FORBIDDEN = "Operation: Create; Exception: [Status Code: Forbidden; Reason: Forbidden]"
_USERS = re.compile(r"^users(?:\('([^']+)'\)|/([^/]+))/(.*)$", re.IGNORECASE)
_CALENDARS = re.compile(r"^calendars(?:\('([^']+)'\)|/([^/]+))/events$", re.IGNORECASE)


def _invalid(message: str) -> GraphError:
    return GraphError(400, "InvalidRequest", message)


def _token_exp(request) -> float:
    token = bearer(request)
    claims = jwt.decode(token, options={"verify_signature": False}) if token else {}
    return float(claims.get("exp", time.time()))


def _app_id(request) -> str:
    token = bearer(request)
    claims = jwt.decode(token, options={"verify_signature": False}) if token else {}
    return claims.get("appid") or claims.get("azp") or seed.CLIENT_ID


def resolve_resource(state, owner: User, resource: str) -> str:
    """The calendar id a resource path names in the caller's mailbox (see the module doc)."""
    path = resource.strip().strip("/")
    low = path.lower()
    m = _USERS.match(path)
    if m:
        who = (m.group(1) or m.group(2)).lower()
        if who not in (owner.id.lower(), owner.upn.lower(), (owner.mail or "").lower()):
            # outlook-change-notifications-overview.md: delegated = the signed-in user's mailbox only
            raise GraphError(403, "ExtensionError", FORBIDDEN)
        path = m.group(3)
        low = path.lower()
    elif low.startswith("me/"):
        path, low = path[3:], low[3:]
    else:
        raise _invalid(f"Resource '{resource}' is not supported by the emulator (Outlook events only).")
    cals = calendars_of(state, owner)
    if low in ("events", "calendar/events"):
        return cals[0].id  # the default calendar (field: docs-contrib #6150, #51)
    m = _CALENDARS.match(path)
    if m:
        cal_id = m.group(1) or m.group(2)
        cal = next((c for c in cals if c.id == cal_id), None)
        if cal is None:
            raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        if cal.shared:  # outlook-change-notifications-overview.md: shared folders are not supported
            raise GraphError(403, "ExtensionError", FORBIDDEN)
        return cal.id
    raise _invalid(f"Resource '{resource}' is not supported by the emulator (Outlook events only).")


def _expiration(value, now: dt.datetime) -> dt.datetime:
    if not isinstance(value, str):
        raise _invalid(PAYLOAD)
    text = value.strip()
    m = re.match(r"^(.*T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?$", text)
    if not m:
        raise _invalid(PAYLOAD)
    frac = (m.group(2) or "")[:7]
    try:
        t = dt.datetime.fromisoformat(m.group(1) + (frac[:7] if frac else "") + (m.group(3) or "Z"))
    except ValueError:
        raise _invalid(PAYLOAD) from None
    t = t.astimezone(dt.UTC)
    if t <= now:
        raise GraphError(400, "ExtensionError", "Subscription expiration can only be in the future.")
    if t - now > dt.timedelta(minutes=MAX_MINUTES):
        raise GraphError(
            400, "ExtensionError", f"Subscription expiration can only be {MAX_MINUTES} minutes in the future."
        )
    return t


def _url(value, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _invalid(f"{name} is a required property for subscription creation.")
    value = value.strip()
    scheme = value.split(":", 1)[0].lower()
    if scheme == "https" or (scheme == "http" and nt.is_loopback(value)):
        return value
    raise _invalid(f"The {name} must use the HTTPS protocol.")


def render(state, sub: Subscription) -> dict:
    return {
        "@odata.context": f"{state.base_url}/v1.0/$metadata#subscriptions/$entity",
        "id": sub.id,
        "resource": sub.resource,
        "applicationId": sub.application_id,
        "changeType": ",".join(sub.change_types),
        "clientState": sub.client_state,
        "notificationUrl": sub.notification_url,
        "notificationQueryOptions": None,
        "lifecycleNotificationUrl": sub.lifecycle_url,
        "expirationDateTime": nt.graph_time(sub.expiration),
        "creatorId": sub.creator_id,
        "includeResourceData": False,
        "latestSupportedTlsVersion": sub.tls_version,
        "encryptionCertificate": None,
        "encryptionCertificateId": None,
        "notificationUrlAppId": None,
        "notificationContentType": "application/json",
    }


def _mine(state, request, caller: Caller, sub_id: str) -> Subscription:
    sub = state.subscriptions.get(sub_id)
    if sub is not None and sub.expiration <= dt.datetime.now(dt.UTC):
        state.subscriptions.pop(sub_id, None)  # expired: deleted (delivery-webhooks "Renew")
        sub = None
    if sub is None or sub.creator_id != caller.user.id or sub.application_id != _app_id(request):
        raise GraphError(404, *NOT_FOUND)
    return sub


def _reauthorize(state, request, caller: Caller, sub: Subscription) -> None:
    """Renew/reauthorize: the app's current token must still carry the permission it needs."""
    if not state.granted(sub.tenant_id, sub.owner) & OWN_CALENDARS:
        raise GraphError(403, "ExtensionError", FORBIDDEN.replace("Create", "Reauthorize"))
    if sub.paused:
        nt.snapshot(state, sub)  # what changed while permissions were gone is lost (lifecycle-events)
    # A fresh token resumes delivery: held notifications go out (delivery-webhooks "Authentication").
    sub.authorized_at, sub.token_exp, sub.paused = time.time(), _token_exp(request), False


# --- handlers --------------------------------------------------------------------------------------------
def subscriptions(state, request, caller: Caller):
    if request.method == "GET":
        with state.lock:
            owner = mailbox_owner(caller, OWN_CALENDARS)
            app = _app_id(request)
            now = dt.datetime.now(dt.UTC)
            mine = [
                render(state, s)
                for s in state.subscriptions.values()
                if s.creator_id == owner.id and s.application_id == app and s.expiration > now
            ]
        for s in mine:
            s.pop("@odata.context")
        return GraphResult({"@odata.context": f"{state.base_url}/v1.0/$metadata#subscriptions", "value": mine})
    return _create(state, request, caller)


def _refuse_duplicate(state, owner: User, app: str, cal_id: str, kinds: list[str]) -> None:
    """409 when the app already holds a live subscription with the same changeType on the same
    resource of this mailbox (the module doc; caller holds the lock). The resource is compared as
    resolved (`me/events` and `users/{own id}/events` name the same calendar)."""
    now = dt.datetime.now(dt.UTC)
    for s in state.subscriptions.values():
        if (
            s.owner == owner.id
            and s.application_id == app
            and s.calendar_id == cal_id
            and s.change_types == kinds
            and s.expiration > now
        ):
            raise GraphError(
                409, "ObjectIdentifierInUse", f"Subscription Id {s.id} already exists for the requested combination"
            )


def _create(state, request, caller: Caller):
    raw = read_json(request)
    body = {k.lower(): v for k, v in raw.items()}
    with state.lock:
        owner = mailbox_owner(caller, OWN_CALENDARS)
    for name in ("changeType", "notificationUrl", "resource", "expirationDateTime"):
        if body.get(name.lower()) in (None, ""):
            raise _invalid(f"{name} is a required property for subscription creation.")
    if not isinstance(body["changetype"], str) or not isinstance(body["resource"], str):
        raise _invalid(PAYLOAD)
    kinds = [c.strip() for c in body["changetype"].split(",") if c.strip()]
    bad = [c for c in kinds if c not in CHANGE_TYPES]
    if bad or not kinds:
        raise _invalid(f"'{','.join(bad) or body['changetype']}' is not a valid changeType for this resource.")
    client_state = body.get("clientstate")
    if client_state is not None and (not isinstance(client_state, str) or len(client_state) > 128):
        raise _invalid("clientState must be a string of at most 128 characters.")
    tls = body.get("latestsupportedtlsversion") or "v1_2"
    if tls not in TLS_VERSIONS:
        raise _invalid(f"Invalid latestSupportedTlsVersion '{tls}'.")
    if body.get("includeresourcedata"):
        raise _invalid("The emulator does not implement change notifications with resource data.")
    now = dt.datetime.now(dt.UTC)
    expiration = _expiration(body["expirationdatetime"], now)
    url = _url(body["notificationurl"], "notificationUrl")
    lifecycle = body.get("lifecyclenotificationurl")
    lifecycle = _url(lifecycle, "lifecycleNotificationUrl") if lifecycle else None
    kinds = [c for c in CHANGE_TYPES if c in kinds]
    app = _app_id(request)
    with state.lock:
        cal_id = resolve_resource(state, owner, body["resource"])
        _refuse_duplicate(state, owner, app, cal_id, kinds)
    sub_id = str(uuid.uuid4())
    for target in [url] + ([lifecycle] if lifecycle else []):
        failure = nt.validate_endpoint(state, sub_id, target)  # outside the lock: it waits up to 10 s
        if failure:
            raise GraphError(400, *failure)
    with state.lock:
        _refuse_duplicate(state, owner, app, cal_id, kinds)  # one made while this one was validated
        sub = Subscription(
            id=sub_id,
            tenant_id=owner.tenant_id,
            owner=owner.id,
            calendar_id=cal_id,
            resource=body["resource"],
            change_types=kinds,
            notification_url=url,
            lifecycle_url=lifecycle,
            client_state=client_state,
            expiration=expiration,
            application_id=app,
            creator_id=owner.id,
            tls_version=tls,
            immutable_ids=immutable_ids(request),
            created=time.time(),
            authorized_at=time.time(),
            token_exp=_token_exp(request),
        )
        nt.snapshot(state, sub)
        state.subscriptions[sub.id] = sub
        return GraphResult(render(state, sub), 201)


def subscription(state, request, caller: Caller, sub_id):
    with state.lock:
        mailbox_owner(caller, OWN_CALENDARS)
        sub = _mine(state, request, caller, sub_id)
        if request.method == "GET":
            return GraphResult(render(state, sub))
        if request.method == "DELETE":
            state.subscriptions.pop(sub.id, None)
            return GraphResult(None, 204)
    raw = read_json(request)
    body = {k.lower(): v for k, v in raw.items()}
    other = [k for k in raw if k.lower() != "expirationdatetime"]
    if other:
        raise _invalid(f"Only expirationDateTime can be updated, not {', '.join(other)}.")
    if "expirationdatetime" not in body:
        raise _invalid("expirationDateTime is required to renew a subscription.")
    expiration = _expiration(body["expirationdatetime"], dt.datetime.now(dt.UTC))
    with state.lock:
        sub = _mine(state, request, caller, sub_id)
        _reauthorize(state, request, caller, sub)  # subscription-update also reauthorizes (lifecycle-events)
        sub.expiration = expiration
        return GraphResult(render(state, sub))


def subscription_reauthorize(state, request, caller: Caller, sub_id):
    with state.lock:
        mailbox_owner(caller, OWN_CALENDARS)
        sub = _mine(state, request, caller, sub_id)
        _reauthorize(state, request, caller, sub)
    return GraphResult(None, 204)

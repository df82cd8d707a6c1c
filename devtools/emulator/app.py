"""The emulator as one WSGI app: URL routing (werkzeug.routing.Map), fault injection,
latency, the call log and one stderr line per request (never tokens, codes or queries)."""
from __future__ import annotations

import sys
import time
import traceback

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from . import (control, control_events, events, graph, graph_events, graph_http, graph_ids,
               graph_schedule, identity, oauth, tokens)

_ANY = ["GET", "POST"]


def _event_rules():
    """Events under /me and /users/{id|upn}: any calendar (/events), the default calendar
    (/calendar/events) or one calendar (/calendars/{id}/events); `which` tells them apart."""
    rules = []
    for prefix in ("/v1.0/me", "/v1.0/users/<ident>"):
        for middle, which in (("/events", None), ("/calendar/events", "default"),
                              ("/calendars/<cal_id>/events", "one")):
            base, defaults = prefix + middle, {"which": which}
            rules += [
                Rule(base, endpoint="graph_events_create", methods=["POST"], defaults=defaults),
                Rule(base + "/<event_id>", endpoint="graph_event", methods=["GET", "PATCH", "DELETE"],
                     defaults=defaults),
                Rule(base + "/<event_id>/cancel", endpoint="graph_event_cancel", methods=["POST"],
                     defaults=defaults),
            ]
        rules.append(Rule(prefix + "/calendar/getschedule", endpoint="graph_get_schedule",
                          methods=["POST"]))
        rules.append(Rule(prefix + "/translateexchangeids", endpoint="graph_translate_exchange_ids",
                          methods=["POST"]))
    return rules


URL_MAP = Map([
    # Control API
    Rule("/_emulator/health", endpoint="c:health", methods=["GET"]),
    Rule("/_emulator/reset", endpoint="c:reset", methods=["POST"]),
    Rule("/_emulator/state", endpoint="c:state", methods=["GET"]),
    Rule("/_emulator/users/<oid>/<action>", endpoint="c:user_action", methods=["POST"]),
    Rule("/_emulator/users/<oid>/events", endpoint="c:user_events", methods=["GET"]),
    Rule("/_emulator/users/<oid>/events/<event_id>/delete", endpoint="c:user_event_delete",
         methods=["POST"]),
    Rule("/_emulator/events/<event_id>/responses", endpoint="c:event_responses", methods=["POST"]),
    Rule("/_emulator/events/<event_id>/move", endpoint="c:event_move", methods=["POST"]),
    Rule("/_emulator/room-answer-delay", endpoint="c:room_answer_delay", methods=["GET", "POST"]),
    Rule("/_emulator/schedules/<email>/busy", endpoint="c:schedule_busy",
         methods=["GET", "POST", "DELETE"]),
    Rule("/_emulator/throttle", endpoint="c:throttle", methods=["GET", "POST", "DELETE"]),
    Rule("/_emulator/latency", endpoint="c:latency", methods=["POST"]),
    Rule("/_emulator/calls", endpoint="c:calls", methods=["GET", "DELETE"]),
    Rule("/_emulator/tokens/expire-access", endpoint="c:expire_access", methods=["POST"]),
    Rule("/_emulator/tokens/expire-refresh", endpoint="c:expire_refresh", methods=["POST"]),
    Rule("/_emulator/tokens/expire-codes", endpoint="c:expire_codes", methods=["POST"]),
    Rule("/_emulator/tenants/<tid>/rooms", endpoint="c:tenant_rooms", methods=["GET", "POST"]),
    Rule("/_emulator/tenants/<tid>/consent", endpoint="c:tenant_consent",
         methods=["GET", "POST", "DELETE"]),
    Rule("/_emulator/tenants/<tid>/user-consent", endpoint="c:tenant_user_consent",
         methods=["GET", "POST"]),
    Rule("/_emulator/tenants/<tid>/remove-app", endpoint="c:tenant_remove_app", methods=["POST"]),
    Rule("/_emulator/app/manifest", endpoint="c:app_manifest", methods=["GET", "POST"]),
    Rule("/_emulator/app/secret", endpoint="c:app_secret", methods=["POST"]),
    # Microsoft identity platform v2.0
    Rule("/<tenant>/oauth2/v2.0/authorize", endpoint="authorize", methods=_ANY),
    Rule("/<tenant>/oauth2/v2.0/token", endpoint="token", methods=_ANY),
    Rule("/<tenant>/v2.0/adminconsent", endpoint="adminconsent", methods=_ANY),
    Rule("/<tenant>/v2.0/.well-known/openid-configuration", endpoint="openid", methods=["GET"]),
    Rule("/<tenant>/discovery/v2.0/keys", endpoint="jwks", methods=["GET"]),
    # Microsoft Graph v1.0 (fixed segments matched case-insensitively, see _graph_path)
    Rule("/v1.0/me", endpoint="graph_me", methods=["GET"]),
    Rule("/v1.0/users/<ident>", endpoint="graph_user", methods=["GET"]),
    Rule("/v1.0/organization", endpoint="graph_org", methods=["GET"]),
    Rule("/v1.0/organization/<org_id>", endpoint="graph_org_one", methods=["GET"]),
    Rule("/v1.0/me/calendar", endpoint="graph_me_calendar", methods=["GET"]),
    Rule("/v1.0/me/calendars", endpoint="graph_me_calendars", methods=["GET"]),
    Rule("/v1.0/me/calendars/<cal_id>", endpoint="graph_me_calendar_one", methods=["GET"]),
    Rule("/v1.0/users/<ident>/calendar", endpoint="graph_user_calendar", methods=["GET"]),
    Rule("/v1.0/users/<ident>/calendars", endpoint="graph_user_calendars", methods=["GET"]),
    Rule("/v1.0/users/<ident>/calendars/<cal_id>", endpoint="graph_user_calendar_one",
         methods=["GET"]),
    Rule("/v1.0/places/microsoft.graph.room", endpoint="graph_rooms", methods=["GET"]),
    Rule("/v1.0/places/microsoft.graph.roomlist", endpoint="graph_room_lists", methods=["GET"]),
    Rule("/v1.0/places/<list_email>/microsoft.graph.roomlist/rooms",
         endpoint="graph_rooms_in_list", methods=["GET"]),
    *_event_rules(),
], strict_slashes=False, merge_slashes=False, redirect_defaults=False)

IDENTITY = {"authorize": identity.authorize, "adminconsent": identity.adminconsent,
            "openid": identity.openid_configuration, "jwks": identity.jwks, "token": tokens.token}
_GRAPH_WORDS = {"v1.0", "me", "users", "calendar", "calendars", "organization", "places",
                "microsoft.graph.room", "microsoft.graph.roomlist", "rooms", "events", "cancel",
                "getschedule", "translateexchangeids"}
GRAPH_ROUTES = {**graph.ROUTES, **graph_events.ROUTES, **graph_schedule.ROUTES, **graph_ids.ROUTES}
control.HANDLERS.update(control_events.HANDLERS)
TOKEN_FAULTS = {  # status -> AADSTS number and text (reference-error-codes)
    429: (90055, "TenantThrottlingError - There are too many incoming requests."),
    503: (90006, "ExternalServerRetryableError - The service is temporarily unavailable."),
    504: (90012, "RequestTimeout - The requested has timed out."),
}


def _graph_path(path: str) -> str:
    """Graph URL segments are case-insensitive (e.g. microsoft.graph.roomList)."""
    return "/".join(s.lower() if s.lower() in _GRAPH_WORDS else s for s in path.split("/"))


class EmulatorApp:
    def __init__(self, state, log=sys.stderr):
        self.state, self.log = state, log

    def __call__(self, environ, start_response):
        request = Request(environ)
        info = {"kind": None, "tenant_id": None, "user_id": None}
        try:
            response = self.dispatch(request, info)
        except Exception:  # noqa: BLE001 - last resort; the traceback goes to stderr only
            traceback.print_exc(file=self.log)
            response = Response('{"error": "emulator internal error"}', 500,
                                mimetype="application/json")
        if info["kind"]:
            self.state.log_call(info["kind"], request.method, request.path, response.status_code,
                                info["tenant_id"], info["user_id"])
        print(f"{request.method} {request.path} -> {response.status_code}", file=self.log, flush=True)
        return response(environ, start_response)

    def dispatch(self, request, info) -> Response:
        is_graph = request.path.lower().startswith("/v1.0/")
        path = _graph_path(request.path) if is_graph else request.path
        adapter = URL_MAP.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match(path_info=path, method=request.method)
        except NotFound:
            if is_graph:
                info["kind"] = "graph"
                segment = path.rstrip("/").rsplit("/", 1)[-1]
                return graph_http.error(request, graph_http.GraphError(
                    400, "BadRequest", f"Resource not found for the segment '{segment}'."))
            return Response('{"error": "not found"}', 404, mimetype="application/json")
        except MethodNotAllowed:
            if is_graph:
                info["kind"] = "graph"
                return graph_http.error(request, graph_http.GraphError(
                    405, "BadRequest", f"Unsupported HTTP method '{request.method}' in the emulator."))
            return Response('{"error": "method not allowed"}', 405, mimetype="application/json")
        if endpoint.startswith(("c:", "graph_")):
            events.deliver_room_answers(self.state)  # rooms answer later (events.py): those now due
        if endpoint.startswith("c:"):
            return control.handle(self.state, request, endpoint[2:], **args)
        if endpoint.startswith("graph_"):
            return self.graph_call(request, endpoint, args, info)
        if endpoint == "token":
            info["kind"] = "token"
            rule = self.state.take_fault("token", request.method, request.full_path.rstrip("?"))
            if rule:
                code, text = TOKEN_FAULTS[rule["status"]]
                headers = {"Retry-After": str(rule["retry_after"])} if rule["retry_after"] is not None else {}
                return oauth.error_json(request, rule["status"], "temporarily_unavailable", code,
                                        text, headers)
        return IDENTITY[endpoint](self.state, request, info=info, **args)

    def graph_call(self, request, endpoint, args, info) -> Response:
        info["kind"] = "graph"
        info["tenant_id"], info["user_id"] = graph_http.peek_identity(request)
        with self.state.lock:
            delay = self.state.latency_ms / 1000.0
        if delay:
            time.sleep(delay)
        rule = self.state.take_fault("graph", request.method, request.full_path.rstrip("?"))
        if rule:
            return graph_http.fault(request, rule)
        try:
            ctx = graph_http.authenticate(self.state, request)
            info["tenant_id"], info["user_id"] = ctx["user"]["tenant_id"], ctx["user"]["id"]
            return graph_http.respond(request, GRAPH_ROUTES[endpoint](self.state, request, ctx, **args))
        except graph_http.GraphError as e:
            return graph_http.error(request, e)

"""The emulator as one WSGI app: the route table (built once, in `build_routes`), fault
injection, latency, the call log and one stderr line per request (never tokens, codes or
queries)."""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Callable

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from . import (
    control,
    control_events,
    control_outlook,
    events,
    graph,
    graph_calendar_view,
    graph_events,
    graph_http,
    graph_ids,
    graph_schedule,
    graph_subscriptions,
    identity,
    managed_identity,
    notifications,
    oauth,
    outlook_view,
    tokens,
)
from .records import CallInfo

CONTROL, IDENTITY, GRAPH = "control", "identity", "graph"
TOKEN_FAULTS = {  # status -> AADSTS number and text (reference-error-codes)
    429: (90055, "TenantThrottlingError - There are too many incoming requests."),
    503: (90006, "ExternalServerRetryableError - The service is temporarily unavailable."),
    504: (90012, "RequestTimeout - The requested has timed out."),
}


def build_routes() -> tuple[Map, dict[str, tuple[str, Callable]], frozenset[str]]:
    """Every route: its URL rule, methods, kind and handler. A rule's endpoint is
    "{kind}_{handler name}" (tests look Graph routes up by it, e.g. graph_get_schedule). Graph
    rules are written in lower case: their fixed segments are matched case-insensitively."""
    get, post, any_ = ["GET"], ["POST"], ["GET", "POST"]
    table = [
        (CONTROL, "/_emulator/health", get, control.health),
        (CONTROL, "/_emulator/reset", post, control.reset),
        (CONTROL, "/_emulator/state", get, control.dump),
        (CONTROL, "/_emulator/outlook", get, outlook_view.outlook_page),
        (CONTROL, "/_emulator/users/<oid>/<action>", post, control.user_action),
        (CONTROL, "/_emulator/users/<oid>/events", ["GET", "POST"], control_events.user_events),
        (CONTROL, "/_emulator/users/<oid>/events/<event_id>/delete", post, control_events.user_event_delete),
        (CONTROL, "/_emulator/events/<event_id>/responses", post, control_events.event_responses),
        (CONTROL, "/_emulator/events/<event_id>/move", post, control_events.event_move),
        (CONTROL, "/_emulator/events/<event_id>/outlook-edit", post, control_outlook.outlook_edit),
        (CONTROL, "/_emulator/events/<event_id>/outlook-cancel", post, control_outlook.outlook_cancel),
        (CONTROL, "/_emulator/subscriptions", get, control_outlook.subscriptions),
        (CONTROL, "/_emulator/subscriptions/<sub_id>/expire", post, control_outlook.subscription_expire),
        (CONTROL, "/_emulator/subscriptions/<sub_id>/drop", post, control_outlook.subscription_drop),
        (CONTROL, "/_emulator/subscriptions/<sub_id>/lifecycle", post, control_outlook.subscription_lifecycle),
        (CONTROL, "/_emulator/notifications", get, control_outlook.notifications_log),
        (CONTROL, "/_emulator/notifications/config", any_, control_outlook.notifications_config),
        (CONTROL, "/_emulator/room-answer-delay", any_, control_events.room_answer_delay),
        (CONTROL, "/_emulator/schedules/<email>/busy", any_, control_events.schedule_busy),
        (CONTROL, "/_emulator/throttle", post, control.throttle),
        (CONTROL, "/_emulator/latency", post, control.latency),
        (CONTROL, "/_emulator/time-zones", any_, control.time_zones),
        (CONTROL, "/_emulator/calls", ["GET", "DELETE"], control.calls),
        (CONTROL, "/_emulator/tokens/expire-access", post, control.expire_access),
        (CONTROL, "/_emulator/tokens/expire-refresh", post, control.expire_refresh),
        (CONTROL, "/_emulator/tokens/lifetime", any_, control.token_lifetime),
        (CONTROL, "/_emulator/tokens/expire-codes", post, control.expire_codes),
        (CONTROL, "/_emulator/tenants/<tid>/rooms", any_, control.tenant_rooms),
        (CONTROL, "/_emulator/tenants/<tid>/places", any_, control.tenant_places),
        (CONTROL, "/_emulator/tenants/<tid>/consent", ["GET", "POST", "DELETE"], control.tenant_consent),
        (CONTROL, "/_emulator/tenants/<tid>/user-consent", any_, control.tenant_user_consent),
        (CONTROL, "/_emulator/tenants/<tid>/remove-app", post, control.tenant_remove_app),
        (CONTROL, "/_emulator/tenants/<tid>/app-enabled", any_, control.tenant_app_enabled),
        (CONTROL, "/_emulator/app/manifest", post, control.app_manifest),
        (CONTROL, "/_emulator/app/secret", post, control.app_secret),
        (CONTROL, "/_emulator/app/certificates", post, control.app_certificates),
        (CONTROL, "/_emulator/app/federated-credentials", post, control.app_federated_credentials),
        # Azure App Service / Functions managed identity endpoint (IDENTITY_ENDPOINT)
        (CONTROL, "/_emulator/managed-identity/token", get, managed_identity.token),
        # Microsoft identity platform v2.0
        (IDENTITY, "/<tenant>/oauth2/v2.0/authorize", any_, identity.authorize),
        (IDENTITY, "/<tenant>/oauth2/v2.0/token", any_, tokens.token),
        (IDENTITY, "/<tenant>/v2.0/adminconsent", any_, identity.adminconsent),
        (IDENTITY, "/<tenant>/v2.0/.well-known/openid-configuration", get, identity.openid_configuration),
        (IDENTITY, "/<tenant>/discovery/v2.0/keys", get, identity.jwks),
        # Microsoft Graph v1.0: what the app calls, in the signed-in user's mailbox
        (GRAPH, "/v1.0/me", get, graph.me),
        (GRAPH, "/v1.0/organization", get, graph.organization),
        (GRAPH, "/v1.0/me/calendar", get, graph.calendar),
        (GRAPH, "/v1.0/me/calendars", get, graph.calendars),
        (GRAPH, "/v1.0/me/calendars/<cal_id>", get, graph.calendar),
        (GRAPH, "/v1.0/places/microsoft.graph.room", get, graph.rooms),
        (GRAPH, "/v1.0/places/microsoft.graph.roomlist", get, graph.room_lists),
        (GRAPH, "/v1.0/places/microsoft.graph.building", get, graph.buildings),
        (GRAPH, "/v1.0/places/microsoft.graph.floor", get, graph.floors),
        (GRAPH, "/v1.0/places/microsoft.graph.section", get, graph.sections),
        (GRAPH, "/v1.0/places/<list_email>/microsoft.graph.roomlist/rooms", get, graph.rooms_in_list),
        (GRAPH, "/v1.0/me/events", post, graph_events.events_create),
        (GRAPH, "/v1.0/me/calendars/<cal_id>/events", post, graph_events.events_create),
        (GRAPH, "/v1.0/me/events/<event_id>", ["GET", "PATCH", "DELETE"], graph_events.event),
        (GRAPH, "/v1.0/me/calendar/events/<event_id>", get, graph_events.calendar_event),
        (GRAPH, "/v1.0/me/calendars/<cal_id>/events/<event_id>", get, graph_events.calendar_event),
        (GRAPH, "/v1.0/me/events/<event_id>/cancel", post, graph_events.event_cancel),
        (GRAPH, "/v1.0/me/calendar/getschedule", post, graph_schedule.get_schedule),
        (GRAPH, "/v1.0/me/calendarview", get, graph_calendar_view.calendar_view),
        (GRAPH, "/v1.0/me/translateexchangeids", post, graph_ids.translate_exchange_ids),
        (GRAPH, "/v1.0/subscriptions", any_, graph_subscriptions.subscriptions),
        (GRAPH, "/v1.0/subscriptions/<sub_id>", ["GET", "PATCH", "DELETE"], graph_subscriptions.subscription),
        (GRAPH, "/v1.0/subscriptions/<sub_id>/reauthorize", post, graph_subscriptions.subscription_reauthorize),
    ]
    rules, handlers = [], {}
    for kind, path, methods, handler in table:
        endpoint = f"{kind}_{handler.__name__}"
        rules.append(Rule(path, endpoint=endpoint, methods=methods))
        handlers[endpoint] = (kind, handler)
    graph_words = frozenset(
        segment
        for kind, path, _m, _h in table
        if kind == GRAPH
        for segment in path.split("/")
        if segment and not segment.startswith("<")
    )
    return Map(rules, strict_slashes=False, merge_slashes=False, redirect_defaults=False), handlers, graph_words


URL_MAP, HANDLERS, GRAPH_WORDS = build_routes()


def _graph_path(path: str) -> str:
    """Graph URL segments are case-insensitive (e.g. microsoft.graph.roomList)."""
    return "/".join(s.lower() if s.lower() in GRAPH_WORDS else s for s in path.split("/"))


class EmulatorApp:
    def __init__(self, state, log=sys.stderr):
        self.state, self.log = state, log

    def __call__(self, environ, start_response):
        request = Request(environ)
        info = CallInfo()
        try:
            response = self.dispatch(request, info)
        except Exception:  # noqa: BLE001 - last resort; the traceback goes to stderr only
            traceback.print_exc(file=self.log)
            response = Response('{"error": "emulator internal error"}', 500, mimetype="application/json")
        if info.kind:
            self.state.log_call(
                info.kind,
                request.method,
                request.path,
                response.status_code,
                info.tenant_id,
                info.user_id,
                request.args.get("$select") if info.kind == GRAPH else None,
                response.headers.get("request-id"),
                response.headers.get("client-request-id"),
            )
        print(f"{request.method} {request.path} -> {response.status_code}", file=self.log, flush=True)
        return response(environ, start_response)

    def dispatch(self, request, info: CallInfo) -> Response:
        is_graph = request.path.lower().startswith("/v1.0/")
        path = _graph_path(request.path) if is_graph else request.path
        try:
            endpoint, args = URL_MAP.bind_to_environ(request.environ).match(path_info=path, method=request.method)
        except NotFound:
            if is_graph:
                info.kind = "graph"
                segment = path.rstrip("/").rsplit("/", 1)[-1]
                return graph_http.error(
                    request,
                    graph_http.GraphError(400, "BadRequest", f"Resource not found for the segment '{segment}'."),
                )
            return Response('{"error": "not found"}', 404, mimetype="application/json")
        except MethodNotAllowed:
            if is_graph:
                info.kind = "graph"
                return graph_http.error(
                    request,
                    graph_http.GraphError(
                        405, "BadRequest", f"Unsupported HTTP method '{request.method}' in the emulator."
                    ),
                )
            return Response('{"error": "method not allowed"}', 405, mimetype="application/json")
        kind, handler = HANDLERS[endpoint]
        if kind in (CONTROL, GRAPH):
            events.deliver_room_answers(self.state)  # rooms answer later (events.py): those now due
            if kind == GRAPH:
                response = self.graph_call(request, handler, args, info)
            else:
                try:
                    response = handler(self.state, request, **args)
                except control.BadRequest as e:
                    response = control.reply({"error": str(e)}, 400)
            if request.method != "GET":
                notifications.notice(self.state)  # each write's change notifications, in order
            return response
        if handler is tokens.token:
            info.kind = "token"
            rule = self.state.take_fault("token", request.method, request.full_path.rstrip("?"))
            if rule:
                code, text = TOKEN_FAULTS[rule.status]
                headers = {"Retry-After": str(rule.retry_after)} if rule.retry_after is not None else {}
                return oauth.error_json(
                    request, oauth.OAuthError("temporarily_unavailable", code, text, rule.status), headers
                )
        return handler(self.state, request, info=info, **args)

    def graph_call(self, request, handler, args, info: CallInfo) -> Response:
        info.kind = "graph"
        info.tenant_id, info.user_id = graph_http.peek_identity(request)
        with self.state.lock:
            delay = self.state.latency_ms / 1000.0
        if delay:
            time.sleep(delay)
        rule = self.state.take_fault("graph", request.method, request.full_path.rstrip("?"))
        if rule:
            return graph_http.fault(request, rule)
        try:
            caller = graph_http.authenticate(self.state, request)
            info.tenant_id, info.user_id = caller.user.tenant_id, caller.user.id
            return graph_http.respond(request, handler(self.state, request, caller, **args))
        except graph_http.GraphError as e:
            return graph_http.error(request, e)

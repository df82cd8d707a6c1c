"""Outlook meeting rooms: the refresh timer (fan-out), the per-tenant queue sync, and the
cache reads, the room finder and manual sync of the HTTP API."""

import logging
from typing import TYPE_CHECKING

import azure.functions as func

from shared.http import accepted, handler, json_body, json_response
from shared.lazy import lazy
from shared.storage import queues
from shared.triggers import background

# Loaded at a function's first call, not at indexing (cold start); typed as the modules they are.
if TYPE_CHECKING:
    from shared import auth
    from shared.usecases.linking import tenant_links
    from shared.usecases.rooms import room_finder, rooms
else:
    auth = lazy("shared.auth")
    rooms = lazy("shared.usecases.rooms.rooms")
    room_finder = lazy("shared.usecases.rooms.room_finder")
    tenant_links = lazy("shared.usecases.linking.tenant_links")

bp = func.Blueprint()
log = logging.getLogger("outlook.rooms")


@bp.timer_trigger(arg_name="timer", schedule="%ROOM_REFRESH_SCHEDULE%", run_on_startup=False)
@background()
def refresh_room_caches(timer: func.TimerRequest) -> None:
    if timer.past_due:
        log.info("refresh_room_caches is running late (past_due)")
    log.info("refresh_room_caches queued %d tenant syncs", rooms.fan_out())


@bp.queue_trigger(arg_name="msg", queue_name=queues.ROOM_SYNC, connection="AzureWebJobsStorage")
@background()
def sync_tenant_rooms(msg: func.QueueMessage) -> None:
    body = queues.payload_of(msg, "sync_tenant_rooms", "company_id", "tenant_id")
    if body is None:
        return
    rooms.sync_tenant(
        str(body["company_id"]), str(body["tenant_id"])
    )  # transient failures raise: the host retries, then poisons


@bp.route(route="outlook/tenant-links/{tenant_id}/rooms/sync", methods=["POST"])
@handler
def request_room_sync(req: func.HttpRequest) -> func.HttpResponse:
    caller = auth.authenticate(req, role="admin")
    link = tenant_links.get_link(caller.company_id, req.route_params["tenant_id"])
    rooms.request_sync(caller.company_id, link.tenant_id)
    return accepted({"status": "queued", "tenant_id": link.tenant_id})


@bp.route(route="outlook/tenants/{tenant_id}/rooms", methods=["GET"])
@handler
def list_rooms(req: func.HttpRequest) -> func.HttpResponse:
    caller = auth.authenticate(req)
    return json_response(rooms.list_rooms(caller.company_id, req.route_params["tenant_id"]).to_json())


@bp.route(route="outlook/tenants/{tenant_id}/rooms/find", methods=["POST"])
@handler
def find_rooms(req: func.HttpRequest) -> func.HttpResponse:
    caller = auth.authenticate(req)
    return json_response(room_finder.find_rooms(caller, req.route_params["tenant_id"], json_body(req)).to_json())

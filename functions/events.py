"""Interview events in Outlook (create, read, edit, cancel). Any member of the company."""

from typing import TYPE_CHECKING

import azure.functions as func

from shared.errors import ValidationFailed
from shared.http import handler, json_body, json_response, no_content
from shared.lazy import lazy

# Loaded at a function's first call, not at indexing (cold start); typed as the modules they are.
if TYPE_CHECKING:
    from shared import auth
    from shared.usecases.interviews import events
else:
    auth = lazy("shared.auth")
    events = lazy("shared.usecases.interviews.events")

bp = func.Blueprint()


@bp.route(route="outlook/events", methods=["POST"])
@handler
def create_event(req: func.HttpRequest) -> func.HttpResponse:
    caller = auth.authenticate(req)
    event, created = events.create(caller, json_body(req))
    return json_response(event.to_json(), status=201 if created else 200)


@bp.route(route="outlook/events/{schedule_id}", methods=["GET"])
@handler
def get_event(req: func.HttpRequest) -> func.HttpResponse:
    caller = auth.authenticate(req)
    return json_response(events.get(caller, req.route_params["schedule_id"]).to_json())


@bp.route(route="outlook/events/{schedule_id}", methods=["PATCH"])
@handler
def update_event(req: func.HttpRequest) -> func.HttpResponse:
    caller = auth.authenticate(req)
    return json_response(events.update(caller, req.route_params["schedule_id"], json_body(req)).to_json())


@bp.route(route="outlook/events/{schedule_id}", methods=["DELETE"])
@handler
def cancel_event(req: func.HttpRequest) -> func.HttpResponse:
    caller = auth.authenticate(req)
    notify = (req.params.get("notify") or "true").lower()
    if notify not in ("true", "false"):
        raise ValidationFailed("notify must be true or false.", code="invalid_notify")
    comment = req.params.get("comment")
    events.cancel(caller, req.route_params["schedule_id"], notify == "true", comment[:1000] if comment else None)
    return no_content()

"""日程調整 on Outlook: holds (仮押さえ) of interview slots, their confirm and release, and the
timer that releases expired holds. Any member of the company."""

import logging
from typing import TYPE_CHECKING

import azure.functions as func

from shared.http import handler, json_body, json_response, no_content
from shared.lazy import lazy
from shared.triggers import background

# Loaded at a function's first call, not at indexing (cold start); typed as the modules they are.
if TYPE_CHECKING:
    from shared import auth
    from shared.usecases.scheduling import holds
else:
    auth = lazy("shared.auth")
    holds = lazy("shared.usecases.scheduling.holds")

log = logging.getLogger("outlook.holds")
bp = func.Blueprint()


@bp.route(route="outlook/holds", methods=["POST"])
@handler
def create_hold(req: func.HttpRequest) -> func.HttpResponse:
    caller = auth.authenticate(req)
    hold, created = holds.create(caller, json_body(req))
    return json_response(hold.to_json(), status=201 if created else 200)


@bp.route(route="outlook/holds/{hold_id}", methods=["GET"])
@handler
def get_hold(req: func.HttpRequest) -> func.HttpResponse:
    caller = auth.authenticate(req)
    return json_response(holds.get(caller, req.route_params["hold_id"]).to_json())


@bp.route(route="outlook/holds/{hold_id}/confirm", methods=["POST"])
@handler
def confirm_hold(req: func.HttpRequest) -> func.HttpResponse:
    caller = auth.authenticate(req)
    event = holds.confirm(caller, req.route_params["hold_id"], json_body(req))
    return json_response(event.to_json(), status=201)


@bp.route(route="outlook/holds/{hold_id}", methods=["DELETE"])
@handler
def release_hold(req: func.HttpRequest) -> func.HttpResponse:
    caller = auth.authenticate(req)
    holds.release(caller, req.route_params["hold_id"])
    return no_content()


@bp.timer_trigger(arg_name="timer", schedule="0 */15 * * * *", run_on_startup=False)
@background()
def release_expired_outlook_holds(timer: func.TimerRequest) -> None:
    log.info("release_expired_outlook_holds released %d holds", holds.release_expired())

"""日程調整 on Outlook: the slot search (free interview slots, loops, rooms)."""

from typing import TYPE_CHECKING

import azure.functions as func

from shared.http import handler, json_body, json_response
from shared.lazy import lazy

# Loaded at a function's first call, not at indexing (cold start); typed as the modules they are.
if TYPE_CHECKING:
    from shared import auth
    from shared.usecases.scheduling import slots
else:
    auth = lazy("shared.auth")
    slots = lazy("shared.usecases.scheduling.slots")

bp = func.Blueprint()


@bp.route(route="outlook/slots/find", methods=["POST"])
@handler
def find_slots(req: func.HttpRequest) -> func.HttpResponse:
    caller = auth.authenticate(req)
    return json_response(slots.find_slots(caller, json_body(req)).to_json())

"""Free/busy of interviewers and rooms for scheduling."""

from typing import TYPE_CHECKING

import azure.functions as func

from shared.http import handler, json_body, json_response
from shared.lazy import lazy

# Loaded at a function's first call, not at indexing (cold start); typed as the modules they are.
if TYPE_CHECKING:
    from shared import auth
    from shared.usecases.interviews import availability
else:
    auth = lazy("shared.auth")
    availability = lazy("shared.usecases.interviews.availability")

bp = func.Blueprint()


@bp.route(route="outlook/availability", methods=["POST"])
@handler
def get_availability(req: func.HttpRequest) -> func.HttpResponse:
    caller = auth.authenticate(req)
    return json_response(availability.availability(caller, json_body(req)).to_json())

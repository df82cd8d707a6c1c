"""Free/busy of interviewers and rooms for scheduling."""
import azure.functions as func

from shared.auth import authenticate
from shared.http import handler, json_body, json_response
from shared.services import availability

bp = func.Blueprint()


@bp.route(route="outlook/availability", methods=["POST"])
@handler
def get_availability(req: func.HttpRequest) -> func.HttpResponse:
    caller = authenticate(req)
    return json_response(availability.availability(caller, json_body(req)))

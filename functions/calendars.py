"""The Outlook calendars the caller can choose as an interview's target."""
import azure.functions as func

from shared.auth import authenticate
from shared.http import handler, json_response
from shared.services import user_links

bp = func.Blueprint()


@bp.route(route="outlook/calendars", methods=["GET"])
@handler
def list_calendars(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(user_links.calendars(authenticate(req)))

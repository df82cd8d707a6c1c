"""The Outlook calendars the caller can choose as an interview's target."""

from typing import TYPE_CHECKING

import azure.functions as func

from shared.http import handler, json_response
from shared.lazy import lazy

# Loaded at a function's first call, not at indexing (cold start); typed as the modules they are.
if TYPE_CHECKING:
    from shared import auth
    from shared.usecases.linking import user_links
else:
    auth = lazy("shared.auth")
    user_links = lazy("shared.usecases.linking.user_links")

bp = func.Blueprint()


@bp.route(route="outlook/calendars", methods=["GET"])
@handler
def list_calendars(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(user_links.calendars(auth.authenticate(req)).to_json())

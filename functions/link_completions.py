"""The last step of every link flow: the HERP session that started it confirms the completion
the callback left (`?result=confirm&completion=<code>`). Any member may call it; only the
starter's own session finds its completion."""

from typing import TYPE_CHECKING

import azure.functions as func

from shared.errors import ValidationFailed
from shared.http import handler, json_body, json_response
from shared.lazy import lazy

# Loaded at a function's first call, not at indexing (cold start); typed as the modules they are.
if TYPE_CHECKING:
    from shared import auth
    from shared.usecases.linking import link_completions
else:
    auth = lazy("shared.auth")
    link_completions = lazy("shared.usecases.linking.link_completions")

bp = func.Blueprint()


@bp.route(route="outlook/link-completions", methods=["POST"])
@handler
def confirm_link_completion(req: func.HttpRequest) -> func.HttpResponse:
    caller = auth.authenticate(req)
    code = json_body(req).get("completion")
    if not isinstance(code, str) or not code:
        raise ValidationFailed(
            "completion is required: the code of the result=confirm redirect.", code="invalid_completion"
        )
    return json_response(link_completions.confirm(caller, code).to_json())

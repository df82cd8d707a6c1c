"""The one redirect URI of the app registration (MS_REDIRECT_URI). Anonymous: the browser
arrives from Microsoft; the single-use state row identifies the flow, company and account."""

import logging
from typing import TYPE_CHECKING

import azure.functions as func

from shared.http import handler, redirect
from shared.lazy import lazy
from shared.triggers import background

# Loaded at a function's first call, not at indexing (cold start); typed as the modules they are.
if TYPE_CHECKING:
    from shared.usecases.linking import oauth_flows
else:
    oauth_flows = lazy("shared.usecases.linking.oauth_flows")

bp = func.Blueprint()
log = logging.getLogger("outlook.oauth")


@bp.route(route="outlook/callback", methods=["GET"])
@handler
def oauth_callback(req: func.HttpRequest) -> func.HttpResponse:
    return redirect(oauth_flows.handle_callback(dict(req.params)))


@bp.timer_trigger(arg_name="timer", schedule="0 30 3 * * *", run_on_startup=False)
@background()
def purge_expired_oauth_states(timer: func.TimerRequest) -> None:
    """Daily: states of flows never finished and link completions never confirmed (used ones
    are deleted at once)."""
    states, completions = oauth_flows.purge_unfinished()
    log.info(
        "purge_expired_oauth_states removed %d expired states and %d expired link completions", states, completions
    )

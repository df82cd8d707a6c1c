"""The one redirect URI of the app registration (MS_REDIRECT_URI). Anonymous: the browser
arrives from Microsoft; the single-use state row identifies the flow, company and account."""
import azure.functions as func

from shared.http import handler, redirect
from shared.services import oauth_flows

bp = func.Blueprint()


@bp.route(route="outlook/callback", methods=["GET"])
@handler
def oauth_callback(req: func.HttpRequest) -> func.HttpResponse:
    return redirect(oauth_flows.handle_callback(dict(req.params)))

"""User-level links (Personal settings > External service accounts > Outlook). Any member; an
admin also sees and removes every member's links (`?scope=company`, a leaver's link)."""

from typing import TYPE_CHECKING

import azure.functions as func

from shared.errors import ValidationFailed
from shared.http import handler, json_body, json_response, no_content
from shared.lazy import lazy

# Loaded at a function's first call, not at indexing (cold start); typed as the modules they are.
if TYPE_CHECKING:
    from shared import auth
    from shared.usecases.linking import oauth_flows, user_links
else:
    auth = lazy("shared.auth")
    oauth_flows = lazy("shared.usecases.linking.oauth_flows")
    user_links = lazy("shared.usecases.linking.user_links")

bp = func.Blueprint()


@bp.route(route="outlook/user-links/authorize", methods=["POST"])
@handler
def authorize_user_link(req: func.HttpRequest) -> func.HttpResponse:
    caller = auth.authenticate(req)
    tenant_id = json_body(req).get("tenant_id")
    if not isinstance(tenant_id, str) or not tenant_id.strip():
        raise ValidationFailed("tenant_id is required.", code="invalid_tenant_id")
    return json_response({"authorize_url": oauth_flows.start_user_link(caller, tenant_id.strip())})


@bp.route(route="outlook/user-links", methods=["GET"])
@handler
def list_user_links(req: func.HttpRequest) -> func.HttpResponse:
    scope = req.params.get("scope") or None
    company_wide = scope == "company"
    caller = auth.authenticate(req, role="admin" if company_wide else None)
    if scope not in (None, "company"):
        raise ValidationFailed("scope must be company, or absent.", code="invalid_scope")
    return json_response({"tenants": user_links.list_links(caller, company_wide=company_wide)})


@bp.route(route="outlook/user-links/{link_id}", methods=["DELETE"])
@handler
def delete_user_link(req: func.HttpRequest) -> func.HttpResponse:
    caller = auth.authenticate(req)
    user_links.delete_link(caller, req.route_params["link_id"])
    return no_content()

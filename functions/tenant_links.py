"""Tenant-level links (Settings > External services > Outlook). Admin only, except reads."""

from typing import TYPE_CHECKING

import azure.functions as func

from shared.http import handler, json_response, no_content
from shared.lazy import lazy

# Loaded at a function's first call, not at indexing (cold start); typed as the modules they are.
if TYPE_CHECKING:
    from shared import auth
    from shared.usecases.linking import oauth_flows, tenant_links
else:
    auth = lazy("shared.auth")
    oauth_flows = lazy("shared.usecases.linking.oauth_flows")
    tenant_links = lazy("shared.usecases.linking.tenant_links")

bp = func.Blueprint()


@bp.route(route="outlook/tenant-links/authorize", methods=["POST"])
@handler
def authorize_tenant_link(req: func.HttpRequest) -> func.HttpResponse:
    caller = auth.authenticate(req, role="admin")
    return json_response({"authorize_url": oauth_flows.start_tenant_link(caller)})


@bp.route(route="outlook/tenant-links", methods=["GET"])
@handler
def list_tenant_links(req: func.HttpRequest) -> func.HttpResponse:
    caller = auth.authenticate(req)
    links = tenant_links.list_links(caller.company_id)
    return json_response({"tenant_links": [link.to_json() for link in links]})


@bp.route(route="outlook/tenant-links/{tenant_id}", methods=["GET"])
@handler
def get_tenant_link(req: func.HttpRequest) -> func.HttpResponse:
    caller = auth.authenticate(req)
    return json_response(tenant_links.get_link(caller.company_id, req.route_params["tenant_id"]).to_json())


@bp.route(route="outlook/tenant-links/{tenant_id}/renew", methods=["POST"])
@handler
def renew_tenant_link(req: func.HttpRequest) -> func.HttpResponse:
    caller = auth.authenticate(req, role="admin")
    url = oauth_flows.start_tenant_renew(caller, req.route_params["tenant_id"])
    return json_response({"authorize_url": url})


@bp.route(route="outlook/tenant-links/{tenant_id}", methods=["DELETE"])
@handler
def unlink_tenant(req: func.HttpRequest) -> func.HttpResponse:
    caller = auth.authenticate(req, role="admin")
    tenant_links.unlink(caller.company_id, req.route_params["tenant_id"])
    return no_content()

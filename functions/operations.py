"""Operations (CONTRACT 8): health, the audit log, retention, a company's data deletion."""

import logging
from typing import TYPE_CHECKING

import azure.functions as func

from shared.http import handler, json_body, json_response
from shared.lazy import lazy
from shared.storage import queues
from shared.triggers import background

# Loaded at a function's first call, not at indexing (cold start); typed as the modules they are.
if TYPE_CHECKING:
    from shared import auth
    from shared.usecases.operations import audit_log, company_data, health, retention
else:
    auth = lazy("shared.auth")
    audit_log = lazy("shared.usecases.operations.audit_log")
    company_data = lazy("shared.usecases.operations.company_data")
    health = lazy("shared.usecases.operations.health")
    retention = lazy("shared.usecases.operations.retention")

bp = func.Blueprint()
log = logging.getLogger("outlook.operations")


@bp.route(route="health", methods=["GET"])
@handler
def service_health(req: func.HttpRequest) -> func.HttpResponse:
    """Anonymous: whether storage answers; nothing else (no version, no setting)."""
    if health.storage_answers():
        return json_response({"status": "ok"})
    return json_response({"status": "unavailable"}, status=503)


@bp.route(route="outlook/health", methods=["GET"])
@handler
def outlook_health(req: func.HttpRequest) -> func.HttpResponse:
    caller = auth.authenticate(req, role="admin")
    return json_response(health.company_health(caller.company_id))


@bp.route(route="outlook/audit", methods=["GET"])
@handler
def list_audit(req: func.HttpRequest) -> func.HttpResponse:
    caller = auth.authenticate(req, role="admin")
    return json_response(audit_log.page(caller.company_id, req.params))


@bp.route(route="outlook/company-data", methods=["DELETE"])
@handler
def delete_company_data_request(req: func.HttpRequest) -> func.HttpResponse:
    caller = auth.authenticate(req, role="admin")
    company_data.request(caller, json_body(req))
    return json_response({"status": "queued"}, status=202)


@bp.queue_trigger(arg_name="msg", queue_name=queues.COMPANY_DATA, connection="AzureWebJobsStorage")
@background()
def delete_company_data(msg: func.QueueMessage) -> None:
    body = queues.payload_of(msg, "delete_company_data", "company_id")
    if body is None:
        return
    company_data.delete(str(body["company_id"]), str(body.get("actor") or "system"))  # failures retry


@bp.timer_trigger(arg_name="timer", schedule="0 45 3 * * *", run_on_startup=False)
@background()
def purge_expired_records(timer: func.TimerRequest) -> None:
    """Daily: event mappings past EVENT_RETENTION_DAYS, audit entries past AUDIT_RETENTION_DAYS;
    the client credential's end warned about 30 days ahead."""
    log.info("retention removed %d event mappings", retention.purge_events())
    log.info("retention removed %d audit entries", audit_log.purge())
    health.client_credential()  # warns in the log from 30 days before the credential ends

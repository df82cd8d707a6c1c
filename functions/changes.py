"""The change feed (any member of the company), the webhook deliveries to HERP, and the daily
credential refresh that keeps idle links alive."""

import logging
from typing import TYPE_CHECKING

import azure.functions as func

from shared.http import handler, json_response
from shared.lazy import lazy
from shared.storage import queues
from shared.triggers import background

# Loaded at a function's first call, not at indexing (cold start); typed as the modules they are.
if TYPE_CHECKING:
    from shared import auth
    from shared.feed import changes, webhook
    from shared.usecases.linking import link_health
else:
    auth = lazy("shared.auth")
    changes = lazy("shared.feed.changes")
    link_health = lazy("shared.usecases.linking.link_health")
    webhook = lazy("shared.feed.webhook")

bp = func.Blueprint()
log = logging.getLogger("outlook.changes")


@bp.route(route="outlook/changes", methods=["GET"])
@handler
def list_changes(req: func.HttpRequest) -> func.HttpResponse:
    caller = auth.authenticate(req)
    return json_response(changes.feed(caller, req.params.get("after"), req.params.get("limit")).to_json())


@bp.queue_trigger(arg_name="msg", queue_name=queues.WEBHOOKS, connection="AzureWebJobsStorage")
@background()
def deliver_herp_webhook(msg: func.QueueMessage) -> None:
    body = queues.payload_of(msg, "deliver_herp_webhook", "company_id", "seq")
    if body is None:
        return
    webhook.deliver(body)  # a failed POST schedules its own retry (backoff), it does not raise


@bp.timer_trigger(arg_name="timer", schedule="0 30 3 * * *", run_on_startup=False)
@background()
def refresh_outlook_credentials(timer: func.TimerRequest) -> None:
    log.info("refresh_outlook_credentials queued %d accounts", link_health.fan_out())
    log.info("change feed purge removed %d rows older than 30 days", changes.purge())


@bp.queue_trigger(arg_name="msg", queue_name=queues.CREDENTIALS, connection="AzureWebJobsStorage")
@background()
def refresh_outlook_credential(msg: func.QueueMessage) -> None:
    body = queues.payload_of(msg, "refresh_outlook_credential", "company_id", "tenant_id", "oid")
    if body is None:
        return
    outcome = link_health.refresh_account(str(body["company_id"]), str(body["tenant_id"]), str(body["oid"]))
    log.info("credential refresh of an account in tenant %s: %s", body["tenant_id"], outcome)

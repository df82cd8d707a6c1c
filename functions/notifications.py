"""Graph's change notifications: the two anonymous endpoints Graph calls, the queue that
processes them, and the subscriptions' renewal (timer + queue)."""

import logging
from typing import TYPE_CHECKING

import azure.functions as func

from shared.http import handler
from shared.lazy import lazy
from shared.storage import queues
from shared.triggers import background

# Loaded at a function's first call, not at indexing (cold start); typed as the modules they are.
if TYPE_CHECKING:
    from shared.usecases.outlook_changes import intake, notifications, subscriptions
else:
    intake = lazy("shared.usecases.outlook_changes.intake")
    notifications = lazy("shared.usecases.outlook_changes.notifications")
    subscriptions = lazy("shared.usecases.outlook_changes.subscriptions")

bp = func.Blueprint()
log = logging.getLogger("outlook.notifications")


def _intake(req: func.HttpRequest, *, lifecycle: bool) -> func.HttpResponse:
    """change-notifications-delivery-webhooks.md: with `validationToken`, answer it decoded as
    text/plain within 10 s; else 202 within 3 s, the work queued (nothing malformed, forged or
    unknown is queued)."""
    token = req.params.get("validationToken")
    if token is not None:  # echoed as plain text that no browser sniffs into HTML
        return func.HttpResponse(
            token, status_code=200, mimetype="text/plain", headers={"X-Content-Type-Options": "nosniff"}
        )
    intake.accept(req.get_body() or b"", lifecycle=lifecycle)
    return func.HttpResponse(status_code=202)


@bp.route(route="outlook/notifications", methods=["POST"])
@handler
def outlook_notifications(req: func.HttpRequest) -> func.HttpResponse:
    return _intake(req, lifecycle=False)


@bp.route(route="outlook/notifications/lifecycle", methods=["POST"])
@handler
def outlook_lifecycle_notifications(req: func.HttpRequest) -> func.HttpResponse:
    return _intake(req, lifecycle=True)


@bp.queue_trigger(arg_name="msg", queue_name=queues.NOTIFICATIONS, connection="AzureWebJobsStorage")
@background(feed_lag=True)
def process_outlook_notifications(msg: func.QueueMessage) -> None:
    body = queues.payload_of(msg, "process_outlook_notifications", "company_id")
    if body is None:
        return
    notifications.process(body)  # transient failures raise: the host retries, then poisons


@bp.timer_trigger(arg_name="timer", schedule="0 0 * * * *", run_on_startup=False)
@background()
def renew_outlook_subscriptions(timer: func.TimerRequest) -> None:
    log.info("renew_outlook_subscriptions queued %d accounts", subscriptions.fan_out())


@bp.queue_trigger(arg_name="msg", queue_name=queues.SUBSCRIPTIONS, connection="AzureWebJobsStorage")
@background()
def maintain_outlook_subscriptions(msg: func.QueueMessage) -> None:
    body = queues.payload_of(msg, "maintain_outlook_subscriptions", "company_id", "tenant_id", "oid")
    if body is None:
        return
    company_id, tenant_id, oid = str(body["company_id"]), str(body["tenant_id"]), str(body["oid"])
    if body.get("renew"):
        subscriptions.renew_account(company_id, tenant_id, oid)
    else:
        subscriptions.ensure(company_id, tenant_id, oid, str(body.get("calendar") or ""))

"""Domain errors. Code inside raises these; `shared.http` maps them to status + JSON at the edge.

Each error carries a stable snake_case `code` (part of the contract) and a human-readable
message that never contains a token, a secret or a Microsoft error body.
"""

from __future__ import annotations


class DomainError(Exception):
    code = "error"
    message = "The request failed."
    details: dict = {}  # more members of the error object (e.g. slot_conflict's `busy`)

    def __init__(self, message: str | None = None, *, code: str | None = None, details: dict | None = None):
        super().__init__(message or self.message)
        if code:
            self.code = code
        if message:
            self.message = message
        if details:
            self.details = details


# 400 / 401 / 403 / 404 / 413
class InvalidRequest(DomainError):
    code, message = "invalid_request", "The request is not valid."


class Unauthenticated(DomainError):
    code, message = "unauthenticated", "A valid HERP bearer token is required."


class Forbidden(DomainError):
    code, message = "forbidden", "Your role may not do this."


class NotFound(DomainError):
    code, message = "not_found", "Not found."


class TenantLinkNotFound(NotFound):
    """The company has no (visible) link to this tenant: the tenant-link routes' 404."""

    message = "This Microsoft 365 tenant is not linked to your company."


class TenantNotLinked(NotFound):
    code, message = "tenant_not_linked", "This Microsoft 365 tenant is not linked to your company."


class LinkNotFound(NotFound):
    code, message = "link_not_found", "No such Outlook account link."


class CompletionNotFound(NotFound):
    code, message = "completion_not_found", "No such link completion for your HERP account (unknown or already used)."


class PayloadTooLarge(DomainError):
    code, message = "payload_too_large", "The request body is larger than 1 MiB."


# 409
class Conflict(DomainError):
    code, message = "conflict", "The request conflicts with the current state."


class ReauthRequired(Conflict):
    code, message = "reauth_required", "The Microsoft account must be linked again: its sign-in is no longer valid."


class LinkRemoved(Conflict):
    code, message = "outlook_link_removed", "The Outlook link used by this item has been removed."


class TeamsBlockNotFound(Conflict):
    """Outlook says the meeting is online, but its body holds no Teams join block to keep."""

    code, message = (
        "teams_block_not_found",
        "The Teams meeting's join information was not found in the Outlook body; the body was not changed.",
    )


class SlotConflict(Conflict):
    """`check_conflicts`: attendees or rooms are busy then; `details["busy"]` names them."""

    code, message = "slot_conflict", "Some attendees or rooms are busy at this time."


# 410
class Gone(DomainError):
    code, message = "gone", "It no longer exists."


class CompletionExpired(Gone):
    code, message = "completion_expired", "The link completion expired (10 minutes); start linking again."


# 422
class ValidationFailed(DomainError):
    code, message = "validation_failed", "The request has invalid values."


# 5xx
class ConfigurationError(DomainError):
    """A missing or unsafe setting. `detail` (what is wrong, naming the setting) goes to the log
    only: the response says nothing about the configuration (CONTRACT 2)."""

    code, message = "configuration_error", "The service is not configured correctly; an operator has been alerted."

    def __init__(self, detail: str | None = None):
        super().__init__()
        self.detail = detail or self.message
        self.args = (self.detail,)


class ClientCredentialRejected(ConfigurationError):
    """Microsoft refused our client secret (wrong or expired): an operator must rotate it. 503,
    because nothing the caller did is wrong and a retry works once the secret is fixed."""


class StorageUnavailable(DomainError):
    code, message = "storage_unavailable", "Storage is unavailable; retry later."


class GraphError(DomainError):
    """Microsoft Graph answered an error we do not handle more specifically."""

    code, message = "graph_error", "Microsoft Graph refused the request."

    def __init__(self, message: str | None = None, *, status: int = 0, graph_code: str = ""):
        super().__init__(message)
        self.status = status
        self.graph_code = graph_code


class GraphUnavailable(GraphError):
    code, message = "graph_unavailable", "Microsoft Graph is throttling or unavailable; retry later."


class GraphTimeout(GraphError):
    code, message = "graph_timeout", "Microsoft Graph did not answer in time."


STATUS_BY_ERROR: list[tuple[type[DomainError], int]] = [
    (InvalidRequest, 400),
    (Unauthenticated, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (PayloadTooLarge, 413),
    (Conflict, 409),
    (Gone, 410),
    (ValidationFailed, 422),
    (ConfigurationError, 503),
    (StorageUnavailable, 503),
    (GraphTimeout, 504),
    (GraphUnavailable, 503),
    (GraphError, 502),
]


def status_of(error: DomainError) -> int:
    for cls, status in STATUS_BY_ERROR:
        if isinstance(error, cls):
            return status
    return 500

"""Delegated credentials of Microsoft accounts: one sealed MSAL token cache per account row.

A warm call is one point read plus MSAL answering from the cache (no token request). When MSAL
refreshed, the new cache is written back under the row's ETag. Losing that race is harmless:
the winner stored a cache with an equally valid refresh token (Entra refresh tokens stay valid
after they are used), so the loser's cache is dropped, not merged.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from shared import correlation, crypto, graph, identity, reactions
from shared.errors import (
    ClientCredentialRejected,
    DomainError,
    GraphError,
    GraphUnavailable,
    LinkRemoved,
    ReauthRequired,
)
from shared.models import AccountStatus, MicrosoftAccount, utcnow
from shared.storage import microsoft_accounts
from shared.storage.audit import AuditEntry, AuditLog
from shared.storage.base import ConcurrentUpdate
from shared.storage.microsoft_accounts import MicrosoftAccounts

log = logging.getLogger("outlook.credentials")


def seal_cache(account: MicrosoftAccount, cache: str) -> str:
    return crypto.seal(
        cache.encode("utf-8"), table=microsoft_accounts.TABLE, partition_key=account.company_id, row_key=account.key
    )


def open_cache(account: MicrosoftAccount) -> str:
    return crypto.open_sealed(
        account.token_cache or "", table=microsoft_accounts.TABLE, partition_key=account.company_id, row_key=account.key
    ).decode("utf-8")


def store_sign_in(company_id: str, tenant_id: str, profile, token_cache: str) -> MicrosoftAccount:
    """Keep the account with the fresh cache of a completed sign-in; a relink heals `reauth_required`.
    What the row knew of the account's calendars and subscriptions stays."""
    repo = MicrosoftAccounts()
    known = repo.get(company_id, tenant_id, profile.id)
    account = MicrosoftAccount(
        company_id=company_id,
        tenant_id=tenant_id,
        account=profile,
        status=AccountStatus.ACTIVE,
        updated_at=utcnow(),
        credential_checked_at=utcnow(),
        calendars=known.calendars if known else None,
        subscriptions=known.subscriptions if known else None,
    )
    account.token_cache = seal_cache(account, token_cache)
    return repo.save(account)  # upsert: a newer sign-in replaces an older cache


def _refreshed_token(account: MicrosoftAccount, *, force_refresh: bool) -> str:
    """A Graph access token from the account's cache (MSAL refreshes when needed); the new cache
    is written back under the row's ETag. ReauthRequired when the credential is dead."""
    try:
        token, new_cache = identity.acquire_token(
            account.tenant_id, account.account.id, open_cache(account), force_refresh=force_refresh
        )
    except (crypto.DecryptionFailed, identity.Refused) as exc:
        log.warning(
            "credential of a Microsoft account in tenant %s refused: %s %s",
            account.tenant_id,
            getattr(exc, "error", "undecryptable token cache"),
            getattr(exc, "error_codes", ""),
        )
        reactions.credential_died(account)
        raise ReauthRequired() from None
    except identity.ClientRejected as exc:
        log.error(
            "Microsoft refused the app's client secret (invalid_client %s): MS_CLIENT_SECRET is wrong or "
            "expired; rotate it in the app registration and the settings",
            exc.error_codes,
        )
        raise ClientCredentialRejected() from None
    except identity.IdentityUnavailable as exc:
        log.warning("identity platform unavailable for tenant %s: %s", account.tenant_id, exc)
        raise GraphUnavailable("The Microsoft identity platform is unavailable; retry later.") from None
    if new_cache is not None:
        account.token_cache = seal_cache(account, new_cache)
        account.updated_at = account.credential_checked_at = utcnow()  # health: the credential works
        try:
            MicrosoftAccounts().save(account)
        except ConcurrentUpdate:
            pass  # the winner stored an equally valid refresh token (module docstring)
    return token


ASSUMED_TOKEN_LIFE = timedelta(minutes=45)  # an access token whose `exp` cannot be read (opaque)


def token_expiry(token: str) -> datetime:
    """The access token's `exp` (read, not verified: Graph verifies it; we only plan with it),
    or a conservative guess when the token is not a readable JWT."""
    import jwt  # PyJWT, loaded on first use (cold start), as shared.auth does

    try:
        exp = jwt.decode(token, options={"verify_signature": False})["exp"]
        return datetime.fromtimestamp(float(exp), UTC)
    except (jwt.PyJWTError, KeyError, TypeError, ValueError, OverflowError):
        return utcnow() + ASSUMED_TOKEN_LIFE


MAX_CONCURRENT_PER_MAILBOX = 4  # Graph's Outlook limit: 4 concurrent requests per mailbox
_mailbox_slots: dict[tuple[str, str], threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


def _mailbox_slot(tenant_id: str, oid: str) -> threading.BoundedSemaphore:
    with _slots_lock:
        return _mailbox_slots.setdefault((tenant_id, oid), threading.BoundedSemaphore(MAX_CONCURRENT_PER_MAILBOX))


# Every call: answers in UTC (rendered in the caller's zone by the use case) and immutable ids,
# which survive a move to another folder or calendar (concepts/outlook-immutable-id.md). Both in
# one header, comma-separated as RFC 7240 allows (Graph honours several: mguessan/davmail PR 476).
PREFER = 'outlook.timezone="UTC", IdType="ImmutableId"'


@dataclass(frozen=True)
class Audit:
    """What a write in Outlook is, for the audit log (CONTRACT 8 `AuditEntry`): its operation
    (`event.create`, `hold.create`, ...) and the schedule or hold it is for. The actor comes
    from the invocation (`shared.correlation`: the HERP caller, else `system`)."""

    operation: str
    schedule_id: str | None = None
    hold_id: str | None = None


def _operation(method: str, path: str) -> str:
    """The operation of a write whose caller named none (so that no write goes unaudited)."""
    kind = "subscription" if "/subscriptions" in path else "event"
    if method == "DELETE":
        return f"{kind}.delete"
    if kind == "event" and path.rstrip("/").endswith("/cancel"):
        return "event.cancel"
    return f"{kind}.update" if method == "PATCH" else f"{kind}.create"


def _outcome(exc: BaseException) -> str:
    """`ok`'s opposite: the service's error code, or Graph's when the service has none but `graph_error`."""
    if type(exc) is GraphError and exc.graph_code:
        return exc.graph_code
    return exc.code if isinstance(exc, DomainError) else "internal_error"


class Mailbox:
    """One Microsoft account's mailbox, as one operation talks to Graph: the account row (read
    once, when the handle is made), its delegated token with one refresh when Graph answers 401
    (revoked or expired early), at most 4 concurrent calls per mailbox in this instance, and the
    Prefer headers every call carries. Use cases take a Mailbox, never ids and tokens.

    Every write (POST, PATCH, DELETE) leaves one audit log entry, failed ones too, naming the
    caller's `audit` (else an operation read off the method and path). Not audited: reads sent
    as POST (`idempotent=True` with no `audit`: getSchedule, translateExchangeIds; an event POST is
    idempotent too, by its transactionId, and names its `audit`) and subscription renewals
    (PATCH of a subscription: nothing in Outlook changes)."""

    def __init__(self, account: MicrosoftAccount):
        self.account = account
        self._slot = _mailbox_slot(account.tenant_id, account.account.id)

    def token(self, *, force_refresh: bool = False) -> str:
        return _refreshed_token(self.account, force_refresh=force_refresh)

    def redeem(self) -> datetime:
        """Redeem the refresh token now: the calls that follow use the new access token. Returns
        when that token expires, i.e. until when a subscription created, renewed or reauthorized
        with it keeps delivering (change-notifications-delivery-webhooks.md "Authentication")."""
        return token_expiry(self.token(force_refresh=True))

    def request(self, method: str, path: str, *, prefer: str = "", audit: Audit | None = None, **kwargs) -> Any:
        """One Graph call (shared.graph.request: retries, timeouts); `prefer` adds preferences;
        a write is audited (class docstring)."""
        if not self._audited(method, path, audit, kwargs):
            return self._call(method, path, prefer, kwargs, graph.Exchange())
        exchange = graph.Exchange()
        try:
            answer = self._call(method, path, prefer, kwargs, exchange)
        except Exception as exc:
            self._audit(method, path, audit, exchange, _outcome(exc))
            raise
        self._audit(method, path, audit, exchange, "ok")
        return answer

    def _call(self, method: str, path: str, prefer: str, kwargs: dict, exchange: graph.Exchange) -> Any:
        headers = {"Prefer": PREFER + (f", {prefer}" if prefer else "")}
        with self._slot:
            try:
                return graph.request(method, path, self.token(), headers=headers, exchange=exchange, **kwargs)
            except GraphError as exc:
                if exc.status != 401:
                    raise
            return graph.request(
                method, path, self.token(force_refresh=True), headers=headers, exchange=exchange, **kwargs
            )

    @staticmethod
    def _audited(method: str, path: str, audit: Audit | None, kwargs: dict) -> bool:
        if audit is not None:
            return True
        if method == "GET" or (method == "POST" and kwargs.get("idempotent")):
            return False
        return not (method == "PATCH" and "/subscriptions/" in path)

    def _audit(self, method: str, path: str, audit: Audit | None, exchange: graph.Exchange, outcome: str) -> None:
        """The entry of one write. A storage failure here is logged, not raised: the write in
        Outlook happened (or failed) already, and the caller must learn its own outcome."""
        entry = AuditEntry(
            company_id=self.account.company_id,
            at=datetime.now(UTC),
            actor=correlation.actor(),
            operation=audit.operation if audit else _operation(method, path),
            schedule_id=audit.schedule_id if audit else None,
            hold_id=audit.hold_id if audit else None,
            mailbox=self.account.account.email,
            graph_request_id=exchange.request_id or None,
            outcome=outcome,
        )
        try:
            AuditLog().add(entry)
        except Exception as exc:  # noqa: BLE001 - see docstring
            log.error(
                "audit entry %s %s (%s) not stored: %s",
                entry.operation,
                outcome,
                exchange.request_id,
                type(exc).__name__,
            )

    def get(self, path: str, **kwargs) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, *, audit: Audit | None = None, **kwargs) -> Any:
        return self.request("POST", path, json=json, audit=audit, **kwargs)

    def patch(self, path: str, json: Any, *, audit: Audit | None = None, **kwargs) -> Any:
        return self.request("PATCH", path, json=json, audit=audit, **kwargs)

    def delete(self, path: str, *, audit: Audit | None = None, **kwargs) -> Any:
        return self.request("DELETE", path, audit=audit, **kwargs)

    # ---- which folders are calendars (an event's parentFolderId)

    def in_a_calendar(self, event: dict) -> bool:
        """Whether a Graph event is still in one of the mailbox's calendars. Deleting in Outlook
        moves an event to Deleted Items, where its immutable id still reads it
        (concepts/outlook-immutable-id.md; msgraph-sdk-dotnet #3047); a move to another calendar
        keeps it an event of the mailbox. An answer without `parentFolderId` counts as in place."""
        folder = event.get("parentFolderId")
        return not isinstance(folder, str) or not folder or self.holds_calendar(folder)

    def holds_calendar(self, folder_id: str) -> bool:
        """From the account row's memory; else one GET /me/calendars/{id} (a folder that is no
        calendar answers 404), remembered on the row so it is asked once per folder."""
        known = self.account.calendars or {}
        if folder_id == known.get("default") or folder_id in (known.get("teams") or {}):
            return True
        folders = known.get("folders") or {}
        if folder_id in folders:
            return bool(folders[folder_id])
        try:
            self.get(f"/me/calendars/{quote(folder_id, safe='')}", params={"$select": "id"})
            is_calendar = True
        except GraphError as exc:
            if type(exc) is not GraphError or exc.status not in (400, 404):
                raise
            is_calendar = False
        self.remember_folder(folder_id, is_calendar)
        return is_calendar

    def remember_folder(self, folder_id: str | None, is_calendar: bool = True) -> None:
        """Keep on the account row whether a folder is a calendar (written only when new)."""
        known = dict(self.account.calendars or {"teams": {}})
        folders = dict(known.get("folders") or {})
        if not folder_id or folders.get(folder_id) == is_calendar:
            return
        if is_calendar and (folder_id == known.get("default") or folder_id in (known.get("teams") or {})):
            return
        folders[folder_id] = is_calendar
        known["folders"] = folders
        self.account.calendars = known
        try:
            self.account = MicrosoftAccounts().save(self.account)
        except ConcurrentUpdate:
            pass  # a token refresh won the row; the folder is looked up again another time


def mailbox(company_id: str, tenant_id: str, oid: str) -> Mailbox:
    """The handle of a linked account (one point read): LinkRemoved when the account is gone,
    ReauthRequired when its credential was already refused."""
    account = MicrosoftAccounts().get(company_id, tenant_id, oid)
    if account is None or not account.token_cache:
        raise LinkRemoved()
    if account.status == AccountStatus.REAUTH_REQUIRED:
        raise ReauthRequired()
    return Mailbox(account)

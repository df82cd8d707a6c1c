"""Delegated credentials of Microsoft accounts: one sealed MSAL token cache per account row.

A warm call is one point read plus MSAL answering from the cache (no token request). When MSAL
refreshed, the new cache is written back under the row's ETag. Losing that race is harmless:
the winner stored a cache with an equally valid refresh token (Entra refresh tokens stay valid
after they are used), so the loser's cache is dropped, not merged.
"""
from __future__ import annotations

import logging
import threading
from typing import Callable, TypeVar

from shared import crypto, identity
from shared.errors import ClientCredentialRejected, GraphError, GraphUnavailable, LinkRemoved, ReauthRequired
from shared.models import ACTIVE, REAUTH_REQUIRED, MicrosoftAccount, utcnow
from shared.storage.repositories import ConcurrentUpdate, MicrosoftAccounts
from shared.storage.tables import MICROSOFT_ACCOUNTS

log = logging.getLogger("outlook.credentials")
T = TypeVar("T")


def seal_cache(account: MicrosoftAccount, cache: str) -> str:
    return crypto.seal(cache.encode("utf-8"), table=MICROSOFT_ACCOUNTS,
                       partition_key=account.company_id, row_key=account.key)


def open_cache(account: MicrosoftAccount) -> str:
    return crypto.open_sealed(account.token_cache or "", table=MICROSOFT_ACCOUNTS,
                              partition_key=account.company_id, row_key=account.key).decode("utf-8")


def store_sign_in(company_id: str, tenant_id: str, profile, token_cache: str) -> MicrosoftAccount:
    """Keep the account with the fresh cache of a completed sign-in; a relink heals `reauth_required`."""
    account = MicrosoftAccount(company_id=company_id, tenant_id=tenant_id, account=profile,
                               status=ACTIVE, updated_at=utcnow())
    account.token_cache = seal_cache(account, token_cache)
    return MicrosoftAccounts().save(account)  # upsert: a newer sign-in replaces an older cache


def usable_account(company_id: str, tenant_id: str, oid: str) -> MicrosoftAccount:
    """The account row, if its credential can still be used: LinkRemoved when it is gone,
    ReauthRequired when its refresh token was already refused."""
    account = MicrosoftAccounts().get(company_id, tenant_id, oid)
    if account is None or not account.token_cache:
        raise LinkRemoved()
    if account.status == REAUTH_REQUIRED:
        raise ReauthRequired()
    return account


def access_token(company_id: str, tenant_id: str, oid: str, *, force_refresh: bool = False) -> str:
    """A Graph access token of the account; ReauthRequired when its credential is dead."""
    repo = MicrosoftAccounts()
    account = usable_account(company_id, tenant_id, oid)
    try:
        cache = open_cache(account)
        token, new_cache = identity.acquire_token(tenant_id, oid, cache, force_refresh=force_refresh)
    except (crypto.DecryptionFailed, identity.CredentialRefused) as exc:
        log.warning("credential of a Microsoft account in tenant %s refused: %s %s", tenant_id,
                    getattr(exc, "error", "undecryptable token cache"), getattr(exc, "error_codes", ""))
        mark_reauth_required(account)
        raise ReauthRequired() from None
    except identity.ClientRejected as exc:
        log.error("Microsoft refused the app's client secret (invalid_client %s): MS_CLIENT_SECRET is wrong or "
                  "expired; rotate it in the app registration and the settings", exc.error_codes)
        raise ClientCredentialRejected() from None
    except identity.IdentityUnavailable as exc:
        log.warning("identity platform unavailable for tenant %s: %s", tenant_id, exc)
        raise GraphUnavailable("The Microsoft identity platform is unavailable; retry later.") from None
    if new_cache is not None:
        account.token_cache = seal_cache(account, new_cache)
        account.updated_at = utcnow()
        try:
            repo.save(account)
        except ConcurrentUpdate:
            pass
    return token


MAX_CONCURRENT_PER_MAILBOX = 4  # Graph's Outlook limit: 4 concurrent requests per mailbox
_mailbox_slots: dict[tuple[str, str], threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


def _mailbox_slot(tenant_id: str, oid: str) -> threading.BoundedSemaphore:
    with _slots_lock:
        return _mailbox_slots.setdefault((tenant_id, oid), threading.BoundedSemaphore(MAX_CONCURRENT_PER_MAILBOX))


def with_graph_token(company_id: str, tenant_id: str, oid: str, call: Callable[[str], T]) -> T:
    """Run `call(token)`, at most 4 at a time per mailbox in this instance; when Graph refuses
    the access token (401: revoked or expired early), refresh once and run it again. A dead
    refresh token then surfaces as ReauthRequired."""
    with _mailbox_slot(tenant_id, oid):
        try:
            return call(access_token(company_id, tenant_id, oid))
        except GraphError as exc:
            if exc.status != 401:
                raise
        return call(access_token(company_id, tenant_id, oid, force_refresh=True))


def mark_reauth_required(account: MicrosoftAccount) -> None:
    account.status = REAUTH_REQUIRED
    account.updated_at = utcnow()
    try:
        MicrosoftAccounts().save(account)
    except ConcurrentUpdate:
        pass  # someone relinked or refreshed meanwhile: their state is newer

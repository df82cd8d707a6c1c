"""Link completions: the last step of every link flow, taken by the HERP session that began it.

The callback's last leg has verified the Microsoft side (state, `tid`, roles, mailbox) and holds
the tokens, but links nothing. It seals what it learned into a pending completion bound to the
starter's company and HERP account and sends the browser to HERP Hire with a one-time code.
Only the starter's own session can confirm that code (`POST /link-completions`). So an
authorize_url finished by someone else, e.g. a Microsoft admin lured into it, links nothing:
that person lands on HERP Hire with a code their session cannot confirm, and the starter, who
could, never sees it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from shared import crypto, reactions
from shared.auth import Caller
from shared.errors import CompletionExpired, CompletionNotFound, TenantNotLinked
from shared.mailbox import credentials
from shared.models import Account, Flow, LinkCompletion, MicrosoftAccount, TenantLink, UserLink, Via, utcnow
from shared.storage import link_completions as completions_table
from shared.storage.link_completions import LinkCompletions
from shared.storage.tenant_links import TenantLinks
from shared.usecases.linking import tenant_links, user_links

log = logging.getLogger("outlook.link_completions")

LIFETIME = timedelta(minutes=10)
# How long one confirm holds the row while it commits; a confirm that died mid-way frees it after this.
CLAIM_LEASE = timedelta(seconds=60)
_CODE_BYTES = 32  # 256 bits
_CODE = re.compile(r"[A-Za-z0-9_-]{43}")  # what token_urlsafe(32) gives; anything else is no code of ours


@dataclass(frozen=True)
class SignInResult:
    """What the last leg verified and obtained; sealed in the completion row."""

    tenant_id: str
    tenant_name: str
    account: Account
    token_cache: str  # MSAL serialization: holds the refresh token

    def to_bytes(self) -> bytes:
        return json.dumps(
            {
                "tenant_id": self.tenant_id,
                "tenant_name": self.tenant_name,
                "account": self.account.to_json(),
                "token_cache": self.token_cache,
            }
        ).encode("utf-8")

    @classmethod
    def from_bytes(cls, raw: bytes) -> SignInResult:
        data = json.loads(raw)
        a = data["account"]
        return cls(
            data["tenant_id"], data["tenant_name"], Account(a["id"], a["email"], a["display_name"]), data["token_cache"]
        )


@dataclass(frozen=True)
class LinkConfirmed:
    """What a confirm committed: a tenant link (linked or renewed), or a user link."""

    result: str
    tenant_link: TenantLink | None = None
    user_link: UserLink | None = None
    account: MicrosoftAccount | None = None

    def to_json(self) -> dict:
        if self.tenant_link is not None:
            return {"result": self.result, "tenant_link": self.tenant_link.to_json()}
        assert self.user_link is not None
        return {"result": self.result, "user_link": user_links.link_json(self.user_link, self.account)}


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def _seal(code_hash: str, result: SignInResult) -> str:
    return crypto.seal(
        result.to_bytes(), table=completions_table.TABLE, partition_key=code_hash, row_key=completions_table.ROW_KEY
    )


def _open(completion: LinkCompletion) -> SignInResult:
    return SignInResult.from_bytes(
        crypto.open_sealed(
            completion.sealed_result,
            table=completions_table.TABLE,
            partition_key=completion.code_hash,
            row_key=completions_table.ROW_KEY,
        )
    )


def create(flow: str, company_id: str, herp_account_id: str, result: SignInResult) -> str:
    """Store a pending completion for the starter; returns its code (only its hash is stored)."""
    code = secrets.token_urlsafe(_CODE_BYTES)
    code_hash = _hash(code)
    LinkCompletions().create(
        LinkCompletion(
            code_hash=code_hash,
            flow=flow,
            company_id=company_id,
            herp_account_id=herp_account_id,
            tenant_id=result.tenant_id,
            expires_at=utcnow() + LIFETIME,
            sealed_result=_seal(code_hash, result),
        )
    )
    return code


def _is_starter(completion: LinkCompletion, caller: Caller) -> bool:
    if completion.company_id != caller.company_id or completion.herp_account_id != caller.account_id:
        return False
    return completion.flow == Flow.USER_LINK or caller.is_admin


def confirm(caller: Caller, code: str) -> LinkConfirmed:
    """Commit the link of a completion the caller started; anyone else learns nothing (404).

    Single use: the row is claimed under its ETag, committed, then deleted. The commit is made
    of idempotent writes, so a confirm that failed (the claim is released) can simply be repeated.
    """
    repo = LinkCompletions()
    completion = repo.get(_hash(code)) if _CODE.fullmatch(code) else None
    if completion is None:
        raise CompletionNotFound()
    if not _is_starter(completion, caller):
        # A live code in another session: a leaked or forwarded link. Logged (never the code).
        log.warning(
            "link completion of a %s flow started by HERP account %s of company %s was tried by HERP "
            "account %s (%s) of company %s; refused",
            completion.flow,
            completion.herp_account_id,
            completion.company_id,
            caller.account_id,
            caller.role,
            caller.company_id,
        )
        raise CompletionNotFound()
    now = utcnow()
    if completion.expires_at <= now:
        raise CompletionExpired()
    if not repo.claim(completion, now, now + CLAIM_LEASE):
        raise CompletionNotFound()  # another confirm of the same code is committing it
    try:
        try:
            result = _open(completion)
        except crypto.DecryptionFailed:
            raise CompletionNotFound() from None
        commit = _commit_user_link if completion.flow == Flow.USER_LINK else _commit_tenant_link
        answer = commit(completion, result)
    except Exception:
        repo.release(completion)
        raise
    repo.delete(completion.code_hash)
    return answer


def _commit_tenant_link(completion: LinkCompletion, result: SignInResult) -> LinkConfirmed:
    """Tenant link or renewal: admin credential, the admin's `via: tenant_admin` link, tenant
    link (written last: see save_admin_link), room sync. A renewal keeps every user link."""
    renew = completion.flow == Flow.TENANT_RENEW
    company, tenant_id, starter = completion.company_id, result.tenant_id, completion.herp_account_id
    if renew:
        if TenantLinks().get_linked(company, tenant_id) is None:
            raise TenantNotLinked()
    else:
        tenant_links.finish_pending_unlink(company, tenant_id)
    credentials.store_sign_in(company, tenant_id, result.account, result.token_cache)
    tenant_links.ensure_user_link(company, starter, tenant_id, result.account.id, Via.TENANT_ADMIN)
    link = tenant_links.save_admin_link(company, tenant_id, result.tenant_name, result.account, starter)
    reactions.tenant_linked(company, tenant_id)
    log.info("tenant %s %s by HERP account %s", tenant_id, "renewed" if renew else "linked", starter)
    return LinkConfirmed("renewed" if renew else "linked", tenant_link=link)


def _commit_user_link(completion: LinkCompletion, result: SignInResult) -> LinkConfirmed:
    company, tenant_id = completion.company_id, result.tenant_id
    if TenantLinks().get_linked(company, tenant_id) is None:
        raise TenantNotLinked()
    account = credentials.store_sign_in(company, tenant_id, result.account, result.token_cache)
    link = tenant_links.ensure_user_link(company, completion.herp_account_id, tenant_id, result.account.id, Via.USER)
    return LinkConfirmed("linked", user_link=link, account=account)


def purge_expired() -> int:
    """Completions nobody confirmed within their 10 minutes."""
    return LinkCompletions().delete_expired(utcnow())

"""The `clientState` of our Graph subscriptions: verifiable by itself, without a storage read.

Graph echoes a subscription's `clientState` in every notification (change-notifications-
delivery-webhooks.md: "validate the clientState"), and the notification endpoints are anonymous.
So the state carries its own proof: `cs1.<random 18 bytes>.<HMAC-SHA256 of them>` (base64url,
72 characters; Graph allows 128). The MAC key is derived from each key of TOKEN_ENCRYPTION_KEYS
(HMAC under a label), so it rotates with them: the first key makes new states, every listed key
verifies. A forged state fails here and costs the intake no storage read; a state that verifies
is still compared with the subscription's stored hash (a state is bound to its subscription).
A key must stay listed while subscriptions made under it live (renewals keep the state).

States made before this scheme (`secrets.token_urlsafe(32)`: 43 base64url characters) carry no
MAC; `legacy_form` recognises their shape so that the intake can still accept them against the
stored hash, with storage reads bounded per POST (shared.usecases.outlook_changes.intake).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import threading

from shared.settings import get_settings

PREFIX = "cs1."
_NONCE_LEN = 18  # 24 base64url characters, no padding
_LABEL = b"herp-outlook clientState MAC v1"
_LEGACY = re.compile(r"^[A-Za-z0-9_-]{43}$")
_cache: tuple[str | None, tuple[bytes, ...]] | None = None
_lock = threading.Lock()


def _mac_keys() -> tuple[bytes, ...]:
    """One MAC key per encryption key (same order), derived once per key list."""
    global _cache
    settings = get_settings()
    cached = _cache
    if cached is not None and cached[0] == settings.token_encryption_keys:
        return cached[1]
    derived = tuple(hmac.new(k, _LABEL, hashlib.sha256).digest() for k in settings.encryption_keys())
    with _lock:
        _cache = (settings.token_encryption_keys, derived)
    return derived


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _tag(key: bytes, nonce: bytes) -> bytes:
    return hmac.new(key, PREFIX.encode("ascii") + nonce, hashlib.sha256).digest()


def new_client_state() -> str:
    """A fresh `clientState` for a subscription, MACed with the first key."""
    nonce = os.urandom(_NONCE_LEN)
    return f"{PREFIX}{_b64(nonce)}.{_b64(_tag(_mac_keys()[0], nonce))}"


def client_state_valid(value: object) -> bool:
    """Whether `value` is a state this service made (under any configured key); no I/O."""
    if not isinstance(value, str) or len(value) != 72 or not value.startswith(PREFIX):
        return False
    nonce_text, _, tag_text = value[len(PREFIX) :].partition(".")
    if len(nonce_text) != 24 or len(tag_text) != 43:
        return False
    try:
        nonce = base64.urlsafe_b64decode(nonce_text)
    except (binascii.Error, ValueError):
        return False
    # The tag is compared as text: only the one canonical encoding of it verifies.
    return any(hmac.compare_digest(_b64(_tag(key, nonce)), tag_text) for key in _mac_keys())


def legacy_form(value: object) -> bool:
    """Whether `value` has the shape of a state made before the MAC (checked against storage)."""
    return isinstance(value, str) and _LEGACY.match(value) is not None

"""Authenticated encryption of secrets at rest (MSAL token caches, MSAL auth-code flow dicts).

AES-256-GCM with a random 96-bit nonce. The associated data binds a blob to the row it lives
in (table, PartitionKey, RowKey), so a blob copied into another row does not decrypt. The blob
names the key that sealed it, so keys can rotate: the first key of TOKEN_ENCRYPTION_KEYS
encrypts, every listed key decrypts. Format (base64url text): b"v1" | key id (8) | nonce (12) | ciphertext+tag.
"""

from __future__ import annotations

import base64
import hashlib
import os

from shared.errors import ConfigurationError
from shared.settings import get_settings

_VERSION = b"v1"
_KEY_ID_LEN = 8
_NONCE_LEN = 12


class DecryptionFailed(Exception):
    """The blob is damaged or was moved to another row: this blob is lost, nothing else is wrong.
    A blob whose key id is not among TOKEN_ENCRYPTION_KEYS is not that: an operator dropped a key
    still in use (a rotation mistake), so every such blob fails alike. That is ConfigurationError
    (503, fail closed), never a reason to mark credentials dead; putting the key back heals it."""


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(b"herp-outlook-key-id" + key).digest()[:_KEY_ID_LEN]


def _aad(table: str, partition_key: str, row_key: str) -> bytes:
    return "\x1f".join((table, partition_key, row_key)).encode("utf-8")


def seal(plaintext: bytes, *, table: str, partition_key: str, row_key: str) -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key = get_settings().encryption_keys()[0]
    nonce = os.urandom(_NONCE_LEN)
    sealed = AESGCM(key).encrypt(nonce, plaintext, _aad(table, partition_key, row_key))
    return base64.urlsafe_b64encode(_VERSION + _key_id(key) + nonce + sealed).decode("ascii")


def open_sealed(blob: str, *, table: str, partition_key: str, row_key: str) -> bytes:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        raw = base64.urlsafe_b64decode(blob.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise DecryptionFailed("not a sealed blob") from None
    if raw[:2] != _VERSION or len(raw) < 2 + _KEY_ID_LEN + _NONCE_LEN + 16:
        raise DecryptionFailed("unknown blob format")
    key_id, nonce, sealed = raw[2:10], raw[10:22], raw[22:]
    for key in get_settings().encryption_keys():
        if _key_id(key) == key_id:
            try:
                return AESGCM(key).decrypt(nonce, sealed, _aad(table, partition_key, row_key))
            except InvalidTag:
                raise DecryptionFailed("blob does not authenticate for this row") from None
    raise ConfigurationError(
        "a sealed blob names a key that TOKEN_ENCRYPTION_KEYS no longer holds: an old key was dropped "
        "while data sealed with it is still stored; add it back (after the new one) and restart"
    )

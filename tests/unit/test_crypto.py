import base64

import pytest

from shared import crypto
from shared.errors import ConfigurationError

ROW = dict(table="MicrosoftAccounts", partition_key="company-1", row_key="tenant:oid")


def test_round_trip_and_random_nonce(app_env):
    a = crypto.seal(b"token cache", **ROW)
    b = crypto.seal(b"token cache", **ROW)
    assert a != b
    assert b"token cache" not in base64.urlsafe_b64decode(a)
    assert crypto.open_sealed(a, **ROW) == b"token cache"


@pytest.mark.parametrize(
    "field,value", [("table", "OAuthStates"), ("partition_key", "company-2"), ("row_key", "tenant:other")]
)
def test_blob_is_bound_to_its_row(app_env, field, value):
    blob = crypto.seal(b"secret", **ROW)
    with pytest.raises(crypto.DecryptionFailed):
        crypto.open_sealed(blob, **{**ROW, field: value})


def test_tampered_blob_is_refused(app_env):
    raw = bytearray(base64.urlsafe_b64decode(crypto.seal(b"secret", **ROW)))
    raw[-1] ^= 1
    with pytest.raises(crypto.DecryptionFailed):
        crypto.open_sealed(base64.urlsafe_b64encode(bytes(raw)).decode(), **ROW)


def test_key_rotation(app_env):
    old = base64.urlsafe_b64encode(b"o" * 32).decode()
    new = base64.urlsafe_b64encode(b"n" * 32).decode()
    app_env(TOKEN_ENCRYPTION_KEYS=old)
    sealed_with_old = crypto.seal(b"secret", **ROW)
    app_env(TOKEN_ENCRYPTION_KEYS=f"{new},{old}")
    assert crypto.open_sealed(sealed_with_old, **ROW) == b"secret"
    resealed = crypto.seal(b"secret", **ROW)
    app_env(TOKEN_ENCRYPTION_KEYS=new)
    assert crypto.open_sealed(resealed, **ROW) == b"secret"
    # The old key dropped while a blob still needs it: our configuration, not the blob (fail closed).
    with pytest.raises(ConfigurationError, match="TOKEN_ENCRYPTION_KEYS"):
        crypto.open_sealed(sealed_with_old, **ROW)


@pytest.mark.parametrize("junk", ["", "!!!", base64.urlsafe_b64encode(b"v2" + b"x" * 60).decode()])
def test_junk_is_refused(app_env, junk):
    with pytest.raises(crypto.DecryptionFailed):
        crypto.open_sealed(junk, **ROW)

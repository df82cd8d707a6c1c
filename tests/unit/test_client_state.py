"""shared.client_state: a subscription's clientState proves by itself that this service made it
(a MAC under a key derived from TOKEN_ENCRYPTION_KEYS), so forgeries cost no storage read."""

import base64
import secrets

import pytest

from shared.client_state import PREFIX, client_state_valid, legacy_form, new_client_state

OLD = base64.urlsafe_b64encode(b"o" * 32).decode()
NEW = base64.urlsafe_b64encode(b"n" * 32).decode()


def test_a_new_state_verifies_and_fits_graphs_128_characters(app_env):
    a, b = new_client_state(), new_client_state()
    assert a != b and a.startswith(PREFIX) and len(a) <= 128
    assert client_state_valid(a) and client_state_valid(b)
    assert not legacy_form(a)  # never mistaken for a state of the old scheme


def test_any_change_breaks_it(app_env):
    state = new_client_state()
    nonce, tag = state[len(PREFIX) :].split(".")
    other_nonce = "A" * 24 if nonce != "A" * 24 else "B" * 24
    for forged in (
        state[:-1] + ("A" if state[-1] != "A" else "B"),  # incl. a non-canonical last character
        f"{PREFIX}{other_nonce}.{tag}",  # a tag moved onto another nonce
        state + "x",
        state.upper(),
        "cs2." + state[len(PREFIX) :],
        "guess",
        "",
        None,
        12,
    ):
        assert not client_state_valid(forged), forged


@pytest.mark.parametrize("character", ["A", "B", "C", "D"])
def test_only_the_canonical_tag_verifies(app_env, character):
    state = new_client_state()
    if state[-1] != character:
        assert not client_state_valid(state[:-1] + character)


def test_it_rotates_with_the_encryption_keys(app_env):
    app_env(TOKEN_ENCRYPTION_KEYS=OLD)
    made_with_old = new_client_state()
    app_env(TOKEN_ENCRYPTION_KEYS=f"{NEW},{OLD}")
    assert client_state_valid(made_with_old)  # any listed key verifies
    made_with_new = new_client_state()  # the first one makes new states
    app_env(TOKEN_ENCRYPTION_KEYS=NEW)
    assert client_state_valid(made_with_new) and not client_state_valid(made_with_old)


def test_the_old_schemes_shape_is_recognised():
    assert legacy_form(secrets.token_urlsafe(32))
    assert not legacy_form("guess") and not legacy_form("x" * 44) and not legacy_form(None)

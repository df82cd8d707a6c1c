"""Token endpoint errors, classified: a relink, our own configuration, or a transient failure."""

import pytest

from shared import identity


def entra(error: str, code: int) -> dict:
    """A token endpoint error body as Entra sends it (and MSAL hands it over)."""
    return {
        "error": error,
        "error_description": f"AADSTS{code}: ...\r\nTrace ID: t\r\nCorrelation ID: c",
        "error_codes": [code],
        "timestamp": "2026-12-01 00:00:00Z",
        "trace_id": "t",
        "correlation_id": "c",
    }


@pytest.mark.parametrize(
    "error,code",
    [
        ("invalid_grant", 50173),  # sessions revoked / password changed
        ("invalid_grant", 700082),  # refresh token unused for 90 days
        ("invalid_grant", 50076),  # MFA now required
        ("invalid_grant", 50079),  # MFA registration required
        ("invalid_grant", 53003),  # blocked by Conditional Access
        ("invalid_grant", 65001),  # consent withdrawn
        ("invalid_grant", 50034),  # the user is gone
        ("interaction_required", 50076),
        ("unauthorized_client", 700016),  # our enterprise app removed from the tenant
        ("unauthorized_client", 7000112),  # our enterprise app disabled in the tenant
    ],
)
def test_dead_credentials_need_a_relink(error, code):
    refused = identity.refusal(entra(error, code))
    assert isinstance(refused, identity.Refused) and refused.error_codes == [code]


@pytest.mark.parametrize("code", [7000215, 7000222])
def test_our_secret_refused_is_configuration_not_a_relink(code):
    assert isinstance(identity.refusal(entra("invalid_client", code)), identity.ClientRejected)


@pytest.mark.parametrize(
    "body",
    [
        entra("temporarily_unavailable", 50196),
        entra("server_error", 90033),
        entra("unauthorized_client", 700003),
        {"error": "whatever_new"},
        {},
    ],
)
def test_unknown_errors_stay_transient(body):
    assert isinstance(identity.refusal(body), identity.IdentityUnavailable)

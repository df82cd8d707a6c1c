import pytest

from shared.services.oauth_flows import reason_for


@pytest.mark.parametrize("error,description,codes,reason", [
    ("access_denied", "AADSTS65004: User declined to consent to access the app.", (), "consent_denied"),
    ("access_denied", "", (), "consent_denied"),
    ("access_denied", "AADSTS90094: The grant requires admin permission.", (), "admin_required"),
    ("consent_required", "AADSTS65001: The user or administrator has not consented", (), "admin_required"),
    ("invalid_request", "AADSTS90093: Graph returned an error", (), "admin_required"),
    ("invalid_request", "AADSTS50020: User account from identity provider does not exist in tenant", (), "tenant_mismatch"),
    ("invalid_grant", "", [50020], "tenant_mismatch"),
    ("server_error", "AADSTS99999: something new", (), "microsoft_error"),  # unknown number: safe fallback
    ("access_denied", "AADSTS12345: renumbered", (), "consent_denied"),
    ("temporarily_unavailable", "", (), "microsoft_error"),
    ("weird<script>", "", (), "microsoft_error"),
])
def test_error_value_first_then_number(error, description, codes, reason):
    assert reason_for(error, description, codes) == reason

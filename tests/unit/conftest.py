"""Unit tests reach no storage: the audit log every Graph write leaves is kept in memory, and
the webhook's last delivery (a health detail) is not stored."""

import pytest

from shared.storage.audit import AuditLog
from shared.storage.deliveries import Deliveries


@pytest.fixture(autouse=True)
def audit_entries(monkeypatch):
    """The audit entries written during the test, in order."""
    entries: list = []
    monkeypatch.setattr(AuditLog, "add", lambda self, entry: entries.append(entry) or entry)
    monkeypatch.setattr(Deliveries, "delivered", lambda self, company_id, at: None)
    return entries
